"""Diff throughput: a large run directory of matching answers, diffed end to end.

Builds a recording of N exchanges (the golden vectors' real moto answers, cycled, so every
protocol is represented) and a run directory whose answers are the fresh moto's answers in
shuffled completion order, then times ``diff_run`` and reports pairs per second and peak memory.

Besides wall time it reports pairs per CPU second (the parent's and the workers' user + system
time), which a busy shared machine disturbs less than wall time. ``--repeat N`` diffs the same
run N times and reports the best and the median.

    python benchmarks/diff_throughput.py --exchanges 100000 [--workers 2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "golden"))
sys.path.insert(0, str(ROOT / "tests" / "compare"))

import goldenlib  # noqa: E402
from rundir import answer_line, policy_for, write_recording, write_run  # noqa: E402

from compat_diff.compare.run import diff_run  # noqa: E402


def build(base: Path, count: int, pattern: str = "*") -> Path:
    folders = sorted(p for p in goldenlib.HERE.glob(pattern) if (p / "input.json").exists())
    vectors = [goldenlib.load_vector(p) for p in folders]
    exchanges = (replace(vectors[i % len(vectors)][0], seq=i + 1) for i in range(count))
    recording = write_recording(base / "rec.jsonl", exchanges)
    policy = policy_for(base / "run" / "targets" / "moto")
    order = list(range(count))
    random.Random(1).shuffle(order)
    folder = base / "run" / "targets" / "moto"
    folder.mkdir(parents=True, exist_ok=True)
    write_run(base / "run", recording, {"moto": []})
    with (folder / "answers.jsonl").open("wb") as handle:
        for index in order:
            exchange, answer = vectors[index % len(vectors)]
            line = answer_line(replace(exchange, seq=index + 1), answer.response, policy)
            handle.write(orjson.dumps(line) + b"\n")
    return base / "run"


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchanges", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--vectors", default="*", help="glob of golden vector names to cycle (default: all)")
    parser.add_argument("--repeat", type=int, default=1, help="diff the same run this many times")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        started = time.perf_counter()
        run_dir = build(base, args.exchanges, args.vectors)
        built = time.perf_counter() - started
        walls: list[float] = []
        cpus: list[float] = []
        for _ in range(max(args.repeat, 1)):
            cpu_before = _cpu_seconds()
            started = time.perf_counter()
            compared, details = diff_run(run_dir, base / "report", [], True, workers=args.workers)
            walls.append(time.perf_counter() - started)
            cpus.append(_cpu_seconds() - cpu_before)
        target = compared.targets[0]
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        best = min(walls)
        result = {
            "exchanges": args.exchanges,
            "vectors": args.vectors,
            "workers": args.workers,
            "cpus": os.cpu_count(),
            "load_average": [round(x, 1) for x in os.getloadavg()],
            "build_seconds": round(built, 1),
            "diff_seconds": round(best, 2),
            "diff_seconds_median": round(statistics.median(walls), 2),
            "pairs_per_second": round(args.exchanges / best),
            "pairs_per_second_per_worker": round(args.exchanges / best / max(args.workers, 1)),
            "pairs_per_cpu_second": round(args.exchanges / min(cpus)),
            "matching": target.matching,
            "score": target.score,
            "peak_rss_mb_parent": round(own),
            "peak_rss_mb_worker": round(children),
            "details_mb": round(details.stat().st_size / 1e6, 1),
        }
        print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
