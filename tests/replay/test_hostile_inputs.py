"""A crafted recording, targets file or endpoint cannot make the replay reach AWS, read local files,
write outside its run directory, drop exchanges or store credentials.

Every test runs `python -m compat_diff` as its own process against a candidate that writes down
what it receives (tests/replay/witness_server.py), so "nothing was sent" is checked, not assumed.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from compat_diff.errors import TargetError
from compat_diff.model import Auth
from compat_diff.recording import RecordingWriter, blob_dir_for
from compat_diff.replay.targets import load_targets
from compat_diff.testing import make_exchange, make_request, make_response, run_cli, stop_process

AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=AKIARECORDED/20240101/us-east-1/s3/aws4_request, "
    "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=**REDACTED**"
)
BIG = 300 * 1024  # over the inline limit, so the body is stored as a blob


@dataclass
class Witness:
    url: str
    log: Path
    process: subprocess.Popen[bytes]

    def requests(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


@pytest.fixture
def witness(tmp_path: Path) -> Iterator[Callable[..., Witness]]:
    """Start tests/replay/witness_server.py in a mode; stopped by PID."""
    started: list[Witness] = []

    def make(mode: str = "ok", *args: str) -> Witness:
        number = len(started)
        port_file = tmp_path / f"witness-{number}.port"
        log = tmp_path / f"witness-{number}.log"
        script = Path(__file__).with_name("witness_server.py")
        process = subprocess.Popen(
            [sys.executable, str(script), str(port_file), str(log), mode, *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server = Witness("", log, process)
        started.append(server)
        deadline = time.monotonic() + 120
        while not port_file.exists():
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"witness server {mode} did not start")
            time.sleep(0.02)
        server.url = f"http://127.0.0.1:{port_file.read_text()}"
        return server

    yield make
    for server in started:
        stop_process(server.process)


def s3_call(seq: int, method: str = "GET", key: str = "key", body: bytes = b"") -> object:
    headers = [
        ("Host", "127.0.0.1:5000"),
        ("Authorization", AUTHORIZATION),
        ("X-Amz-Date", "20240101T000000Z"),
        ("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"),
    ]
    if body:
        headers.append(("Content-Length", str(len(body))))
    return make_exchange(
        seq,
        make_request(method, f"http://127.0.0.1:5000/bucket/{key}", headers, body),
        make_response(200, [("Content-Type", "application/xml")], b"<ok/>"),
        service="s3",
        operation="PutObject" if method == "PUT" else "GetObject",
        auth=Auth(
            "sigv4", "AKIARECORDED", ("host", "x-amz-content-sha256", "x-amz-date"), "UNSIGNED-PAYLOAD"
        ),
    )


def write_recording(path: Path, *exchanges: object) -> Path:
    with RecordingWriter(path) as writer:
        for exchange in exchanges:
            writer.write(exchange)  # type: ignore[arg-type]
    return path


def edit_line(path: Path, number: int, change: Callable[[dict], None]) -> None:
    lines = path.read_text().splitlines()
    obj = json.loads(lines[number - 1])
    change(obj)
    lines[number - 1] = json.dumps(obj)
    path.write_text("\n".join(lines) + "\n")


def replay(
    recording: Path, out: Path, *targets: str, extra: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    args = ["replay", str(recording), "--out", str(out), "--timeout", "20", *extra]
    for target in targets:
        args += ["--target", target]
    return run_cli(*args, timeout=300)


def one_sentence(stderr: str) -> None:
    assert "Traceback" not in stderr
    assert stderr.strip().count("\n") == 0, stderr


# --------------------------------------------------------------------------------------------
# 1. The AWS refusal decides on the host the HTTP client will resolve.

UNICODE_AWS_HOSTS = [
    "s3\uff0eamazonaws\uff0ecom",  # FULLWIDTH FULL STOP
    "s3\u3002amazonaws\u3002com",  # IDEOGRAPHIC FULL STOP
    "s3\uff61amazonaws\uff61com",  # HALFWIDTH IDEOGRAPHIC FULL STOP
    "S3.AmazonAWS.COM.",  # upper case and a trailing dot
    "sts.\uff41mazonaws.com",  # FULLWIDTH LATIN SMALL LETTER A, mapped by UTS-46
]


@pytest.mark.parametrize("host", UNICODE_AWS_HOSTS)
def test_an_aws_host_spelled_with_unicode_dots_is_refused_on_the_command_line(tmp_path, host):
    recording = write_recording(tmp_path / "rec.jsonl", s3_call(1))
    result = replay(recording, tmp_path / "run", f"x=https://{host}")
    assert result.returncode == 2, result.stderr
    assert "points at the AWS endpoint" in result.stderr
    assert "--allow-aws" in result.stderr
    one_sentence(result.stderr)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "endpoints",
    [
        's3 = "https://s3\uff0eamazonaws\uff0ecom"',
        # A table entry, under an alias of the service.
        'Walrus = { url = "https://s3\u3002us-east-1\u3002amazonaws\u3002com", access_key = "k", '
        'secret_key = "s" }',
    ],
)
def test_a_per_service_endpoint_with_unicode_dots_is_refused_in_a_targets_file(tmp_path, endpoints):
    targets = tmp_path / "targets.toml"
    targets.write_text(
        f'[target.cloud]\nendpoint = "http://127.0.0.1:9"\n[target.cloud.endpoints]\n{endpoints}\n'
    )
    recording = write_recording(tmp_path / "rec.jsonl", s3_call(1))
    result = run_cli("replay", str(recording), "--targets", str(targets), "--out", str(tmp_path / "run"))
    assert result.returncode == 2, result.stderr
    assert "points at the AWS endpoint s3." in result.stderr
    one_sentence(result.stderr)


def test_an_aws_cli_endpoint_with_unicode_dots_is_refused():
    env = {"AWS_ENDPOINT_URL_S3": "https://s3\uff0eamazonaws\uff0ecom", "AWS_CONFIG_FILE": "/nonexistent"}
    with pytest.raises(TargetError, match=r"points at the AWS endpoint s3\.amazonaws\.com"):
        load_targets(["cloud"], None, env=env, chain=lambda profile: None)


def test_the_canonical_url_is_the_one_kept_and_used(tmp_path, witness):
    server = witness()
    port = server.url.rsplit(":", 1)[1]
    # Full-width dots in an IP address: the client maps them, so the target must record the mapped URL.
    written = f"http://127\uff0e0\uff0e0\uff0e1:{port}/"
    recording = write_recording(tmp_path / "rec.jsonl", s3_call(1))
    result = replay(recording, tmp_path / "run", f"local={written}")
    assert result.returncode == 0, result.stderr
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["targets"][0]["endpoint"] == f"http://127.0.0.1:{port}"
    assert [request["path"] for request in server.requests()] == ["/bucket/key"]


def test_replay_never_follows_a_redirect(tmp_path, witness):
    elsewhere = witness()
    redirecting = witness("redirect", f"{elsewhere.url}/stolen")
    recording = write_recording(tmp_path / "rec.jsonl", s3_call(1))
    result = replay(recording, tmp_path / "run", f"cand={redirecting.url}")
    assert result.returncode == 0, result.stderr
    assert len(redirecting.requests()) == 1
    assert elsewhere.requests() == []
    answer = json.loads((tmp_path / "run" / "targets" / "cand" / "answers.jsonl").read_text())
    assert answer["response"]["status"] == 302


# --------------------------------------------------------------------------------------------
# 2. Blob references stay inside the recording's own blob folder and match their digest.


@pytest.mark.parametrize("reference", ["/etc/passwd", "../../etc/passwd", "passwd", "A" * 64])
def test_a_blob_reference_that_is_not_a_digest_is_a_damaged_line_and_nothing_is_sent(
    tmp_path, witness, reference
):
    server = witness()
    recording = write_recording(tmp_path / "rec.jsonl", s3_call(1), s3_call(2, "PUT", "up", b"x" * BIG))

    def point_elsewhere(obj: dict) -> None:
        obj["request"]["body"] = {"blob": reference, "size": 1500}

    edit_line(recording, 3, point_elsewhere)
    result = replay(recording, tmp_path / "run", f"cand={server.url}")
    assert result.returncode == 2, result.stderr
    assert "line 3 of" in result.stderr and "not a sha256 digest" in result.stderr
    one_sentence(result.stderr)
    assert server.requests() == []
    assert "root:" not in result.stderr


def test_a_blob_whose_bytes_do_not_hash_to_its_name_is_refused(tmp_path, witness):
    server = witness()
    recording = write_recording(tmp_path / "rec.jsonl", s3_call(1, "PUT", "up", b"x" * BIG))
    blob = next(blob_dir_for(recording).iterdir())
    blob.write_bytes(b"y" * BIG)  # same size, other bytes
    result = replay(recording, tmp_path / "run", f"cand={server.url}")
    assert result.returncode == 2, result.stderr
    assert "line 2 of" in result.stderr and "do not hash to its name" in result.stderr
    assert server.requests() == []


def test_a_blob_linked_to_another_file_is_refused(tmp_path, witness):
    server = witness()
    recording = write_recording(tmp_path / "rec.jsonl", s3_call(1, "PUT", "up", b"x" * BIG))
    blob = next(blob_dir_for(recording).iterdir())
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"s" * BIG)
    blob.unlink()
    blob.symlink_to(secret)
    result = replay(recording, tmp_path / "run", f"cand={server.url}")
    assert result.returncode == 2, result.stderr
    assert server.requests() == []


def test_a_missing_blob_is_a_problem_of_the_recording_not_a_transport_reset(tmp_path, witness):
    server = witness()
    recording = write_recording(tmp_path / "rec.jsonl", s3_call(1, "PUT", "up", b"x" * BIG))
    digest = hashlib.sha256(b"x" * BIG).hexdigest()
    (blob_dir_for(recording) / digest).unlink()
    result = replay(recording, tmp_path / "run", f"cand={server.url}")
    assert result.returncode == 2, result.stderr
    assert f"the blob {digest} is missing from" in result.stderr
    assert "line 2 of" in result.stderr
    assert "reset" not in result.stderr
    one_sentence(result.stderr)
    assert server.requests() == []


def test_an_intact_blob_is_sent_with_its_bytes(tmp_path, witness):
    server = witness()
    data = b"x" * BIG
    recording = write_recording(tmp_path / "rec.jsonl", s3_call(1, "PUT", "up", data))
    result = replay(recording, tmp_path / "run", f"cand={server.url}")
    assert result.returncode == 0, result.stderr
    [received] = server.requests()
    assert received["body_sha256"] == hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------------------------
# 3. Duplicate seq numbers are refused, naming both lines.


def test_duplicate_seq_numbers_are_refused_naming_both_lines(tmp_path, witness):
    server = witness()
    recording = write_recording(tmp_path / "rec.jsonl", s3_call(1), s3_call(2), s3_call(3))
    edit_line(recording, 4, lambda obj: obj.update(seq=1))
    result = replay(recording, tmp_path / "run", f"cand={server.url}")
    assert result.returncode == 2, result.stderr
    assert "seq 1, on lines 2 and 4" in result.stderr
    one_sentence(result.stderr)


def test_the_diff_refuses_a_recording_with_duplicate_seq_numbers(tmp_path, witness):
    server = witness()
    recording = write_recording(tmp_path / "rec.jsonl", s3_call(1), s3_call(2))
    assert replay(recording, tmp_path / "run", f"cand={server.url}").returncode == 0
    edit_line(recording, 3, lambda obj: obj.update(seq=1))  # changed after the replay
    result = run_cli("diff", str(tmp_path / "run"), "--report-dir", str(tmp_path / "report"))
    assert result.returncode == 2, result.stderr
    assert "seq 1, on lines 2 and 3" in result.stderr


# --------------------------------------------------------------------------------------------
# 4. Target names are a safe alphabet; paths from recorded data stay inside their folder.


@pytest.mark.parametrize("name", ["../../evil", "a/b", ".hidden", "x..y", "-dash", "n" * 65])
def test_an_unsafe_target_name_is_refused(tmp_path, witness, name):
    server = witness()
    recording = write_recording(tmp_path / "rec.jsonl", s3_call(1))
    result = replay(recording, tmp_path / "out" / "run", f"{name}={server.url}")
    assert result.returncode == 2, result.stderr
    assert "is not allowed" in result.stderr
    one_sentence(result.stderr)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == []
    assert server.requests() == []


def test_an_unsafe_target_name_in_a_targets_file_is_refused(tmp_path):
    targets = tmp_path / "targets.toml"
    targets.write_text('[target."../../evil"]\nendpoint = "http://127.0.0.1:9"\n')
    recording = write_recording(tmp_path / "rec.jsonl", s3_call(1))
    result = run_cli("replay", str(recording), "--targets", str(targets), "--out", str(tmp_path / "run"))
    assert result.returncode == 2, result.stderr
    assert "'../../evil' is not allowed" in result.stderr


def test_a_crafted_run_json_cannot_point_the_diff_outside_the_run_directory(tmp_path, witness):
    server = witness()
    recording = write_recording(tmp_path / "rec.jsonl", s3_call(1))
    run = tmp_path / "run"
    assert replay(recording, run, f"cand={server.url}").returncode == 0
    # A planted answers file outside the run directory, and a run.json naming it.
    outside = tmp_path / "outside" / "answers.jsonl"
    outside.parent.mkdir()
    outside.write_text((run / "targets" / "cand" / "answers.jsonl").read_text())
    header = json.loads((run / "run.json").read_text())
    header["targets"][0]["name"] = "../../outside"
    (run / "run.json").write_text(json.dumps(header))
    result = run_cli("diff", str(run), "--report-dir", str(tmp_path / "report"))
    assert result.returncode == 2, result.stderr
    assert "'../../outside' is not allowed" in result.stderr


# --------------------------------------------------------------------------------------------
# 5. Credentials in an endpoint URL are refused and never stored.


def test_credentials_in_an_endpoint_url_are_refused_and_never_stored(tmp_path, witness):
    server = witness()
    host = server.url.removeprefix("http://")
    recording = write_recording(tmp_path / "rec.jsonl", s3_call(1))
    result = replay(recording, tmp_path / "run", f"cand=http://admin:hunter2@{host}")
    assert result.returncode == 2, result.stderr
    assert "must not carry credentials" in result.stderr
    assert "hunter2" not in result.stderr
    one_sentence(result.stderr)
    assert not (tmp_path / "run").exists()
    assert server.requests() == []


def test_credentials_in_a_per_service_endpoint_are_refused(tmp_path):
    targets = tmp_path / "targets.toml"
    targets.write_text(
        '[target.cloud]\nendpoint = "http://127.0.0.1:9"\n'
        '[target.cloud.endpoints]\nsqs = { url = "http://user:pw@127.0.0.1:9/sqs" }\n'
    )
    with pytest.raises(TargetError, match="must not carry credentials") as raised:
        load_targets([], targets, chain=lambda profile: None)
    assert "pw@" not in str(raised.value)
