"""`make generated`: generate the model-based suite and record it against a moto server (the stand-in
for AWS).

Writes, under --out (default .work/generated): suite/ (the generated suite and its runner),
generated.jsonl (the recording, labelled as made against moto) and findings.md (the invalid
requests moto did not refuse with a client error, and anything identified as another operation).
The calls are deterministic, from the seed and the installed botocore models.

Services are recorded --jobs at a time, each through its own `compat-diff record` proxy against
its own moto server; the services' recordings are then merged in service order and numbered from 1,
so the recording's order does not depend on which service finished first. With --archive it also
writes the recording gzip-compressed: `make generated` refreshes the committed copy in
suites/generated/, which `make matrix` unpacks instead of recording again.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import replace
from importlib import metadata
from pathlib import Path

from rich.console import Console

from compat_diff.candidates import running
from compat_diff.errors import RecorderFailure
from compat_diff.generate.findings import analyse_recording, findings_markdown
from compat_diff.generate.run import RUNNER_NAME, run_generate, suite_digest
from compat_diff.recording import RecordingWriter, blob_dir_for, open_recording

ROOT = Path(__file__).resolve().parent.parent
# The nine services of the scenario suite, plus those the candidates serve beyond them.
SERVICES = (
    "s3", "ec2", "iam", "sts", "sqs", "sns", "dynamodb", "kinesis", "cloudwatch",
    "kms", "logs", "lambda", "autoscaling",
)  # fmt: skip
INLINE_EVERY_BODY = 1 << 40
RECORDING_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIARECORDINGOWNER01",
    "AWS_SECRET_ACCESS_KEY": "recording-secret-never-stored",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def record_service(service: str, suite: Path, work: Path, labels: list[str]) -> tuple[Path, str | None]:
    """Record one service's part of the suite against a moto server of its own.

    Each service gets a fresh server, so no service's calls see another's resources: the
    recording's content does not depend on how many run at once, nor on which ran first.
    """
    shard = work / f"{service}.jsonl"
    with running(["moto"], work / f"moto-{service}") as (references, failures):
        if failures:
            return shard, f"moto did not start: {failures['moto']}"
        env = {**os.environ, **RECORDING_ENV, "AWS_ENDPOINT_URL": references[0].endpoint}
        env.pop("AWS_PROFILE", None)
        labels = [arg for label in labels for arg in ("--label", label)]
        log = work / f"{service}.log"  # the recorder's table; services recorded at once would mix
        with log.open("wb") as errors:
            status = subprocess.call(
                [sys.executable, "-m", "compat_diff", "record", "--out", str(shard), *labels, "--",
                 sys.executable, str(suite / RUNNER_NAME), str(suite), service],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=errors,
            )  # fmt: skip
    if status != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:]
        return shard, f"recording failed (exit {status}): {' '.join(tail)}"
    return shard, None


def merge_shards(shards: list[Path], out: Path) -> int:
    """The services' recordings as one, in service order, seq renumbered from 1.

    Sessions are named by the suite (one per operation, the service in the name), so they stay
    apart as they are; only the numbering is global. The header is the first shard's (every shard
    carries the same labels).
    """
    seq = 0
    recordings = [open_recording(shard) for shard in shards]
    owned = ("format", "version", "created", "tool")
    header = {key: value for key, value in recordings[0].header.items() if key not in owned}
    # Every body inline, however large (a few listings moto answers run to megabytes): one file
    # to commit and unpack, with nothing stored beside it.
    with RecordingWriter(out, header=header, inline_limit=INLINE_EVERY_BODY) as writer:
        for shard, recording in zip(shards, recordings, strict=True):
            for exchange in recording:
                seq += 1
                writer.write(replace(exchange, seq=seq))
            if recording.problems:
                raise RecorderFailure(f"{shard}: {len(recording.problems)} unreadable lines")
    return seq


def record_suite(
    suite: Path, services: list[str], recording: Path, jobs: int, labels: list[str], console: Console
) -> tuple[list[str], int]:
    """Record the generated suite in ``suite`` into ``recording``, ``jobs`` services at a time.

    Returns the services that could not be recorded (then ``recording`` is not written) and the
    number of exchanges recorded.
    """
    work = recording.with_name(recording.name + ".shards")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    sizes = {path.name.split(".")[0]: path.stat().st_size for path in suite.glob("*.suite.json")}
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        # Largest services first, so the last one to finish is a small one.
        futures = [
            pool.submit(record_service, service, suite, work, labels)
            for service in sorted(services, key=lambda name: -sizes.get(name, 0))
        ]
        results = {}
        for future in as_completed(futures):
            shard, reason = future.result()
            results[shard.stem] = (shard, reason)
            console.print(f"  {shard.stem}: {reason or 'recorded'} ({time.monotonic() - started:.0f} s)")
    failed = sorted(service for service, (_, reason) in results.items() if reason)
    if failed:
        return failed, 0
    # Merged in file-name order, the order the runner itself goes through the suite.
    count = merge_shards([results[service][0] for service in sorted(services)], recording)
    shutil.rmtree(work, ignore_errors=True)
    return [], count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("services", nargs="*", default=list(SERVICES), help="botocore service names")
    parser.add_argument("--out", type=Path, default=ROOT / ".work" / "generated")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--jobs",
        type=int,
        default=min(4, os.cpu_count() or 1),
        help="services recorded at once, each with its own proxy and moto server (default: cores, 4 at most)",
    )
    parser.add_argument(
        "--archive",
        type=Path,
        default=None,
        help="also write the recording gzip-compressed here (make generated: the committed copy)",
    )
    args = parser.parse_args()
    console = Console()
    if args.jobs < 1:
        console.print("[red]--jobs must be 1 or more")
        return 2
    suite = args.out / "suite"
    written = run_generate(tuple(args.services), suite, args.seed)
    calls = sum(item.calls for item in written)
    console.print(f"generated {calls} calls for {len(written)} services into {suite}")
    recording = args.out / "generated.jsonl"
    label_args = [
        f"reference=moto {metadata.version('moto')} server (stand-in for AWS)",
        f"suite=compat-diff generate {' '.join(args.services)} --seed {args.seed}",
        f"suite_digest={suite_digest(suite)}",
    ]
    started = time.monotonic()
    services = [item.service for item in written]
    failed, count = record_suite(suite, services, recording, args.jobs, label_args, console)
    elapsed = time.monotonic() - started
    if failed:
        console.print(f"[red]not recorded: {', '.join(failed)}; nothing written to {recording}")
        return 3
    findings = analyse_recording(recording)
    (args.out / "findings.md").write_text(findings_markdown(findings, "moto"), encoding="utf-8")
    console.print(
        f"recorded {count} exchanges into {recording} in {elapsed:.0f} s ({args.jobs} at once): "
        f"{findings.valid} valid requests, {findings.refused} of {findings.invalid} invalid ones refused "
        f"with a client error; findings in {args.out / 'findings.md'}"
    )
    if args.archive:
        if blob_dir_for(recording).exists():
            console.print(f"[red]{recording} has bodies stored beside it; the archive would lack them")
            return 3
        write_archive(recording, args.archive)
        console.print(
            f"wrote {args.archive} ({args.archive.stat().st_size // 1024} KB): commit it, with "
            f"{args.archive.parent / 'README.md'} updated if the versions it names changed"
        )
    return 0


def write_archive(recording: Path, archive: Path) -> None:
    """``recording`` gzip-compressed, with no time or name in the gzip header: same input, same bytes."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(archive.name + ".partial")
    with (
        recording.open("rb") as source,
        partial.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as packed,
    ):
        shutil.copyfileobj(source, packed, 1 << 20)
    partial.replace(archive)


if __name__ == "__main__":
    sys.exit(main())
