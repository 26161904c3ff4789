"""moto's own backends served so that unsigned-header Query calls reach EC2.

``python -m moto.server`` routes a request by its SigV4 credential scope (or a JSON target); a
SigV2 Query call has neither, so moto answers it as S3. This server is moto's real EC2 backend
application for calls that carry an ``Action`` (query string or form body) and moto's usual
dispatcher for everything else, in one werkzeug process, like a private cloud that serves its
Query API and S3 on one port.

Usage: python moto_query_server.py PORT_FILE   (binds 127.0.0.1 on a free port, writes it, serves)
"""

from __future__ import annotations

import io
import os
import socket
import sys
from typing import Any
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


class QueryAwareDispatcher:
    def __init__(self) -> None:
        self.ec2 = create_backend_app("ec2")
        self.others = DomainDispatcherApplication(create_backend_app)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if "Action" in parse_qs(environ.get("QUERY_STRING", "")):
            return self.ec2(environ, start_response)
        if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            if "Action" in parse_qs(body.decode("utf-8", "replace")):
                return self.ec2(environ, start_response)
        return self.others(environ, start_response)


def main() -> None:
    port_file = sys.argv[1]
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    os.environ.setdefault("MOTO_PORT", str(port))
    with open(port_file + ".partial", "w") as handle:
        handle.write(str(port))
    os.replace(port_file + ".partial", port_file)
    run_simple("127.0.0.1", port, QueryAwareDispatcher(), threaded=True)


if __name__ == "__main__":
    main()
