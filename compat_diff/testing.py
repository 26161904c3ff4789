"""Test helpers shipped in the package: factories for the shared model objects, and the real
processes tests run (a moto server playing AWS, the ``compat_diff`` command line).

Each factory fills sensible defaults so a test names only what it is about; everything returned
is a real ``compat_diff.model`` value, never a stand-in. Every server started here binds 127.0.0.1
on a free port and is stopped by its PID. Only the standard library is used, so benchmarks and
scripts can start the same processes the tests do.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compat_diff.model import Auth, Body, Exchange, HttpRequest, HttpResponse, headers_from


def _body(body: bytes | str | Body | None) -> Body:
    return body if isinstance(body, Body) else Body.of(body)


def make_request(
    method: str = "GET",
    url: str = "http://127.0.0.1:5000/",
    headers: Iterable[tuple[str, str]] | dict[str, str] = (),
    body: bytes | str | Body | None = None,
) -> HttpRequest:
    """An ``HttpRequest``; a ``Content-Length`` is not added, so tests control headers exactly."""
    return HttpRequest(method=method.upper(), url=url, headers=headers_from(headers), body=_body(body))


def make_response(
    status: int = 200,
    headers: Iterable[tuple[str, str]] | dict[str, str] = (),
    body: bytes | str | Body | None = None,
) -> HttpResponse:
    return HttpResponse(status=status, headers=headers_from(headers), body=_body(body))


def make_exchange(
    seq: int = 1,
    request: HttpRequest | None = None,
    response: HttpResponse | None = None,
    *,
    service: str | None = None,
    operation: str | None = None,
    region: str | None = "us-east-1",
    protocol: str | None = None,
    auth: Auth | None = None,
    **extra: Any,
) -> Exchange:
    """An ``Exchange``; extra keyword arguments set the remaining ``Exchange`` fields."""
    return Exchange(
        seq=seq,
        request=request if request is not None else make_request(),
        response=response if response is not None else make_response(),
        service=service,
        operation=operation,
        region=region,
        protocol=protocol,
        auth=auth if auth is not None else Auth(),
        **extra,
    )


# ------------------------------------------------------------------------------------------------
# Processes

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A loopback TCP port nobody listens on at this moment."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def stop_process(process: subprocess.Popen[Any], timeout: float = 10.0) -> None:
    """Stop ``process`` by its PID: SIGTERM, then SIGKILL if it is still there after ``timeout``.

    A process started in a session of its own is signalled as a group, so helpers it forked go too;
    any other process is signalled alone, never the group it shares with the caller.
    """
    if process.poll() is not None:
        return
    try:
        leads_group = os.getpgid(process.pid) == process.pid
    except ProcessLookupError:
        leads_group = False

    def send(sig: signal.Signals) -> None:
        # The process may exit between the poll and the signal; that is the outcome we want anyway.
        with contextlib.suppress(ProcessLookupError):
            if leads_group:
                os.killpg(process.pid, sig)
            else:
                os.kill(process.pid, sig)

    send(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        process.wait()


@dataclass(frozen=True)
class MotoServer:
    """A running moto server; ``url`` is its loopback endpoint (``http(s)://127.0.0.1:PORT``).

    Like ``subprocess.Popen`` it is running once made, and as a context manager it stops on exit.
    """

    url: str
    port: int
    process: subprocess.Popen[bytes]
    https: bool = False
    log: Path | None = None

    def stop(self) -> None:
        stop_process(self.process)

    def __enter__(self) -> MotoServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def moto_server(
    *,
    extra_env: Mapping[str, str] | None = None,
    https: bool = False,
    log: Path | None = None,
    port: int | None = None,
    python: str | os.PathLike[str] | None = None,
    new_session: bool = False,
    startup_timeout: float = 30.0,
) -> MotoServer:
    """Start ``python -m moto.server`` on 127.0.0.1 and return once it answers; ``with moto_server()
    as server:`` stops it by PID at the end of the block, otherwise the caller calls ``stop()``.

    ``extra_env`` is added to the inherited environment (e.g. ``INITIAL_NO_AUTH_ACTION_COUNT``);
    ``https`` serves moto's self-signed certificate; ``log`` receives its stdout and stderr (the
    werkzeug access log), which otherwise go nowhere; ``port`` is for a caller that must name the
    port in ``extra_env`` before the server starts (default: a free one). A server that does not
    come up is stopped here and reported with the tail of its log.
    """
    port = port if port is not None else free_port()
    scheme = "https" if https else "http"
    url = f"{scheme}://{LOOPBACK}:{port}"
    argv = [str(python or sys.executable), "-m", "moto.server", "-H", LOOPBACK, "-p", str(port)]
    if https:
        argv.append("-s")
    env = {**os.environ, **extra_env} if extra_env else None
    with contextlib.ExitStack() as files:
        output: Any = subprocess.DEVNULL
        if log is not None:
            log.parent.mkdir(parents=True, exist_ok=True)
            output = files.enter_context(log.open("wb"))
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT if log is not None else subprocess.DEVNULL,
            env=env,
            start_new_session=new_session,
        )
    server = MotoServer(url, port, process, https, log)
    try:
        _wait_until_answering(f"{url}/moto-api/", process, startup_timeout)
    except RuntimeError as failure:
        server.stop()
        if log is None:
            raise
        raise RuntimeError(f"{failure}: {log.read_text(errors='replace')[-2000:]}") from None
    except BaseException:
        server.stop()
        raise
    return server


def _wait_until_answering(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    # moto's certificate is self-signed: the probe checks readiness, not trust.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=1, context=context).close()
            return
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"moto exited ({process.returncode}) before answering on {url}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"moto did not answer on {url} within {timeout:g} s") from None
            time.sleep(0.1)


# Settings a client would otherwise take from the caller's own setup: keys, profiles, proxies.
_CALLER_SETTINGS = ("AWS_", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "NO_PROXY", "no_proxy")


def client_environment(access_key: str, secret_key: str, **extra: str) -> dict[str, str]:
    """An environment for an AWS client process: the caller's, minus any AWS configuration and
    proxies of its own, with these keys, us-east-1 and unbuffered Python output; ``extra`` last."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(_CALLER_SETTINGS)}
    env.update(
        AWS_ACCESS_KEY_ID=access_key,
        AWS_SECRET_ACCESS_KEY=secret_key,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def run_cli(
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    cwd: str | os.PathLike[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m compat_diff ARGS`` as a user would, capturing its text output.

    ``env`` replaces the environment when given (None inherits it); stdin is empty, so a command
    that wrongly waits for input fails on its timeout instead of hanging on the terminal.
    """
    return subprocess.run(
        [sys.executable, "-m", "compat_diff", *args],
        capture_output=True,
        text=True,
        env=dict(env) if env is not None else None,
        timeout=timeout,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )
