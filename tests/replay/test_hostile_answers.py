"""A candidate cannot exhaust the replay's memory: answers are streamed to disk and capped.

Every test runs a hostile candidate as its own process (tests/replay/hostile_server.py) and the
replay as `python -m compat_diff`, whose peak resident memory is read from the kernel's account
of the finished child (a wrapper process reports ``RUSAGE_CHILDREN``).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from compat_diff.model import Auth
from compat_diff.recording import RecordingWriter
from compat_diff.testing import make_exchange, make_request, make_response, run_cli, stop_process

MIB = 1024 * 1024
AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=AKIARECORDED/20240101/us-east-1/s3/aws4_request, "
    "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=**REDACTED**"
)
# Runs the command given as arguments and prints the peak RSS (KiB) of it, as the kernel counted it.
_PEAK_RSS = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)\n"
)


def s3_get(seq: int, key: str, body: bytes = b"<ok/>", method: str = "GET") -> object:
    request = make_request(
        method,
        f"http://127.0.0.1:5000/hostile-bucket/{key}",
        [
            ("Host", "127.0.0.1:5000"),
            ("Authorization", AUTHORIZATION),
            ("X-Amz-Date", "20240101T000000Z"),
            ("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"),
        ],
    )
    return make_exchange(
        seq,
        request,
        make_response(200, [("Content-Type", "application/xml")], body),
        service="s3",
        operation="GetObject" if method == "GET" else "HeadObject",
        auth=Auth(
            "sigv4", "AKIARECORDED", ("host", "x-amz-content-sha256", "x-amz-date"), "UNSIGNED-PAYLOAD"
        ),
    )


def write_recording(path: Path, calls: int = 1) -> Path:
    with RecordingWriter(path) as writer:
        for seq in range(1, calls + 1):
            writer.write(s3_get(seq, f"key-{seq}"))
    return path


def answers(run: Path, target: str) -> list[dict]:
    lines = (run / "targets" / target / "answers.jsonl").read_text().splitlines()
    return sorted((json.loads(line) for line in lines), key=lambda answer: answer["seq"])


class Hostile:
    def __init__(self, url: str, process: subprocess.Popen[bytes]) -> None:
        self.url = url
        self.process = process


@pytest.fixture
def hostile(tmp_path: Path) -> Iterator[Callable[..., Hostile]]:
    """Start tests/replay/hostile_server.py in a mode; stopped by PID."""
    started: list[Hostile] = []

    def make(mode: str, *args: object) -> Hostile:
        port_file = tmp_path / f"hostile-{mode}-{len(started)}.port"
        script = Path(__file__).with_name("hostile_server.py")
        process = subprocess.Popen(
            [sys.executable, str(script), str(port_file), mode, *map(str, args)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server = Hostile("", process)
        started.append(server)
        deadline = time.monotonic() + 120
        while not port_file.exists():
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"hostile server {mode} did not start")
            time.sleep(0.02)
        server.url = f"http://127.0.0.1:{port_file.read_text()}"
        return server

    yield make
    for server in started:
        stop_process(server.process)


def replay_measured(tmp_path: Path, recording: Path, url: str, *extra: str) -> tuple[int, int, str]:
    """(peak RSS in bytes, exit code, stderr) of `compat-diff replay` against ``url``."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            _PEAK_RSS,
            sys.executable,
            "-m",
            "compat_diff",
            "replay",
            str(recording),
            "--target",
            f"hostile={url}",
            "--out",
            str(tmp_path / "run"),
            "--timeout",
            "120",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    peak_kib, code = result.stdout.split()[-2:]
    return int(peak_kib) * 1024, int(code), result.stderr


def test_a_huge_answer_is_cut_off_at_the_cap_with_flat_memory(tmp_path, hostile):
    body_size = 300 * MIB
    server = hostile("huge", body_size)
    recording = write_recording(tmp_path / "rec.jsonl")

    peak, code, stderr = replay_measured(tmp_path, recording, server.url, "--max-answer-bytes", str(8 * MIB))

    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert "too-large" in stderr
    [answer] = answers(tmp_path / "run", "hostile")
    assert answer["outcome"] == "too-large"
    assert answer["error"]["limit"] == 8 * MIB and answer["error"]["status"] == 200
    assert answer["response"] is None
    assert peak < body_size / 2, f"peak RSS {peak / MIB:.0f} MiB for a {body_size / MIB:.0f} MiB answer"
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["summary"]["hostile"]["too_large"] == 1
    assert run["options"]["max_answer_bytes"] == 8 * MIB


def test_a_gzip_bomb_is_capped_by_its_decoded_size(tmp_path, hostile):
    decoded = 1024 * MIB  # about 1 MiB on the wire
    server = hostile("gzip-bomb", decoded)
    recording = write_recording(tmp_path / "rec.jsonl")

    peak, code, stderr = replay_measured(tmp_path, recording, server.url)

    assert code == 0, stderr
    assert "Traceback" not in stderr
    [answer] = answers(tmp_path / "run", "hostile")
    assert answer["outcome"] == "too-large", answer
    assert "decoded body" in answer["error"]["message"]
    assert answer["error"]["limit"] == 64 * MIB  # the default
    assert peak < 64 * MIB + 200 * MIB and peak < decoded / 3, f"peak RSS {peak / MIB:.0f} MiB"


def test_an_endless_chunked_answer_stops_at_the_cap(tmp_path, hostile):
    server = hostile("endless")
    recording = write_recording(tmp_path / "rec.jsonl", calls=2)

    result = run_cli(
        "replay",
        str(recording),
        "--target",
        f"hostile={server.url}",
        "--out",
        str(tmp_path / "run"),
        "--max-answer-bytes",
        str(4 * MIB),
        timeout=300,
    )

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert [answer["outcome"] for answer in answers(tmp_path / "run", "hostile")] == [
        "too-large",
        "too-large",
    ]
    assert "2 answer(s) larger than 4194304 bytes" in result.stderr


def test_a_large_answer_under_the_cap_is_streamed_to_disk_not_held(tmp_path, hostile):
    body_size = 200 * MIB
    server = hostile("huge", body_size)
    recording = write_recording(tmp_path / "rec.jsonl")

    peak, code, stderr = replay_measured(
        tmp_path, recording, server.url, "--max-answer-bytes", str(256 * MIB)
    )

    assert code == 0, stderr
    [answer] = answers(tmp_path / "run", "hostile")
    assert answer["outcome"] == "answered"
    body = answer["response"]["body"]
    assert body["size"] == body_size
    blob = tmp_path / "run" / "targets" / "hostile" / "answers.jsonl.blobs" / body["blob"]
    digest = hashlib.sha256()
    with blob.open("rb") as handle:
        while chunk := handle.read(MIB):
            digest.update(chunk)
    assert digest.hexdigest() == body["blob"]
    assert not list(blob.parent.glob("*.partial"))
    assert peak < body_size / 2, f"peak RSS {peak / MIB:.0f} MiB for a {body_size / MIB:.0f} MiB answer"


def test_a_head_answer_announcing_a_huge_object_is_not_too_large(tmp_path, hostile):
    # Only bytes that arrive count: a HEAD answer's Content-Length describes the object, not a body.
    server = hostile("head", 10 * 1024 * MIB)
    recording = tmp_path / "rec.jsonl"
    with RecordingWriter(recording) as writer:
        writer.write(s3_get(1, "big", body=b"", method="HEAD"))

    result = run_cli(
        "replay", str(recording), "--target", f"hostile={server.url}", "--out", str(tmp_path / "run")
    )

    assert result.returncode == 0, result.stderr
    [answer] = answers(tmp_path / "run", "hostile")
    assert answer["outcome"] == "answered"
    assert answer["response"]["body"] == {"text": ""}


def test_too_large_is_a_failing_verdict_of_the_report(tmp_path, hostile):
    server = hostile("huge", 2 * MIB)
    recording = write_recording(tmp_path / "rec.jsonl")
    targets = tmp_path / "targets.toml"
    targets.write_text(
        f'[replay]\nmax_answer_bytes = {MIB}\n\n[target.hostile]\nendpoint = "{server.url}"\n'
        'access_key = "test"\nsecret_key = "test"\n'
    )
    replayed = run_cli("replay", str(recording), "--targets", str(targets), "--out", str(tmp_path / "run"))
    assert replayed.returncode == 0, replayed.stderr
    assert answers(tmp_path / "run", "hostile")[0]["outcome"] == "too-large"

    result = run_cli("diff", str(tmp_path / "run"), "--report-dir", str(tmp_path / "report"))

    assert result.returncode == 1, result.stderr
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    [target] = report["targets"]
    assert target["verdicts"]["too-large"] == 1
    assert target["compared"] == 1 and target["matching"] == 0 and target["score"] == 0
    [operation] = target["operations"]
    assert operation["verdict"] == "too-large"
    assert operation["divergences"][0]["kind"] == "too-large"


def test_a_bad_replay_setting_is_one_sentence_and_exit_2(tmp_path):
    recording = write_recording(tmp_path / "rec.jsonl")
    targets = tmp_path / "targets.toml"
    targets.write_text('[replay]\nmax_answer_bytes = -1\n\n[target.x]\nendpoint = "http://127.0.0.1:9"\n')

    result = run_cli("replay", str(recording), "--targets", str(targets), "--out", str(tmp_path / "run"))

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "replay.max_answer_bytes must be a positive whole number" in result.stderr
