"""``compat-diff generate``: writes one suite file per service and the runner that sends them.

The suite is deterministic: the same seed and the same botocore models give byte-identical files.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compat_diff.aws.models import service_model
from compat_diff.aws.services import canonical_service, closest_services
from compat_diff.errors import InputError
from compat_diff.generate.plan import plan_service

SUITE_FORMAT = "compat-diff/generated-suite"
SUITE_VERSION = 1
RUNNER_NAME = "run_suite.py"


@dataclass(frozen=True)
class GeneratedService:
    service: str
    path: Path
    operations: int
    cases: int
    calls: int  # setup + cases + teardown: the requests the runner makes


def resolve_services(names: tuple[str, ...]) -> list[str]:
    services: list[str] = []
    for name in names:
        service = canonical_service(name)
        if service is None:
            hint = closest_services(name)
            also = f" (did you mean {', '.join(hint)}?)" if hint else ""
            raise InputError(f"unknown service {name!r}{also}")
        if service not in services:
            services.append(service)
    return services


def suite_document(service: str, seed: int) -> dict[str, Any]:
    model = service_model(service)
    plan = plan_service(model, seed)
    return {
        "format": SUITE_FORMAT,
        "version": SUITE_VERSION,
        "seed": seed,
        "api_version": model.api_version,
        **plan,
    }


def _count(document: dict[str, Any]) -> tuple[int, int]:
    cases = sum(len(op["cases"]) for op in document["operations"])
    calls = sum(len(op["setup"]) + len(op["cases"]) + len(op["teardown"]) for op in document["operations"])
    return cases, calls


def run_generate(names: tuple[str, ...], out: Path, seed: int) -> list[GeneratedService]:
    """Write ``<service>.suite.json`` for every named service and ``run_suite.py`` into ``out``."""
    services = resolve_services(names)
    if not services:
        raise InputError("name at least one service to generate a suite for (e.g. s3 sqs)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot create the output folder {out}: {error.strerror}") from error
    written = []
    for service in services:
        document = suite_document(service, seed)
        path = out / f"{service}.suite.json"
        # One operation per line: stable, diffable, and small enough to commit.
        lines = [json.dumps({k: v for k, v in document.items() if k != "operations"}, sort_keys=True)]
        lines += [json.dumps(op, sort_keys=True, ensure_ascii=False) for op in document["operations"]]
        text = '{"header": ' + lines[0] + ',\n"operations": [\n' + ",\n".join(lines[1:]) + "\n]}\n"
        path.write_text(text, encoding="utf-8")
        cases, calls = _count(document)
        written.append(GeneratedService(service, path, len(document["operations"]), cases, calls))
    shutil.copyfile(Path(__file__).with_name("runner.py"), out / RUNNER_NAME)
    return written


def read_suite(path: Path) -> dict[str, Any]:
    """A suite file as one document (header fields and operations side by side)."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {**raw["header"], "operations": raw["operations"]}


def suite_digest(folder: Path) -> str:
    """The sha256 of a generated suite's files (the suite files and the runner), by name.

    A recording of the suite carries it, so it can be told whether the generator would still
    plan exactly the calls that were recorded.
    """
    digest = hashlib.sha256()
    for path in sorted([*folder.glob("*.suite.json"), folder / RUNNER_NAME]):
        digest.update(f"{path.name}\n".encode())
        digest.update(hashlib.sha256(path.read_bytes()).hexdigest().encode() + b"\n")
    return "sha256:" + digest.hexdigest()
