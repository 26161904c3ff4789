"""Start and stop times of the heavier candidates: openstack-ec2 (from its pristine copy) and MiniStack.

Each candidate is started ROUNDS times in a fresh directory, timed until it answers (what
`compat-diff candidates up` waits for), then stopped and timed until its last process is gone.
openstack-ec2's first provisioning is not measured here: it happens once, in `make candidates`, and
the installer prints how long it took. A candidate that is not installed is reported and skipped.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from compat_diff.candidates import installed, start, stop
from compat_diff.candidates.openstack_ec2 import pristine_ready

ROUNDS = {"ministack": 3, "openstack-ec2": 2}


def main() -> int:
    rows = []
    for name, rounds in ROUNDS.items():
        ok, reason = installed(name)
        if not ok:
            print(f"{name}: skipped ({reason})")
            continue
        if name == "openstack-ec2" and not pristine_ready():
            print(f"{name}: not provisioned yet; the first start below includes provisioning")
        starts, stops = [], []
        with tempfile.TemporaryDirectory(prefix="cd-bench-start-") as work:
            for index in range(rounds):
                began = time.monotonic()
                candidate = start(name, Path(work) / str(index))
                starts.append(time.monotonic() - began)
                began = time.monotonic()
                stop(candidate)
                stops.append(time.monotonic() - began)
        rows.append(
            (name, rounds, statistics.median(starts), min(starts), max(starts), statistics.median(stops))
        )
    print("| candidate | rounds | start, median (min-max) | stop, median |")
    print("|---|---|---|---|")
    for name, rounds, median, low, high, stopped in rows:
        print(f"| {name} | {rounds} | {median:.1f} s ({low:.1f}-{high:.1f}) | {stopped:.1f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
