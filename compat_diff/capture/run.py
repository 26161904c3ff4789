"""`compat-diff record`: run the recording proxy, optionally around a command, and summarize.

With a COMMAND the proxy listens on a free loopback port, the command runs with the proxy and
CA variables set, and the recorder exits with the command's status. Without one it prints the
variables to export and records until Ctrl-C or SIGTERM. Either way a recording that cannot be
written stops the proxy (and the command) and is reported as a failure, never ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
from collections.abc import Mapping
from pathlib import Path

from rich.console import Console

from compat_diff.capture.addon import CaptureAddon
from compat_diff.capture.environment import (
    command_environment,
    export_lines,
    proxy_variables,
    write_ca_bundle,
)
from compat_diff.capture.proxy import Proxy, ProxySettings
from compat_diff.capture.recorder import Recorder
from compat_diff.capture.summary import print_summary
from compat_diff.errors import InputError, RecorderFailure
from compat_diff.model import ExitStatus
from compat_diff.recording.format import RecordingWriter

DEFAULT_CONFDIR = Path("~/.compat-diff/mitmproxy")
# How long a command gets to exit after SIGTERM once the recorder has failed.
_TERMINATE_GRACE_SECONDS = 5.0
_DRAIN_SECONDS = 0.5


def parse_listen(listen: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[V6]:PORT``, ``:PORT`` or ``PORT``; raises InputError otherwise."""
    text = listen.strip()
    host, port_text = "127.0.0.1", text
    if text.startswith("["):
        close = text.find("]")
        if close > 0 and text[close + 1 : close + 2] == ":":
            host, port_text = text[1:close], text[close + 2 :]
    elif ":" in text:
        host, _, port_text = text.rpartition(":")
        host = host or "127.0.0.1"
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise InputError(f"--listen {listen!r} is not HOST:PORT with a port between 0 and 65535")
    return host, int(port_text)


def resolve_command(command: list[str], environ: Mapping[str, str]) -> str:
    """The program to run, checked before anything starts; raises InputError if it cannot run."""
    program = command[0]
    if os.sep in program:
        if not (os.path.isfile(program) and os.access(program, os.X_OK)):
            raise InputError(f"the command {program!r} does not exist or is not executable")
        return program
    found = shutil.which(program, path=environ.get("PATH", os.defpath))
    if found is None:
        raise InputError(f"the command {program!r} was not found on PATH")
    return found


# Header keys the format itself owns; a label may not overwrite them.
RESERVED_HEADER_KEYS = frozenset({"format", "version", "created", "tool", "session", "recorded_by"})


def parse_labels(labels: list[str]) -> dict[str, str]:
    """``KEY=VALUE`` pairs for the recording's header (e.g. ``reference=moto 5.2 (stand-in for AWS)``)."""
    parsed: dict[str, str] = {}
    for label in labels:
        key, sep, value = label.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InputError(f"--label {label!r} must look like KEY=VALUE, e.g. reference=AWS us-east-1")
        if key in RESERVED_HEADER_KEYS:
            raise InputError(f"--label {key} is set by compat-diff itself; choose another key")
        parsed[key] = value
    return parsed


def open_writer(
    out: Path,
    session: str,
    command: list[str],
    max_body_bytes: int | None,
    labels: dict[str, str] | None = None,
    *,
    force: bool = False,
) -> RecordingWriter:
    if out.is_dir():
        raise InputError(f"--out {out} is a directory; give the path of the recording file to write")
    # Only a regular file is a recording to protect; a device such as /dev/null is written as asked.
    if out.is_file() and not force:
        raise InputError(
            f"--out {out} already exists; choose another file, or pass --force to replace that recording"
        )
    header: dict[str, object] = {"session": session, "recorded_by": "compat-diff record"}
    if command:
        # Only the program name: arguments may carry secrets.
        header["client"] = os.path.basename(command[0])
    header.update(labels or {})
    try:
        return RecordingWriter(out, header=header, max_body_bytes=max_body_bytes)
    except RecorderFailure as failure:
        raise InputError(str(failure)) from None


def run_record(
    out: Path,
    listen: str,
    session: str,
    ssl_insecure: bool,
    max_body_bytes: int | None,
    confdir: Path | None,
    command: list[str],
    console: Console,
    err: Console,
    environ: Mapping[str, str] | None = None,
    labels: list[str] | None = None,
    force: bool = False,
) -> int:
    environ = dict(os.environ if environ is None else environ)
    host, port = parse_listen(listen)
    header_labels = parse_labels(labels or [])
    if command:
        resolve_command(command, environ)
    writer = open_writer(out, session, command, max_body_bytes, header_labels, force=force)
    settings = ProxySettings(
        listen_host=host,
        listen_port=port,
        confdir=(confdir or DEFAULT_CONFDIR).expanduser().absolute(),
        ssl_insecure=ssl_insecure,
    )
    session_run = _RecordSession(writer, settings, session, console, err, environ)
    try:
        status = asyncio.run(session_run.run(command))
    finally:
        with contextlib.suppress(RecorderFailure):
            writer.close()
    recorder = session_run.recorder
    print_summary(err, recorder.tally, out)
    if recorder.failure is not None:
        raise RecorderFailure(
            f"{recorder.failure}; the proxy stopped so that no call went through unrecorded"
        )
    if command and recorder.tally.exchanges == 0 and status is not None:
        if recorder.tally.not_aws and status == ExitStatus.OK:
            # Requests went through and none was understood: the recording is empty although the
            # command succeeded. A CI job must not take that for a good recording.
            raise RecorderFailure(
                f"the command made {recorder.tally.not_aws} requests through the proxy but none was "
                "recognised as an AWS call, so nothing was recorded; check that the client speaks an "
                "AWS API (signed calls, or Query calls with Action and Version) to the endpoint you meant"
            )
        _warn_nothing_recorded(err, recorder.tally.not_aws)
    return ExitStatus.OK if status is None else status


def _warn_nothing_recorded(err: Console, not_aws: int) -> None:
    seen = f" (it made {not_aws} non-AWS requests through it)" if not_aws else ""
    err.print(
        f"compat-diff: warning: the command ran but no AWS call went through the proxy{seen}. Clients that "
        "ignore HTTP_PROXY/HTTPS_PROXY (s3cmd, Go programs calling a loopback endpoint) must be pointed "
        "at the proxy explicitly.",
        markup=False,
    )


class _RecordSession:
    """One run of the proxy with its recorder, from start to a clean stop."""

    def __init__(
        self,
        writer: RecordingWriter,
        settings: ProxySettings,
        session: str,
        console: Console,
        err: Console,
        environ: dict[str, str],
    ) -> None:
        region_hint = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or None
        self.recorder = Recorder(writer, session, region_hint=region_hint)
        self.settings = settings
        self.console = console
        self.err = err
        self.environ = environ
        self.path = writer.path

    async def run(self, command: list[str]) -> int | None:
        stop = asyncio.Event()
        addon = CaptureAddon(self.recorder, on_failure=lambda _failure: stop.set())
        proxy = Proxy(self.settings, addon, warn=self._proxy_warning)
        await proxy.start()
        try:
            proxy_url = f"http://{_url_host(proxy.address[0])}:{proxy.address[1]}"
            try:
                bundle = write_ca_bundle(proxy.ca_cert)
            except OSError as error:
                raise InputError(f"cannot write the CA bundle in {self.settings.confdir}: {error}") from None
            variables = proxy_variables(proxy_url, proxy.ca_cert, bundle, self.environ)
            if command:
                return await self._run_command(command, variables, stop, proxy)
            self._print_exports(variables)
            await self._wait_for_signal(stop, proxy)
            return None
        finally:
            await proxy.stop()

    async def _run_command(
        self, command: list[str], variables: dict[str, str], stop: asyncio.Event, proxy: Proxy
    ) -> int | None:
        loop = asyncio.get_running_loop()
        try:
            child = await asyncio.create_subprocess_exec(
                *command, env=command_environment(variables, self.environ)
            )
        except OSError as error:
            raise InputError(f"cannot run the command {command[0]!r}: {error.strerror or error}") from None
        # Ctrl-C reaches the command through the terminal's process group: let it decide how
        # to end, and keep recording its last calls. SIGTERM is meant for us: pass it on.
        loop.add_signal_handler(signal.SIGINT, lambda: None)
        loop.add_signal_handler(signal.SIGTERM, lambda: _forward(child, signal.SIGTERM))
        try:
            exited = asyncio.ensure_future(child.wait())
            failed = asyncio.ensure_future(stop.wait())
            proxy_ended = proxy.stopped
            watched: set[asyncio.Future[object]] = {exited, failed}  # type: ignore[arg-type]
            if proxy_ended is not None:
                watched.add(proxy_ended)  # type: ignore[arg-type]
            await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
            failed.cancel()
            if not exited.done():
                # The recorder failed (or the proxy died). The proxy now answers every call with
                # 502, so the command sees why; give it a moment to end on its own, then end it.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(exited), _TERMINATE_GRACE_SECONDS)
            if not exited.done():
                await _terminate(child)
            await exited
        finally:
            loop.remove_signal_handler(signal.SIGINT)
            loop.remove_signal_handler(signal.SIGTERM)
        code = child.returncode if child.returncode is not None else 1
        return 128 - code if code < 0 else code

    async def _wait_for_signal(self, stop: asyncio.Event, proxy: Proxy) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            waiting = asyncio.ensure_future(stop.wait())
            watched: set[asyncio.Future[object]] = {waiting}  # type: ignore[arg-type]
            if proxy.stopped is not None:
                watched.add(proxy.stopped)  # type: ignore[arg-type]
            await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            if self.recorder.failure is not None:
                # Let the refusal that reported the failure reach its client before closing.
                await asyncio.sleep(_DRAIN_SECONDS)
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)

    def _print_exports(self, variables: dict[str, str]) -> None:
        self.console.print(
            f"# compat-diff is recording to {self.path}. Run these in the shell of your AWS client, "
            "then stop recording with Ctrl-C (or SIGTERM) here.",
            markup=False,
        )
        for line in export_lines(variables):
            self.console.print(line, markup=False)
        self.console.file.flush()

    def _proxy_warning(self, message: str) -> None:
        self.err.print(f"compat-diff: proxy: {message}", markup=False)


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _forward(child: asyncio.subprocess.Process, signum: int) -> None:
    if child.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signum)


async def _terminate(child: asyncio.subprocess.Process) -> None:
    _forward(child, signal.SIGTERM)
    try:
        await asyncio.wait_for(child.wait(), _TERMINATE_GRACE_SECONDS)
    except TimeoutError:
        _forward(child, signal.SIGKILL)
