"""Server-side render time of the service's public pages with a year of history.

50 providers x 9 services x 365 daily runs (45 operation rows per run, every run with a real
signed, chained attestation) are written into a fresh SQLite database by
``compat_diff.service.synthetic``; then the leaderboard and a provider page are rendered through
the real app (in-process ASGI client, no network), each several times. Prints the median and the
worst render time per page, and the database size.

    .venv/bin/python benchmarks/service_pages.py [--providers 50] [--days 365] [--repeat 15]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402

from compat_diff.service.api import create_app  # noqa: E402
from compat_diff.service.config import load_config  # noqa: E402
from compat_diff.service.store import Service  # noqa: E402
from compat_diff.service.suites import build_suite  # noqa: E402
from compat_diff.service.synthetic import seed_history  # noqa: E402

SERVICES = ["s3", "ec2", "iam", "sts", "sqs", "sns", "dynamodb", "kinesis", "cloudwatch"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--providers", type=int, default=50)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        suite = work / "suite"
        suite.mkdir()
        for name in ("sqs.jsonl", "sts.jsonl"):
            shutil.copy2(ROOT / "recordings" / name, suite / name)
        build_suite(suite, name="bundled")
        config = load_config(None, env={}, data=work / "data", admin_token="x" * 32, workers=0)
        service = Service(config)
        service.register_suite(suite)
        started = time.perf_counter()
        providers = [f"provider-{i:02d}" for i in range(args.providers)]
        runs = seed_history(
            service,
            suite="bundled",
            providers=providers,
            services=SERVICES,
            days=args.days,
            ended=datetime.now(UTC),
        )
        seeded = time.perf_counter() - started
        size = sum(p.stat().st_size for p in (work / "data").glob("*.db*"))
        client = TestClient(create_app(service))
        pages = {
            "leaderboard": "/leaderboard?suite=bundled",
            "provider page": f"/providers/{providers[0]}?suite=bundled",
        }
        print(
            f"{runs} runs over {args.providers} providers x {len(SERVICES)} services "
            f"seeded in {seeded:.0f} s; "
            f"database {size / 1e6:.0f} MB"
        )
        print("| page | median (ms) | worst (ms) |")
        print("|---|---|---|")
        for label, path in pages.items():
            assert client.get(path).status_code == 200
            times = []
            for _ in range(args.repeat):
                begin = time.perf_counter()
                answer = client.get(path)
                times.append((time.perf_counter() - begin) * 1000)
                assert answer.status_code == 200
            print(f"| {label} | {statistics.median(times):.0f} | {max(times):.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
