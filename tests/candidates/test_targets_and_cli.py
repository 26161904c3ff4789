"""Targets files, the state file, and ``candidates up|down|status`` across processes."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from rich.console import Console

from compat_diff.candidates import (
    CANDIDATES,
    RunningCandidate,
    leftover_processes,
    secret_env_name,
    target_secrets,
    write_targets_toml,
)
from compat_diff.candidates.cli import run_candidates
from compat_diff.candidates.process import http_status, pid_alive
from compat_diff.candidates.state import read_state
from compat_diff.errors import InputError
from tests.candidates import fakes


def sample(name: str, secret: str = "testing") -> RunningCandidate:
    return RunningCandidate(
        name=name,
        endpoint="http://127.0.0.1:8080",
        region="us-east-1",
        access_key="test:tester",
        secret_key=secret,
        services=("s3",),
        pids=(),
        base_dir=Path("unused"),
        s3_addressing="path",
    )


def test_targets_file_with_inline_local_secrets(tmp_path: Path) -> None:
    path = tmp_path / "out" / "targets.toml"
    write_targets_toml([sample("swift"), sample("ceph", 'quote"and\\slash')], path)
    text = path.read_text()
    assert "not secrets" in text, "the file says why the secrets are inline"
    parsed = tomllib.loads(text)
    assert parsed["target"]["swift"] == {
        "endpoint": "http://127.0.0.1:8080",
        "region": "us-east-1",
        "access_key": "test:tester",
        "secret_key": "testing",
        "s3_addressing": "path",
        "services": ["s3"],
    }
    assert parsed["target"]["ceph"]["secret_key"] == 'quote"and\\slash'


def test_targets_file_with_secrets_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "targets.toml"
    candidates = [sample("swift"), sample("my-cloud", "other")]
    write_targets_toml(candidates, path, secrets="env")
    parsed = tomllib.loads(path.read_text())
    assert parsed["target"]["swift"]["secret_key_env"] == "COMPAT_DIFF_SECRET_SWIFT"
    assert parsed["target"]["my-cloud"]["secret_key_env"] == "COMPAT_DIFF_SECRET_MY_CLOUD"
    assert "secret_key" not in parsed["target"]["swift"]
    assert "testing" not in path.read_text()
    assert target_secrets(candidates) == {
        "COMPAT_DIFF_SECRET_SWIFT": "testing",
        "COMPAT_DIFF_SECRET_MY_CLOUD": "other",
    }
    assert secret_env_name("seaweedfs") == "COMPAT_DIFF_SECRET_SEAWEEDFS"


@pytest.fixture
def fake_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(CANDIDATES, "fake-http", fakes.spec("fake-http", fakes.launch_http))
    monkeypatch.setitem(CANDIDATES, "fake-crash", fakes.spec("fake-crash", fakes.launch_crash))


def console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=200, color_system=None), out


def run_in_another_process(action: str, state_dir: Path) -> tuple[int, str]:
    program = (
        "import sys; from pathlib import Path; from rich.console import Console; "
        "from compat_diff.candidates.cli import run_candidates; "
        f"sys.exit(run_candidates({action!r}, [], Path({str(state_dir)!r}), None, Console(width=200)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120, cwd=os.getcwd()
    )
    return done.returncode, done.stdout + done.stderr


def test_up_status_down_across_processes(tmp_path: Path, fake_http: None) -> None:
    state_dir = tmp_path / "state"
    term, out = console()
    assert run_candidates("up", ["fake-http"], state_dir, None, term) == 0
    assert "started fake-http at http://127.0.0.1:" in out.getvalue()

    state = read_state(state_dir)
    candidate = state.candidates["fake-http"]
    assert http_status(candidate.endpoint) == 200
    targets = tomllib.loads((state_dir / "targets.toml").read_text())
    assert targets["target"]["fake-http"]["endpoint"] == candidate.endpoint
    raw = json.loads((state_dir / "candidates.json").read_text())
    assert raw["candidates"]["fake-http"]["pids"] == list(candidate.pids)

    term, out = console()
    assert run_candidates("up", ["fake-http"], state_dir, None, term) == 0
    assert "already running: fake-http" in out.getvalue()
    assert read_state(state_dir).candidates["fake-http"].pids == candidate.pids

    # status and down run in other processes, finding the servers through the state file only.
    code, text = run_in_another_process("status", state_dir)
    assert code == 0, text
    assert f"fake-http   running  {candidate.endpoint}  healthy" in text
    code, text = run_in_another_process("down", state_dir)
    assert code == 0, text
    assert "stopped fake-http" in text
    assert leftover_processes(candidate.pids) == []
    assert not pid_alive(candidate.pids[0])
    assert read_state(state_dir).candidates == {}
    assert not (state_dir / "targets.toml").exists()
    assert not candidate.base_dir.exists()


def test_status_reports_a_candidate_whose_process_died(tmp_path: Path, fake_http: None) -> None:
    state_dir = tmp_path / "state"
    term, _ = console()
    assert run_candidates("up", ["fake-http"], state_dir, tmp_path / "t.toml", term) == 0
    candidate = read_state(state_dir).candidates["fake-http"]
    os.kill(candidate.pids[0], 9)
    for _ in range(200):
        if not pid_alive(candidate.pids[0]):
            break
        time.sleep(0.05)
    term, out = console()
    assert run_candidates("status", ["fake-http"], state_dir, None, term) == 3
    assert f"fake-http   BROKEN   {candidate.endpoint}  process {candidate.pids[0]} is gone" in out.getvalue()
    term, out = console()
    assert run_candidates("up", ["fake-http"], state_dir, None, term) == 0
    assert "restarting it" in out.getvalue()
    restarted = read_state(state_dir).candidates["fake-http"]
    assert restarted.pids != candidate.pids
    assert (tmp_path / "t.toml").exists(), "the targets file stays where the first up wrote it"
    assert run_candidates("down", [], state_dir, None, term) == 0
    assert leftover_processes(restarted.pids) == []


def test_up_reports_a_failed_candidate_and_keeps_the_others(tmp_path: Path, fake_http: None) -> None:
    state_dir = tmp_path / "state"
    term, out = console()
    assert run_candidates("up", ["fake-http", "fake-crash"], state_dir, None, term) == 3
    text = out.getvalue()
    assert "FAILED fake-crash: fake-crash crashed during start" in text
    assert set(read_state(state_dir).candidates) == {"fake-http"}
    assert run_candidates("down", ["fake-http"], state_dir, None, term) == 0


def test_unknown_action_or_name_is_an_input_error(tmp_path: Path) -> None:
    term, _ = console()
    with pytest.raises(InputError, match="unknown candidates action 'restart'"):
        run_candidates("restart", [], tmp_path, None, term)
    with pytest.raises(InputError, match="valid candidates are: ceph, dynalite"):
        run_candidates("up", ["minio"], tmp_path, None, term)
    assert not (tmp_path / "candidates.json").exists()


def test_damaged_state_file_is_one_clear_sentence(tmp_path: Path) -> None:
    (tmp_path / "candidates.json").write_text("{not json")
    term, _ = console()
    with pytest.raises(InputError, match=r"the candidates state file .* is damaged"):
        run_candidates("status", [], tmp_path, None, term)


def test_status_lists_every_registered_candidate(tmp_path: Path) -> None:
    term, out = console()
    assert run_candidates("status", [], tmp_path, None, term) == 0
    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == list(CANDIDATES)
    assert all(line.split()[1] == "stopped" for line in lines)
