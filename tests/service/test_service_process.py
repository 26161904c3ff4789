"""The service as a user runs it: ``compat-diff serve`` as a process, a moto server as the
candidate, runs watched to the end, history, attestations verified and tampered with."""

from __future__ import annotations

import base64
import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from compat_diff.testing import MotoServer, run_cli, stop_process

from .conftest import ADMIN, SECRET, make_suite, start_service, start_worker

SUITE_TOML = """
[service]
lease_seconds = 3
poll_seconds = 0.2
endpoint_concurrency = 1
suites = [{suite!r}]
"""


def _register(server, moto_url: str, provider: str = "acme") -> str:  # type: ignore[no-untyped-def]
    status, created = server.call("POST", "/api/v1/providers", {"name": provider}, ADMIN)
    assert status == 201, created
    token = created["token"]
    assert token.startswith("cdp_")
    status, answer = server.call(
        "POST",
        f"/api/v1/providers/{provider}/endpoints",
        {
            "name": "moto",
            "endpoint": moto_url,
            "access_key": "AKIAPROVIDER",
            "secret_key": SECRET,
            "services": ["sqs", "sts", "iam", "s3"],
        },
        token,
    )
    assert status == 201, answer
    return str(token)


def test_a_run_end_to_end_with_history_and_a_verified_attestation(tmp_path: Path, moto: MotoServer) -> None:
    suite = make_suite(tmp_path / "suite")
    config = tmp_path / "service.toml"
    config.write_text(SUITE_TOML.format(suite=str(suite)))
    server = start_service(tmp_path / "data", config, workers=2)
    try:
        token = _register(server, moto.url)
        status, suites = server.call("GET", "/api/v1/suites")
        assert {s["name"] for s in suites} >= {"bundled", "mini"}
        runs = []
        for _ in range(2):
            status, started = server.call(
                "POST", "/api/v1/runs", {"provider": "acme", "endpoint": "moto", "suite": "mini"}, token
            )
            assert status == 201 and started["state"] == "queued"
            runs.append(server.wait_run(started["id"]))
        for run in runs:
            assert run["state"] == "finished", run
            assert run["counts"]["exchanges"] == 44
            assert run["score"] is not None and run["score"] > 0.9
            assert set(run["services"]) == {"iam", "sqs", "sts"}
        status, diff = server.call("GET", f"/api/v1/runs/{runs[1]['id']}/diff")
        assert status == 200 and diff["against"] == runs[0]["id"]
        assert set(diff) >= {"new", "fixed", "still_failing"}
        status, timeline = server.call("GET", "/api/v1/providers/acme/timeline")
        assert [entry["run"] for entry in timeline] == [runs[0]["id"], runs[1]["id"]]
        status, page = server.call("GET", f"/runs/{runs[1]['id']}")
        assert status == 200 and b"full report" in page and b"sqs.CreateQueue" in page
        status, report = server.call("GET", f"/api/v1/runs/{runs[1]['id']}/report/report.json")
        assert status == 200 and report["targets"][0]["exchanges"] == 44

        # The attestation, verified against the service and offline, then tampered with.
        _, envelope = server.call("GET", f"/api/v1/runs/{runs[1]['id']}/attestation")
        attestation = tmp_path / "attestation.json"
        attestation.write_text(json.dumps(envelope))
        checked = run_cli("verify", str(attestation), "--service", server.url)
        assert checked.returncode == 0, checked.stderr + checked.stdout
        assert "chain link" in checked.stdout and "results bundle" in checked.stdout
        _, keys = server.call("GET", "/.well-known/compat-diff/keys.json")
        (tmp_path / "keys.json").write_text(json.dumps(keys))
        _, bundle = server.call("GET", f"/api/v1/runs/{runs[1]['id']}/results-bundle")
        (tmp_path / "bundle.json").write_text(json.dumps(bundle, separators=(",", ":"), sort_keys=True))
        offline = run_cli(
            "verify",
            str(attestation),
            "--key",
            str(tmp_path / "keys.json"),
            "--bundle",
            str(tmp_path / "bundle.json"),
        )
        assert offline.returncode == 0, offline.stdout + offline.stderr

        payload = bytearray(base64.b64decode(envelope["payload"]))
        position = payload.index(b'"score":') + len(b'"score":')
        payload[position] = ord("0") if payload[position] != ord("0") else ord("1")
        tampered = dict(envelope, payload=base64.b64encode(bytes(payload)).decode())
        (tmp_path / "tampered.json").write_text(json.dumps(tampered))
        refused = run_cli("verify", str(tmp_path / "tampered.json"), "--service", server.url)
        assert refused.returncode == 1
        assert refused.stdout.startswith("invalid: ") and refused.stdout.count("\n") == 1
        assert "Traceback" not in refused.stdout + refused.stderr
    finally:
        server.stop()
    # No secret ever reaches the service's log: not the endpoint's, not the provider's token.
    log = server.log.read_text()
    assert SECRET not in log and token not in log and ADMIN not in log


@pytest.mark.parametrize("engine", ["table", "dbos"])
def test_a_worker_killed_mid_run_loses_nothing_and_counts_nothing_twice(
    tmp_path: Path, moto: MotoServer, engine: str
) -> None:
    suite = make_suite(
        tmp_path / "suite", ("s3.jsonl", "iam.jsonl", "sqs.jsonl", "sts.jsonl", "s3_minimal.jsonl"), "five"
    )
    config = tmp_path / "service.toml"
    config.write_text(SUITE_TOML.format(suite=str(suite)) + f"engine = {engine!r}\n")
    data = tmp_path / "data"
    # The API alone (no workers in it); one worker process does all the work until it is killed.
    server = start_service(data, config, workers=0)
    worker = start_worker(data, config)
    try:
        token = _register(server, moto.url)
        _, started = server.call(
            "POST", "/api/v1/runs", {"provider": "acme", "endpoint": "moto", "suite": "five"}, token
        )
        run_id = started["id"]
        deadline = time.monotonic() + 120
        while True:
            _, run = server.call("GET", f"/api/v1/runs/{run_id}")
            shards = run["progress"]["shards"]
            if shards.get("running") and shards.get("done"):
                break
            assert run["state"] in ("queued", "running") and time.monotonic() < deadline, run
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        # A fresh worker takes over once the dead one's lease has run out.
        replacement = start_worker(data, config)
        try:
            run = server.wait_run(run_id)
        finally:
            stop_process(replacement)
        assert run["state"] == "finished", run
        assert run["progress"]["max_attempt"] >= 2
        total = sum(r["exchanges"] for r in json.loads((suite / "suite.json").read_text())["recordings"])
        assert run["counts"]["exchanges"] == total
        assert run["progress"]["exchanges_done"] == total

        # The same suite undisturbed gives the same per-operation results.
        calm = start_worker(data, config)
        try:
            _, again = server.call(
                "POST", "/api/v1/runs", {"provider": "acme", "endpoint": "moto", "suite": "five"}, token
            )
            undisturbed = server.wait_run(again["id"])
        finally:
            stop_process(calm)
        _, killed_ops = server.call("GET", f"/api/v1/runs/{run_id}/operations")
        _, calm_ops = server.call("GET", f"/api/v1/runs/{again['id']}/operations")
        assert {k: v["exchanges"] for k, v in killed_ops.items()} == {
            k: v["exchanges"] for k, v in calm_ops.items()
        }
        assert undisturbed["counts"] == run["counts"]
    finally:
        stop_process(worker)
        server.stop()
    if engine == "dbos":
        # Each process had its own DBOS queue; the ones of processes gone were deleted when the
        # next one started (the killed worker's among them), the last one's stays.
        with sqlite3.connect(data / "dbos.sqlite") as conn:
            queues = [name for (name,) in conn.execute("SELECT name FROM queues")]
        assert len(queues) == 1, queues
        assert f":{calm.pid}:" in queues[0] and f":{worker.pid}:" not in queues[0]
    # Neither the service's nor any worker's log holds a secret, a token or the admin token.
    for log in tmp_path.glob("*.log"):
        text = log.read_text()
        assert SECRET not in text and token not in text and ADMIN not in text, log


def test_a_restarted_service_resumes_an_unfinished_run(tmp_path: Path, moto: MotoServer) -> None:
    suite = make_suite(tmp_path / "suite", ("s3.jsonl", "iam.jsonl", "sqs.jsonl"), "three")
    config = tmp_path / "service.toml"
    config.write_text(SUITE_TOML.format(suite=str(suite)))
    data = tmp_path / "data"
    server = start_service(data, config, workers=1)
    token = _register(server, moto.url)
    _, started = server.call(
        "POST", "/api/v1/runs", {"provider": "acme", "endpoint": "moto", "suite": "three"}, token
    )
    deadline = time.monotonic() + 120
    while True:
        _, run = server.call("GET", f"/api/v1/runs/{started['id']}")
        if run["progress"]["shards"].get("running"):
            break
        assert time.monotonic() < deadline, run
        time.sleep(0.05)
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    restarted = start_service(data, config, workers=1)
    try:
        run = restarted.wait_run(started["id"])
        assert run["state"] == "finished", run
        assert run["counts"]["exchanges"] == 105 + 59 + 34
    finally:
        restarted.stop()


def test_serve_refuses_a_bad_configuration_in_one_sentence(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[service]\nworkers = 'many'\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "compat_diff",
            "serve",
            "--config",
            str(config),
            "--data",
            str(tmp_path / "d"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "workers must be a int" in result.stderr


def test_the_dbos_engine_runs_a_suite_to_the_end_two_units_at_once(tmp_path: Path, moto: MotoServer) -> None:
    suite = make_suite(tmp_path / "suite", ("s3.jsonl", "iam.jsonl", "sqs.jsonl", "sts.jsonl"), "four")
    config = tmp_path / "service.toml"
    # Two worker threads in one process, and an endpoint that may take two shards at once.
    settings = SUITE_TOML.format(suite=str(suite)).replace(
        "endpoint_concurrency = 1", "endpoint_concurrency = 2"
    )
    config.write_text(settings + 'engine = "dbos"\n')
    data = tmp_path / "data"
    server = start_service(data, config, workers=2)
    try:
        token = _register(server, moto.url)
        _, started = server.call(
            "POST", "/api/v1/runs", {"provider": "acme", "endpoint": "moto", "suite": "four"}, token
        )
        most_at_once = 0
        deadline = time.monotonic() + 240
        while True:
            _, run = server.call("GET", f"/api/v1/runs/{started['id']}")
            most_at_once = max(most_at_once, run["progress"]["shards"].get("running", 0))
            if run["state"] not in ("queued", "running"):
                break
            assert time.monotonic() < deadline and server.process.poll() is None, run
            time.sleep(0.05)
        assert run["state"] == "finished", run
        assert run["counts"]["exchanges"] == 105 + 59 + 34 + 10
        assert run["progress"]["max_attempt"] == 1
        # Both of the process's units worked at the same time: the engine does not fall back to one.
        assert most_at_once == 2
        # The next run in the same process finishes too (no slot is left taken by the first).
        _, again = server.call(
            "POST", "/api/v1/runs", {"provider": "acme", "endpoint": "moto", "suite": "four"}, token
        )
        assert server.wait_run(again["id"])["counts"] == run["counts"]
    finally:
        server.stop()
    # DBOS's records of the finished units are kept (dbos_keep_hours, 24 by default).
    assert _finished_units(data) > 0


def _finished_units(data: Path) -> int:
    with sqlite3.connect(data / "dbos.sqlite") as conn:
        rows = conn.execute("SELECT count(*) FROM workflow_status WHERE status = 'SUCCESS'")
        return int(rows.fetchone()[0])


def test_the_dbos_engine_deletes_the_records_of_old_units(tmp_path: Path, moto: MotoServer) -> None:
    suite = make_suite(tmp_path / "suite", ("sqs.jsonl", "sts.jsonl"), "two")
    config = tmp_path / "service.toml"
    config.write_text(SUITE_TOML.format(suite=str(suite)) + 'engine = "dbos"\ndbos_keep_hours = 0\n')
    data = tmp_path / "data"
    server = start_service(data, config, workers=1)
    try:
        token = _register(server, moto.url)
        _, started = server.call(
            "POST", "/api/v1/runs", {"provider": "acme", "endpoint": "moto", "suite": "two"}, token
        )
        assert server.wait_run(started["id"])["state"] == "finished"
        # Kept for no time, the finished units' records go at the next look (every poll_seconds).
        deadline = time.monotonic() + 60
        while _finished_units(data):
            assert time.monotonic() < deadline and server.process.poll() is None
            time.sleep(0.2)
        # The run's results are the service's own and stay.
        _, run = server.call("GET", f"/api/v1/runs/{started['id']}")
        assert run["state"] == "finished" and run["counts"]["exchanges"] == 34 + 10
    finally:
        server.stop()
