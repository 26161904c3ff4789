"""Bad input is one sentence and exit 2 or 3, never a traceback or a hang: each case runs
`python -m compat_diff` as a user would.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from compat_diff.recording import RecordingWriter
from compat_diff.testing import make_exchange, make_request, run_cli, stop_process


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    path = tmp_path / "rec.jsonl"
    with RecordingWriter(path) as writer:
        writer.write(
            make_exchange(
                1, make_request("GET", "http://127.0.0.1:5000/"), service="s3", operation="ListBuckets"
            )
        )
    return path


def one_sentence(stderr: str) -> str:
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.startswith("compat-diff:")]
    assert len(lines) == 1, stderr
    return lines[0]


def test_an_ipv6_url_without_brackets_is_one_sentence(tmp_path, recording):
    result = run_cli(
        "replay", str(recording), "--target", "x=http://::1:8080", "--out", str(tmp_path / "run")
    )
    assert result.returncode == 2
    assert "IPv6 address without brackets" in one_sentence(result.stderr)


def test_inspect_of_an_endless_file_stops_with_one_sentence():
    result = run_cli("inspect", "/dev/zero", timeout=60)
    assert result.returncode == 2
    assert "not a compat-diff recording" in one_sentence(result.stderr)


def test_a_run_directory_that_cannot_be_created_is_one_sentence(tmp_path, recording):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run_cli(
        "replay", str(recording), "--target", "x=http://127.0.0.1:9", "--out", str(blocker / "run")
    )
    assert result.returncode == 3
    assert "cannot create the run directory" in one_sentence(result.stderr)


def _run_dir(tmp_path: Path, recording: Path) -> Path:
    """A real run directory: the target refuses connections, which is still a run to diff."""
    run = tmp_path / "run"
    result = run_cli("replay", str(recording), "--target", "x=http://127.0.0.1:9", "--out", str(run))
    assert (run / "run.json").exists(), result.stderr
    return run


def test_a_regex_replacement_naming_a_missing_group_is_refused_when_loaded(tmp_path, recording):
    run = _run_dir(tmp_path, recording)
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n"
        "  - id: local.rewrite\n"
        "    reason: a rule with a mistake\n"
        "    path: $.Owner.ID\n"
        "    action: regex\n"
        "    pattern: '(abc)'\n"
        "    replacement: '\\2'\n"
    )
    result = run_cli("diff", str(run), "--report-dir", str(tmp_path / "report"), "--normalizers", str(rules))
    assert result.returncode == 2, result.stderr
    message = one_sentence(result.stderr)
    assert "local.rewrite" in message and "group" in message


@pytest.mark.parametrize(
    "document",
    [
        {
            "targets": [
                {"name": "x", "operations": [{"service": "s3", "operation": "Get", "exchanges": "many"}]}
            ]
        },
        {"recording": 5, "targets": [{"name": "x", "operations": [{"divergences": 3}]}]},
    ],
)
def test_a_malformed_report_json_is_one_sentence(tmp_path, document):
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"format": "compat-diff/report", "version": 1, **document}))
    result = run_cli("report", str(report), "--report-dir", str(tmp_path / "out"))
    assert result.returncode == 2, result.stderr
    assert "is not a valid compat-diff report" in one_sentence(result.stderr)


def test_record_refuses_to_overwrite_a_recording_unless_forced(tmp_path):
    out = tmp_path / "rec.jsonl"
    out.write_text("precious\n")
    command = ["--", sys.executable, "-c", "pass"]
    refused = run_cli("record", "--out", str(out), "--confdir", str(tmp_path / "ca"), *command, timeout=120)
    assert refused.returncode == 2
    assert "already exists" in one_sentence(refused.stderr) and "--force" in refused.stderr
    assert out.read_text() == "precious\n"

    forced = run_cli(
        "record", "--force", "--out", str(out), "--confdir", str(tmp_path / "ca"), *command, timeout=120
    )
    # The command made no AWS call, but the recording was replaced by a fresh one.
    assert forced.returncode == 0, forced.stderr
    header = json.loads(out.read_text().splitlines()[0])
    assert header["format"] == "compat-diff/recording"


def test_a_run_directory_that_fills_up_during_the_replay_is_one_sentence(tmp_path):
    """Files may grow only to 64 KiB (RLIMIT_FSIZE, which Python turns into EFBIG for the writer),
    so answers.jsonl hits the limit part-way through, as on a full disk."""
    witness_log = tmp_path / "witness.log"
    port_file = tmp_path / "witness.port"
    script = Path(__file__).parent / "replay" / "witness_server.py"
    server = subprocess.Popen(
        [sys.executable, str(script), str(port_file), str(witness_log), "ok"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not port_file.exists():
            assert time.monotonic() < deadline and server.poll() is None, "witness server did not start"
            time.sleep(0.02)
        recording = tmp_path / "many.jsonl"
        with RecordingWriter(recording) as writer:
            for seq in range(1, 601):
                call = make_request("GET", "http://127.0.0.1:5000/")
                writer.write(make_exchange(seq, call, service="s3", operation="ListBuckets"))
        limit = 64 * 1024

        def small_files() -> None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        result = subprocess.run(
            [
                sys.executable, "-m", "compat_diff", "replay", str(recording),
                "--target", f"x=http://127.0.0.1:{port_file.read_text()}", "--out", str(tmp_path / "run"),
            ],
            capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, preexec_fn=small_files,
        )  # fmt: skip
    finally:
        stop_process(server)
    assert result.returncode == 3, result.stderr
    assert "cannot write" in one_sentence(result.stderr) and "answers.jsonl" in result.stderr
