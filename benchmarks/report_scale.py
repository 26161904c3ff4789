"""How the HTML report scales: a synthetic run of 100k exchanges (report document + details.jsonl
shaped as docs/formats.md describes) is rendered, then opened from disk in headless Chromium,
timing the load until the page is interactive (the results table rendered) and the opening of
one exchange. Prints the sizes of index.html and details.jsonl.

    .venv/bin/python benchmarks/report_scale.py [--exchanges 100000] [--targets 1] [--keep DIR]
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from compat_diff.report import write_reports  # noqa: E402

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
OPERATIONS = [
    ("s3", "ListBuckets"),
    ("s3", "PutObject"),
    ("s3", "GetObject"),
    ("s3", "HeadObject"),
    ("s3", "ListObjectsV2"),
    ("s3", "DeleteObject"),
    ("s3", "GetBucketVersioning"),
    ("ec2", "DescribeInstances"),
    ("ec2", "RunInstances"),
    ("ec2", "DescribeVpcs"),
    ("sqs", "SendMessage"),
    ("sqs", "ReceiveMessage"),
    ("dynamodb", "PutItem"),
    ("dynamodb", "GetItem"),
]


def _xml(operation: str, seq: int, content_type: str) -> str:
    items = "".join(
        f"<Contents><Key>logs/2026/11/{seq:06d}-{n}.json</Key><Size>{1000 + n}</Size>"
        f"<ETag>&quot;{seq:08x}{n:024x}&quot;</ETag><StorageClass>STANDARD</StorageClass></Contents>"
        for n in range(3)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><{operation}Result xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        f"<Name>bench-bucket</Name><ContentType>{content_type}</ContentType>{items}</{operation}Result>"
    )


def _normalized(seq: int, content_type: str) -> dict[str, Any]:
    return {
        "Name": "bench-bucket",
        "ContentType": content_type,
        "KeyCount": 3,
        "Contents": [
            {
                "Key": f"logs/2026/11/{seq:06d}-{n}.json",
                "Size": 1000 + n,
                "ETag": f"<etag:{n + 1}>",
                "StorageClass": "STANDARD",
            }
            for n in range(3)
        ],
        "ResponseMetadata": {"HTTPStatusCode": 200, "HTTPHeaders": {"x-amz-request-id": "<request-id>"}},
    }


def _side(operation: str, seq: int, host: str, content_type: str) -> dict[str, Any]:
    headers = [
        ["Content-Type", "application/xml"],
        ["x-amz-request-id", f"{seq:016X}"],
        ["Content-Length", "612"],
    ]
    return {
        "request": {
            "method": "GET",
            "url": f"{host}/bench-bucket?list-type=2&seq={seq}",
            "headers": [
                ["Host", host],
                ["User-Agent", "Boto3/1.35.0 md/Botocore#1.35.0"],
                ["X-Amz-Date", "20261124T120000Z"],
                ["Authorization", "AWS4-HMAC-SHA256 <redacted>"],
            ],
            "body": "",
        },
        "response": {"status": 200, "headers": headers, "body": _xml(operation, seq, content_type)},
        "normalized": _normalized(seq, content_type),
    }


def synthesize(exchanges: int, target_count: int, details_path: Path) -> dict[str, Any]:
    rng = random.Random(42)
    targets = []
    with details_path.open("wb") as details:
        for t in range(target_count):
            name = f"candidate-{t + 1}"
            per_op: dict[tuple[str, str], dict[str, Any]] = {}
            for seq in range(1, exchanges + 1):
                service, operation = OPERATIONS[seq % len(OPERATIONS)]
                roll = rng.random()
                divergences = []
                verdict = "match"
                if roll < 0.12:
                    verdict = "diverges"
                    divergences.append(
                        {
                            "seq": seq,
                            "kind": "value",
                            "severity": "major",
                            "path": "$.ContentType",
                            "reference": "application/xml",
                            "candidate": "text/xml",
                            "message": "",
                            "caused_by": None,
                        }
                    )
                    if roll < 0.04:
                        divergences.append(
                            {
                                "seq": seq,
                                "kind": "missing",
                                "severity": "minor",
                                "path": "$.Contents[2].StorageClass",
                                "reference": "STANDARD",
                                "candidate": None,
                                "message": "",
                                "caused_by": None,
                            }
                        )
                elif roll < 0.14:
                    verdict = "not-implemented"
                    divergences.append(
                        {
                            "seq": seq,
                            "kind": "status",
                            "severity": "critical",
                            "path": "$.ResponseMetadata.HTTPStatusCode",
                            "reference": 200,
                            "candidate": 501,
                            "message": "",
                            "caused_by": None,
                        }
                    )
                candidate_type = "text/xml" if divergences else "application/xml"
                record = {
                    "target": name,
                    "seq": seq,
                    "service": service,
                    "operation": operation,
                    "verdict": verdict,
                    "divergences": divergences,
                    "rules_fired": ["common.request-id"],
                    "reference": _side(operation, seq, "https://s3.amazonaws.com", "application/xml"),
                    "candidate": {
                        **_side(operation, seq, "http://127.0.0.1:8080", candidate_type),
                        "error": None,
                    },
                }
                details.write(orjson.dumps(record) + b"\n")
                row = per_op.setdefault(
                    (service, operation),
                    {
                        "service": service,
                        "operation": operation,
                        "exchanges": 0,
                        "matching": 0,
                        "verdict": "match",
                        "rules_fired": ["common.request-id"],
                        "divergences": [],
                    },
                )
                row["exchanges"] += 1
                row["matching"] += not any(d["severity"] in ("critical", "major") for d in divergences)
                row["divergences"].extend(divergences)
                if verdict != "match" and row["verdict"] == "match":
                    row["verdict"] = "diverges"
            operations = list(per_op.values())
            for row in operations:
                row["score"] = row["matching"] / row["exchanges"]
            matching = sum(row["matching"] for row in operations)
            targets.append(
                {
                    "name": name,
                    "endpoint": "http://127.0.0.1:8080",
                    "score": matching / exchanges,
                    "exchanges": exchanges,
                    "matching": matching,
                    "operations": operations,
                }
            )
    return {
        "format": "compat-diff/report",
        "version": 1,
        "generated": "2026-11-24T12:00:00Z",
        "tool": "compat-diff benchmark",
        "recording": {
            "path": "synthetic.jsonl",
            "exchanges": exchanges,
            "header": {"reference": "synthetic", "client": "bench"},
        },
        "rules": {"files": [], "fired": {"common.request-id": exchanges * target_count}},
        "targets": targets,
    }


def time_in_chromium(index_html: Path, runs: int) -> tuple[list[float], list[float]]:
    from playwright.sync_api import sync_playwright

    loads, opens = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        for _ in range(runs):
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(index_html.as_uri(), timeout=120_000)
            page.wait_for_selector("html[data-ready='1']", state="attached", timeout=120_000)
            # performance.now() counts from navigation start: parse, data load and first table render.
            loads.append(page.evaluate("window.compatDiffReadyMs") / 1000)
            page.click(".tab[data-tab=exchanges]")
            page.select_option("#filters select[name=severity]", "critical")
            started = time.perf_counter()
            page.locator("#table tbody tr").nth(10).click()
            page.wait_for_selector("#exchange .tree")
            opens.append(time.perf_counter() - started)
            page.close()
        browser.close()
    return loads, opens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exchanges", type=int, default=100_000)
    parser.add_argument("--targets", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--keep", type=Path, help="Keep the generated report here instead of a temporary directory."
    )
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="compat-diff-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        details = work / "details.jsonl"
        started = time.perf_counter()
        doc = synthesize(args.exchanges, args.targets, details)
        print(
            f"synthesized {args.exchanges} exchanges x {args.targets} target(s) "
            f"in {time.perf_counter() - started:.1f} s"
        )
        started = time.perf_counter()
        write_reports(doc, work / "report", details)
        render = time.perf_counter() - started
        html = work / "report" / "index.html"
        print(f"write_reports (all files): {render:.1f} s")
        print(
            f"details.jsonl: {details.stat().st_size / 1e6:.1f} MB; report.json: "
            f"{(work / 'report' / 'report.json').stat().st_size / 1e6:.1f} MB; "
            f"index.html: {html.stat().st_size / 1e6:.1f} MB"
        )
        loads, opens = time_in_chromium(html, args.runs)
        print(
            f"Chromium load to interactive: median {statistics.median(loads):.2f} s "
            f"(runs: {', '.join(f'{x:.2f}' for x in loads)})"
        )
        print(
            "open one exchange (decompress its chunk, render): "
            f"median {statistics.median(opens) * 1000:.0f} ms"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
