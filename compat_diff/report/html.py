"""index.html: one self-contained file (inline CSS and JS, no network) that opens from disk.

The page must stay fast with 100k exchanges, so the data is split by when it is needed:
a small summary (targets, services, operations) and a columnar exchange index are embedded as
JSON and parsed at load; the per-exchange details (bodies, normalized trees, divergences) are
embedded as gzip-compressed base64 chunks that the page decompresses only when an exchange is
opened. Every piece of data is escaped so that nothing from an untrusted server (``</script>``
in a body, markup in a header) can leave its script element; the page itself only ever inserts
data with ``textContent``.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from compat_diff.model import SEVERITIES, VERDICTS
from compat_diff.report.document import iter_details
from compat_diff.report.files import write_file
from compat_diff.report.result import RunResult, collapse_path, divergence_to_json
from compat_diff.report.tests import TestsView

# Exchanges per compressed chunk: small enough that opening one exchange decompresses little,
# large enough that gzip finds the repetition between similar exchanges.
CHUNK_SIZE = 200
# Once the compressed details reach this size, further matching exchanges keep their metadata but
# not their bodies, so a huge run still gives a file a browser opens quickly; details.jsonl beside
# the page keeps everything.
MAX_EMBEDDED_DETAIL_BYTES = 96 * 1024 * 1024
# Rows of the per-test section per target, and divergence links per test: tests.json has them all.
MAX_TEST_ROWS = 5000
MAX_TEST_LINKS = 10


def json_for_script(value: Any) -> Markup:
    """JSON that is safe inside a <script> element: ``<``, ``>`` and ``&`` only occur inside JSON
    strings, where their \\u escapes mean the same, so ``</script>`` or ``<!--`` cannot appear."""
    raw = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    raw = raw.replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026")
    return Markup(raw.decode("utf-8"))


@dataclass
class ExchangeIndex:
    """The table of exchanges, columnar so 100k rows parse in a few milliseconds."""

    strings: list[str] = field(default_factory=list)
    _string_ids: dict[str, int] = field(default_factory=dict)
    columns: dict[str, list[int]] = field(
        default_factory=lambda: {
            name: [] for name in ("t", "seq", "svc", "op", "v", "sev", "n", "paths", "auth")
        }
    )

    def string(self, text: str | None) -> int:
        if text is None:
            return -1
        found = self._string_ids.get(text)
        if found is None:
            found = self._string_ids[text] = len(self.strings)
            self.strings.append(text)
        return found

    def add(self, target: int, record: dict[str, Any]) -> None:
        divergences = record.get("divergences") or []
        severity_mask = 0
        for divergence in divergences:
            if divergence.get("severity") in SEVERITIES:
                severity_mask |= 1 << SEVERITIES.index(divergence["severity"])
        paths = list(dict.fromkeys(str(d.get("path")) for d in divergences if d.get("path")))
        verdict = record.get("verdict")
        columns = self.columns
        columns["t"].append(target)
        columns["seq"].append(int(record.get("seq") or 0))
        columns["svc"].append(self.string(record.get("service")))
        columns["op"].append(self.string(record.get("operation")))
        columns["v"].append(VERDICTS.index(verdict) if verdict in VERDICTS else -1)
        columns["sev"].append(severity_mask)
        columns["n"].append(len(divergences))
        columns["paths"].append(self.string(" ".join(paths)) if paths else -1)
        columns["auth"].append(self.string(auth_label(record.get("auth"))))

    def as_json(self) -> dict[str, Any]:
        return {"strings": self.strings, "chunk": CHUNK_SIZE, **self.columns}


def auth_label(auth: Any) -> str | None:
    """How the calls were signed, as the table shows it: ``sigv4``, or ``sigv2 → sigv4`` when the
    replay signed the candidate's call differently from the recorded one."""
    if not isinstance(auth, dict) or not auth.get("reference"):
        return None
    reference, candidate = str(auth["reference"]), auth.get("candidate")
    return reference if not candidate or candidate == reference else f"{reference} → {candidate}"


def build_summary(result: RunResult, has_details: bool) -> dict[str, Any]:
    """What the overview and the operations table need: the result without its divergence lists."""
    targets, operations = [], []
    for position, target in enumerate(result.targets):
        targets.append(
            {
                "name": target.name,
                "endpoint": target.endpoint,
                "score": target.score,
                "exchanges": target.exchanges,
                "compared": target.compared,
                "matching": target.matching,
                "verdicts": target.verdicts,
                "severities": target.severities,
                "services": [
                    {
                        "service": row.service,
                        "score": row.score,
                        "exchanges": row.exchanges,
                        "compared": row.compared,
                        "matching": row.matching,
                    }
                    for row in target.services
                ],
            }
        )
        for op in target.operations:
            operations.append(
                {
                    "t": position,
                    "service": op.service,
                    "operation": op.operation,
                    "exchanges": op.exchanges,
                    "compared": op.compared,
                    "matching": op.matching,
                    "score": op.score,
                    "verdict": op.verdict,
                    "sev": [op.severities.get(s, 0) for s in SEVERITIES],
                    "rules": list(op.rules_fired),
                    "findings": [f.to_json() for f in op.findings[:20]],
                }
            )
    gate = result.gate
    return {
        "generated": result.generated,
        "tool": result.tool,
        "recording": dict(result.recording),
        "rules": dict(result.rules),
        "verdicts": list(VERDICTS),
        "gate": {"passed": gate.passed, "reasons": list(gate.reasons)},
        "baseline": result.baseline.to_json() if result.baseline is not None else None,
        "known": result.known.to_json() if result.known is not None else None,
        "targets": targets,
        "operations": operations,
        "details": has_details,
    }


def _records_from_document(result: RunResult) -> Iterator[dict[str, Any]]:
    """Exchange records when there is no details.jsonl: what the divergence lists tell, no bodies."""
    for target in result.targets:
        by_seq: dict[int, dict[str, Any]] = {}
        for op in target.operations:
            for divergence in op.divergences:
                record = by_seq.setdefault(
                    divergence.seq,
                    {
                        "target": target.name,
                        "seq": divergence.seq,
                        "service": op.service,
                        "operation": op.operation,
                        "verdict": op.verdict,
                        "divergences": [],
                        "rules_fired": list(op.rules_fired),
                    },
                )
                record["divergences"].append(divergence_to_json(divergence))
        yield from by_seq.values()


def accept_id(target: str, operation: str | None, kind: str, path: str) -> str:
    """The id of an "accept this divergence" rule: derived from what it accepts, so the same
    divergence gets the same id in every exchange and two different ones never share one."""

    def slug(text: str) -> str:
        return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "any"

    where = slug(path.removeprefix("$").lstrip("."))[:40].strip("-") or "root"
    tag = hashlib.sha256(f"{target}\0{operation}\0{kind}\0{path}".encode()).hexdigest()[:6]
    return f"accept.{slug(target)}.{slug(operation or 'any')}.{slug(kind)}.{where}.{tag}"


def divergence_groups(record: dict[str, Any]) -> list[dict[str, Any]]:
    """An exchange's divergences as the exchange view lists them: the same divergence over list
    elements once, at its ``[*]`` path with a count, each with its accept-rule id."""
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for position, divergence in enumerate(record.get("divergences") or []):
        kind, severity = str(divergence.get("kind")), str(divergence.get("severity"))
        path = collapse_path(str(divergence.get("path") or "$"))
        group = groups.get((kind, severity, path))
        if group is None:
            groups[(kind, severity, path)] = {
                "first": position,
                "path": divergence.get("path"),
                "count": 1,
                "collapsed": path,
            }
        else:
            group["count"] += 1
            group["path"] = path
    out = []
    for (kind, _, _), group in groups.items():
        path = group.pop("collapsed")
        if group["count"] == 1:
            path = group["path"]
        group["accept_id"] = accept_id(str(record.get("target")), record.get("operation"), kind, path)
        out.append(group)
    return out


def _strip_bodies(record: dict[str, Any]) -> dict[str, Any]:
    slim = dict(record)
    slim["omitted"] = True
    for side in ("reference", "candidate"):
        if isinstance(record.get(side), dict):
            slim[side] = {
                key: value for key, value in record[side].items() if key not in ("request", "response")
            }
    return slim


def build_payload(result: RunResult, details_path: Path | None) -> tuple[dict[str, Any], list[str]]:
    """The exchange index and the compressed detail chunks, rows sorted by target then seq."""
    target_ids = {target.name: position for position, target in enumerate(result.targets)}
    if details_path is not None:
        records: list[tuple[int, int, int]] = []  # (target, seq, line number), to sort before loading
        for number, record in enumerate(iter_details_numbered(details_path)):
            if record is None or record.get("target") not in target_ids:
                continue
            records.append((target_ids[record["target"]], int(record.get("seq") or 0), number))
        records.sort()
        ordered = _read_lines_in_order(details_path, [number for _, _, number in records])
    else:
        synthesized = sorted(
            _records_from_document(result), key=lambda r: (target_ids[r["target"]], r["seq"] or 0)
        )
        ordered = iter(synthesized)
    index = ExchangeIndex()
    chunks: list[str] = []
    pending: list[bytes] = []
    embedded = 0
    for record in ordered:
        index.add(target_ids[record["target"]], record)
        record["groups"] = divergence_groups(record)
        if embedded > MAX_EMBEDDED_DETAIL_BYTES and record.get("verdict") == "match":
            record = _strip_bodies(record)
        pending.append(orjson.dumps(record, option=orjson.OPT_NON_STR_KEYS))
        if len(pending) == CHUNK_SIZE:
            chunks.append(_compress(pending))
            embedded += len(chunks[-1])
            pending = []
    if pending:
        chunks.append(_compress(pending))
    return index.as_json(), chunks


def iter_details_numbered(path: Path) -> Iterator[dict[str, Any] | None]:
    """Each line of details.jsonl in file order; ``None`` for a damaged line keeps numbers aligned."""
    with path.open("rb") as handle:
        for line in handle:
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                yield None
                continue
            yield record if isinstance(record, dict) else None


def _read_lines_in_order(path: Path, numbers: list[int]) -> Iterator[dict[str, Any]]:
    # Seek to each line instead of holding every body in memory: details can be gigabytes.
    offsets = []
    with path.open("rb") as handle:
        position = 0
        for line in handle:
            offsets.append(position)
            position += len(line)
        for number in numbers:
            handle.seek(offsets[number])
            yield orjson.loads(handle.readline())


def _compress(records: list[bytes]) -> str:
    raw = b"[" + b",".join(records) + b"]"
    return base64.b64encode(gzip.compress(raw, compresslevel=6, mtime=0)).decode("ascii")


def build_tests_section(result: RunResult, tests: TestsView | None) -> list[dict[str, Any]]:
    """The per-test section's tables, one per target, from the same view tests.json is written
    from; empty when the recording had no test sessions. Failing tests come first; each lists its
    steps and links to the exchanges (by target position and seq) that did not match."""
    if tests is None or not tests.named:
        return []
    positions = {target.name: position for position, target in enumerate(result.targets)}
    tables = []
    for target in tests.targets:
        position = positions.get(target.name)
        if position is None:
            continue
        ordered = sorted(target.sorted_tests(), key=lambda test: not test.failing)
        rows = []
        for test in ordered[:MAX_TEST_ROWS]:
            data = test.to_json()  # the same record tests.json holds
            rows.append(
                {
                    "test": data["test"] or "(no session)",
                    "verdict": data["verdict"],
                    "exchanges": data["exchanges"],
                    "compared": data["compared"],
                    "matching": data["matching"],
                    "steps": [{**step, "step": step["step"] or "(no step)"} for step in data["steps"]],
                    "links": [
                        {
                            "href": f"#tab=exchanges&target={position}&exchange={position}:{row['seq']}",
                            "seq": row["seq"],
                            "what": " ".join(
                                str(part)
                                for part in (row["operation"], row["step"], row["kind"] or row["verdict"])
                                if part
                            ),
                            "path": row["path"],
                        }
                        for row in test.diverging[:MAX_TEST_LINKS]
                    ],
                    "more_links": max(len(test.diverging) - MAX_TEST_LINKS, 0),
                }
            )
        failing = sum(1 for test in ordered if test.failing)
        tables.append(
            {
                "t": position,
                "name": target.name,
                "tests": len(ordered),
                "matching": len(ordered) - failing,
                "rows": rows,
                "more_rows": max(len(ordered) - MAX_TEST_ROWS, 0),
            }
        )
    return tables


def _asset(name: str) -> Markup:
    # The CSS and JS are read verbatim rather than rendered, so their braces never meet Jinja.
    text = resources.files("compat_diff.report").joinpath("templates", name).read_text(encoding="utf-8")
    # Our own assets must never contain what would end their element early.
    if "</script" in text.lower() or "</style" in text.lower():
        raise AssertionError(f"{name} must not contain a closing script or style tag")
    return Markup(text)


def render_html(result: RunResult, details_path: Path | None, tests: TestsView | None = None) -> str:
    index, chunks = build_payload(result, details_path)
    summary = build_summary(result, has_details=details_path is not None)
    environment = Environment(
        loader=PackageLoader("compat_diff.report", "templates"), autoescape=select_autoescape(["html", "j2"])
    )
    template = environment.get_template("index.html.j2")
    names = ", ".join(target.name for target in result.targets)
    return template.render(
        title=f"compat-diff report: {names}" if names else "compat-diff report",
        summary_json=json_for_script(summary),
        index_json=json_for_script(index),
        chunks=chunks,
        tests=build_tests_section(result, tests),
        css=_asset("report.css"),
        script=_asset("report.js"),
    )


def write_html(
    result: RunResult, path: Path, details_path: Path | None, tests: TestsView | None = None
) -> Path:
    return write_file(path, render_html(result, details_path, tests))


__all__ = ["iter_details", "render_html", "write_html"]
