"""Suites: versioned, immutable bundles of recordings with provenance, a manifest digest and
per-operation capability states (required, advisory, deprecated), kept as data.

``compat-diff suite build DIR`` writes ``DIR/suite.json``; the service copies a suite folder into
its data folder when it registers it, and refuses a second suite of the same name and version
whose digest differs, so a suite version never changes under the runs that used it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compat_diff import __version__
from compat_diff.errors import InputError
from compat_diff.recording import blob_dir_for, now_iso, open_recording
from compat_diff.report.files import write_file

MANIFEST = "suite.json"
FORMAT = "compat-diff/suite"
STATES = ("required", "advisory", "deprecated")
CAPABILITIES_FILE = "capabilities.json"


def canonical(value: Any) -> bytes:
    """The one byte form digests are taken over: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_digest(manifest: dict[str, Any]) -> str:
    body = {key: value for key, value in manifest.items() if key != "digest"}
    return "sha256:" + hashlib.sha256(canonical(body)).hexdigest()


@dataclass(frozen=True)
class Shard:
    """The unit of work: one session of one recording, so dependent calls stay together."""

    recording: str
    session: str
    exchanges: int

    @property
    def key(self) -> str:
        return f"{self.recording}#{self.session}"


def build_suite(
    folder: Path, name: str | None = None, version: str | None = None, created: str | None = None
) -> dict[str, Any]:
    """Describe the recordings in ``folder`` and write ``folder/suite.json``; returns the manifest.

    ``created`` (default: now) is the manifest's creation time; given, the same recordings build
    the same manifest, with the same digest, wherever and whenever they are built."""
    folder = Path(folder)
    files = sorted(folder.glob("*.jsonl"))
    if not folder.is_dir() or not files:
        raise InputError(f"{folder} holds no recordings (*.jsonl) to build a suite from.")
    declared = _read_capabilities(folder / CAPABILITIES_FILE)
    recordings: list[dict[str, Any]] = []
    references: set[str] = set()
    clients: set[str] = set()
    regions: set[str] = set()
    dates: list[str] = []
    operations: dict[str, set[str]] = {}
    for path in files:
        opened = open_recording(path)
        sessions: Counter[str] = Counter()
        services: set[str] = set()
        for exchange in opened:
            sessions[exchange.session] += 1
            if exchange.region:
                regions.add(exchange.region)
            if exchange.service and exchange.operation:
                services.add(exchange.service)
                operations.setdefault(exchange.service, set()).add(exchange.operation)
        if opened.problems:
            first = opened.problems[0]
            raise InputError(
                f"{path} is damaged at line {first.line} ({first.reason}); fix it before building."
            )
        header = opened.header
        for key, into in (("reference", references), ("client", clients)):
            if header.get(key):
                into.add(str(header[key]))
        if header.get("created"):
            dates.append(str(header["created"]))
        blobs = blob_dir_for(path)
        recordings.append(
            {
                "path": path.name,
                "sha256": sha256_file(path),
                "exchanges": sum(sessions.values()),
                "sessions": dict(sorted(sessions.items())),
                "services": sorted(services),
                "blobs": sorted(p.name for p in blobs.iterdir()) if blobs.is_dir() else [],
            }
        )
    unknown = [
        key for key in declared if key.partition(".")[2] not in operations.get(key.partition(".")[0], ())
    ]
    if unknown:
        raise InputError(
            f"{CAPABILITIES_FILE} names operations no recording exercises: {', '.join(unknown[:5])}."
        )
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "version": 1,
        "name": name or folder.resolve().name,
        "suite_version": version or "1",
        "created": created or now_iso(),
        "provenance": {
            "reference": sorted(references),
            "client": sorted(clients),
            "recorded": [min(dates), max(dates)] if dates else [],
            "regions": sorted(regions),
            "compat_diff": __version__,
        },
        "recordings": recordings,
        "capabilities": {
            service: {op: declared.get(f"{service}.{op}", "required") for op in sorted(ops)}
            for service, ops in sorted(operations.items())
        },
    }
    manifest["digest"] = manifest_digest(manifest)
    # Written whole or not at all: another process may be reading the folder's manifest.
    write_file(folder / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def _read_capabilities(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    try:
        declared = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise InputError(f"{path} is not valid JSON: {error}.") from None
    if not isinstance(declared, dict):
        raise InputError(f"{path} must map 'service.Operation' to a state ({', '.join(STATES)}).")
    for key, state in declared.items():
        if state not in STATES or "." not in key:
            raise InputError(
                f"{path}: {key!r} must be 'service.Operation' mapped to one of {', '.join(STATES)}."
            )
    return {str(k): str(v) for k, v in declared.items()}


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a built suite, checked: its digest and every recording's digest."""
    path = Path(folder) / MANIFEST
    if not path.exists():
        raise InputError(
            f"{folder} is not a built suite (no {MANIFEST}); run: compat-diff suite build {folder}"
        )
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT or manifest_digest(manifest) != manifest.get("digest"):
        raise InputError(f"{path} does not match its digest; rebuild the suite.")
    for recording in manifest["recordings"]:
        if sha256_file(Path(folder) / recording["path"]) != recording["sha256"]:
            raise InputError(f"{recording['path']} in {folder} changed since the suite was built.")
    return dict(manifest)


def shards_of(manifest: dict[str, Any]) -> list[Shard]:
    return [
        Shard(recording=recording["path"], session=session, exchanges=count)
        for recording in manifest["recordings"]
        for session, count in recording["sessions"].items()
    ]


def install_suite(folder: Path, store: Path) -> tuple[dict[str, Any], Path]:
    """Copy a built suite into the service's store (``store/NAME/VERSION``), once.

    Processes sharing the store may install the same suite at the same moment: each copies into
    a staging folder of its own and renames it into place; the one that finds the place taken
    keeps the installed copy (when its digest is the same)."""
    manifest = read_manifest(folder)
    target = store / manifest["name"] / manifest["suite_version"]
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
        try:
            shutil.copytree(folder, staging, dirs_exist_ok=True)
            staging.rename(target)
        except OSError:
            if not target.exists():
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    installed = read_manifest(target)
    if installed["digest"] != manifest["digest"]:
        raise InputError(
            f"suite {manifest['name']}@{manifest['suite_version']} is already installed with another "
            "digest; suites are immutable, give the new one another version."
        )
    return installed, target


def session_recording(source: Path, session: str, out: Path) -> Path:
    """A recording holding only ``session``'s exchanges of ``source`` (its blobs linked beside it)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with source.open("rb") as reader, out.open("wb") as writer:
        writer.write(reader.readline())
        for line in reader:
            if not line.strip():
                continue
            if json.loads(line).get("session", "default") == session:
                writer.write(line)
    blobs = blob_dir_for(source)
    if blobs.is_dir():
        # A real folder of hard links (copies across file systems): the replay refuses blobs that
        # are links out of the recording's own blob folder.
        linked = blob_dir_for(out)
        linked.mkdir(exist_ok=True)
        for blob in blobs.iterdir():
            target = linked / blob.name
            if blob.is_file() and not target.exists():
                try:
                    os.link(blob, target)
                except OSError:
                    shutil.copy2(blob, target)
    return out


GENERATED_PREFIX = "generated/"


def unpack_generated(archive: Path, folder: Path) -> list[Path]:
    """The gzip-compressed recording of the generated suite as one recording per service.

    Its sessions are named ``generated/SERVICE/Operation`` and every call of a session goes to
    that service, so splitting by the name keeps sessions whole; a run then replays only the
    services an endpoint serves. Lines are copied as they are (each file starts with the header).
    """
    folder.mkdir(parents=True, exist_ok=True)
    outputs: dict[str, Any] = {}
    try:
        with gzip.open(archive, "rb") as source:
            header = source.readline()
            if not header.strip():
                raise InputError(f"{archive} holds no recording.")
            for line in source:
                if not line.strip():
                    continue
                session = str(json.loads(line).get("session", ""))
                service = session[len(GENERATED_PREFIX) :].partition("/")[0]
                if not session.startswith(GENERATED_PREFIX) or not service.isidentifier():
                    raise InputError(f"{archive} holds a session {session[:80]!r} not of a generated suite.")
                if service not in outputs:
                    outputs[service] = (folder / f"generated-{service}.jsonl").open("wb")
                    outputs[service].write(header)
                outputs[service].write(line)
    except (OSError, EOFError, ValueError) as error:  # a damaged archive: gzip, JSON
        raise InputError(f"cannot unpack {archive}: {error}.") from None
    finally:
        for output in outputs.values():
            output.close()
    return [folder / f"generated-{service}.jsonl" for service in sorted(outputs)]
