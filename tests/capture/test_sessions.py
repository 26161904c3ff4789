"""Test sessions: a control request through the proxy names the running test, from any language
(curl here), and the pytest plugin shipped in the package names each test's setup, call and
teardown; a comparison then reports results per test."""

from __future__ import annotations

import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import boto3

from compat_diff.recording import read_recording
from compat_diff.testing import moto_server, run_cli
from tests.capture.conftest import client_environment, record, write_script

LIST_QUEUES = "import boto3; boto3.client('sqs', region_name='us-east-1').list_queues()"


def test_a_control_request_names_the_session_and_step_and_is_not_recorded(
    tmp_path: Path, moto_http: str, confdir: Path
) -> None:
    control = 'curl -sf -x "$HTTP_PROXY" "http://compat-diff.invalid/session?name={}&step={}"'
    script = "; ".join(
        [
            control.format("first", "call"),
            f'{sys.executable} -c "{LIST_QUEUES}"',
            control.format("second%2Fwith%20slash", "teardown"),
            f'{sys.executable} -c "{LIST_QUEUES}"',
            'curl -sf -x "$HTTP_PROXY" "http://compat-diff.invalid/session"',  # back to the default
            f'{sys.executable} -c "{LIST_QUEUES}"',
        ]
    )
    out = tmp_path / "r.jsonl"
    result = record(
        out,
        confdir,
        ["sh", "-c", script],
        "--session",
        "main",
        env=client_environment(AWS_ENDPOINT_URL=moto_http),
    )
    assert result.returncode == 0, result.stderr
    exchanges = list(read_recording(out))
    assert [(e.session, e.notes.get("step")) for e in exchanges] == [
        ("first", "call"),
        ("second/with slash", "teardown"),
        ("main", None),
    ]
    assert all(e.operation == "ListQueues" for e in exchanges)
    assert "2 control requests named the test session" in result.stderr


SUITE = """
import boto3
import pytest


@pytest.fixture
def queue():
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="plugin-queue")["QueueUrl"]
    yield url
    sqs.delete_queue(QueueUrl=url)


def test_send(queue):
    boto3.client("sqs", region_name="us-east-1").send_message(QueueUrl=queue, MessageBody="hi")


def test_list():
    boto3.client("sqs", region_name="us-east-1").list_queues()
"""


def _compare_with_a_fresh_moto(recording: Path, report: Path) -> subprocess.CompletedProcess[str]:
    with moto_server() as candidate:
        return run_cli(
            "compare", str(recording), "--target", f"fresh={candidate.url}", "--report-dir", str(report),
            env=client_environment(),
            timeout=300,
        )  # fmt: skip


def test_the_pytest_plugin_makes_each_test_a_session_reported_per_test(tmp_path: Path, confdir: Path) -> None:
    suite = write_script(tmp_path, "test_third_party.py", SUITE)
    out = tmp_path / "r.jsonl"
    with moto_server() as reference:
        result = record(
            out,
            confdir,
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "--compat-diff-sessions",  # the plugin is registered by compat-diff's entry point
                "-p",
                "no:cacheprovider",
                # Test ids relative to the suite's folder, wherever the checkout and the temp dir are.
                "--rootdir",
                str(tmp_path),
                str(suite),
            ],
            env=client_environment(AWS_ENDPOINT_URL=reference.url),
        )
    assert result.returncode == 0, result.stdout + result.stderr
    steps = [(e.session, e.notes.get("step"), e.operation) for e in read_recording(out)]
    assert steps == [
        ("test_third_party.py::test_send", "setup", "CreateQueue"),
        ("test_third_party.py::test_send", "call", "SendMessage"),
        ("test_third_party.py::test_send", "teardown", "DeleteQueue"),
        ("test_third_party.py::test_list", "call", "ListQueues"),
    ]
    report = tmp_path / "report"
    compared = _compare_with_a_fresh_moto(out, report)
    assert compared.returncode in (0, 1), compared.stderr
    view = json.loads((report / "tests.json").read_text())
    assert view["format"] == "compat-diff/tests"
    tests = {test["test"]: test for test in view["targets"][0]["tests"]}
    assert set(tests) == {"test_third_party.py::test_send", "test_third_party.py::test_list"}
    assert tests["test_third_party.py::test_send"]["exchanges"] == 3
    assert tests["test_third_party.py::test_list"]["verdict"] == "match"
    assert "of 2 tests match" in (report / "tests.md").read_text()


# A suite whose tests match, diverge and carry markup in their ids. The queue made before the
# recording exists on the reference only, so the test that reads it diverges on a fresh candidate.
HOSTILE_ID = "<script>window.__pwned=1</script>"
SUITE_FOR_THE_REPORT = f"""
import boto3
import pytest


def sqs():
    return boto3.client("sqs", region_name="us-east-1")


@pytest.fixture
def queue():
    url = sqs().create_queue(QueueName="report-queue")["QueueUrl"]
    yield url
    sqs().delete_queue(QueueUrl=url)


def test_send(queue):
    sqs().send_message(QueueUrl=queue, MessageBody="hi")


def test_reads_a_queue_made_before():
    sqs().get_queue_url(QueueName="made-before-the-recording")


@pytest.mark.parametrize("prefix", ["none-"], ids=[{HOSTILE_ID!r}])
def test_named(prefix):
    sqs().list_queues(QueueNamePrefix=prefix)
"""


# The end tag that closes each kind of text the parser collects.
_CLOSING = (("th", "th"), ("h3", "h3"), ("li", "step"))


class _TestsSection(HTMLParser):
    """The per-test section of index.html as data: per row, the test id, its verdict, its steps
    and the hrefs of its links; and every start tag seen inside the section."""

    def __init__(self) -> None:
        super().__init__()
        self.found = False
        self.depth = 0  # open <section> elements from the tests section down
        self.tags: list[str] = []
        self.rows: list[dict] = []
        self.headings: list[str] = []
        self._cell: list[str] | None = None
        self._cell_kind = ""
        self._in_steps = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "section" and attributes.get("id") == "tests":
            self.found = True
            self.depth = 1
            return
        if not self.depth:
            return
        self.depth += tag == "section"
        self.tags.append(tag)
        classes = (attributes.get("class") or "").split()
        if tag == "tr" and "test-row" in classes:
            self.rows.append({"verdict": attributes.get("data-verdict"), "steps": [], "links": [], "th": ""})
        elif tag == "th" and attributes.get("scope") == "row":
            self._cell, self._cell_kind = [], "th"
        elif tag == "h3":
            self._cell, self._cell_kind = [], "h3"
        elif tag == "ul" and "steps" in classes:
            self._in_steps = True
        elif tag == "li" and self._in_steps:
            self._cell, self._cell_kind = [], "step"
        elif tag == "a" and self.rows:
            self.rows[-1]["links"].append(attributes.get("href"))

    def handle_endtag(self, tag: str) -> None:
        if not self.depth:
            return
        if tag == "section":
            self.depth -= 1
        elif tag == "ul":
            self._in_steps = False
        elif self._cell is not None and (tag, self._cell_kind) in _CLOSING:
            text = " ".join("".join(self._cell).split())
            if self._cell_kind == "th":
                self.rows[-1]["th"] = text
            elif self._cell_kind == "h3":
                self.headings.append(text)
            else:
                self.rows[-1]["steps"].append(text)
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self.depth and self._cell is not None:
            self._cell.append(data)


def _tests_section(report: Path) -> _TestsSection:
    parser = _TestsSection()
    parser.feed((report / "index.html").read_text())
    return parser


def test_the_html_report_shows_each_test_with_its_steps_verdicts_and_links(
    tmp_path: Path, confdir: Path
) -> None:
    suite = write_script(tmp_path, "test_for_the_report.py", SUITE_FOR_THE_REPORT)
    out = tmp_path / "r.jsonl"
    with moto_server() as reference:
        boto3.client(
            "sqs", region_name="us-east-1", endpoint_url=reference.url,
            aws_access_key_id="testing", aws_secret_access_key="testing",
        ).create_queue(QueueName="made-before-the-recording")  # fmt: skip
        result = record(
            out,
            confdir,
            [sys.executable, "-m", "pytest", "-q", "--compat-diff-sessions", "-p", "no:cacheprovider",
             "--rootdir", str(tmp_path), str(suite)],
            env=client_environment(AWS_ENDPOINT_URL=reference.url),
        )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    report = tmp_path / "report"
    compared = _compare_with_a_fresh_moto(out, report)
    assert compared.returncode == 1, compared.stderr  # the test reading the old queue diverges

    section = _tests_section(report)
    assert section.found
    assert section.headings == ["fresh: 2 of 3 tests match"]
    rows = {row["th"]: row for row in section.rows}
    named = f"test_for_the_report.py::test_named[{HOSTILE_ID}]"
    assert set(rows) == {
        "test_for_the_report.py::test_send",
        "test_for_the_report.py::test_reads_a_queue_made_before",
        named,
    }
    # The failing test comes first, with its verdict, its step and a link to its exchange.
    first = section.rows[0]
    assert first["th"] == "test_for_the_report.py::test_reads_a_queue_made_before"
    assert first["verdict"] == "diverges"
    assert first["steps"] == ["call diverges 0/1"]
    diverging_seq = next(
        e.seq for e in read_recording(out) if e.session == first["th"] and e.operation == "GetQueueUrl"
    )
    assert first["links"] == [f"#tab=exchanges&target=0&exchange=0:{diverging_seq}"]
    send = rows["test_for_the_report.py::test_send"]
    assert send["verdict"] == "match" and send["links"] == []
    assert send["steps"] == ["setup match 1/1", "call match 1/1", "teardown match 1/1"]
    assert rows[named]["verdict"] == "match"
    # The markup in the test id is text: no element of it reached the page.
    assert "script" not in section.tags
    assert "<script>window.__pwned" not in (report / "index.html").read_text()
    # The same view as tests.json, which the section is built from.
    view = json.loads((report / "tests.json").read_text())
    verdicts = {test["test"]: test["verdict"] for test in view["targets"][0]["tests"]}
    assert verdicts == {row["th"]: row["verdict"] for row in section.rows}
    # Rendered again from report.json (`compat-diff report`), the section is there too.
    again = tmp_path / "again"
    rendered = run_cli("report", str(report / "report.json"), "--report-dir", str(again))
    assert rendered.returncode == 1, rendered.stderr
    assert [(row["th"], row["verdict"]) for row in _tests_section(again).rows] == [
        (row["th"], row["verdict"]) for row in section.rows
    ]


def test_a_recording_without_test_sessions_has_no_tests_section(
    tmp_path: Path, moto_http: str, confdir: Path
) -> None:
    out = tmp_path / "r.jsonl"
    result = record(
        out,
        confdir,
        [sys.executable, "-c", LIST_QUEUES],
        env=client_environment(AWS_ENDPOINT_URL=moto_http),
    )
    assert result.returncode == 0, result.stderr
    report = tmp_path / "report"
    compared = _compare_with_a_fresh_moto(out, report)
    assert compared.returncode in (0, 1), compared.stderr
    section = _tests_section(report)
    assert not section.found and section.rows == []
    assert 'id="tests"' not in (report / "index.html").read_text()
    assert (report / "report.json").is_file()
