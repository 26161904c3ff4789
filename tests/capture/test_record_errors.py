"""Mistakes a user can make, and a recording that cannot be written: one clear sentence, the
documented exit code, never a traceback, and never a call passed through unrecorded.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from compat_diff.recording import blob_dir_for, load_exchanges
from tests.capture.conftest import compat_diff, record, write_script


def _one_sentence(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def test_unknown_flag_is_a_usage_error(tmp_path: Path) -> None:
    result = compat_diff("record", "--out", str(tmp_path / "r.jsonl"), "--no-such-flag")
    assert result.returncode == 2
    assert "no such option" in result.stderr.lower() and "Traceback" not in result.stderr


def test_full_disk_at_start_is_refused_before_starting(tmp_path: Path, confdir: Path) -> None:
    # /dev/full accepts the open and fails every write with ENOSPC, even for root.
    result = record(Path("/dev/full"), confdir, [sys.executable, "-c", "print('ran')"])
    assert result.returncode == 2
    sentence = _one_sentence(result.stderr)
    assert "cannot write the recording /dev/full" in sentence and "No space left" in sentence
    assert "ran" not in result.stdout


def test_out_under_a_file_is_refused_before_starting(tmp_path: Path, confdir: Path) -> None:
    not_a_dir = tmp_path / "plain-file"
    not_a_dir.write_text("")
    result = record(not_a_dir / "r.jsonl", confdir, [sys.executable, "-c", "print('ran')"])
    assert result.returncode == 2
    assert "cannot write the recording" in _one_sentence(result.stderr)
    assert "ran" not in result.stdout


def test_out_that_is_a_directory_is_refused(tmp_path: Path, confdir: Path) -> None:
    result = record(tmp_path, confdir, [sys.executable, "-c", "print('ran')"])
    assert result.returncode == 2
    assert "is a directory" in _one_sentence(result.stderr)


def test_missing_command_is_a_usage_error(tmp_path: Path, confdir: Path) -> None:
    result = record(tmp_path / "r.jsonl", confdir, ["no-such-program-compat-diff-test", "arg"])
    assert result.returncode == 2
    assert "no-such-program-compat-diff-test" in _one_sentence(result.stderr)
    assert not (tmp_path / "r.jsonl").exists()


def test_bad_listen_address_is_a_usage_error(tmp_path: Path, confdir: Path) -> None:
    result = record(
        tmp_path / "r.jsonl", confdir, [sys.executable, "-c", "pass"], "--listen", "localhost:http"
    )
    assert result.returncode == 2
    assert "--listen" in _one_sentence(result.stderr)


def test_damaged_recording_given_to_inspect(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_bytes(b"\x00\x01 this is not json\n{}\n")
    result = compat_diff("inspect", str(damaged))
    assert result.returncode == 2
    assert "not a compat-diff recording" in _one_sentence(result.stderr)


SCRIPT = """
import sys, boto3, botocore.config
s3 = boto3.client("s3", endpoint_url=sys.argv[1], config=botocore.config.Config(retries={"max_attempts": 1}))
s3.create_bucket(Bucket="full-disk")
print("small call answered", flush=True)
try:
    s3.put_object(Bucket="full-disk", Key="big", Body=b"y" * (400 * 1024))
    print("big call answered")
except Exception as error:
    print("big call refused:", error, flush=True)
try:
    s3.list_buckets()
    print("later call answered")
except Exception as error:
    print("later call refused:", type(error).__name__, flush=True)
"""


def test_a_recording_that_cannot_be_written_stops_the_proxy(
    tmp_path: Path, confdir: Path, moto_http: str
) -> None:
    out = tmp_path / "rec.jsonl"
    # Where large bodies go is taken by a file: the first large body cannot be stored.
    blob_dir_for(out).write_text("in the way")
    script = write_script(tmp_path, "client.py", SCRIPT)
    result = record(out, confdir, [sys.executable, str(script), moto_http])

    assert result.returncode == 3, result.stderr
    assert "small call answered" in result.stdout
    assert "big call answered" not in result.stdout and "later call answered" not in result.stdout
    assert "big call refused" in result.stdout and "502" in result.stdout
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("compat-diff: cannot write body blob") and "unrecorded" in last
    _, exchanges = load_exchanges(out)
    assert [e.operation for e in exchanges] == ["CreateBucket"]


def test_a_port_in_use_is_one_sentence(tmp_path: Path, confdir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = record(
            tmp_path / "r.jsonl",
            confdir,
            [sys.executable, "-c", "print('ran')"],
            "--listen",
            f"127.0.0.1:{port}",
        )
    assert result.returncode == 3
    assert "already in use" in _one_sentence(result.stderr)
    assert "ran" not in result.stdout
