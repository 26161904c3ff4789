"""The candidate contract: what a candidate declares (CandidateSpec), what a started one is
(RunningCandidate), and the LaunchContext a spec's ``launch`` function uses to start its processes.

A launch function only describes its recipe (ports, config files, commands, readiness); the context
owns the mechanics every candidate shares: per-run logs, free ports, noticing a crash while waiting
and turning it into one sentence with the tail of the log.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple

from compat_diff.candidates import process
from compat_diff.errors import CannotRun

ASSETS = Path(__file__).resolve().parent / "assets"
LOOPBACK_PRELOAD = ASSETS / "loopback.cjs"
INSTALL_HINT = "run scripts/install-candidates.sh (make candidates)"
REGION = "us-east-1"

AuthCheck = Literal["signature", "access-key", "none"]


@dataclass(frozen=True)
class RunningCandidate:
    """A started candidate: where to reach it, with which credentials, and which processes to stop."""

    name: str
    endpoint: str
    region: str
    access_key: str
    secret_key: str
    services: tuple[str, ...]
    pids: tuple[int, ...]
    base_dir: Path
    s3_addressing: str = "path"
    # A URL that answers while the candidate is healthy (any HTTP status counts unless
    # ``health_status`` names the one expected).
    health_url: str = ""
    health_status: int | None = None
    # What the candidate verifies of a request's credentials: "signature" (refuses a wrong secret),
    # "access-key" (refuses an unknown key id but not a wrong signature) or "none".
    auth: AuthCheck = "none"
    ports: tuple[int, ...] = ()

    def serves(self, service: str) -> bool:
        return "*" in self.services or service in self.services


class Installed(NamedTuple):
    """Whether a candidate's binaries are present, and if not, why and how to install them."""

    ok: bool
    reason: str = ""


@dataclass(frozen=True)
class CandidateSpec:
    """How to check for, and start, one candidate cloud.

    ``launch`` receives a LaunchContext and returns the RunningCandidate once it answers;
    ``check_installed`` says whether its binaries are present (and how to install them if not).
    ``services`` uses ``"*"`` for a candidate that serves every AWS service (moto).
    """

    name: str
    services: tuple[str, ...]
    description: str
    launch: Callable[[LaunchContext], RunningCandidate]
    check_installed: Callable[[], Installed]
    start_timeout: float = 30.0
    auth: AuthCheck = "none"
    optional: bool = False
    # Removes what the servers leave outside their data directory once they are stopped.
    cleanup: Callable[[RunningCandidate], None] | None = None
    # Seconds ``stop`` waits after SIGTERM before SIGKILL.
    stop_grace: float = 10.0


class PortTaken(CannotRun):
    """A server could not bind its port (somebody took it between choosing and binding)."""


_PORT_TAKEN = re.compile(r"address already in use|EADDRINUSE|bind: address|errno 98", re.IGNORECASE)


@dataclass
class LaunchContext:
    """Start-up helper handed to a spec's ``launch``: one per attempt to start a candidate."""

    spec: CandidateSpec
    data_dir: Path
    deadline: float
    requested_port: int | None = None
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)
    # Extra log files (written by the server itself) worth quoting when it fails.
    server_logs: list[Path] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "log"

    # ---- ports -----------------------------------------------------------------------------

    def main_port(self) -> int:
        """The candidate's client-facing port: the one the caller asked for, else a free one."""
        if self.requested_port is not None:
            port = self.requested_port
            if not process.port_is_free(port):
                raise PortTaken(
                    f"{self.name} cannot start: port {port} on {process.LOOPBACK} is already in use; "
                    "choose another port or stop what listens there."
                )
            process.claim_port(port)
        else:
            port = process.free_port()
        self.ports.append(port)
        return port

    def port(self, *, below: int = 65536) -> int:
        port = process.free_port(below=below)
        self.ports.append(port)
        return port

    def port_with_partner(self, offset: int) -> int:
        """A free port ``p`` whose ``p + offset`` is free too, for servers that derive one from the other."""
        for _ in range(50):
            port = process.free_port(below=65536 - offset)
            if process.port_is_free(port + offset):
                process.claim_port(port + offset)
                self.ports.extend((port, port + offset))
                return port
        raise CannotRun(f"{self.name} cannot start: found no pair of free ports {offset} apart.")

    # ---- processes -------------------------------------------------------------------------

    def spawn(
        self,
        label: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start a long-running server process; its output goes to ``log/<label>.log``."""
        try:
            proc = process.spawn(
                argv, log_path=self.log_dir / f"{label}.log", env=child_env(env), cwd=cwd or self.data_dir
            )
        except OSError as error:
            raise CannotRun(
                f"{self.name} cannot start: running {argv[0]} failed: {error.strerror}."
            ) from error
        self.processes.append((label, proc))
        return proc

    def run(
        self,
        label: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> str:
        """Run a set-up command to completion and return its stdout; fail with its output if it fails.

        While it runs, the servers already started are watched, so a set-up step waiting on a server
        that died fails at once with that server's log instead of running into the deadline.
        """
        self.check_processes()
        limit = self.deadline if timeout is None else min(self.deadline, time.monotonic() + timeout)
        log_path = self.log_dir / f"{label}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            try:
                step = subprocess.Popen(
                    list(argv),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    env=child_env(env),
                    cwd=self.data_dir,
                    start_new_session=True,
                )
            except OSError as error:
                raise CannotRun(
                    f"{self.name} cannot start: running {argv[0]} failed: {error.strerror}."
                ) from error
            try:
                while step.poll() is None:
                    self.check_processes()
                    if time.monotonic() >= limit:
                        raise CannotRun(
                            f"{self.name} did not start: set-up step {label!r} ({argv[0]}) "
                            f"did not finish in time; its logs are in {self.log_dir}."
                        )
                    time.sleep(0.05)
            finally:
                if step.poll() is None:
                    process.stop_sessions([step.pid], grace=2.0)
            out.seek(0)
            err.seek(0)
            stdout = out.read().decode(errors="replace")
            stderr = err.read().decode(errors="replace")
        with log_path.open("a") as log:
            log.write(f"$ {' '.join(argv)}\n{stdout}{stderr}\n")
        if step.returncode != 0:
            tail = process.log_tail(log_path)
            raise CannotRun(
                f"{self.name} did not start: set-up step {label!r} exited with status {step.returncode}; "
                f"last lines of {log_path}:\n{tail}"
            )
        return stdout

    def check_processes(self) -> None:
        """Raise a clear CannotRun when a server this context started has already exited."""
        for label, proc in self.processes:
            code = proc.poll()
            if code is None:
                continue
            log_path = self.log_dir / f"{label}.log"
            tail = process.log_tail(log_path)
            for extra in self.server_logs:
                if not tail.strip() or label in extra.name:
                    tail = "\n".join(filter(None, [tail, process.log_tail(extra)]))
            error_type = PortTaken if _PORT_TAKEN.search(tail) else CannotRun
            raise error_type(
                f"{self.name} crashed during start: {label} exited with status {code}; "
                f"last lines of {log_path}:\n{tail or '(the log is empty)'}"
            )

    def wait_until(self, what: str, ready: Callable[[], bool], *, interval: float = 0.1) -> None:
        """Poll ``ready`` until it holds; fail early if a server dies, or when the deadline passes."""
        while True:
            self.check_processes()
            if ready():
                return
            if time.monotonic() >= self.deadline:
                self.check_processes()
                raise CannotRun(
                    f"{self.name} did not become ready in time (waiting for {what}); "
                    f"its logs are in {self.log_dir}."
                )
            time.sleep(interval)

    def wait_http(self, url: str, *, status: int | None = None) -> None:
        def answers() -> bool:
            got = process.http_status(url)
            return got is not None and (status is None or got == status)

        self.wait_until(f"{url} to answer", answers)

    def running(
        self,
        *,
        endpoint: str,
        access_key: str,
        secret_key: str,
        health_url: str | None = None,
        health_status: int | None = None,
        s3_addressing: str = "path",
    ) -> RunningCandidate:
        return RunningCandidate(
            name=self.name,
            endpoint=endpoint,
            region=REGION,
            access_key=access_key,
            secret_key=secret_key,
            services=self.spec.services,
            pids=tuple(proc.pid for _, proc in self.processes),
            base_dir=self.data_dir,
            s3_addressing=s3_addressing,
            health_url=health_url or endpoint,
            health_status=health_status,
            auth=self.spec.auth,
            ports=tuple(self.ports),
        )


def child_env(extra: Mapping[str, str] | None) -> dict[str, str]:
    """The environment for a server: ours without proxy settings (candidates talk on loopback)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key.lower() not in ("http_proxy", "https_proxy", "all_proxy")
    }
    env.update(extra or {})
    return env


# ---- finding binaries ---------------------------------------------------------------------------


def venv_binary(name: str) -> str | None:
    """A console script installed beside the running interpreter (pip packages), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def system_binaries(names: Sequence[str], package_hint: str) -> Installed:
    missing = [name for name in names if shutil.which(name) is None]
    if missing:
        return Installed(
            False, f"{', '.join(missing)} not found on PATH; install {package_hint} or {INSTALL_HINT}"
        )
    return Installed(True)


def project_root() -> Path:
    return Path(__file__).resolve().parents[2]


def node_dirs() -> list[Path]:
    """Where npm-installed candidates may live: $COMPAT_DIFF_NODE_DIR, ./.work/node, the checkout's."""
    dirs = []
    if os.environ.get("COMPAT_DIFF_NODE_DIR"):
        dirs.append(Path(os.environ["COMPAT_DIFF_NODE_DIR"]))
    dirs.append(Path.cwd() / ".work" / "node")
    dirs.append(project_root() / ".work" / "node")
    return list(dict.fromkeys(dirs))


def node_package(package: str) -> Path | None:
    """The directory of an installed npm package."""
    for base in node_dirs():
        candidate = base / "node_modules" / package
        if (candidate / "package.json").is_file():
            return candidate
    return None


def node_package_installed(package: str) -> Installed:
    if shutil.which("node") is None:
        return Installed(False, f"node is not installed; {INSTALL_HINT}")
    if node_package(package) is None:
        return Installed(False, f"npm package {package} is not installed in .work/node; {INSTALL_HINT}")
    return Installed(True)
