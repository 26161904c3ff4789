"""`make generated`: generate the model-based suite and record it against a moto server (the stand-in
for AWS).

Writes, under --out (default .work/generated): suite/ (the generated suite and its runner),
generated.jsonl (the recording, labelled as made against moto) and findings.md (the invalid
requests moto did not refuse with a client error, and anything identified as another operation).
The recording is too large to commit (about 2 KB per exchange); it is regenerated on demand,
deterministically from the seed and the installed botocore models.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from rich.console import Console

from compat_diff.candidates import running
from compat_diff.generate.findings import analyse_recording, findings_markdown
from compat_diff.generate.run import RUNNER_NAME, run_generate

ROOT = Path(__file__).resolve().parent.parent
# The nine services of the scenario suite, plus those the candidates serve beyond them.
SERVICES = (
    "s3", "ec2", "iam", "sts", "sqs", "sns", "dynamodb", "kinesis", "cloudwatch",
    "kms", "logs", "lambda", "autoscaling",
)  # fmt: skip
RECORDING_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIARECORDINGOWNER01",
    "AWS_SECRET_ACCESS_KEY": "recording-secret-never-stored",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("services", nargs="*", default=list(SERVICES), help="botocore service names")
    parser.add_argument("--out", type=Path, default=ROOT / ".work" / "generated")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    console = Console()
    suite = args.out / "suite"
    written = run_generate(tuple(args.services), suite, args.seed)
    calls = sum(item.calls for item in written)
    console.print(f"generated {calls} calls for {len(written)} services into {suite}")
    recording = args.out / "generated.jsonl"
    with running(["moto"], args.out / "moto") as (references, failures):
        if failures:
            console.print(f"[red]moto did not start: {failures['moto']}")
            return 3
        env = {**os.environ, **RECORDING_ENV, "AWS_ENDPOINT_URL": references[0].endpoint}
        env.pop("AWS_PROFILE", None)
        label = f"moto {metadata.version('moto')} server (stand-in for AWS)"
        started = time.monotonic()
        status = subprocess.call(
            [
                sys.executable,
                "-m",
                "compat_diff",
                "record",
                "--out",
                str(recording),
                "--label",
                f"reference={label}",
                "--label",
                f"suite=compat-diff generate {' '.join(args.services)} --seed {args.seed}",
                "--",
                sys.executable,
                str(suite / RUNNER_NAME),
                str(suite),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        elapsed = time.monotonic() - started
    if status != 0:
        console.print(f"[red]recording failed (exit {status})")
        return status
    findings = analyse_recording(recording)
    (args.out / "findings.md").write_text(findings_markdown(findings, "moto"), encoding="utf-8")
    console.print(
        f"recorded {recording} in {elapsed:.0f} s: {findings.valid} valid requests, "
        f"{findings.refused} of {findings.invalid} invalid ones refused with a client error; "
        f"findings in {args.out / 'findings.md'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
