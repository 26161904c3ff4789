"""An in-process mitmproxy forward proxy carrying only the addons recording needs.

mitmproxy's DumpMaster loads some thirty addons (flow display, scripting, replay, ...), each of
which sees every flow; the recorder needs the proxy core, TLS interception and its own addon, so
it assembles a bare Master with just those. The proxy runs as a task on the caller's event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mitmproxy import options
from mitmproxy.addons import core, disable_h2c, next_layer, proxyserver, tlsconfig
from mitmproxy.exceptions import OptionsError
from mitmproxy.master import Master

from compat_diff.errors import CannotRun, InputError

CA_CERT_NAME = "mitmproxy-ca-cert.pem"


@dataclass(frozen=True)
class ProxySettings:
    listen_host: str
    listen_port: int
    confdir: Path
    ssl_insecure: bool


class _ProxyLog(logging.Handler):
    """Collects mitmproxy's log so startup errors become one sentence and warnings reach the user."""

    def __init__(self, warn: Callable[[str], None]) -> None:
        super().__init__(level=logging.WARNING)
        self.warn = warn
        self.errors: list[str] = []
        # While starting, errors are collected for the one sentence start() raises, not echoed.
        self.starting = True

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage().strip()
        if record.levelno >= logging.ERROR:
            self.errors.append(message)
            if self.starting:
                return
        self.warn(message)

    def startup_error(self) -> str:
        if not self.errors:
            return "unknown reason"
        # mitmproxy's own advice (its --mode syntax) does not apply to compat-diff's options.
        reason = self.errors[-1].splitlines()[0]
        if "address already in use" in reason.lower():
            return "the address is already in use (choose another with --listen HOST:PORT)"
        return reason


class Proxy:
    """A running forward proxy; ``address`` is where it actually listens (a port 0 resolved)."""

    def __init__(self, settings: ProxySettings, addon: Any, warn: Callable[[str], None]) -> None:
        self.settings = settings
        self.addon = addon
        self.address: tuple[str, int] = (settings.listen_host, settings.listen_port)
        self._log = _ProxyLog(warn)
        self._master: Master | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def ca_cert(self) -> Path:
        return self.settings.confdir / CA_CERT_NAME

    async def start(self) -> None:
        """Bind the listening socket and start serving; raises a one-sentence error if it cannot."""
        mitm_logger = logging.getLogger("mitmproxy")
        mitm_logger.addHandler(self._log)
        # Without this, records would also reach Python's last-resort stderr handler.
        mitm_logger.propagate = False
        try:
            self.settings.confdir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise InputError(
                f"cannot create the CA directory {self.settings.confdir}: {error.strerror or error}"
            ) from None
        opts = options.Options()
        master = Master(opts, event_loop=asyncio.get_running_loop(), with_termlog=False)
        try:
            master.addons.add(
                core.Core(),
                proxyserver.Proxyserver(),
                next_layer.NextLayer(),
                tlsconfig.TlsConfig(),
                disable_h2c.DisableH2C(),
                self.addon,
            )
            # Options are set after the addons exist so that each addon configures itself from
            # them (the TLS addon creates the CA in confdir at this point).
            opts.update(
                listen_host=self.settings.listen_host,
                listen_port=self.settings.listen_port,
                mode=["regular"],
                confdir=str(self.settings.confdir),
                ssl_insecure=self.settings.ssl_insecure,
                # Forward mode keeps the client's Host header anyway; this keeps it in every mode.
                keep_host_header=True,
            )
            opts.changed.send(updated=set(opts.keys()))
        except (OptionsError, OSError) as error:
            raise InputError(f"cannot configure the proxy: {error}") from None
        if not self.ca_cert.exists():
            raise InputError(f"cannot create the proxy CA in {self.settings.confdir}")
        server = master.addons.get("proxyserver")
        if not await server.setup_servers():
            raise CannotRun(
                f"cannot listen on {self.settings.listen_host}:{self.settings.listen_port}:"
                f" {self._log.startup_error()}"
            )
        self._log.starting = False
        addresses = server.listen_addrs()
        if addresses:
            self.address = (str(addresses[0][0]), int(addresses[0][1]))
        self._master = master
        self._task = asyncio.create_task(master.run(), name="compat-diff proxy")

    def request_stop(self) -> None:
        """Ask the proxy to stop; safe to call from a hook or a signal handler."""
        if self._master is not None:
            self._master.should_exit.set()

    async def stop(self) -> None:
        self.request_stop()
        if self._task is not None:
            await self._task
            self._task = None
        logging.getLogger("mitmproxy").removeHandler(self._log)

    @property
    def stopped(self) -> asyncio.Task[None] | None:
        return self._task
