"""Preflight: check-targets says, per target and service, whether a replay can mean anything, and
compare stops before replaying against a target whose keys are rejected everywhere."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import orjson
import pytest

from compat_diff.model import Body, HttpResponse
from compat_diff.replay.preflight import SetupWatch
from compat_diff.testing import free_port, run_cli, stop_process

from .test_repeatable import ENV, _record


def _targets(path: Path, **targets: dict[str, str]) -> Path:
    text = ""
    for name, keys in targets.items():
        text += f"[target.{name}]\n" + "".join(f'{key} = "{value}"\n' for key, value in keys.items()) + "\n"
    path.write_text(text)
    return path


@pytest.fixture
def web_server(tmp_path):
    """A plain web server (not a cloud): it answers 404 pages for unknown paths."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    yield url
    stop_process(process)


def test_check_targets_one_line_per_target_and_service(tmp_path, moto_factory, web_server):
    moto = moto_factory()
    closed = f"http://127.0.0.1:{free_port()}"
    keys = {"access_key": "AKIAREPLAYTARGET0001", "secret_key": "secret", "region": "us-east-1"}
    good = _targets(tmp_path / "good.toml", moto={"endpoint": moto.url, **keys})
    result = run_cli("check-targets", "--targets", str(good), env=ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok   moto s3") and "ListBuckets answered 200" in result.stdout

    bad = _targets(
        tmp_path / "bad.toml",
        moto={"endpoint": moto.url, **keys},
        down={"endpoint": closed, **keys},
        web={"endpoint": web_server + "/cloud/s3", **keys},
    )
    result = run_cli("check-targets", "--targets", str(bad), env=ENV)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("ok   moto s3")
    assert lines[1].startswith("FAIL down s3") and "connection refused" in lines[1]
    assert lines[2].startswith("FAIL web s3") and "not the service's" in lines[2]


def test_the_services_of_a_recording_are_checked(tmp_path, moto_factory, boto_recorder):
    recording = _record(moto_factory, boto_recorder, services=("iam", "sqs"))
    moto = moto_factory()
    result = run_cli("check-targets", "--target", f"m={moto.url}", "--recording", str(recording), env=ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [line.split()[2] for line in result.stdout.splitlines()] == ["iam", "sqs"]


@pytest.mark.live
def test_rejected_keys_stop_compare_before_replaying(tmp_path, moto_factory, boto_recorder):
    from compat_diff import candidates

    recording = _record(moto_factory, boto_recorder, services=("s3",))
    seaweed = candidates.start("seaweedfs", tmp_path / "seaweedfs")
    try:
        wrong = _targets(
            tmp_path / "wrong.toml",
            seaweedfs={
                "endpoint": seaweed.endpoint,
                "access_key": seaweed.access_key,
                "secret_key": "not-the-secret",
                "region": seaweed.region,
            },
        )
        result = run_cli("check-targets", "--targets", str(wrong), env=ENV)
        assert result.returncode == 2
        assert "credentials rejected" in result.stdout and "SignatureDoesNotMatch" in result.stdout

        report = tmp_path / "report"
        result = run_cli(
            "compare", str(recording), "--targets", str(wrong), "--report-dir", str(report), env=ENV
        )
        assert result.returncode == 2, result.stderr
        assert "not set up for a replay" in result.stderr and "--no-preflight" in result.stderr
        assert not (report / "run").exists()

        # Without the preflight the replay runs, and the run says loudly what most answers were.
        result = run_cli(
            "compare",
            str(recording),
            "--targets",
            str(wrong),
            "--report-dir",
            str(report),
            "--no-preflight",
            env=ENV,
        )
        assert result.returncode == 1, result.stderr
        assert "WARNING:" in result.stderr and "authentication failures" in result.stderr
        document = orjson.loads((report / "report.json").read_bytes())
        assert "authentication failures" in document["run"]["setup_warnings"]["seaweedfs"]
        assert "**Warning:**" in (report / "summary.md").read_text()
    finally:
        candidates.stop(seaweed)


def test_most_answers_already_existing_is_a_set_up_warning():
    watch = SetupWatch()
    exists = HttpResponse(
        409,
        (("Content-Type", "application/xml"),),
        Body.of(b"<Error><Code>BucketAlreadyOwnedByYou</Code></Error>"),
    )
    fine = HttpResponse(200, (), Body.of(b"<ok/>"))
    for _ in range(3):
        watch.note("t", exists)
    watch.note("t", fine)
    watch.note("u", exists)
    for _ in range(4):
        watch.note("u", fine)
    warnings = watch.warnings()
    assert list(warnings) == ["t"]
    assert "3 of 4 answers" in warnings["t"] and "already exists" in warnings["t"]
