"""Checksum speed: CRC32C and CRC64NVME of a re-framed upload's body, library vs pure Python.

Times each implementation this environment has (the pure-Python fallback, the ``crc32c`` package,
awscrt when importable) over a random body and prints MiB per second, plus which implementation
compat-diff picked. The pure version runs over 1 MiB only (it takes about a third of a second).

    python benchmarks/checksums.py [--mib 16]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

from compat_diff.aws import checksums


def rate(compute: Callable[[bytes], int], data: bytes, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        compute(data)
        best = min(best, time.perf_counter() - started)
    return len(data) / (1 << 20) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=16, help="body size for the libraries (MiB)")
    args = parser.parse_args()
    big = random.Random(1).randbytes(args.mib << 20)
    small = big[: 1 << 20]
    rows: list[tuple[str, str, float]] = [
        ("crc32c", "pure", rate(checksums.pure_crc32c, small, 1)),
        ("crc64nvme", "pure", rate(checksums.pure_crc64nvme, small, 1)),
    ]
    for name, compute in checksums._crc32c_libraries():
        rows.append(("crc32c", name, rate(compute, big)))
    for name, compute in checksums._crc64nvme_libraries():
        rows.append(("crc64nvme", name, rate(compute, big)))
    print("| algorithm | implementation | MiB/s | ms per MiB |")
    print("|---|---|---|---|")
    for algorithm, name, mib_per_s in rows:
        print(f"| {algorithm} | {name} | {mib_per_s:,.1f} | {1000 / mib_per_s:.3f} |")
    print(
        f"\ncompat-diff uses: crc32c={checksums.CRC32C_IMPLEMENTATION}, "
        f"crc64nvme={checksums.CRC64NVME_IMPLEMENTATION}"
    )


if __name__ == "__main__":
    main()
