"""Golden vectors: how they are captured from moto, stored, and recomputed stage by stage.

A vector is a folder holding one recorded exchange and one candidate answer (``input.json``) and
what each pipeline stage makes of them: ``parsed.json``, ``normalized.json`` and
``divergences.json``. The reference answer comes from one moto server and the candidate answer
from a second, fresh one, so the vectors carry real run-to-run noise (request ids, dates,
generated ids) that the default packs must remove.

Regenerate with ``python tests/golden/goldenlib.py`` after a deliberate change, and review the diff.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from compat_diff.compare.exchange import SideTokens, diff_exchange
from compat_diff.compare.runfiles import Answer
from compat_diff.model import Exchange, HttpRequest, HttpResponse, TimestampText, headers_from
from compat_diff.normalize import load_rules
from compat_diff.recording.codec import decode_exchange, decode_response
from compat_diff.testing import make_request, make_response
from compat_diff.testing import moto_server as running_moto

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on a free loopback port, stopped by its PID."""
    python = PYTHON if PYTHON.exists() else Path(sys.executable)
    with running_moto(python=python, new_session=True) as server:
        yield server.url


class _Raw(io.BytesIO):
    def stream(self, amt: int = 1024, decode_content: bool = True) -> Iterator[bytes]:
        while chunk := self.read(amt):
            yield chunk


class Capture:
    """Sends a boto3 client's requests itself and keeps each (request, response) as an Exchange."""

    def __init__(self) -> None:
        from botocore.httpsession import URLLib3Session

        self.exchanges: list[Exchange] = []
        self._model: Any = None
        self._session = URLLib3Session()

    def attach(self, client: Any) -> Any:
        client.meta.events.register("before-call", self._remember)
        client.meta.events.register("before-send", self._send)
        return client

    def _remember(self, model: Any, **kwargs: Any) -> None:
        self._model = model

    def _send(self, request: Any, **kwargs: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        body = request.body
        if hasattr(body, "read"):
            if hasattr(body, "seek"):
                body.seek(0)
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        body = body or b""
        if hasattr(request.body, "seek"):
            request.body.seek(0)
        answer = self._session.send(request)
        status, data = answer.status_code, answer.content
        headers = list(answer.raw.headers.items())
        model = self._model
        service = model.service_model.service_name if model is not None else None
        protocol = model.metadata.get("protocol") if model is not None else None
        headers_tuple = tuple(
            (k, v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()
        )
        self.exchanges.append(
            Exchange(
                seq=len(self.exchanges) + 1,
                request=make_request(request.method, request.url, headers_tuple, body),
                response=make_response(status, headers, data),
                service=service,
                operation=model.name if model is not None else None,
                protocol=protocol,
            )
        )
        return AWSResponse(request.url, status, dict(headers), _Raw(data))


# --------------------------------------------------------------------------------------------
# Storage


def encode_body(data: bytes) -> dict[str, str]:
    try:
        return {"text": data.decode("utf-8")}
    except UnicodeDecodeError:
        import base64

        return {"base64": base64.b64encode(data).decode()}


def exchange_to_json(exchange: Exchange) -> dict[str, Any]:
    return {
        "seq": exchange.seq,
        "service": exchange.service,
        "operation": exchange.operation,
        "protocol": exchange.protocol,
        "region": "us-east-1",
        "request": {
            "method": exchange.request.method,
            "url": exchange.request.url,
            "headers": [list(p) for p in exchange.request.headers],
            "body": encode_body(exchange.request.body.read()),
        },
        "response": response_to_json(exchange.response),
    }


def response_to_json(response: HttpResponse) -> dict[str, Any]:
    return {
        "status": response.status,
        "headers": [list(p) for p in response.headers],
        "body": encode_body(response.body.read()),
    }


def load_vector(folder: Path) -> tuple[Exchange, Answer]:
    data = json.loads((folder / "input.json").read_text())
    exchange = decode_exchange(data["reference"], None)
    candidate = data["candidate"]
    answer = Answer(
        seq=exchange.seq,
        outcome="answered",
        request=HttpRequest(
            exchange.request.method,
            exchange.request.url,
            headers_from(tuple(p) for p in exchange.request.headers),
            exchange.request.body,
        ),
        response=decode_response(candidate, None),
    )
    return exchange, answer


def plain(value: Any) -> Any:
    """A JSON-able view that still shows which strings were modeled timestamps."""
    if isinstance(value, TimestampText):
        return {"$timestamp": str(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def stages_of(folder: Path) -> dict[str, Any]:
    """Every stage's output for one vector, recomputed from its input with the default packs."""
    exchange, answer = load_vector(folder)
    rules = load_rules([], default_rules=True)
    stages = diff_exchange(exchange, answer, rules, "candidate", SideTokens())
    result = stages.result
    return {
        "parsed": {
            "reference": plain(stages.reference.tree) if stages.reference else None,
            "candidate": plain(stages.candidate.tree) if stages.candidate else None,
            "problems": [p.problem for p in (stages.reference, stages.candidate) if p and p.problem],
        },
        "normalized": {
            "reference": stages.reference_normalized.tree if stages.reference_normalized else None,
            "candidate": stages.candidate_normalized.tree if stages.candidate_normalized else None,
            "rules_fired": sorted(result.rules_fired),
        },
        "divergences": {
            "verdict": result.verdict,
            "divergences": [
                {
                    "kind": d.kind,
                    "severity": d.severity,
                    "path": d.path,
                    "reference": plain(d.reference),
                    "candidate": plain(d.candidate),
                }
                for d in result.divergences
            ],
        },
    }


def write_vector(name: str, reference: Exchange, candidate: HttpResponse, note: str) -> Path:
    folder = HERE / name
    folder.mkdir(parents=True, exist_ok=True)
    payload = {
        "note": note,
        "reference": exchange_to_json(reference),
        "candidate": response_to_json(candidate),
    }
    (folder / "input.json").write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")
    update_outputs(folder)
    return folder


def update_outputs(folder: Path) -> None:
    for stage, value in stages_of(folder).items():
        (folder / f"{stage}.json").write_text(json.dumps(value, indent=1, sort_keys=True) + "\n")


# --------------------------------------------------------------------------------------------
# Building the vectors from two moto servers


def _clients(url: str, capture: Capture) -> Callable[[str], Any]:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    config = Config(
        retries={"total_max_attempts": 1},
        s3={"addressing_style": "path"},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )

    def client(service: str) -> Any:
        return capture.attach(session.client(service, endpoint_url=url, config=config))

    return client


def scenario(client: Callable[[str], Any]) -> None:
    """The calls the vectors are cut from, one or more per protocol; errors are part of it."""
    from botocore.exceptions import ClientError

    def attempt(call: Callable[[], Any]) -> None:
        with contextlib.suppress(ClientError):
            call()

    sts, iam = client("sts"), client("iam")
    sts.get_caller_identity()
    iam.create_user(UserName="golden-user")
    attempt(lambda: iam.get_user(UserName="no-such-user"))
    iam.list_users()
    ec2 = client("ec2")
    ec2.run_instances(ImageId="ami-12c6146b", MinCount=2, MaxCount=2, InstanceType="t2.micro")
    ec2.describe_instances()
    attempt(lambda: ec2.describe_instances(InstanceIds=["i-00000000000000000"]))
    ddb = client("dynamodb")
    ddb.create_table(
        TableName="golden",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="golden", Item={"pk": {"S": "a"}, "n": {"N": "1"}})
    ddb.get_item(TableName="golden", Key={"pk": {"S": "a"}})
    attempt(lambda: ddb.describe_table(TableName="missing"))
    sqs = client("sqs")
    queue = sqs.create_queue(QueueName="golden-queue")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="hello")
    sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=1)
    attempt(lambda: sqs.get_queue_url(QueueName="no-such-queue"))
    lam = client("lambda")
    lam.list_functions()
    attempt(lambda: lam.get_function(FunctionName="missing"))
    s3 = client("s3")
    s3.create_bucket(Bucket="golden-bucket")
    s3.put_object(Bucket="golden-bucket", Key="b.txt", Body=b"hello world")
    s3.put_object(Bucket="golden-bucket", Key="a.txt", Body=b"second")
    s3.list_objects_v2(Bucket="golden-bucket")
    s3.get_object(Bucket="golden-bucket", Key="b.txt")
    s3.list_buckets()
    attempt(lambda: s3.get_object(Bucket="golden-bucket", Key="missing"))


# Which captured calls become vectors: name -> (service, operation, occurrence).
VECTORS = {
    "query-sts-GetCallerIdentity": ("sts", "GetCallerIdentity", 0),
    "query-iam-CreateUser": ("iam", "CreateUser", 0),
    "query-iam-GetUser-error": ("iam", "GetUser", 0),
    "ec2-RunInstances": ("ec2", "RunInstances", 0),
    "ec2-DescribeInstances": ("ec2", "DescribeInstances", 0),
    "ec2-DescribeInstances-error": ("ec2", "DescribeInstances", 1),
    "json-dynamodb-CreateTable": ("dynamodb", "CreateTable", 0),
    "json-dynamodb-GetItem": ("dynamodb", "GetItem", 0),
    "json-dynamodb-DescribeTable-error": ("dynamodb", "DescribeTable", 0),
    "json-sqs-CreateQueue": ("sqs", "CreateQueue", 0),
    "json-sqs-ReceiveMessage": ("sqs", "ReceiveMessage", 0),
    "json-sqs-GetQueueUrl-query-compatible-error": ("sqs", "GetQueueUrl", 0),
    "rest-json-lambda-ListFunctions": ("lambda", "ListFunctions", 0),
    "rest-json-lambda-GetFunction-error": ("lambda", "GetFunction", 0),
    "rest-xml-s3-ListObjectsV2": ("s3", "ListObjectsV2", 0),
    "rest-xml-s3-GetObject": ("s3", "GetObject", 0),
    "rest-xml-s3-ListBuckets": ("s3", "ListBuckets", 0),
    "rest-xml-s3-PutObject": ("s3", "PutObject", 0),
    "rest-xml-s3-GetObject-error": ("s3", "GetObject", 1),
}


def capture_run(url: str) -> list[Exchange]:
    capture = Capture()
    scenario(_clients(url, capture))
    return capture.exchanges


def pick(exchanges: list[Exchange], service: str, operation: str, occurrence: int) -> Exchange:
    found = [e for e in exchanges if e.service == service and e.operation == operation]
    return found[occurrence]


def build() -> None:
    with moto_server() as reference_url:
        reference = capture_run(reference_url)
    with moto_server() as candidate_url:
        candidate = capture_run(candidate_url)
    for name, (service, operation, occurrence) in VECTORS.items():
        ref = pick(reference, service, operation, occurrence)
        cand = pick(candidate, service, operation, occurrence)
        write_vector(name, ref, cand.response, f"{service} {operation}: moto against a fresh moto")
        print("wrote", name)


def refresh() -> None:
    """Recompute the stage files of every vector from its stored input."""
    for folder in sorted(p for p in HERE.iterdir() if (p / "input.json").exists()):
        update_outputs(folder)


if __name__ == "__main__":
    if sys.argv[1:] == ["--refresh"]:
        refresh()
    else:
        build()
