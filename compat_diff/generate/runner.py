"""Runs a generated suite with boto3: the client program ``compat-diff record`` records.

This file is copied next to the suite by ``compat-diff generate`` and needs nothing but the Python
standard library and boto3, so the same suite runs under any pinned SDK version:

    compat-diff record --out gen.jsonl -- python SUITE_DIR/run_suite.py SUITE_DIR

Client-side validation is off, so the invalid requests reach the server as they are. Before each
call it tells the recorder which test and step it is (a request to the reserved host
``compat-diff.invalid``, which only the recorder answers); without a recorder it runs all the same.
The calls made never depend on what a server answered: a value read from an answer falls back to a
fixed one when the answer lacks it. It exits 0 when every call could be made (errors answered by
the server are the point of the suite), 1 when the suite files cannot be read.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import urllib.parse
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

CONTROL_HOST = "compat-diff.invalid"
REGION = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1"


class Control:
    """Names the running test to the recorder; silent when no recorder is in the way.

    One kept-alive connection to the proxy carries every control request, so naming a test costs
    a round trip on loopback, not a new connection.
    """

    def __init__(self) -> None:
        proxy = os.environ.get("HTTP_PROXY") or os.environ.get("http_proxy")
        self.proxy = urllib.parse.urlsplit(proxy) if proxy else None
        self.connection: http.client.HTTPConnection | None = None

    def announce(self, session: str, step: str) -> None:
        proxy = self.proxy
        if proxy is None:
            return
        query = urllib.parse.urlencode({"name": session, "step": step})
        for attempt in (1, 2):
            try:
                if self.connection is None:
                    self.connection = http.client.HTTPConnection(
                        proxy.hostname or "127.0.0.1", proxy.port or 8080, timeout=10
                    )
                self.connection.request(
                    "GET", f"http://{CONTROL_HOST}/session?{query}", headers={"Host": CONTROL_HOST}
                )
                answer = self.connection.getresponse()
                answer.read()
                if answer.status != 200:
                    raise OSError(f"the proxy answered {answer.status}")
                return
            except (OSError, http.client.HTTPException) as error:
                if self.connection is not None:
                    self.connection.close()
                self.connection = None
                if attempt == 2:
                    print(
                        f"run_suite: the proxy does not answer session requests ({error}); going on",
                        file=sys.stderr,
                    )
                    self.proxy = None


def make_client(service: str) -> Any:
    settings: dict[str, Any] = {
        "parameter_validation": False,
        "retries": {"total_max_attempts": 1, "mode": "standard"},
        "region_name": REGION,
        "inject_host_prefix": False,
    }
    if os.environ.get("AWS_ENDPOINT_URL"):
        settings["s3"] = {"addressing_style": "path"}
    return boto3.client(service, config=Config(**settings))


def resolve(value: Any, answers: list[dict[str, Any] | None]) -> Any:
    if isinstance(value, dict):
        if "$ref" in value:
            found: Any = answers[value["$ref"]] if value["$ref"] < len(answers) else None
            for part in value["path"].split("."):
                if isinstance(found, list) and part.isdigit() and int(part) < len(found):
                    found = found[int(part)]
                elif isinstance(found, dict):
                    found = found.get(part)
                else:
                    found = None
            return found if isinstance(found, str) else value["fallback"]
        return {key: resolve(item, answers) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, answers) for item in value]
    return value


def _inject_members(extra: dict[str, Any]) -> Any:
    """A before-call hook adding members the model does not know to the serialized request."""

    def hook(params: dict[str, Any], **_: Any) -> None:
        body = params.get("body")
        if isinstance(body, dict):  # query and EC2 protocols: form fields
            body.update(extra)
            return
        if isinstance(body, bytes | str) and body[:1] in (b"{", "{"):
            document = json.loads(body)
            document.update(extra)
            params["body"] = json.dumps(document).encode()
            return
        if not body and "json" in str(params.get("headers", {}).get("Content-Type", "")):
            params["body"] = json.dumps(extra).encode()
            return
        query = params.setdefault("query_string", {})
        if isinstance(query, dict):
            query.update(extra)

    return hook


class SuiteRun:
    def __init__(self) -> None:
        self.control = Control()
        self.outcomes: Counter[str] = Counter()

    def call(
        self, client: Any, session: str, step: str, operation: str, params: Any, inject: Any = None
    ) -> Any:
        self.control.announce(session, step)
        hook = None
        if inject:
            hook = _inject_members(inject)
            client.meta.events.register_first(f"before-call.*.{operation}", hook)
        try:
            answer = client._make_api_call(operation, params)
        except ClientError as error:
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
            self.outcomes["server error (5xx)" if status >= 500 else "client error (4xx)"] += 1
            return None
        except Exception as error:
            # The SDK could not put this request on the wire, or could not read the answer (a 500
            # page in HTML where XML was due): noted, not fatal.
            self.outcomes[f"not sent or unreadable ({type(error).__name__})"] += 1
            return None
        finally:
            if hook is not None:
                client.meta.events.unregister(f"before-call.*.{operation}", hook)
        self.outcomes["accepted (2xx)"] += 1
        return answer if isinstance(answer, dict) else None

    def run_operation(self, client: Any, plan: dict[str, Any]) -> None:
        session = plan["session"]
        answers: list[dict[str, Any] | None] = []
        for call in plan["setup"]:
            answers.append(
                self.call(client, session, call["step"], call["operation"], resolve(call["params"], answers))
            )
        for case in plan["cases"]:
            params = resolve(case["params"], answers)
            self.call(client, session, case["step"], plan["operation"], params, case.get("inject"))
        for call in plan["teardown"]:
            self.call(client, session, call["step"], call["operation"], resolve(call["params"], answers))


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: run_suite.py SUITE_DIR [SERVICE ...]   (runs the generated suite with boto3)")
        return 0 if argv else 2
    folder = Path(argv[0])
    wanted = set(argv[1:])
    files = sorted(folder.glob("*.suite.json"))
    if not files:
        print(f"run_suite: no *.suite.json in {folder}", file=sys.stderr)
        return 1
    suite = SuiteRun()
    for path in files:
        document = json.loads(path.read_text(encoding="utf-8"))
        service = document["header"]["service"]
        if wanted and service not in wanted:
            continue
        client = make_client(service)
        for plan in document["operations"]:
            suite.run_operation(client, plan)
        print(f"run_suite: {service}: {len(document['operations'])} operations", flush=True)
    for outcome, count in sorted(suite.outcomes.items()):
        print(f"run_suite: {count:7d} {outcome}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
