"""Secrets a candidate hands out (STS session credentials, an IAM access key's secret, a Secrets
Manager random password, a KMS data key's plaintext, a Cognito client secret) never reach anything
the replay or the reports write.

The reference and the candidate are two real moto servers; a tapping proxy in front of the
candidate logs what it really answered, so the test knows each secret and looks for it in every
file of the run and report directories (the HTML report's compressed chunks unpacked).
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from compat_diff.testing import run_cli, stop_process

_SECRET_MEMBERS = ("SecretAccessKey", "SessionToken", "RandomPassword", "Plaintext", "ClientSecret")
_XML_SECRET = re.compile(rb"<(SecretAccessKey|SessionToken)>([^<]{16,})</")
_JSON_SECRET = re.compile(rb'"(' + "|".join(_SECRET_MEMBERS).encode() + rb')"\s*:\s*"([^"]{16,})"')
_BASE64_RUN = re.compile(rb"[A-Za-z0-9+/]{200,}={0,2}")


@pytest.fixture
def tapped_candidate(moto_factory, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    candidate = moto_factory()
    port_file = tmp_path / "tap.port"
    log = tmp_path / "tap.log"
    process = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("tap_proxy.py")),
            str(port_file),
            candidate.url,
            str(log),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not port_file.exists():
        assert process.poll() is None and time.monotonic() < deadline, "the tap proxy did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port_file.read_text()}", log
    stop_process(process)


def _record(moto_factory, boto_recorder) -> Path:
    reference = moto_factory()
    recorder = boto_recorder()
    sts = recorder.client("sts", reference.url)
    sts.get_session_token()
    iam = recorder.client("iam", reference.url)
    iam.create_user(UserName="alice")
    iam.create_access_key(UserName="alice")
    secrets = recorder.client("secretsmanager", reference.url)
    # Letters and digits only, so the password reads the same in every file format.
    secrets.get_random_password(PasswordLength=40, ExcludePunctuation=True)
    kms = recorder.client("kms", reference.url)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.generate_data_key(KeyId=key, KeySpec="AES_256")
    cognito = recorder.client("cognito-idp", reference.url)
    pool = cognito.create_user_pool(PoolName="pool")["UserPool"]["Id"]
    cognito.create_user_pool_client(UserPoolId=pool, ClientName="app", GenerateSecret=True)
    recorder.close()
    return recorder.writer.path


def _readable(path: Path) -> bytes:
    """A file's bytes, plus the unpacked gzip+base64 chunks an HTML report embeds."""
    data = path.read_bytes()
    extra = []
    for run in _BASE64_RUN.findall(data):
        try:
            extra.append(gzip.decompress(base64.b64decode(run)))
        except (binascii.Error, OSError, EOFError):
            continue
    return b"\n".join([data, *extra])


def test_candidate_secrets_are_redacted_everywhere(moto_factory, boto_recorder, tapped_candidate, tmp_path):
    recording = _record(moto_factory, boto_recorder)
    endpoint, tap_log = tapped_candidate
    report = tmp_path / "report"
    result = run_cli(
        "compare", str(recording), "--target", f"moto2={endpoint}", "--report-dir", str(report), timeout=180
    )
    assert result.returncode in (0, 1), result.stderr

    handed_out = tap_log.read_bytes()
    found = _XML_SECRET.findall(handed_out) + _JSON_SECRET.findall(handed_out)
    # Both SecretAccessKeys (STS's and IAM's) and one of each other kind.
    assert sorted(name.decode() for name, _ in found) == sorted([*_SECRET_MEMBERS, "SecretAccessKey"]), found
    written = [path for path in tmp_path.rglob("*") if path.is_file() and "report" in path.parts]
    names = {path.name for path in written}
    assert {"answers.jsonl", "details.jsonl", "index.html", "report.json", "junit.xml", "summary.md"} <= names
    for path in written:
        content = _readable(path)
        for name, secret in found:
            for form in (secret, secret.replace(b"/", b"\\/"), secret.replace(b"+", b"\\u002b")):
                assert form not in content, f"{name.decode()} of the candidate found in {path.name}"

    # The redacted members still compare: present on both sides, equal once redacted.
    details = [json.loads(line) for line in (report / "details.jsonl").read_text().splitlines()]
    by_operation = {detail["operation"]: detail for detail in details}
    for operation in ("GetSessionToken", "CreateAccessKey", "GetRandomPassword", "GenerateDataKey"):
        detail = by_operation[operation]
        paths = [d["path"] for d in detail["divergences"]]
        assert not any(_member_path(path) for path in paths), (operation, paths)
    password = by_operation["GetRandomPassword"]
    # Redacted on both sides, the candidate's tree equals the reference's and is not repeated.
    assert password["candidate"].get("normalized_same_as_reference") is True
    assert password["reference"]["normalized"]["RandomPassword"] == "**REDACTED**"


def _member_path(path: str) -> bool:
    return any(path.endswith(f".{name}") for name in _SECRET_MEMBERS)
