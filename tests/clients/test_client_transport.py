"""Transport details through the recorder, sent by hand so each one is exactly what a client may send:
Expect: 100-continue, Transfer-Encoding: chunked on a plain body, damaged aws-chunked streams, and
clients whose traffic never reaches the proxy.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.clients.conftest import (
    ACCESS_KEY,
    ROOT,
    SECRET_KEY,
    Moto,
    answers,
    client_environment,
    compat_diff,
    read_recording,
    record_client,
    write_targets,
)

# Runs under `compat-diff record`: every request goes to HTTP_PROXY exactly as framed here.
TRANSPORT_SCRIPT = """
import os, socket, sys, http.client
from urllib.parse import urlsplit
sys.path.insert(0, os.path.dirname(sys.argv[1]))
import aws_chunked as chunked
endpoint, access, secret = sys.argv[2], sys.argv[3], sys.argv[4]
creds = chunked.Credentials(access, secret, "us-east-1")
proxy = urlsplit(os.environ["HTTP_PROXY"])
bucket = endpoint + "/cdtest-bucket"

def plain(method, url, body=b"", extra=None):
    digest = chunked.hashlib.sha256(body).hexdigest()
    headers = chunked.sign(creds, method, url, dict(extra or {}), digest).headers
    status, _, answer = chunked.send(method, url, headers, body, os.environ["HTTP_PROXY"])
    print(method, url, status, flush=True)
    return status, answer

plain("PUT", bucket)

# Expect: 100-continue, over a raw socket: headers first, the body only after the interim 100.
body = b"x" * 70000
url = bucket + "/continued.bin"
digest = chunked.hashlib.sha256(body).hexdigest()
headers = chunked.sign(creds, "PUT", url, {"expect": "100-continue"}, digest).headers
with socket.create_connection((proxy.hostname, proxy.port)) as sock:
    head = f"PUT {url} HTTP/1.1\\r\\n" + "".join(f"{k}: {v}\\r\\n" for k, v in headers.items())
    sock.sendall((head + f"content-length: {len(body)}\\r\\n\\r\\n").encode())
    interim = sock.recv(4096)
    assert interim.startswith(b"HTTP/1.1 100"), interim
    sock.sendall(body)
    final = b""
    while b"\\r\\n\\r\\n" not in final:
        final += sock.recv(4096)
    print("expect", interim.split(b"\\r\\n")[0], final.split(b"\\r\\n")[0], flush=True)

# A plain (not aws-chunked) body of unknown length: Transfer-Encoding: chunked.
url = bucket + "/te.bin"
headers = chunked.sign(creds, "PUT", url, {}, "UNSIGNED-PAYLOAD").headers
connection = http.client.HTTPConnection(proxy.hostname, proxy.port)
connection.putrequest("PUT", url, skip_host=True, skip_accept_encoding=True)
for name, value in headers.items():
    connection.putheader(name, value)
connection.putheader("transfer-encoding", "chunked")
connection.endheaders()
for piece in (b"a" * 5000, b"b" * 7000, b"c" * 3):
    connection.send(f"{len(piece):x}\\r\\n".encode() + piece + b"\\r\\n")
connection.send(b"0\\r\\n\\r\\n")
response = connection.getresponse(); response.read()
print("te", response.status, flush=True)

status, answer = plain("GET", bucket + "/te.bin")
assert answer == b"a" * 5000 + b"b" * 7000 + b"c" * 3, len(answer)
status, answer = plain("GET", bucket + "/continued.bin")
assert answer == body
"""

DAMAGE_SCRIPT = """
import os, sys
sys.path.insert(0, os.path.dirname(sys.argv[1]))
import aws_chunked as chunked
endpoint, access, secret = sys.argv[2], sys.argv[3], sys.argv[4]
creds = chunked.Credentials(access, secret, "us-east-1")
proxy = os.environ["HTTP_PROXY"]
bucket = endpoint + "/cdtest-chunked"
signed = chunked.sign(creds, "PUT", bucket, {}, chunked.EMPTY_SHA256).headers
print("bucket", chunked.send("PUT", bucket, signed, b"", proxy)[0], flush=True)
data = bytes(range(256)) * 800
for damage in ("signature", "malformed", "truncated", None):
    url = f"{bucket}/{damage or 'intact'}.bin"
    headers, body = chunked.streaming_put(creds, url, data, 64 * 1024, damage)
    print(damage, chunked.send("PUT", url, headers, body, proxy)[0], flush=True)
url = f"{bucket}/intact.bin"
signed = chunked.sign(creds, "GET", url, {}, chunked.EMPTY_SHA256).headers
status, _, answer = chunked.send("GET", url, signed, b"", proxy)
assert status == 200 and answer == data, status
"""


def _run_script(tmp_path: Path, confdir: Path, source: str, moto: Moto) -> tuple[Path, str]:
    script = tmp_path / "send.py"
    script.write_text(source)
    out = tmp_path / "rec.jsonl"
    result = compat_diff(
        "record",
        "--out",
        str(out),
        "--confdir",
        str(confdir),
        "--",
        sys.executable,
        str(script),
        str(ROOT / "clients" / "aws_chunked.py"),
        moto.endpoint,
        ACCESS_KEY,
        SECRET_KEY,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    return out, result.stdout


def test_expect_continue_and_chunked_transfer_survive(
    moto: Moto, fresh_moto: Moto, confdir: Path, tmp_path: Path
) -> None:
    out, stdout = _run_script(tmp_path, confdir, TRANSPORT_SCRIPT, moto)
    assert "expect b'HTTP/1.1 100 Continue' b'HTTP/1.1 200 OK'" in stdout
    recording = read_recording(out)
    assert len(recording.exchanges) == len(moto.requests()) == 5
    continued, streamed = recording.exchanges[1], recording.exchanges[2]
    assert recording.header_of(continued, "expect") == "100-continue", continued["request"]["headers"]
    assert continued["request"]["body"].get("size", 70000) == 70000
    # The chunked transfer coding is undone: a body of known length, stored whole.
    assert streamed["operation"] == "PutObject"
    assert recording.header_of(streamed, "transfer-encoding") in (None, "chunked")
    assert streamed["request"]["body"].get("size", 12003) == 12003

    targets = write_targets(tmp_path / "targets.toml", fresh_moto, None)
    run_dir = tmp_path / "run"
    result = compat_diff(
        "replay", str(out), "--targets", str(targets), "--out", str(run_dir), "--concurrency", "1"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    replayed = answers(run_dir, "moto")
    assert {seq: a["response"]["status"] for seq, a in replayed.items()} == {
        e["seq"]: e["response"]["status"] for e in recording.exchanges
    }
    sent = {name.lower(): value for name, value in replayed[streamed["seq"]]["request"]["headers"]}
    assert "transfer-encoding" not in sent and sent["content-length"] == "12003"


def test_damaged_signed_chunks_are_recorded_and_flagged(moto: Moto, confdir: Path, tmp_path: Path) -> None:
    out, _ = _run_script(tmp_path, confdir, DAMAGE_SCRIPT, moto)
    recording = read_recording(out)
    # Nothing is lost: every damaged upload and everything after them is recorded.
    assert len(recording.exchanges) == len(moto.requests()) == 6
    by_key = {e["request"]["url"].rsplit("/", 1)[-1]: e for e in recording.exchanges}
    # A framing the recorder can see is broken (a chunk signature that is not one, a body cut
    # short) is kept as received, flagged and not replayed.
    for damaged in ("malformed.bin", "truncated.bin"):
        exchange = by_key[damaged]
        assert exchange["operation"] == "PutObject"
        assert exchange["notes"]["aws-chunked"].get("damaged"), (damaged, exchange["notes"])
        assert exchange.get("replayable", True) is False
    # A well-formed but wrong chunk signature needs the secret to be found out; the stream itself
    # is intact, so it is recorded decoded like any other.
    wrong = by_key["signature.bin"]["notes"]["aws-chunked"]
    assert wrong["chunks"] == 5 and wrong["decoded_length"] == 256 * 800
    intact = [e for e in recording.exchanges if e["request"]["url"].endswith("/intact.bin")]
    assert [e["request"]["method"] for e in intact] == ["PUT", "GET"]
    assert "damaged" not in intact[0]["notes"]["aws-chunked"]
    assert intact[1]["response"]["status"] == 200


def test_s3cmd_without_its_proxy_settings_records_nothing_and_warns(
    moto: Moto, confdir: Path, tmp_path: Path
) -> None:
    recording = record_client(
        tmp_path / "rec.jsonl", confdir, "s3cmd", moto.endpoint, "cdtest-s3cmd", "--ignore-proxy-env"
    )
    assert recording.returncode == 0, recording.stderr[-3000:]
    assert moto.requests(), "s3cmd did not reach moto at all"
    assert recording.exchanges == []
    assert "warning" in recording.stderr and "no AWS call went through the proxy" in recording.stderr


def test_go_client_on_a_loopback_address_bypasses_the_proxy_and_warns(
    moto: Moto, confdir: Path, tmp_path: Path
) -> None:
    """Go's net/http never proxies 127.0.0.1, whatever HTTP_PROXY says: why the hosts alias exists."""
    recording = record_client(tmp_path / "rec.jsonl", confdir, "s5cmd", moto.loopback, "cdtest-s5cmd")
    assert recording.returncode == 0, recording.stderr[-3000:]
    assert len(moto.requests()) == recording.expected_requests
    assert recording.exchanges == []
    assert "no AWS call went through the proxy" in recording.stderr


def test_record_header_names_the_client(moto: Moto, confdir: Path, tmp_path: Path) -> None:
    recording = record_client(tmp_path / "rec.jsonl", confdir, "presigned", moto.endpoint, "cdtest-presigned")
    assert recording.returncode == 0
    assert recording.header["format"] == "compat-diff/recording"
    # Only the program name is kept (arguments may carry secrets): here the Python interpreter.
    assert SECRET_KEY not in json.dumps(recording.header)
    assert client_environment()["AWS_SECRET_ACCESS_KEY"] == SECRET_KEY
