"""`make recordings`: record every scenario in scenarios/ against a moto server (the stand-in for AWS).

Each scenario gets its own moto server, so recordings do not depend on one another, and its own
recording in recordings/, labelled in its header as made against moto.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from rich.console import Console

from compat_diff.candidates import running

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
# Recording credentials: fixed, fake, and distinct from any target's so replays prove re-signing.
RECORDING_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIARECORDINGOWNER01",
    "AWS_SECRET_ACCESS_KEY": "recording-secret-never-stored",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def scenario_commands() -> list[tuple[str, list[str]]]:
    commands: list[tuple[str, list[str]]] = []
    for path in sorted(SCENARIOS.iterdir()):
        if path.name.startswith(("_", ".")) or path.name in ("run_all.sh",):
            continue
        if path.suffix == ".py":
            commands.append((path.stem, [sys.executable, str(path)]))
        elif path.suffix == ".sh":
            commands.append((path.stem, ["bash", str(path)]))
    return commands


def record_one(name: str, command: list[str], out: Path, work: Path, console: Console) -> int:
    with running(["moto"], work / name) as (references, failures):
        if failures:
            console.print(f"[red]{name}: moto did not start: {failures['moto']}")
            return 3
        env = {**os.environ, **RECORDING_ENV, "AWS_ENDPOINT_URL": references[0].endpoint}
        # The AWS CLI scenarios call `aws`: the one installed beside this Python.
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        env.pop("AWS_PROFILE", None)
        label = f"moto {metadata.version('moto')} server (stand-in for AWS)"
        return subprocess.call(
            [
                sys.executable,
                "-m",
                "compat_diff",
                "record",
                "--force",  # regenerating the example recordings replaces them
                "--out",
                str(out),
                "--session",
                name,
                "--label",
                f"reference={label}",
                "--label",
                f"scenario=scenarios/{Path(command[-1]).name}",
                "--",
                *command,
            ],
            cwd=ROOT,
            env=env,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help="only these scenarios (file stems)")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "recordings")
    args = parser.parse_args()
    console = Console()
    work = ROOT / ".work" / "recordings"
    failed: list[str] = []
    for name, command in scenario_commands():
        if args.names and name not in args.names:
            continue
        console.rule(f"scenario {name}")
        status = record_one(name, command, args.out_dir / f"{name}.jsonl", work, console)
        if status != 0:
            failed.append(f"{name} (exit {status})")
    if failed:
        console.print(f"[red]failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
