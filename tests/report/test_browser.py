"""The HTML report as a person uses it, in a real headless Chromium opened from disk (file://):
filter, open an exchange, see each divergence highlighted where it is."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from compat_diff.report import write_reports
from tests.report.sample import sample_report, write_details

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    assert executable, "Chromium is needed for the browser tests (make browser installs it)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    # Anything that leaves the page would be a broken promise: the report must open offline.
    requests: list[str] = []
    opened.on("request", lambda request: requests.append(request.url))
    yield opened
    context.close()
    assert errors == []
    assert all(url.startswith("file://") for url in requests), requests


def open_report(page: Any, report_dir: Path) -> None:
    page.goto((report_dir / "index.html").as_uri())
    page.wait_for_selector("html[data-ready='1']", state="attached")


@pytest.fixture
def sample_dir(tmp_path: Path) -> Path:
    doc, details = sample_report()
    write_reports(doc, tmp_path / "report", write_details(details, tmp_path / "details.jsonl"))
    return tmp_path / "report"


def test_overview_shows_scores_matrix_and_provenance(page: Any, sample_dir: Path) -> None:
    open_report(page, sample_dir)
    cards = page.locator(".score-card")
    assert cards.count() == 2
    assert "25%" in cards.nth(0).inner_text() and "100%" in cards.nth(1).inner_text()
    assert "tier-red" in (cards.nth(0).get_attribute("class") or "")
    cells = page.locator(".matrix td.cell")
    assert [cells.nth(i).inner_text().split("\n")[0] for i in range(cells.count())] == [
        "0%",
        "50%",
        "\u2013",
        "100%",
    ]
    provenance = page.locator("#provenance").inner_text()
    assert "moto 5.0 (stand-in for AWS)" in provenance
    # The client header carries markup from the recording: shown as text, never run.
    assert "<script>window.__pwned" in provenance
    assert page.evaluate("window.__pwned") is None
    page.screenshot(path=str(ARTIFACTS / "report-overview.png"), full_page=True)


def test_filter_open_exchange_and_see_the_highlighted_divergence(page: Any, sample_dir: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    open_report(page, sample_dir)
    page.click(".tab[data-tab=exchanges]")
    assert page.locator("#row-count").inner_text() == "6 exchanges"
    page.select_option("#filters select[name=severity]", "major")
    assert page.locator("#row-count").inner_text() == "1 exchange"
    rows = page.locator("#table tbody tr")
    assert rows.count() == 1 and "GetObject" in rows.first.inner_text()
    rows.first.click()

    exchange = page.locator("#exchange")
    exchange.wait_for(state="visible")
    assert "s3.GetObject on swift · seq 2" in exchange.locator("h2").inner_text()
    for side in ("reference", "candidate"):
        node = exchange.locator(
            f'.view[data-view=normalized] .column[data-side={side}] [data-path="$.ContentType"]'
        )
        assert "diverged" in (node.get_attribute("class") or "").split()
        assert node.locator(".mark").inner_text() == "value · major"
        assert (
            node.locator(".line").evaluate("e => getComputedStyle(e).backgroundColor") != "rgba(0, 0, 0, 0)"
        )
    # A key the candidate lacks is marked exactly on the reference and on its parent on the candidate.
    present = exchange.locator(""".column[data-side=reference] [data-path="$.Metadata['owner.team']"]""")
    assert "diverged" in (present.get_attribute("class") or "").split()
    parent = exchange.locator(
        '.view[data-view=normalized] .column[data-side=candidate] [data-path="$.Metadata"]'
    )
    assert "diverged-near" in (parent.get_attribute("class") or "").split()
    assert "missing · minor" in parent.locator(".mark").inner_text()

    assert exchange.locator(".rules .chip.rule").all_inner_texts() == ["common.request-id", "s3.etag"]
    exchange.locator(".divergence").first.locator("summary").click()
    rule = exchange.locator(".divergence").first.locator("pre.yaml").inner_text()
    assert "- id: accept.swift.GetObject.value.ContentType." in rule
    assert 'path: "$.ContentType"' in rule and "action: ignore" in rule and 'target: "swift"' in rule
    # What the user copies must be a rule the normalizer accepts as it is.
    from compat_diff.normalize.rules import rules_from_yaml

    accepted = rules_from_yaml(rule, source="copied from the report")
    assert [r.path for r in accepted.rules] == ["$.ContentType"]
    assert accepted.select("s3", "GetObject", "swift") and not accepted.select("s3", "GetObject", "rclone")
    page.screenshot(path=str(ARTIFACTS / "report-exchange.png"), full_page=True)

    exchange.locator(".tabs.small .tab[data-view=raw]").click()
    raw = exchange.locator(".view[data-view=raw] .column[data-side=candidate]")
    assert "GET http://127.0.0.1:8080/reports/hello.txt" in raw.inner_text()
    assert "application/octet-stream" in raw.locator("table.headers").nth(1).inner_text()


def test_untrusted_bodies_are_shown_not_run(page: Any, sample_dir: Path) -> None:
    open_report(page, sample_dir)
    page.click(".tab[data-tab=exchanges]")
    page.fill("#filters input[name=q]", "DescribeInstances")
    assert page.locator("#row-count").inner_text() == "1 exchange"
    page.locator("#table tbody tr").first.click()
    exchange = page.locator("#exchange")
    node = exchange.locator(
        '.column[data-side=candidate] [data-path="$.Reservations[0].Instances[0].State.Name"]'
    )
    assert "diverged" in (node.get_attribute("class") or "").split()
    assert "</script><script>window.__pwned = 1</script>" in node.inner_text()
    exchange.locator(".tabs.small .tab[data-view=raw]").click()
    assert (
        "onerror"
        in exchange.locator(".view[data-view=raw] .column[data-side=candidate] pre.body").inner_text()
    )
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img").count() == 0


def test_sorting_and_pages_keep_the_dom_small(page: Any, tmp_path: Path) -> None:
    doc, details = sample_report()
    template = details[1]
    many = [
        {
            **template,
            "seq": seq,
            "verdict": "match" if seq % 3 else "diverges",
            "divergences": [] if seq % 3 else template["divergences"],
        }
        for seq in range(1, 1201)
    ]
    write_reports(doc, tmp_path / "report", write_details(many, tmp_path / "details.jsonl"))
    open_report(page, tmp_path / "report")
    page.click(".tab[data-tab=exchanges]")
    assert page.locator("#row-count").inner_text() == "1200 exchanges"
    assert page.locator("#table tbody tr").count() == 50
    assert "page 1 of 24" in page.locator("#pager").inner_text()
    page.click("#table th:has-text('Seq')")  # clicking the column already sorted on reverses it
    assert page.locator("#table tbody tr").first.locator("td").nth(1).inner_text() == "1200"
    page.click("#pager button:has-text('next')")
    assert "page 2 of 24" in page.locator("#pager").inner_text()
    assert page.locator("#table tbody tr").first.locator("td").nth(1).inner_text() == "1150"
    # Opening an exchange from a later chunk decompresses that chunk only, and finds it.
    page.locator("#table tbody tr").first.click()
    assert "seq 1150" in page.locator("#exchange h2").inner_text()
    page.click("#exchange button:has-text('next')")
    assert "seq 1149" in page.locator("#exchange h2").inner_text()


# ------------------------------------------------------------------ sharing and debugging aids

SIGNATURE = "f00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeed"
CUSTOMER_KEY = "c3VwZXItc2VjcmV0LWN1c3RvbWVyLWtleS0zMi1ieXRlcyE="


def listing(keys: list[str]) -> str:
    contents = "".join(f"<Contents><Key>{key}</Key><Size>1</Size></Contents>" for key in keys)
    return f'<?xml version="1.0"?><ListBucketResult><Name>reports</Name>{contents}</ListBucketResult>'


@pytest.fixture
def shared_dir(tmp_path: Path) -> Path:
    doc, details = sample_report()
    details = copy.deepcopy(details)
    for record in details:
        record["auth"] = {"reference": "sigv4", "candidate": "sigv4"}
    record = next(r for r in details if r["target"] == "swift" and r["operation"] == "GetObject")
    record["auth"] = {"reference": "sigv2", "candidate": "sigv4"}
    keys = [f"k{n:03d}" for n in range(40)]
    record["reference"]["response"]["body"] = listing(keys)
    record["candidate"]["response"]["body"] = listing([*keys[:20], "k020-changed", *keys[21:]])
    record["candidate"]["request"]["headers"] = [
        ["Host", "127.0.0.1:8080"],
        [
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIAREPLAYTARGET0001/20261206/eu-west-1/s3/aws4_request, "
            f"SignedHeaders=host;x-amz-date, Signature={SIGNATURE}",
        ],
        ["x-amz-date", "20261206T000000Z"],
        ["x-amz-security-token", "**REDACTED**"],
        ["x-amz-server-side-encryption-customer-key", "**REDACTED**"],
        ["Content-Type", "text/plain"],
    ]
    record["candidate"]["request"]["method"] = "PUT"
    record["candidate"]["request"]["body"] = "it's a body"
    write_reports(doc, tmp_path / "report", write_details(details, tmp_path / "details.jsonl"))
    return tmp_path / "report"


def fragment(opened: Any) -> str:
    return opened.evaluate("location.hash")


def test_filters_and_sorting_live_in_the_url(page: Any, shared_dir: Path) -> None:
    open_report(page, shared_dir)
    page.click(".tab[data-tab=exchanges]")
    page.select_option("#filters select[name=severity]", "major")
    page.click("#table th:has-text('Worst')")
    link = fragment(page)
    assert "tab=exchanges" in link and "severity=major" in link and "sort=severity" in link
    # Whoever opens the link sees the same view.
    page.goto((shared_dir / "index.html").as_uri() + "#tab=exchanges&severity=major")
    page.wait_for_selector("html[data-ready='1']", state="attached")
    assert page.locator(".tab[data-tab=exchanges]").get_attribute("aria-selected") == "true"
    assert page.locator("#filters select[name=severity]").input_value() == "major"
    assert page.locator("#row-count").inner_text() == "1 exchange"
    # Sorted by severity, worst first: the first row is the one with the worst severity there is.
    page.goto((shared_dir / "index.html").as_uri() + "#tab=exchanges&sort=severity")
    page.wait_for_selector("html[data-ready='1']", state="attached")
    worst = page.locator("#table tbody tr").first.locator("td").nth(5).inner_text()
    shown = page.locator("#table tbody tr td:nth-child(6)").all_inner_texts()
    rank = {"critical": 0, "major": 1, "minor": 2, "·": 3}
    assert [rank[s] for s in shown] == sorted(rank[s] for s in shown) and worst == min(shown, key=rank.get)
    page.goto((shared_dir / "index.html").as_uri() + "#tab=exchanges&sort=-severity")
    page.wait_for_selector("html[data-ready='1']", state="attached")
    reverse = page.locator("#table tbody tr td:nth-child(6)").all_inner_texts()
    assert [rank[s] for s in reverse] == sorted((rank[s] for s in reverse), reverse=True)


def test_an_opened_exchange_is_a_link(page: Any, shared_dir: Path) -> None:
    open_report(page, shared_dir)
    page.click(".tab[data-tab=exchanges]")
    page.fill("#filters input[name=q]", "GetObject")
    page.locator("#table tbody tr").first.click()
    page.locator("#exchange").wait_for(state="visible")
    link = fragment(page)
    assert "exchange=" in link and "q=GetObject" in link
    other = page.context.new_page()
    other.goto((shared_dir / "index.html").as_uri() + link)
    other.wait_for_selector("html[data-ready='1']", state="attached")
    other.locator("#exchange").wait_for(state="visible")
    assert "s3.GetObject" in other.locator("#exchange h2").inner_text()
    assert other.locator("#filters input[name=q]").input_value() == "GetObject"
    other.close()


def test_auth_scheme_body_diff_and_curl(page: Any, shared_dir: Path) -> None:
    open_report(page, shared_dir)
    page.click(".tab[data-tab=exchanges]")
    auth_cells = page.locator("#table tbody tr td.auth").all_inner_texts()
    assert "sigv2 → sigv4" in auth_cells and "sigv4" in auth_cells
    page.fill("#filters input[name=q]", "GetObject")
    rows = page.locator("#table tbody tr")
    rows.filter(has_text="swift").first.click()
    exchange = page.locator("#exchange")
    exchange.wait_for(state="visible")
    assert exchange.locator(".exchange-head .chip.auth").inner_text() == "auth: sigv2 → sigv4"

    exchange.locator(".tabs.small .tab[data-view=diff]").click()
    diff = exchange.locator(".view[data-view=diff]")
    assert diff.is_visible()
    assert diff.locator(".dl-del").all_inner_texts() == ["-     <Key>k020</Key>"]
    assert diff.locator(".dl-add").all_inner_texts() == ["+     <Key>k020-changed</Key>"]
    assert "unchanged lines" in diff.locator(".dl-skip").first.inner_text()

    exchange.locator(".tabs.small .tab[data-view=raw]").click()
    button = exchange.locator(".view[data-view=raw] .column[data-side=candidate] button.curl")
    button.click()
    command = button.get_attribute("data-copied") or ""
    assert command.startswith("curl -X 'PUT' 'http://127.0.0.1:8080/reports/hello.txt'")
    assert "--aws-sigv4 'aws:amz:eu-west-1:s3'" in command
    assert '--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"' in command
    assert '"x-amz-security-token: $AWS_SESSION_TOKEN"' in command
    sse_key = "x-amz-server-side-encryption-customer-key"
    assert f"'{sse_key}: <{sse_key}>'" in command
    assert "--data-binary 'it'\\''s a body'" in command
    for secret in (SIGNATURE, "AKIAREPLAYTARGET0001", "**REDACTED**", "x-amz-date"):
        assert secret not in command
    assert CUSTOMER_KEY not in command


def test_a_presigned_url_keeps_placeholders(page: Any, tmp_path: Path) -> None:
    doc, details = sample_report()
    details = copy.deepcopy(details)
    record = next(r for r in details if r["operation"] == "GetObject")
    record["reference"]["request"]["url"] = (
        "https://reports.s3.amazonaws.com/hello.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        f"&X-Amz-Credential=AKIAEXAMPLE%2F20261206%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature={SIGNATURE}"
    )
    record["reference"]["request"]["headers"] = [["Host", "reports.s3.amazonaws.com"]]
    write_reports(doc, tmp_path / "report", write_details(details, tmp_path / "details.jsonl"))
    open_report(page, tmp_path / "report")
    page.click(".tab[data-tab=exchanges]")
    page.fill("#filters input[name=q]", "GetObject")
    page.locator("#table tbody tr").first.click()
    exchange = page.locator("#exchange")
    exchange.wait_for(state="visible")
    exchange.locator(".tabs.small .tab[data-view=raw]").click()
    button = exchange.locator(".view[data-view=raw] .column[data-side=reference] button.curl")
    button.click()
    command = button.get_attribute("data-copied") or ""
    assert "X-Amz-Signature=<x-amz-signature>" in command and "X-Amz-Credential=<x-amz-credential>" in command
    assert SIGNATURE not in command and "AKIAEXAMPLE" not in command


def test_a_candidate_equal_to_the_reference_is_shown_from_it(page: Any, tmp_path: Path) -> None:
    """details.jsonl leaves out what repeats the reference; the view shows the reference's copy."""
    doc, details = sample_report()
    details = copy.deepcopy(details)
    record = next(r for r in details if r["target"] == "swift" and r["operation"] == "ListBuckets")
    candidate = record["candidate"]
    del candidate["normalized"]
    candidate["normalized_same_as_reference"] = True
    candidate["response"]["body"] = "<the reference's 312 bytes, sha256 " + "ab" * 32 + ">"
    candidate["response"]["body_same_as_reference"] = True
    write_reports(doc, tmp_path / "report", write_details(details, tmp_path / "details.jsonl"))
    open_report(page, tmp_path / "report")
    page.click(".tab[data-tab=exchanges]")
    page.fill("#filters input[name=q]", "ListBuckets")
    page.locator("#table tbody tr").filter(has_text="swift").first.click()
    exchange = page.locator("#exchange")
    exchange.wait_for(state="visible")
    column = exchange.locator(".view[data-view=normalized] .column[data-side=candidate]")
    assert "Same as the reference after normalization." in column.inner_text()
    name = column.locator('[data-path="$.Buckets[0].Name"]').inner_text().strip()
    assert name.startswith('"Name": "reports"')
    exchange.locator(".tabs.small .tab[data-view=diff]").click()
    assert "byte for byte the reference's" in exchange.locator(".view[data-view=diff]").inner_text()


def test_the_tests_section_filters_and_links_to_a_test_s_exchanges(page: Any, tmp_path: Path) -> None:
    from compat_diff.report.tests import build_tests_view

    doc, details = sample_report()
    sessions = {
        1: ("suite::test_list", "call"),
        2: ("suite::test_get", "call"),
        3: ("suite::test_ec2", "setup"),
        4: ("suite::test_ec2", "call"),
    }
    recording = tmp_path / "suite.jsonl"
    lines = [orjson.dumps({"format": "compat-diff/recording", "version": 1})]
    lines += [orjson.dumps({"seq": seq, "session": name, "notes": {"step": step}})
              for seq, (name, step) in sessions.items()]  # fmt: skip
    recording.write_bytes(b"\n".join(lines) + b"\n")
    details_path = write_details(details, tmp_path / "details.jsonl")
    report = tmp_path / "report"
    write_reports(doc, report, details_path, tests=build_tests_view(recording, details_path))
    open_report(page, report)

    section = page.locator("#tests")
    assert section.locator("h3").all_inner_texts() == [
        "swift: 1 of 3 tests match",
        "rclone: 2 of 2 tests match",
    ]
    assert page.locator("#tests-count").inner_text() == "5 tests"
    page.select_option("#filters select[name=verdict]", "diverges")
    visible = section.locator("tr.test-row:visible th")
    assert visible.all_inner_texts() == ["suite::test_ec2", "suite::test_get"]
    page.select_option("#filters select[name=target]", "1")  # rclone: none diverges
    assert section.locator("tr.test-row:visible").count() == 0
    assert page.locator("#tests-count").inner_text() == "0 of 5 tests shown"
    page.select_option("#filters select[name=target]", "")
    page.select_option("#filters select[name=verdict]", "")
    page.fill("#filters input[name=q]", "test_get")
    # Both targets ran the test.
    assert section.locator("tr.test-row:visible th").all_inner_texts() == ["suite::test_get"] * 2

    # A test's link opens the exchange that diverged.
    section.locator("tr.test-row:visible a", has_text="seq 2").click()
    exchange = page.locator("#exchange")
    exchange.wait_for(state="visible")
    assert "s3.GetObject on swift · seq 2" in exchange.locator("h2").inner_text()
    assert section.is_hidden()
