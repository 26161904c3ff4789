"""The process helpers in compat_diff.testing: servers really answer, and really stop."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from compat_diff.testing import free_port, moto_server, run_cli, stop_process

_IGNORES_SIGTERM = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); "
    "time.sleep(600)"
)


def _wait_for_ready(process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"


def _is_gone(pid: int) -> bool:
    """Gone, or a zombie waiting for init to reap it: either way no longer running."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def test_moto_server_answers_inside_the_block_and_is_gone_after(tmp_path: Path) -> None:
    log = tmp_path / "moto.log"
    with moto_server(log=log) as server:
        assert server.url == f"http://127.0.0.1:{server.port}"
        with urllib.request.urlopen(f"{server.url}/moto-api/", timeout=10) as answer:
            assert answer.status == 200
    assert server.process.poll() is not None
    assert "/moto-api/" in log.read_text()
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{server.url}/moto-api/", timeout=2)


def test_a_moto_that_cannot_start_is_reported_with_its_log(tmp_path: Path) -> None:
    # A package named moto earlier on the path shadows the real one and exits at once.
    fake = tmp_path / "moto"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "server.py").write_text("import sys\nprint('this moto is broken')\nsys.exit(3)\n")
    with (
        pytest.raises(RuntimeError, match=r"moto exited \(3\).*this moto is broken"),
        moto_server(extra_env={"PYTHONPATH": str(tmp_path)}, log=tmp_path / "moto.log"),
    ):
        pass


def test_stop_process_kills_what_ignores_sigterm() -> None:
    process = subprocess.Popen([sys.executable, "-c", _IGNORES_SIGTERM], stdout=subprocess.PIPE, text=True)
    _wait_for_ready(process)
    stop_process(process, timeout=0.5)
    assert process.returncode == -9


def test_stop_process_signals_the_whole_session_of_a_leader(tmp_path: Path) -> None:
    child_pid_file = tmp_path / "child.pid"
    leader = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        f"open({str(child_pid_file)!r}, 'w').write(str(child.pid))\n"
        "print('ready', flush=True)\n"
        "time.sleep(600)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", leader], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    _wait_for_ready(process)
    child_pid = int(child_pid_file.read_text())
    try:
        stop_process(process)
        assert process.returncode == -15
        # The grandchild is not ours to wait for; it only ends if the SIGTERM went to the group.
        deadline = time.monotonic() + 30
        while not _is_gone(child_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _is_gone(child_pid), "the leader's child outlived stop_process"
    finally:
        if not _is_gone(child_pid):
            os.kill(child_pid, 9)


def test_free_port_can_be_bound() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_run_cli_runs_the_real_command_line() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    assert "Usage:" in result.stdout
    assert "record" in result.stdout
