"""Suites (manifest, digest, capability states, immutability), schedules, and attestations
(signing, key rotation, the chain, tampering)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from compat_diff.errors import InputError
from compat_diff.service.attest import (
    SigningKey,
    VerificationFailed,
    envelope_digest,
    load_public_keys,
    make_statement,
    sign_statement,
    verify_envelope,
)
from compat_diff.service.cron import next_time
from compat_diff.service.keys import current_key, public_keys, rotate_key
from compat_diff.service.store import Service
from compat_diff.service.suites import build_suite, install_suite, read_manifest
from compat_diff.testing import run_cli

from .conftest import RECORDINGS, make_suite


def test_suite_build_writes_provenance_digests_and_capability_states(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    shutil.copy2(RECORDINGS / "sqs.jsonl", folder)
    (folder / "capabilities.json").write_text(json.dumps({"sqs.ListQueues": "advisory"}))
    result = run_cli("suite", "build", str(folder), "--name", "queues", "--version", "2")
    assert result.returncode == 0, result.stderr
    assert "queues@2" in result.stdout and "sha256:" in result.stdout
    manifest = read_manifest(folder)
    assert manifest["provenance"]["reference"] == ["moto 5.2.5 server (stand-in for AWS)"]
    assert manifest["recordings"][0]["sessions"] == {"sqs": 34}
    assert manifest["capabilities"]["sqs"]["ListQueues"] == "advisory"
    assert manifest["capabilities"]["sqs"]["CreateQueue"] == "required"
    # A changed recording no longer matches the manifest.
    with (folder / "sqs.jsonl").open("a") as out:
        out.write("\n")
    with pytest.raises(InputError, match="changed since"):
        read_manifest(folder)


def test_suite_build_refuses_an_empty_folder_and_unknown_capabilities(tmp_path: Path) -> None:
    result = run_cli("suite", "build", str(tmp_path))
    assert result.returncode == 2 and "holds no recordings" in result.stderr
    shutil.copy2(RECORDINGS / "sts.jsonl", tmp_path)
    (tmp_path / "capabilities.json").write_text(json.dumps({"s3.GetObject": "advisory"}))
    result = run_cli("suite", "build", str(tmp_path))
    assert result.returncode == 2 and "no recording exercises" in result.stderr


def test_a_suite_version_is_immutable(tmp_path: Path) -> None:
    store = tmp_path / "store"
    first = make_suite(tmp_path / "a", ("sts.jsonl",), "same")
    install_suite(first, store)
    second = make_suite(tmp_path / "b", ("sqs.jsonl",), "same")
    with pytest.raises(InputError, match="immutable"):
        install_suite(second, store)
    build_suite(second, name="same", version="2")
    manifest, _ = install_suite(second, store)
    assert manifest["suite_version"] == "2"


def test_capability_states_change_the_verdict_without_rerunning(service: Service) -> None:
    from compat_diff.report.result import OperationResult
    from compat_diff.service.finalize import summarize

    failing = OperationResult(service="sqs", operation="ListQueues", verdicts={"diverges": 1})
    suite = service.suite_row("mini")
    assert summarize([failing], service.capability_states(suite.id), [])["verdict"] == "fail"
    service.set_capability("mini", "sqs", "ListQueues", "advisory")
    summary = summarize([failing], service.capability_states(suite.id), [])
    assert summary["advisory_failing"] == ["sqs.ListQueues"] and summary["required_failing"] == []


def test_schedules_are_cron_like() -> None:
    start = datetime(2026, 3, 2, 10, 7, tzinfo=UTC)  # a Monday
    assert next_time("*/15 * * * *", start) == start.replace(minute=15)
    assert next_time("0 3 * * *", start) == datetime(2026, 3, 3, 3, 0, tzinfo=UTC)
    assert next_time("30 6 * * 0", start) == datetime(2026, 3, 8, 6, 30, tzinfo=UTC)
    with pytest.raises(InputError, match="five fields"):
        next_time("hourly", start)
    with pytest.raises(InputError, match="out of range"):
        next_time("61 * * * *", start)


def _signed(key: SigningKey, previous: dict[str, object] | None = None, days: int = 30) -> tuple[dict, bytes]:  # type: ignore[type-arg]
    bundle = b'{"operations":[]}'
    statement = make_statement(
        bundle=bundle,
        endpoint_description={"provider": "acme", "name": "main"},
        predicate={
            "run": {"id": 1},
            "validUntil": (datetime.now(UTC) + timedelta(days=days)).isoformat(),
            "previous": envelope_digest(previous) if previous else None,
        },
    )
    return sign_statement(statement, key), bundle


def test_rotated_keys_still_verify_old_attestations(service: Service) -> None:
    old = current_key(service)
    old_envelope, bundle = _signed(old)
    new = rotate_key(service)
    assert new.keyid != old.keyid and current_key(service).keyid == new.keyid
    document = public_keys(service)
    assert [k["retired"] is not None for k in document["keys"]] == [True, False]
    keys = load_public_keys(document)
    verify_envelope(old_envelope, keys, bundle=bundle)
    chained, _ = _signed(new, previous=old_envelope)
    verify_envelope(chained, keys, previous=old_envelope)
    with pytest.raises(VerificationFailed, match="chain is broken"):
        verify_envelope(chained, keys, previous=chained)


def test_expired_and_unknown_key_attestations_fail() -> None:
    key = SigningKey.generate()
    keys = {key.keyid: key.private.public_key()}
    expired, _ = _signed(key, days=-1)
    with pytest.raises(VerificationFailed, match="expired"):
        verify_envelope(expired, keys)
    with pytest.raises(VerificationFailed, match="no signature is by a known key"):
        verify_envelope(expired, {})


def test_every_single_byte_change_of_the_payload_fails(tmp_path: Path) -> None:
    import base64

    key = SigningKey.generate()
    envelope, bundle = _signed(key)
    keys = {key.keyid: key.private.public_key()}
    payload = base64.b64decode(envelope["payload"])
    for position in range(0, len(payload), 7):
        changed = bytearray(payload)
        changed[position] ^= 0x01
        tampered = dict(envelope, payload=base64.b64encode(bytes(changed)).decode())
        with pytest.raises(VerificationFailed):
            verify_envelope(tampered, keys, bundle=bundle)


def test_verify_explains_bad_input_in_one_sentence(tmp_path: Path) -> None:
    envelope, bundle = _signed(SigningKey.generate())
    (tmp_path / "a.json").write_text(json.dumps(envelope))
    neither = run_cli("verify", str(tmp_path / "a.json"))
    assert neither.returncode == 2 and "exactly one of --key FILE or --service URL" in neither.stderr
    (tmp_path / "keys.json").write_text("not json")
    bad_keys = run_cli("verify", str(tmp_path / "a.json"), "--key", str(tmp_path / "keys.json"))
    assert bad_keys.returncode == 2 and "Traceback" not in bad_keys.stderr
    missing = run_cli("verify", str(tmp_path / "none.json"), "--key", str(tmp_path / "keys.json"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    # Signed by a key the given document does not hold: invalid (exit 1), one sentence.
    other = SigningKey.generate()
    (tmp_path / "keys.json").write_text(
        json.dumps({"keys": [{"keyid": other.keyid, "public": other.public_b64()}]})
    )
    unknown = run_cli("verify", str(tmp_path / "a.json"), "--key", str(tmp_path / "keys.json"))
    assert unknown.returncode == 1 and unknown.stdout.startswith("invalid: no signature is by a known key")
    assert bundle


def test_service_commands_teach_in_their_help() -> None:
    for command in (["serve"], ["worker"], ["verify"], ["suite", "build"]):
        shown = run_cli(*command, "--help")
        assert shown.returncode == 0 and "Usage:" in shown.stdout
    assert "COMPAT_DIFF_ADMIN_TOKEN" in run_cli("serve", "--help").stdout
