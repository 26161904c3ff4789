"""Small stand-in candidates for testing the lifecycle machinery itself with real processes.

They are registered under test-only names, so what is exercised is the real ``start``/``stop``/
``running`` code path, with servers that answer, crash, hang or ignore SIGTERM on demand.
"""

from __future__ import annotations

import sys
from pathlib import Path

from compat_diff.candidates import CandidateSpec, Installed, LaunchContext, RunningCandidate

# A minimal HTTP server on 127.0.0.1:<argv[1]> that answers 200 to every GET.
HTTP_SERVER = """\
import http.server, signal, sys
if len(sys.argv) > 2 and sys.argv[2] == "ignore-term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
print("listening", flush=True)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""

# Starts a grandchild (whose pid it writes to argv[1]), complains and exits with status 3.
CRASHER = """\
import subprocess, sys
child = subprocess.Popen(["sleep", "60"])
open(sys.argv[1], "w").write(str(child.pid))
print("fatal: the config is broken", flush=True)
sys.exit(3)
"""


def spawn_recorded(ctx: LaunchContext, label: str, argv: list[str]) -> None:
    """Spawn and write the pid to ``<data dir>/<label>.pid``, so a test can check it after a failed start."""
    proc = ctx.spawn(label, argv)
    (ctx.data_dir / f"{label}.pid").write_text(str(proc.pid))


def recorded_pids(data_dir: Path) -> dict[str, int]:
    return {path.stem: int(path.read_text()) for path in data_dir.glob("*.pid")}


def http_server(ctx: LaunchContext, port: int, label: str = "http", *, ignore_term: bool = False) -> None:
    argv = [sys.executable, "-c", HTTP_SERVER, str(port)] + (["ignore-term"] if ignore_term else [])
    spawn_recorded(ctx, label, argv)


def _result(ctx: LaunchContext, port: int) -> RunningCandidate:
    return ctx.running(endpoint=f"http://127.0.0.1:{port}", access_key="k", secret_key="s", health_status=200)


def launch_http(ctx: LaunchContext) -> RunningCandidate:
    port = ctx.main_port()
    http_server(ctx, port)
    ctx.wait_http(f"http://127.0.0.1:{port}/", status=200)
    return _result(ctx, port)


def launch_stubborn(ctx: LaunchContext) -> RunningCandidate:
    port = ctx.main_port()
    http_server(ctx, port, ignore_term=True)
    ctx.wait_http(f"http://127.0.0.1:{port}/", status=200)
    return _result(ctx, port)


def launch_crash(ctx: LaunchContext) -> RunningCandidate:
    """A healthy first process, then one that crashes: both must be gone after the failed start."""
    port = ctx.main_port()
    http_server(ctx, port, label="healthy")
    spawn_recorded(ctx, "crasher", [sys.executable, "-c", CRASHER, str(ctx.data_dir / "grandchild.pid")])
    ctx.wait_http(f"http://127.0.0.1:{ctx.port()}/")  # never answers: the crash must end the wait
    return _result(ctx, port)


def launch_hang(ctx: LaunchContext) -> RunningCandidate:
    spawn_recorded(ctx, "sleeper", ["sleep", "60"])
    ctx.wait_http(f"http://127.0.0.1:{ctx.port()}/")
    raise AssertionError("unreachable: nothing answers on that port")


def _ok() -> Installed:
    return Installed(True)


def spec(name: str, launch, *, check_installed=_ok) -> CandidateSpec:  # type: ignore[no-untyped-def]
    return CandidateSpec(
        name=name,
        services=("s3",),
        description=f"test stand-in {name}",
        launch=launch,
        check_installed=check_installed,
        start_timeout=15.0,
    )
