"""The service's commands: ``serve``, ``worker``, ``verify`` and ``suite build``, each one
``run_*`` function the command line calls."""

from __future__ import annotations

import json
import logging
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

import compat_diff
from compat_diff.errors import InputError
from compat_diff.model import ExitStatus
from compat_diff.service.attest import KEYS_PATH, VerificationFailed, load_public_keys, verify_envelope
from compat_diff.service.config import ServiceConfig, load_config
from compat_diff.service.suites import build_suite

BUNDLED_RECORDINGS = Path(compat_diff.__file__).resolve().parent.parent / "recordings"
BUNDLED_GENERATED = BUNDLED_RECORDINGS.parent / "suites" / "generated" / "generated.jsonl.gz"


def _logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("compat_diff")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def open_service(config: ServiceConfig) -> Any:
    from compat_diff.service.store import Service

    service = Service(config)
    service.register_bundled_suite(BUNDLED_RECORDINGS)
    if config.generated_suite:
        service.register_generated_suite(BUNDLED_GENERATED)
    for folder in config.suites:
        service.register_suite(folder)
    return service


def run_serve(
    config_file: Path | None, data: Path | None, listen: str | None, workers: int | None, console: Console
) -> int:
    import uvicorn

    from compat_diff.service.api import create_app
    from compat_diff.service.worker import make_executor

    config = load_config(config_file, data=data, listen=listen, workers=workers)
    host, port = config.host_port
    _logging()
    service = open_service(config)
    if not config.admin_token:
        console.print(
            "warning: no admin token (COMPAT_DIFF_ADMIN_TOKEN): providers cannot be registered", markup=False
        )
    executor = make_executor(service, config.workers) if config.workers else None
    if executor is not None:
        executor.start()
    console.print(
        f"compat-diff service on http://{host}:{port} ({config.workers} worker(s), database "
        f"{'SQLite' if config.database.startswith('sqlite') else 'PostgreSQL'})",
        markup=False,
    )
    try:
        uvicorn.run(create_app(service), host=host, port=port, log_level="warning", access_log=False)
    finally:
        if executor is not None:
            executor.stop()
    return int(ExitStatus.OK)


def run_worker(config_file: Path | None, data: Path | None, workers: int | None, console: Console) -> int:
    import signal

    from compat_diff.service.worker import make_executor

    config = load_config(config_file, data=data, workers=workers)
    _logging()
    service = open_service(config)
    threads = max(config.workers, 1)
    executor = make_executor(service, threads)
    signal.signal(signal.SIGTERM, lambda *_: executor.stop())
    executor.start()
    console.print(f"compat-diff worker: {threads} thread(s) ({config.engine} engine)", markup=False)
    try:
        executor.wait()
    finally:
        executor.stop()
    return int(ExitStatus.OK)


def run_suite_build(folder: Path, name: str | None, version: str | None, console: Console) -> int:
    manifest = build_suite(folder, name=name, version=version)
    exchanges = sum(r["exchanges"] for r in manifest["recordings"])
    states: dict[str, int] = {}
    for operations in manifest["capabilities"].values():
        for state in operations.values():
            states[state] = states.get(state, 0) + 1
    console.print(
        f"suite {manifest['name']}@{manifest['suite_version']}: {len(manifest['recordings'])} recording(s), "
        f"{exchanges} exchanges, {sum(states.values())} operations "
        f"({', '.join(f'{n} {s}' for s, n in sorted(states.items()))}); digest {manifest['digest']}; "
        f"manifest {Path(folder) / 'suite.json'}",
        markup=False,
    )
    return int(ExitStatus.OK)


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"the {what} {path} does not exist.") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InputError(f"the {what} {path} is not JSON.") from None


def _fetch(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return bytes(answer.read())
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise InputError(f"{url} answered {error.code}.") from None
    except (urllib.error.URLError, OSError) as error:
        raise InputError(f"cannot reach {url}: {getattr(error, 'reason', error)}.") from None


def _key_document(key: Path) -> dict[str, Any]:
    """A keys document, from the well-known JSON or from one PEM public key."""
    raw = Path(key).read_bytes() if Path(key).exists() else None
    if raw is None:
        raise InputError(f"the key file {key} does not exist.")
    if raw.lstrip().startswith(b"{"):
        return dict(_read_json(key, "key file"))
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from compat_diff.service.attest import b64, keyid_of, public_raw

    try:
        public = serialization.load_pem_public_key(raw)
    except ValueError:
        raise InputError(
            f"the key file {key} is neither a keys document (JSON) nor a PEM public key."
        ) from None
    if not isinstance(public, Ed25519PublicKey):
        raise InputError(f"the key in {key} is not an Ed25519 key.")
    return {"keys": [{"keyid": keyid_of(public), "public": b64(public_raw(public))}]}


def run_verify(
    attestation: Path,
    key: Path | None,
    service_url: str | None,
    bundle: Path | None,
    previous: Path | None,
    console: Console,
    now: datetime | None = None,
) -> int:
    if (key is None) == (service_url is None):
        raise InputError("give the public keys with exactly one of --key FILE or --service URL.")
    envelope = _read_json(attestation, "attestation")
    if not isinstance(envelope, dict):
        raise InputError(f"the attestation {attestation} is not a DSSE envelope.")
    base = service_url.rstrip("/") if service_url else None
    if key is not None:
        document = _key_document(key)
    else:
        fetched = _fetch(f"{base}{KEYS_PATH}")
        if fetched is None:
            raise InputError(f"{base} publishes no keys at {KEYS_PATH}.")
        document = json.loads(fetched)
    bundle_bytes = Path(bundle).read_bytes() if bundle is not None else None
    previous_envelope = _read_json(previous, "previous attestation") if previous is not None else None
    try:
        keys = load_public_keys(document)
        statement = verify_envelope(envelope, keys, now=now)
        predicate = statement["predicate"]
        run_id = predicate["run"]["id"]
        if base is not None:
            bundle_bytes = (
                bundle_bytes
                if bundle_bytes is not None
                else _fetch(f"{base}/api/v1/runs/{run_id}/results-bundle")
            )
            if previous_envelope is None and predicate.get("previous"):
                fetched_previous = _fetch(f"{base}/api/v1/runs/{run_id}/previous-attestation")
                previous_envelope = json.loads(fetched_previous) if fetched_previous else None
        if bundle_bytes is None:
            sibling = Path(attestation).with_name("results-bundle.json")
            bundle_bytes = sibling.read_bytes() if sibling.exists() else None
        statement = verify_envelope(envelope, keys, bundle=bundle_bytes, previous=previous_envelope, now=now)
    except VerificationFailed as failure:
        console.print(f"invalid: {failure}.", markup=False)
        return int(ExitStatus.DIVERGED)
    predicate = statement["predicate"]
    result = predicate["result"]
    target = predicate["target"]
    score = result.get("score")
    checks = ["signature", "expiry"]
    checks.append(
        "results bundle" if bundle_bytes is not None else "results bundle NOT checked (give --bundle)"
    )
    if predicate.get("previous"):
        checks.append(
            "chain link" if previous_envelope is not None else "chain link NOT checked (give --previous)"
        )
    else:
        checks.append("first of its chain")
    signer = envelope["signatures"][0]["keyid"]
    console.print(
        f"valid: run {predicate['run']['id']} of {target['provider']}/{target['endpoint']}, suite "
        f"{predicate['suite']['name']}@{predicate['suite']['version']}, score "
        f"{'n/a' if score is None else f'{score:.1%}'}, verdict {result['verdict']}; signed by {signer}, "
        f"valid until {predicate['validUntil']}; checked: {', '.join(checks)}",
        markup=False,
    )
    return int(ExitStatus.OK)


def utc_now() -> datetime:
    return datetime.now(UTC)
