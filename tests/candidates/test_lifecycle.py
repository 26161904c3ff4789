"""start/stop/running with stand-in servers: crashes, hangs, taken ports, interrupts, unknown names."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from compat_diff.candidates import (
    CANDIDATES,
    Installed,
    LaunchContext,
    RunningCandidate,
    installed,
    is_healthy,
    leftover_processes,
    running,
    start,
    stop,
)
from compat_diff.candidates.process import http_status, pid_alive
from compat_diff.errors import CannotRun, InputError
from tests.candidates import fakes


@pytest.fixture
def fake_candidates(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Register the stand-ins; returns a counter of launch attempts per name."""
    attempts: dict[str, int] = {}

    def counted(name, launch):  # type: ignore[no-untyped-def]
        def wrapper(ctx: LaunchContext) -> RunningCandidate:
            attempts[name] = attempts.get(name, 0) + 1
            return launch(ctx)

        return wrapper

    grabbed: list[socket.socket] = []

    def launch_grabbed_once(ctx: LaunchContext) -> RunningCandidate:
        port = ctx.main_port()
        if attempts["fake-race"] == 1:
            # Another program takes the port between our choice and the server's bind.
            thief = socket.socket()
            thief.bind(("127.0.0.1", port))
            thief.listen()
            grabbed.append(thief)
        fakes.http_server(ctx, port)
        ctx.wait_http(f"http://127.0.0.1:{port}/", status=200)
        return ctx.running(endpoint=f"http://127.0.0.1:{port}", access_key="k", secret_key="s")

    def not_installed() -> Installed:
        return Installed(False, "fakebin not found on PATH; run the installer")

    for name, launch, check in [
        ("fake-http", fakes.launch_http, None),
        ("fake-stubborn", fakes.launch_stubborn, None),
        ("fake-crash", fakes.launch_crash, None),
        ("fake-hang", fakes.launch_hang, None),
        ("fake-race", launch_grabbed_once, None),
        ("fake-missing", fakes.launch_http, not_installed),
    ]:
        spec = fakes.spec(name, counted(name, launch), **({"check_installed": check} if check else {}))
        monkeypatch.setitem(CANDIDATES, name, spec)
    yield attempts
    for thief in grabbed:
        thief.close()


def assert_all_gone(candidate: RunningCandidate) -> None:
    assert leftover_processes(candidate.pids) == []
    assert not any(pid_alive(pid) for pid in candidate.pids)


def test_unknown_name_lists_the_valid_ones(base_dir: Path) -> None:
    with pytest.raises(InputError) as caught:
        start("minio", base_dir)
    message = str(caught.value)
    assert "unknown candidate 'minio'" in message
    for name in ("moto", "swift", "ceph", "seaweedfs", "dynalite"):
        assert name in message
    with pytest.raises(InputError):
        installed("minio")


def test_unknown_name_in_running_fails_before_anything_starts(base_dir: Path, fake_candidates) -> None:
    with pytest.raises(InputError), running(["fake-http", "minio"], base_dir):
        pass
    assert fake_candidates == {}


def test_start_answers_and_stop_leaves_no_process(base_dir: Path, fake_candidates) -> None:
    candidate = start("fake-http", base_dir)
    assert http_status(candidate.endpoint) == 200
    assert is_healthy(candidate) == (True, "healthy")
    assert candidate.base_dir.parent == base_dir
    stop(candidate)
    assert_all_gone(candidate)
    stop(candidate)  # stopping twice is harmless
    assert is_healthy(candidate)[0] is False


def test_each_run_gets_its_own_data_directory(base_dir: Path, fake_candidates) -> None:
    first = start("fake-http", base_dir)
    second = start("fake-http", base_dir)
    try:
        assert first.base_dir != second.base_dir
        assert first.endpoint != second.endpoint
    finally:
        stop(first)
        stop(second)


def test_stop_kills_a_server_that_ignores_sigterm(base_dir: Path, fake_candidates) -> None:
    candidate = start("fake-stubborn", base_dir)
    stop(candidate, grace=0.5)
    assert_all_gone(candidate)


def test_requested_port_already_taken_is_one_clear_sentence(base_dir: Path, fake_candidates) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(CannotRun) as caught:
            start("fake-http", base_dir, port=port)
    assert str(caught.value) == (
        f"fake-http cannot start: port {port} on 127.0.0.1 is already in use; "
        "choose another port or stop what listens there."
    )


def test_port_grabbed_before_the_server_binds_is_retried_on_another(base_dir: Path, fake_candidates) -> None:
    candidate = start("fake-race", base_dir)
    try:
        assert fake_candidates["fake-race"] == 2
        assert http_status(candidate.endpoint) == 200
        first_attempt_log = base_dir / "fake-race" / "log" / "http.log"
        assert "Address already in use" in first_attempt_log.read_text()
    finally:
        stop(candidate)


def test_crash_during_start_quotes_the_log_and_stops_everything(base_dir: Path, fake_candidates) -> None:
    with pytest.raises(CannotRun) as caught:
        start("fake-crash", base_dir)
    message = str(caught.value)
    assert message.startswith("fake-crash crashed during start: crasher exited with status 3")
    assert "fatal: the config is broken" in message
    assert "Traceback" not in message
    pids = fakes.recorded_pids(base_dir / "fake-crash")
    assert set(pids) == {"healthy", "crasher", "grandchild"}
    for label, pid in pids.items():
        assert not pid_alive(pid), f"{label} must not outlive the failed start"


def test_a_server_that_never_answers_times_out_and_is_stopped(base_dir: Path, fake_candidates) -> None:
    with pytest.raises(CannotRun) as caught:
        start("fake-hang", base_dir, timeout=1.0)
    assert str(caught.value).startswith(
        "fake-hang did not become ready in time (waiting for http://127.0.0.1:"
    )
    sleeper = fakes.recorded_pids(base_dir / "fake-hang")["sleeper"]
    assert not pid_alive(sleeper)


def test_not_installed_says_why_and_how(base_dir: Path, fake_candidates) -> None:
    assert installed("fake-missing") == (False, "fakebin not found on PATH; run the installer")
    with pytest.raises(CannotRun) as caught:
        start("fake-missing", base_dir)
    assert str(caught.value) == "fake-missing is not installed: fakebin not found on PATH; run the installer."
    assert fake_candidates == {}


def test_running_reports_failures_without_stopping_the_others(base_dir: Path, fake_candidates) -> None:
    with running(["fake-http", "fake-crash", "fake-missing"], base_dir) as (started, failures):
        assert [candidate.name for candidate in started] == ["fake-http"]
        assert http_status(started[0].endpoint) == 200
        assert set(failures) == {"fake-crash", "fake-missing"}
        assert "crashed during start" in failures["fake-crash"]
        assert "not installed" in failures["fake-missing"]
    assert_all_gone(started[0])


def test_running_with_on_error_raise_stops_what_started(base_dir: Path, fake_candidates) -> None:
    with pytest.raises(CannotRun) as caught, running(["fake-http", "fake-crash"], base_dir, on_error="raise"):
        pytest.fail("the block must not run when a candidate failed")
    assert "fake-crash crashed during start" in str(caught.value)
    server = fakes.recorded_pids(base_dir / "fake-http")["http"]
    assert not pid_alive(server), "fake-http started, and must be stopped again"


def test_running_stops_everything_on_keyboard_interrupt(base_dir: Path, fake_candidates) -> None:
    seen: list[RunningCandidate] = []
    with pytest.raises(KeyboardInterrupt), running(["fake-http", "fake-race"], base_dir) as (started, _):
        seen.extend(started)
        raise KeyboardInterrupt
    assert len(seen) == 2
    for candidate in seen:
        assert_all_gone(candidate)
