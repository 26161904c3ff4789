"""The generated suite end to end: generating it, recording it against moto through
`compat-diff record`, and replaying plus comparing the recording against a fresh moto server.

The recording is made twice: one call at a time through one proxy against one moto server (the
way `make generated` used to), then as `make generated` does now, --jobs services at a time, each
through its own proxy against its own moto server. Reports wall time and exchanges per second for
each stage. The reference and the candidate are moto servers (the stand-in for AWS and a fresh
copy of it), so the comparison measures our own cost plus moto's, not a candidate's speed. On a
shared machine wall times vary: compare the two recordings' times of one run, not across runs.

    python benchmarks/generated_suite.py [--services s3 sqs ...] [--jobs N] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from make_generated import RECORDING_ENV, SERVICES, record_suite  # noqa: E402
from rich.console import Console  # noqa: E402

from compat_diff.candidates import running  # noqa: E402
from compat_diff.generate.run import RUNNER_NAME, run_generate  # noqa: E402
from compat_diff.recording import read_recording  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--services", nargs="*", default=list(SERVICES))
    parser.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1))
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="generated-bench-"))
    suite = out / "suite"
    started = time.monotonic()
    written = run_generate(tuple(args.services), suite, 0)
    generate_s = time.monotonic() - started
    calls = sum(item.calls for item in written)
    recording = out / "generated.jsonl"
    with running(["moto"], out / "reference") as (references, failures):
        if failures:
            print(f"moto did not start: {failures}", file=sys.stderr)
            return 3
        env = {**os.environ, **RECORDING_ENV, "AWS_ENDPOINT_URL": references[0].endpoint}
        started = time.monotonic()
        subprocess.check_call(
            [
                sys.executable,
                "-m",
                "compat_diff",
                "record",
                "--out",
                str(recording),
                "--",
                sys.executable,
                str(suite / RUNNER_NAME),
                str(suite),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        record_s = time.monotonic() - started
    exchanges = sum(1 for _ in read_recording(recording))
    started = time.monotonic()
    failed, parallel_exchanges = record_suite(
        suite, [item.service for item in written], out / "parallel.jsonl", args.jobs, [], Console(stderr=True)
    )
    parallel_s = time.monotonic() - started
    if failed:
        print(f"not recorded side by side: {failed}", file=sys.stderr)
        return 3
    with running(["moto"], out / "candidate") as (candidates, failures):
        if failures:
            print(f"moto did not start: {failures}", file=sys.stderr)
            return 3
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "AKIAREPLAYTARGET0001", "AWS_SECRET_ACCESS_KEY": "x"}
        started = time.monotonic()
        status = subprocess.call(
            [
                sys.executable,
                "-m",
                "compat_diff",
                "compare",
                str(recording),
                "--target",
                f"fresh={candidates[0].endpoint}",
                "--report-dir",
                str(out / "report"),
                "--timeout",
                "60",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        compare_s = time.monotonic() - started
    print(f"services: {len(written)}, calls planned: {calls}, exchanges recorded: {exchanges}")
    print(f"compare exit status: {status}")
    print("| stage | wall s | exchanges/s |")
    print("|---|---:|---:|")
    print(f"| generate | {generate_s:.1f} | |")
    print(
        f"| record, one call at a time (one proxy, one moto) | {record_s:.0f} | {exchanges / record_s:.1f} |"
    )
    print(
        f"| record, {args.jobs} services at a time ({parallel_exchanges} exchanges) | {parallel_s:.0f} | "
        f"{parallel_exchanges / parallel_s:.1f} |"
    )
    print(f"| ratio one at a time / side by side | {record_s / parallel_s:.2f} | |")
    print(f"| compare (replay + diff, fresh moto) | {compare_s:.0f} | {exchanges / compare_s:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
