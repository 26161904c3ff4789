"""Traffic that is not an AWS call goes through the proxy untouched and is counted, not recorded."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from compat_diff.recording import load_exchanges
from compat_diff.testing import free_port, stop_process
from tests.capture.conftest import record, write_script


@pytest.fixture
def web_server(tmp_path: Path) -> Iterator[str]:
    site = tmp_path / "site"
    site.mkdir()
    (site / "page.txt").write_text("not an AWS answer")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", str(site), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import time
        import urllib.request

        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/page.txt", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process)


def test_plain_http_is_passed_through_and_counted(
    tmp_path: Path, confdir: Path, web_server: str, moto_http: str
) -> None:
    script = write_script(
        tmp_path,
        "client.py",
        "import sys, urllib.request, boto3\n"
        "for _ in range(3):\n"
        "    print(urllib.request.urlopen(sys.argv[1] + '/page.txt').read().decode())\n"
        "boto3.client('s3', endpoint_url=sys.argv[2]).list_buckets()\n",
    )
    result = record(tmp_path / "rec.jsonl", confdir, [sys.executable, str(script), web_server, moto_http])

    assert result.returncode == 0, result.stderr
    assert result.stdout.count("not an AWS answer") == 3
    _, exchanges = load_exchanges(result.path)
    assert [(e.service, e.operation) for e in exchanges] == [("s3", "ListBuckets")]
    assert "3 non-AWS requests passed through, not recorded" in result.stderr
    assert "not an AWS answer" not in result.path.read_text()


def test_a_command_whose_requests_were_all_unrecognised_exits_3(
    tmp_path: Path, confdir: Path, web_server: str
) -> None:
    """An empty recording from a successful command must not pass for a good one in CI."""
    script = write_script(
        tmp_path,
        "client.py",
        "import sys, urllib.request\n"
        "for _ in range(2):\n"
        "    urllib.request.urlopen(sys.argv[1] + '/page.txt').read()\n",
    )
    result = record(tmp_path / "rec.jsonl", confdir, [sys.executable, str(script), web_server])

    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    assert (
        "the command made 2 requests through the proxy but none was recognised as an AWS call"
        in result.stderr
    )
    assert "0 exchanges recorded" in result.stderr
    _, exchanges = load_exchanges(result.path)
    assert exchanges == []


def test_a_failing_command_keeps_its_own_status_when_nothing_was_recorded(
    tmp_path: Path, confdir: Path, web_server: str
) -> None:
    script = write_script(
        tmp_path,
        "client.py",
        "import sys, urllib.request\nurllib.request.urlopen(sys.argv[1] + '/page.txt').read()\nsys.exit(5)\n",
    )
    result = record(tmp_path / "rec.jsonl", confdir, [sys.executable, str(script), web_server])
    assert result.returncode == 5, result.stderr
