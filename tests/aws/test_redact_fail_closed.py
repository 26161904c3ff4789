"""Redaction fails closed on bodies it cannot read structurally, and a presigned POST's form loses
its signing fields; a well-formed document keeps every byte that is not a secret."""

from __future__ import annotations

from pathlib import Path

from compat_diff.aws import redact
from compat_diff.aws.redact import REDACTED, redact_request, redact_response
from compat_diff.model import Body, OperationRef
from compat_diff.testing import make_request, make_response

STS = OperationRef("sts", "GetSessionToken")
SECRETS = OperationRef("secretsmanager", "GetSecretValue")
WELL_FORMED = (
    "<GetSessionTokenResponse><GetSessionTokenResult><Credentials><AccessKeyId>ASIA1</AccessKeyId>"
    "<SecretAccessKey>s3cr3t-key</SecretAccessKey><SessionToken>t0ken</SessionToken>"
    "</Credentials></GetSessionTokenResult></GetSessionTokenResponse>"
)


def _answer(body: str | bytes, content_type: str, op: OperationRef = STS) -> str:
    response = make_response(200, [("Content-Type", content_type)], body)
    return redact_response(response, op).body.text()


def test_every_cut_of_an_sts_answer_keeps_no_secret_byte() -> None:
    for cut in range(len(WELL_FORMED) + 1):
        text = _answer(WELL_FORMED[:cut], "text/xml")
        assert "s3cr3t" not in text and "t0ken" not in text, cut
        # What is not a secret stays as it was.
        assert text.startswith(WELL_FORMED[: min(cut, WELL_FORMED.index("<SecretAccessKey>"))])


def test_mismatched_xml_cannot_hide_a_secret() -> None:
    text = _answer("<A><SecretAccessKey></B>leaked-secret</SecretAccessKey></A>", "text/xml")
    assert "leaked-secret" not in text


def test_truncated_or_malformed_json_is_redacted_by_pattern() -> None:
    cut = '{"Credentials": {"AccessKeyId": "ASIA1", "SecretAccessKey": "s3cr3t", "SessionToken": "t0k'
    text = _answer(cut, "application/json")
    assert "s3cr3t" not in text and "t0k" not in text and '"AccessKeyId": "ASIA1"' in text
    trailing = '{"Name": "x", "SecretString": "s3cr3t"} and more'
    assert "s3cr3t" not in _answer(trailing, "application/x-amz-json-1.1", SECRETS)
    # Announced as JSON but not one: names that look like secrets are redacted anyway.
    odd = 'HTTP garbage "ClientSecret": "abc123", "Other": 1'
    assert "abc123" not in _answer(odd, "application/x-amz-json-1.1", OperationRef("cognito-idp", "X"))


def test_a_well_formed_document_keeps_tokens_that_are_not_secrets() -> None:
    listing = '{"NextToken": "page-2", "SecretList": [{"Name": "x"}]}'
    assert (
        _answer(listing, "application/x-amz-json-1.1", OperationRef("secretsmanager", "ListSecrets"))
        == listing
    )


def test_a_body_too_large_to_scan_is_dropped_when_the_operation_returns_secrets(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(redact, "_MAX_BODY_BYTES", 64)
    blob = tmp_path / "blob"
    data = b'{"SecretString": "s3cr3t", "padding": "' + b"x" * 100 + b'"}'
    blob.write_bytes(data)
    body = Body(inline=None, storage="blob", sha256="ab" * 32, size=len(data), blob_path=blob)
    response = make_response(200, [("Content-Type", "application/x-amz-json-1.1")], body)
    dropped = redact_response(response, SECRETS).body
    assert dropped.storage == "digest" and dropped.size == len(data) and dropped.sha256 == "ab" * 32
    # An operation without secrets in its answer keeps its large body.
    assert redact_response(response, OperationRef("s3", "GetObject")).body is body


def test_presigned_post_form_fields_are_redacted() -> None:
    fields = {
        "key": "upload.txt",
        "x-amz-algorithm": "AWS4-HMAC-SHA256",
        "x-amz-credential": "AKIAEXAMPLE/20240101/us-east-1/s3/aws4_request",
        "x-amz-date": "20240101T000000Z",
        "policy": "eyJleHBpcmF0aW9uIjoi",
        "x-amz-signature": "0123456789abcdef" * 4,
    }
    parts = [f'--XyZ\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields.items()]
    parts.append(
        '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\nhello\r\n--XyZ--\r\n'
    )
    body = "".join(parts)
    request = make_request(
        "POST",
        "http://bucket.s3.amazonaws.com/",
        [("Content-Type", "multipart/form-data; boundary=XyZ")],
        body,
    )
    redacted = redact_request(request, OperationRef("s3", "PostObject")).body.text()
    for name in ("x-amz-credential", "policy", "x-amz-signature"):
        assert fields[name] not in redacted
        assert f'name="{name}"\r\n\r\n{REDACTED}\r\n' in redacted
    assert 'name="key"\r\n\r\nupload.txt\r\n' in redacted and "hello" in redacted
