"""Service throughput: runs per hour of a suite against local candidates (moto servers) with one
and with two ``compat-diff worker`` processes, for each engine, and what a run costs in the
database compared with the report it makes.

Each measurement starts a fresh service (``compat-diff serve --workers 0`` on SQLite, the API
only) and N worker processes, registers one endpoint per candidate, starts one run per endpoint
and times from the first POST to the last finished run. The database cost of a run is the growth
of the SQLite file (after a WAL checkpoint) per run; the engine's own database (DBOS's
``dbos.sqlite``; none for the table engine) is measured the same way; the report is the run's
report directory.
Run: python benchmarks/service_throughput.py [--suite bundled|mini] [--candidates N] [--rounds N]
     [--engines table,dbos]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from compat_diff.testing import moto_server, stop_process  # noqa: E402
from tests.service.conftest import (  # noqa: E402
    ADMIN,
    SECRET,
    make_suite,
    start_service,
    start_worker,
)

CONFIG = """
[service]
lease_seconds = 30
poll_seconds = 0.2
endpoint_concurrency = 1
suites = [{suite!r}]
engine = {engine!r}
"""


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def sqlite_size(database: Path) -> int:
    if not database.exists():
        return 0
    with sqlite3.connect(database) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return database.stat().st_size


def measure(workers: int, urls: list[str], suite_name: str, config: Path, root: Path) -> dict[str, float]:
    data = root / f"data-{workers}-{time.monotonic_ns()}"
    server = start_service(data, config, workers=0)
    processes = [start_worker(data, config) for _ in range(workers)]
    try:
        _, provider = server.call("POST", "/api/v1/providers", {"name": "bench"}, ADMIN)
        token = provider["token"]
        for index, url in enumerate(urls):
            endpoint = {"name": f"c{index}", "endpoint": url, "access_key": "AKIAKEY", "secret_key": SECRET}
            server.call("POST", "/api/v1/providers/bench/endpoints", endpoint, token)
        database, engine_database = data / "service.db", data / "dbos.sqlite"
        before, engine_before = sqlite_size(database), sqlite_size(engine_database)
        started = time.perf_counter()
        ids = []
        for index in range(len(urls)):
            body = {"provider": "bench", "endpoint": f"c{index}", "suite": suite_name}
            ids.append(server.call("POST", "/api/v1/runs", body, token)[1]["id"])
        runs = [server.wait_run(run_id, timeout=1800) for run_id in ids]
        elapsed = time.perf_counter() - started
        assert all(run["state"] == "finished" for run in runs), runs
        grown = sqlite_size(database) - before
        engine_grown = sqlite_size(engine_database) - engine_before
        reports = [folder_size(data / "runs" / str(run_id) / "report") for run_id in ids]
        exchanges = sum(run["counts"]["exchanges"] for run in runs)
    finally:
        for process in processes:
            stop_process(process)
        server.stop()
    return {
        "seconds": elapsed,
        "runs_per_hour": len(ids) * 3600 / elapsed,
        "db_bytes_per_run": grown / len(ids),
        "engine_db_bytes_per_run": engine_grown / len(ids),
        "report_bytes_per_run": statistics.mean(reports),
        "exchanges_per_run": exchanges / len(ids),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=["bundled", "mini"], default="bundled")
    parser.add_argument("--candidates", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--engines", default="table,dbos", help="comma-separated engines to measure")
    args = parser.parse_args()
    engines = [name.strip() for name in args.engines.split(",") if name.strip()]
    root = Path(tempfile.mkdtemp(prefix="compat-diff-bench-"))
    try:
        suite = make_suite(root / "mini-suite")
        servers = [moto_server() for _ in range(args.candidates)]
        try:
            results: dict[str, list[dict[str, float]]] = {}
            for _ in range(args.rounds):
                for engine in engines:
                    config = root / f"service-{engine}.toml"
                    config.write_text(CONFIG.format(suite=str(suite), engine=engine))
                    for workers in (1, 2):
                        for server in servers:  # a fresh reference state for every measurement
                            import urllib.request

                            urllib.request.urlopen(
                                urllib.request.Request(f"{server.url}/moto-api/reset", method="POST")
                            )
                        results.setdefault(f"{engine} {workers}", []).append(
                            measure(workers, [s.url for s in servers], args.suite, config, root)
                        )
        finally:
            for server in servers:
                server.stop()
        print(
            f"suite {args.suite}, {args.candidates} candidates (moto servers), "
            f"{args.rounds} round(s), median:"
        )
        print(
            "| engine | workers | runs/hour | seconds for the runs | exchanges/run "
            "| database bytes/run | engine database bytes/run | report bytes/run |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for key, rows in results.items():
            engine_name, count = key.split()

            def median(name: str, rows: list[dict[str, float]] = rows) -> float:
                return statistics.median(row[name] for row in rows)

            print(
                f"| {engine_name} | {count} | {median('runs_per_hour'):,.0f} | {median('seconds'):.1f} | "
                f"{median('exchanges_per_run'):.0f} | {median('db_bytes_per_run'):,.0f} | "
                f"{median('engine_db_bytes_per_run'):,.0f} | {median('report_bytes_per_run'):,.0f} |"
            )
        print(json.dumps(results))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
