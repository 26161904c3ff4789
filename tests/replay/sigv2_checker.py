"""A Query API endpoint that checks SigV2 signatures the way AWS does, with botocore's own
``SigV2Auth`` (so it is independent of compat-diff's signer): the string to sign is built from the
Host header and the full path it was reached at, as servers behind a path prefix see them.

Usage: python sigv2_checker.py ACCESS_KEY SECRET_KEY VERDICTS_FILE PORT_FILE
Answers 200 with a small EC2-style document when the signature matches and the Timestamp is within
15 minutes, 403 AuthFailure otherwise; every verdict is appended to VERDICTS_FILE as a JSON line.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import botocore.auth
import botocore.credentials
from botocore.awsrequest import AWSRequest


def make_handler(access_key: str, secret_key: str, verdicts: str) -> type[BaseHTTPRequestHandler]:
    signer = botocore.auth.SigV2Auth(botocore.credentials.Credentials(access_key, secret_key))

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            parts = urlsplit(self.path)
            encoded = body if self.command == "POST" else parts.query
            params = dict(parse_qsl(encoded, keep_blank_values=True))
            sent = params.get("Signature", "")
            url = f"http://{self.headers.get('Host')}{parts.path}"
            _, expected = signer.calc_signature(AWSRequest(method=self.command, url=url), params)
            reason = "ok"
            if params.get("AWSAccessKeyId") != access_key:
                reason = "unknown access key"
            elif sent != expected:
                reason = "signature mismatch"
            else:
                stamp = dt.datetime.strptime(params.get("Timestamp", ""), "%Y-%m-%dT%H:%M:%SZ")
                age = abs((dt.datetime.now(dt.UTC).replace(tzinfo=None) - stamp).total_seconds())
                if age > 900:
                    reason = "stale timestamp"
            with open(verdicts, "a") as handle:
                handle.write(
                    json.dumps({"path": parts.path, "action": params.get("Action"), "verdict": reason}) + "\n"
                )
            if reason == "ok":
                status, text = (
                    200,
                    f"<{params.get('Action')}Response><return>true</return></{params.get('Action')}Response>",
                )
            else:
                status, text = (
                    403,
                    f"<Response><Errors><Error><Code>AuthFailure</Code><Message>{reason}</Message></Error></Errors></Response>",
                )
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = _handle
        do_POST = _handle

    return Handler


def main() -> None:
    access_key, secret_key, verdicts, port_file = sys.argv[1:5]
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(access_key, secret_key, verdicts))
    with open(port_file + ".partial", "w") as handle:
        handle.write(str(server.server_address[1]))
    os.replace(port_file + ".partial", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
