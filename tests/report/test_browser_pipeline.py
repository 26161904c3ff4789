"""The report of a real run, end to end: a scenario recorded through `compat-diff record` against a
moto server (the stand-in for AWS), compared with rclone's S3 server (a real candidate), and the
resulting index.html driven in headless Chromium. Also re-renders from the run directory."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from compat_diff.testing import run_cli
from tests.report.test_browser import ARTIFACTS, browser, open_report, page  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.live]
ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env=env, timeout=240, cwd=ROOT)


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from compat_diff.candidates import running, write_targets_toml

    work = tmp_path_factory.mktemp("pipeline")
    recording = work / "recording.jsonl"
    with running(["moto"], work / "reference") as (references, failures):
        assert not failures, failures
        env = {key: value for key, value in os.environ.items() if key != "AWS_PROFILE"}
        env.update(
            AWS_ENDPOINT_URL=references[0].endpoint,
            AWS_ACCESS_KEY_ID="AKIAREPORTTEST000001",
            AWS_SECRET_ACCESS_KEY="report-test-secret",
            AWS_DEFAULT_REGION="us-east-1",
        )
        recorded = cli(
            "record",
            "--out",
            str(recording),
            "--session",
            "s3_minimal",
            "--",
            sys.executable,
            str(ROOT / "scenarios" / "s3_minimal.py"),
            env=env,
        )
        assert recorded.returncode == 0, recorded.stderr
    with running(["rclone"], work / "candidates") as (candidates, failures):
        assert not failures, failures
        write_targets_toml(candidates, work / "targets.toml")
        compared = cli(
            "compare",
            str(recording),
            "--targets",
            str(work / "targets.toml"),
            "--report-dir",
            str(work / "report"),
            "--run-dir",
            str(work / "run"),
        )
        assert compared.returncode in (0, 1), compared.stderr
    yield work


def test_report_of_a_real_run(page: Any, real_run: Path) -> None:  # noqa: F811
    doc = orjson.loads((real_run / "report" / "report.json").read_bytes())
    diverging = [
        (op, d)
        for target in doc["targets"]
        for op in target["operations"]
        for d in op["divergences"]
        if d["severity"] in ("major", "critical")
    ]
    assert diverging, "rclone is expected to diverge from moto somewhere in this scenario"
    open_report(page, real_run / "report")
    assert page.locator(".score-card .target-name").all_inner_texts() == ["rclone"]
    page.click(".tab[data-tab=exchanges]")
    page.select_option("#filters select[name=verdict]", "diverges")
    rows = page.locator("#table tbody tr")
    assert rows.count() >= 1
    rows.first.click()
    exchange = page.locator("#exchange")
    exchange.wait_for(state="visible")
    seq = int(exchange.locator("h2").inner_text().rsplit("seq ", 1)[1])
    lines = (real_run / "report" / "details.jsonl").read_bytes().splitlines()
    record = next(line for line in map(orjson.loads, lines) if line["seq"] == seq)
    assert record["divergences"]
    marked = 0
    for divergence in record["divergences"]:
        nodes = exchange.locator(".view[data-view=normalized] .node.diverged")
        paths = [nodes.nth(i).get_attribute("data-divergence") for i in range(nodes.count())]
        if divergence["path"] in paths:
            node = nodes.nth(paths.index(divergence["path"]))
            assert (
                f"{divergence['kind']} · {divergence['severity']}" in node.locator(".mark").first.inner_text()
            )
            marked += 1
    assert marked >= 1
    page.screenshot(path=str(ARTIFACTS / "report-real-run.png"), full_page=True)


def test_rerender_from_the_run_directory(real_run: Path) -> None:
    result = cli("report", str(real_run / "run"), "--report-dir", str(real_run / "again"))
    assert result.returncode in (0, 1), result.stderr
    first = orjson.loads((real_run / "report" / "report.json").read_bytes())
    again = orjson.loads((real_run / "again" / "report.json").read_bytes())
    assert [t["score"] for t in again["targets"]] == [t["score"] for t in first["targets"]]
    assert (real_run / "again" / "index.html").is_file()
