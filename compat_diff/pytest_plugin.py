"""A pytest plugin that makes any test suite a differential suite: each test becomes a session.

Run a suite under ``compat-diff record`` with ``--compat-diff-sessions`` (or
``COMPAT_DIFF_SESSIONS=1``): before each test's setup, call and teardown the plugin sends a control
request through the recording proxy (``GET http://compat-diff.invalid/session?name=NODEID&step=PHASE``,
which only the recorder answers), so every AWS call the test makes is recorded in the session named
by the test's node id, with its phase as the step. After the test, calls go back to the recording's
default session (session-scoped fixtures torn down at the end land there).

Without the option the plugin does nothing; without a proxy in ``HTTP_PROXY`` it warns once and
does nothing. It needs only the standard library.
"""

from __future__ import annotations

import http.client
import os
import urllib.parse
import warnings
from typing import Any

import pytest

CONTROL_HOST = "compat-diff.invalid"


class SessionAnnouncer:
    """One kept-alive connection to the recording proxy carrying the control requests."""

    def __init__(self, proxy_url: str) -> None:
        self.proxy = urllib.parse.urlsplit(proxy_url)
        self.connection: http.client.HTTPConnection | None = None
        self.broken = False

    def announce(self, name: str, step: str) -> None:
        if self.broken:
            return
        query = urllib.parse.urlencode({"name": name, "step": step})
        for attempt in (1, 2):
            try:
                if self.connection is None:
                    self.connection = http.client.HTTPConnection(
                        self.proxy.hostname or "127.0.0.1", self.proxy.port or 8080, timeout=10
                    )
                self.connection.request(
                    "GET", f"http://{CONTROL_HOST}/session?{query}", headers={"Host": CONTROL_HOST}
                )
                answer = self.connection.getresponse()
                answer.read()
                if answer.status == 200:
                    return
                raise OSError(f"the proxy answered {answer.status}: is it `compat-diff record`?")
            except (OSError, http.client.HTTPException) as error:
                if self.connection is not None:
                    self.connection.close()
                self.connection = None
                if attempt == 2:
                    self.broken = True
                    warnings.warn(
                        f"compat-diff sessions: control request failed ({error}); tests are not named",
                        stacklevel=1,
                    )

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


_ANNOUNCER: SessionAnnouncer | None = None


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("compat-diff")
    group.addoption(
        "--compat-diff-sessions",
        action="store_true",
        default=False,
        help="Name each test to `compat-diff record` (setup, call and teardown as steps of a session "
        "named by the test's node id). Also on with COMPAT_DIFF_SESSIONS=1.",
    )


def pytest_configure(config: Any) -> None:
    global _ANNOUNCER
    enabled = config.getoption("--compat-diff-sessions", default=False) or os.environ.get(
        "COMPAT_DIFF_SESSIONS", ""
    ) not in ("", "0")
    if not enabled:
        return
    proxy = os.environ.get("HTTP_PROXY") or os.environ.get("http_proxy")
    if not proxy:
        warnings.warn(
            "compat-diff sessions: no HTTP_PROXY set; run the tests under `compat-diff record`", stacklevel=1
        )
        return
    _ANNOUNCER = SessionAnnouncer(proxy)


def pytest_unconfigure(config: Any) -> None:
    global _ANNOUNCER
    if _ANNOUNCER is not None:
        _ANNOUNCER.close()
        _ANNOUNCER = None


def _announce(item: Any, step: str) -> None:
    if _ANNOUNCER is not None:
        _ANNOUNCER.announce(item.nodeid, step)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: Any) -> None:
    _announce(item, "setup")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: Any) -> None:
    _announce(item, "call")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: Any, nextitem: Any) -> None:
    _announce(item, "teardown")


@pytest.hookimpl(trylast=True)
def pytest_runtest_logfinish(nodeid: str, location: Any) -> None:
    if _ANNOUNCER is not None:
        _ANNOUNCER.announce("", "")
