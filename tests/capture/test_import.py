"""`compat-diff import`: HAR and mitmproxy flow files become recordings, identified and redacted
like `record` does, with what could not be used said."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
from mitmproxy import http, io
from mitmproxy.test import tflow

from compat_diff.recording import read_recording
from compat_diff.testing import run_cli
from tests.capture.conftest import ACCESS_KEY, SECRET_KEY, client_environment


def _real_calls(endpoint: str) -> list[tuple[object, object]]:
    """(prepared request, response) pairs of real boto3 calls to moto, captured by botocore's events."""
    captured: list[tuple[object, object]] = []
    client = boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )

    sent: list[object] = []
    client.meta.events.register("before-send.sqs.*", lambda request, **_: sent.append(request))
    client.meta.events.register(
        "after-call.sqs.*", lambda http_response, **_: captured.append((sent[-1], http_response))
    )
    client.create_queue(QueueName="imported")
    client.list_queues()
    return captured


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


def _har(calls: list[tuple[object, object]], drop_request_body: bool = False) -> dict:
    entries = []
    for request, response in calls:
        body = _text(request.body)
        post = {"mimeType": _text(request.headers.get("Content-Type", "")), "text": body}
        if drop_request_body:
            post.pop("text")
        entries.append(
            {
                "startedDateTime": "2026-12-01T10:00:00.000Z",
                "time": 5,
                "request": {
                    "method": request.method,
                    "url": request.url,
                    "headers": [{"name": k, "value": _text(v)} for k, v in request.headers.items()],
                    "bodySize": len(body),
                    "postData": post,
                },
                "response": {
                    "status": response.status_code,
                    "headers": [{"name": k, "value": v} for k, v in response.headers.items()],
                    "content": {"size": len(response.content), "text": response.content.decode()},
                },
            }
        )
    entries.append(  # a page the browser also loaded: not AWS
        {
            "startedDateTime": "2026-12-01T10:00:01.000Z",
            "time": 1,
            "request": {"method": "GET", "url": "http://example.com/", "headers": [], "bodySize": 0},
            "response": {"status": 200, "headers": [], "content": {"size": 2, "text": "hi"}},
        }
    )
    return {"log": {"version": "1.2", "entries": entries}}


def test_a_har_file_becomes_a_redacted_recording(tmp_path: Path, moto_http: str) -> None:
    calls = _real_calls(moto_http)
    har = tmp_path / "capture.har"
    har.write_text(json.dumps(_har(calls)))
    out = tmp_path / "r.jsonl"
    result = run_cli("import", str(har), "--out", str(out), env=client_environment())
    assert result.returncode == 0, result.stderr
    assert "2 AWS calls of 3 entries" in result.stdout and "1 not an AWS call" in result.stdout
    exchanges = list(read_recording(out))
    assert [(e.service, e.operation) for e in exchanges] == [("sqs", "CreateQueue"), ("sqs", "ListQueues")]
    text = out.read_text()
    signature = _text(dict(calls[0][0].headers)["Authorization"])
    assert signature.split("Signature=")[1] not in text
    assert all(e.replayable for e in exchanges)


def test_a_har_without_request_bodies_is_kept_but_not_replayable(tmp_path: Path, moto_http: str) -> None:
    har = tmp_path / "capture.har"
    har.write_text(json.dumps(_har(_real_calls(moto_http), drop_request_body=True)))
    out = tmp_path / "r.jsonl"
    result = run_cli("import", str(har), "--out", str(out), env=client_environment())
    assert result.returncode == 0, result.stderr
    assert "request body left out of the HAR" in result.stdout
    exchanges = list(read_recording(out))
    assert exchanges and not any(e.replayable for e in exchanges)


def test_a_mitmproxy_flow_file_becomes_a_recording(tmp_path: Path, moto_http: str) -> None:
    flows = tmp_path / "capture.flows"
    with flows.open("wb") as sink:
        writer = io.FlowWriter(sink)
        for request, response in _real_calls(moto_http):
            flow = tflow.tflow(resp=True)
            headers = {k: _text(v) for k, v in request.headers.items()}
            flow.request = http.Request.make(request.method, request.url, request.body or b"", headers)
            flow.response = http.Response.make(response.status_code, response.content, dict(response.headers))
            writer.add(flow)
        writer.add(tflow.tflow(resp=False))  # a call that never got an answer
    out = tmp_path / "r.jsonl"
    result = run_cli("import", str(flows), "--out", str(out), env=client_environment())
    assert result.returncode == 0, result.stderr
    assert "1 no response" in result.stdout
    assert [e.operation for e in read_recording(out)] == ["CreateQueue", "ListQueues"]


def test_an_unreadable_file_is_one_sentence(tmp_path: Path) -> None:
    bad = tmp_path / "bad.har"
    bad.write_text("{ not json")
    result = run_cli("import", str(bad), "--out", str(tmp_path / "r.jsonl"), env=client_environment())
    assert result.returncode == 2
    assert "is not a readable HAR file" in result.stderr and "Traceback" not in result.stderr
