"""A real nginx (Debian's nginx-light, installed by scripts/install-candidates.sh) in front of real
servers, the way Eucalyptus and CloudStack put each service behind its own path prefix.

``start_nginx(directory, routes)`` writes a configuration where each ``prefix -> (upstream, strip)``
route forwards ``prefix/...`` to ``upstream`` (with the prefix removed when ``strip``, kept
otherwise, with the client's Host header either way), starts nginx in the foreground on a free
loopback port, and returns it; ``stop()`` ends it by PID.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from compat_diff.testing import free_port, stop_process


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(path, os.X_OK)), None
    )
    if found is None:
        message = "nginx is not installed (scripts/install-candidates.sh installs Debian's nginx-light)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


@dataclass
class Nginx:
    url: str
    process: subprocess.Popen[bytes]
    access_log: Path

    def stop(self) -> None:
        stop_process(self.process)

    def paths(self) -> list[str]:
        """``METHOD PATH`` of every request nginx received, in order."""
        if not self.access_log.exists():
            return []
        return [" ".join(line.split(" ")[:2]) for line in self.access_log.read_text().splitlines() if line]


def start_nginx(directory: Path, routes: dict[str, tuple[str, bool]]) -> Nginx:
    binary = nginx_binary()
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    locations = []
    for prefix, (upstream, strip) in routes.items():
        target = upstream.rstrip("/") + ("/" if strip else "")
        # The prefix itself (clients such as botocore post to it without a trailing slash) and
        # everything under it.
        for match in (f"= {prefix.rstrip('/')}", f"{prefix.rstrip('/')}/"):
            locations.append(
                f"    location {match} {{\n"
                f"      proxy_pass {target};\n"
                "      proxy_set_header Host $http_host;\n"
                "      proxy_http_version 1.1;\n"
                "      proxy_request_buffering off;\n"
                "    }\n"
            )
    temp = {name: directory / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir(exist_ok=True)
    config = directory / "nginx.conf"
    config.write_text(
        "daemon off;\nmaster_process off;\nworker_processes 1;\n"
        f"pid {directory / 'nginx.pid'};\nerror_log {directory / 'error.log'} info;\n"
        "events { worker_connections 64; }\n"
        "http {\n"
        "  log_format paths '$request_method $request_uri $status';\n"
        f"  access_log {directory / 'access.log'} paths;\n"
        "  client_max_body_size 0;\n"
        f"  client_body_temp_path {temp['body']};\n  proxy_temp_path {temp['proxy']};\n"
        f"  fastcgi_temp_path {temp['fastcgi']};\n  uwsgi_temp_path {temp['uwsgi']};\n"
        f"  scgi_temp_path {temp['scgi']};\n"
        f"  server {{\n    listen 127.0.0.1:{port};\n" + "".join(locations) + "  }\n"
        "}\n"
    )
    process = subprocess.Popen(
        [binary, "-p", str(directory), "-c", str(config)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=(directory / "stderr.log").open("wb"),
    )
    server = Nginx(f"http://127.0.0.1:{port}", process, directory / "access.log")
    deadline = time.monotonic() + 20
    while True:
        if process.poll() is not None:
            log = (directory / "stderr.log").read_text(errors="replace")
            raise RuntimeError(f"nginx exited ({process.returncode}): {log[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server
        except OSError:
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError("nginx did not start listening within 20 s") from None
            time.sleep(0.05)
