"""Operating-system plumbing for candidate servers: free ports, spawning, liveness and stopping.

Every server is started in a session of its own, so the session id equals the pid we record; stopping
a candidate signals everything left in that session, which also catches the helpers a server forks.
Liveness is read from /proc where it exists, because a zombie still answers ``kill(pid, 0)``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

LOOPBACK = "127.0.0.1"

# Ports handed out recently: two candidates starting in parallel threads must not both get the port
# the kernel just reported free, before either server had time to bind it.
_handed_out: dict[int, float] = {}
_ports_lock = threading.Lock()
_HAND_OUT_MEMORY_SECONDS = 120.0

# Our own children, so stopping them reaps them instead of leaving zombies behind.
_children: dict[int, subprocess.Popen[bytes]] = {}
_children_lock = threading.Lock()


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(*, below: int = 65536) -> int:
    """A loopback TCP port nobody listens on now and that this process has not handed out lately."""
    with _ports_lock:
        now = time.monotonic()
        for port, when in list(_handed_out.items()):
            if now - when > _HAND_OUT_MEMORY_SECONDS:
                del _handed_out[port]
        for _ in range(200):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.bind((LOOPBACK, 0))
                port = int(probe.getsockname()[1])
            if port < below and port not in _handed_out:
                _handed_out[port] = now
                return port
    raise OSError("could not find a free TCP port on 127.0.0.1")


def claim_port(port: int) -> None:
    """Remember a port chosen by other means so free_port does not hand it out too."""
    with _ports_lock:
        _handed_out[port] = time.monotonic()


def spawn(
    argv: Sequence[str],
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start a server in its own session with stdout and stderr going to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=str(cwd) if cwd else None,
            env=dict(env) if env is not None else None,
            start_new_session=True,
        )
    with _children_lock:
        _children[proc.pid] = proc
    return proc


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, session id) of a process from /proc, or None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name is in parentheses and may itself contain spaces or parentheses.
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[3])


def _reap(pid: int) -> None:
    with _children_lock:
        child = _children.get(pid)
    if child is not None and child.poll() is not None:
        with _children_lock:
            _children.pop(pid, None)


def pid_alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    _reap(pid)
    if Path("/proc").is_dir():
        stat = _proc_stat(pid)
        return stat is not None and stat[0] != "Z"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def session_members(sid: int) -> list[int]:
    """Live processes in the session ``sid`` (the leader included while it lives)."""
    if not Path("/proc").is_dir():
        return [sid] if pid_alive(sid) else []
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _proc_stat(int(entry.name))
        if stat is not None and stat[1] == sid and stat[0] != "Z":
            members.append(int(entry.name))
    return members


def _signal_session(sid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(sid, signum)
    for pid in session_members(sid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)


def leftover_processes(pids: Iterable[int]) -> list[int]:
    """Every live process still belonging to the sessions led by ``pids``."""
    left: list[int] = []
    for pid in pids:
        _reap(pid)
        left.extend(session_members(pid))
    return sorted(set(left))


def stop_sessions(pids: Iterable[int], *, grace: float = 10.0) -> list[int]:
    """Stop sessions in reverse start order; returns the processes that survived (ideally none).

    Each session gets SIGTERM and a moment to exit before the next one is signalled, because servers
    started later often depend on earlier ones (a Ceph OSD waits for the monitor to acknowledge its
    shutdown); whatever is left after ``grace`` seconds in all gets SIGKILL.
    """
    sids = list(dict.fromkeys(pids))
    deadline = time.monotonic() + grace
    for sid in reversed(sids):
        _signal_session(sid, signal.SIGTERM)
        step_deadline = min(deadline, time.monotonic() + 2.0)
        while leftover_processes([sid]) and time.monotonic() < step_deadline:
            time.sleep(0.02)
    while leftover_processes(sids) and time.monotonic() < deadline:
        time.sleep(0.05)
    if leftover_processes(sids):
        for sid in sids:
            _signal_session(sid, signal.SIGKILL)
        deadline = time.monotonic() + 5.0
        while leftover_processes(sids) and time.monotonic() < deadline:
            time.sleep(0.05)
    for sid in sids:
        with _children_lock:
            child = _children.pop(sid, None)
        if child is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=1.0)
    return leftover_processes(sids)


def log_tail(path: Path, lines: int = 12) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    kept = [line.rstrip() for line in text.splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


_no_proxy_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_status(url: str, *, timeout: float = 1.0) -> int | None:
    """The HTTP status a GET of ``url`` answers with, or None when nothing answers.

    Proxies from the environment are ignored on purpose: a candidate is always on loopback, and
    ``compat-diff record`` sets HTTP_PROXY for the command it wraps.
    """
    try:
        with _no_proxy_opener.open(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (urllib.error.URLError, OSError, ValueError):
        return None


def tcp_answers(port: int, host: str = LOOPBACK, *, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _listening_inodes() -> dict[int, tuple[str, int]]:
    """Socket inode -> (address, port) for every listening TCP socket on the machine."""
    found: dict[int, tuple[str, int]] = {}
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) < 10 or fields[3] != "0A":  # 0A is TCP_LISTEN
                continue
            address_hex, port_hex = fields[1].split(":")
            raw = bytes.fromhex(address_hex)
            # /proc prints the address as 32-bit words in host (little-endian) order.
            ordered = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            found[int(fields[9])] = (socket.inet_ntop(family, ordered), int(port_hex, 16))
    return found


def listening_addresses(pids: Iterable[int]) -> list[tuple[str, int]]:
    """The (address, port) pairs on which the sessions led by ``pids`` listen for TCP connections."""
    listening = _listening_inodes()
    addresses: set[tuple[str, int]] = set()
    for pid in leftover_processes(pids):
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inode = int(target[8:-1])
                if inode in listening:
                    addresses.add(listening[inode])
    return sorted(addresses)
