"""Every scenario runs to the end against a real moto server, calls enough distinct operations of its
service, and makes exactly the same calls when run again on a fresh server (so its recording can be
replayed and compared call by call)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from scenario_harness import SCENARIOS, MotoServer, ScenarioRun

from compat_diff.coverage import coverage_of
from compat_diff.recording import load_exchanges
from compat_diff.testing import run_cli

# scenario script -> {service: minimum number of distinct operations}
MINIMUMS: dict[str, dict[str, int]] = {
    "s3.py": {"s3": 40},
    "ec2.py": {"ec2": 25},
    "iam.py": {"iam": 15},
    "sts.py": {"sts": 3},
    "sqs.py": {"sqs": 12},
    "sns.py": {"sns": 8},
    "dynamodb.py": {"dynamodb": 15},
    "kinesis.py": {"kinesis": 6},
    "cloudwatch.py": {"cloudwatch": 5},
    "s3_minimal.py": {"s3": 8},
    "cli_s3.sh": {"s3": 8},
    "cli_sqs_dynamodb.sh": {"sqs": 5, "dynamodb": 5},
}


@pytest.fixture(scope="module")
def runs(
    moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[ScenarioRun, ...]]:
    """Each scenario run twice, each time on a freshly reset server; computed once, on first use."""

    class Lazy(dict[str, tuple[ScenarioRun, ...]]):
        def __missing__(self, script: str) -> tuple[ScenarioRun, ...]:
            work = tmp_path_factory.mktemp(script.replace(".", "_"))
            self[script] = (moto_server.run_scenario(script, work), moto_server.run_scenario(script, work))
            return self[script]

    return Lazy()


def test_every_scenario_file_is_covered_by_these_tests() -> None:
    on_disk = {
        p.name for p in SCENARIOS.iterdir() if p.suffix in (".py", ".sh") and not p.name.startswith("_")
    }
    assert on_disk - {"run_all.sh"} == set(MINIMUMS)


@pytest.mark.parametrize("script", sorted(MINIMUMS))
def test_scenario_runs_to_the_end_against_moto(script: str, runs: dict[str, tuple[ScenarioRun, ...]]) -> None:
    for run in runs[script]:
        assert run.returncode == 0, f"{script} failed:\n{run.stdout}\n{run.stderr}"
        assert "ran to the end" in run.stdout
        assert run.calls, f"{script} made no AWS call that the spy saw"


@pytest.mark.parametrize("script", sorted(MINIMUMS))
def test_scenario_calls_enough_distinct_operations(
    script: str, runs: dict[str, tuple[ScenarioRun, ...]]
) -> None:
    run = runs[script][0]
    for service, minimum in MINIMUMS[script].items():
        seen = run.distinct_operations(service)
        assert len(seen) >= minimum, f"{script}: {len(seen)} distinct {service} operations: {sorted(seen)}"


@pytest.mark.parametrize("script", sorted(MINIMUMS))
def test_scenario_exercises_error_paths(script: str, runs: dict[str, tuple[ScenarioRun, ...]]) -> None:
    errors = [call for call in runs[script][0].calls if call.status is not None and call.status >= 300]
    assert errors, f"{script} never hit an error path"


@pytest.mark.parametrize("script", sorted(MINIMUMS))
def test_scenario_makes_the_same_calls_on_every_run(
    script: str, runs: dict[str, tuple[ScenarioRun, ...]]
) -> None:
    first, second = runs[script]
    assert first.calls == second.calls


def test_s3_minimal_is_a_quick_scenario(runs: dict[str, tuple[ScenarioRun, ...]]) -> None:
    # The demo records it live, so it must stay around twenty calls.
    assert 12 <= len(runs["s3_minimal.py"][0].calls) <= 30


def test_strict_mode_fails_a_scenario_whose_expected_error_does_not_happen(
    moto_server: MotoServer, tmp_path: Path
) -> None:
    script = SCENARIOS / "_probe_expectation.py"
    script.write_text(
        "from _scenario import client, expect_error, run\n"
        "def body(sc):\n"
        "    s3 = client('s3')\n"
        "    s3.create_bucket(Bucket='compat-diff-probe')\n"
        "    expect_error('NoSuchBucket', s3.head_bucket, Bucket='compat-diff-probe')\n"
        "    s3.delete_bucket(Bucket='compat-diff-probe')\n"
        "run('probe', body)\n",
        encoding="utf-8",
    )
    try:
        strict = moto_server.run_scenario(script.name, tmp_path, strict=True)
        lenient = moto_server.run_scenario(script.name, tmp_path, strict=False)
    finally:
        script.unlink()
    assert strict.returncode == 1
    assert "head_bucket succeeded, expected the error NoSuchBucket" in strict.stderr
    # The half-done scenario cleaned up nothing it had not registered, and stopped at the surprise.
    assert [c.operation for c in strict.calls] == ["CreateBucket", "HeadBucket"]
    assert lenient.returncode == 0
    assert "scenario note: head_bucket succeeded" in lenient.stderr
    assert [c.operation for c in lenient.calls] == ["CreateBucket", "HeadBucket", "DeleteBucket"]


def test_a_broken_scenario_undoes_what_it_registered(moto_server: MotoServer, tmp_path: Path) -> None:
    script = SCENARIOS / "_probe_rollback.py"
    script.write_text(
        "from _scenario import client, run\n"
        "def body(sc):\n"
        "    s3 = client('s3')\n"
        "    s3.create_bucket(Bucket='compat-diff-rollback')\n"
        "    sc.on_failure(s3.delete_bucket, Bucket='compat-diff-rollback')\n"
        "    s3.get_object(Bucket='compat-diff-rollback', Key='missing')\n"
        "run('probe', body)\n",
        encoding="utf-8",
    )
    try:
        broken = moto_server.run_scenario(script.name, tmp_path)
    finally:
        script.unlink()
    assert broken.returncode == 1
    assert [(c.operation, c.status) for c in broken.calls] == [
        ("CreateBucket", 200),
        ("GetObject", 404),
        ("DeleteBucket", 204),
    ]


def test_recording_the_s3_scenario_captures_every_operation_including_presigned_urls(
    moto_server: MotoServer, tmp_path: Path
) -> None:
    """The path `make recordings` takes: `compat-diff record -- python scenarios/s3.py`."""
    moto_server.reset()
    recording = tmp_path / "s3.jsonl"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "COMPAT_DIFF_"))}
    env.update(
        {
            "AWS_ENDPOINT_URL": moto_server.endpoint,
            "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "AWS_DEFAULT_REGION": "us-east-1",
            "COMPAT_DIFF_SCENARIO_STRICT": "1",
        }
    )
    done = run_cli(
        "record", "--out", str(recording), "--session", "s3", "--", sys.executable, str(SCENARIOS / "s3.py"),
        env=env, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr

    _, exchanges = load_exchanges(recording)
    report = coverage_of(exchanges)
    s3 = next(service for service in report.services if service.service == "s3")
    assert len(s3.exercised) >= MINIMUMS["s3.py"]["s3"]
    assert report.unidentified == 0
    presigned = [e for e in exchanges if e.auth.scheme in ("sigv2-query", "sigv4-query")]
    assert {e.auth.scheme for e in presigned} == {"sigv2-query", "sigv4-query"}
    assert {(e.service, e.operation) for e in presigned} == {("s3", "GetObject"), ("s3", "PutObject")}
