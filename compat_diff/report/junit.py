"""junit.xml: one test case per target, service and operation, so CI systems show compatibility
as tests (classname ``target.service``, name ``operation``).

A diverging or not-implemented operation is a failure that lists its divergences; an operation
whose candidate could not be reached is an error; a skipped one is skipped.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from compat_diff.report.document import SEVERITIES, format_score, score_of

# Enough divergences to act on without making a CI page unreadable for a badly broken operation.
MAX_LISTED = 50


def _short(value: Any, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_divergence(divergence: dict[str, Any]) -> str:
    """One line per divergence: where, what kind, how bad, and both sides."""
    line = (f"seq {divergence.get('seq')}: {divergence.get('severity')} {divergence.get('kind')} at "
            f"{divergence.get('path')}: reference {_short(divergence.get('reference'))}, "
            f"candidate {_short(divergence.get('candidate'))}")
    if divergence.get("message"):
        line += f" ({divergence['message']})"
    if divergence.get("caused_by") is not None:
        line += f" [caused by seq {divergence['caused_by']}]"
    return line


def _counted(operation: dict[str, Any]) -> bool:
    """Whether an operation fails: the same rule as the score (major or critical divergences)."""
    if operation.get("verdict") == "not-implemented":
        return True
    exchanges, matching = operation.get("exchanges"), operation.get("matching")
    if isinstance(exchanges, int) and isinstance(matching, int) and matching < exchanges:
        return True
    return any(d.get("severity") in ("critical", "major") for d in operation.get("divergences", []))


def _failure_summary(operation: dict[str, Any]) -> str:
    divergences = operation.get("divergences", [])
    by_severity = [f"{sum(1 for d in divergences if d.get('severity') == s)} {s}" for s in SEVERITIES]
    exchanges, matching = operation.get("exchanges"), operation.get("matching")
    head = operation.get("verdict", "diverges")
    if isinstance(exchanges, int) and isinstance(matching, int):
        head += f": {exchanges - matching} of {exchanges} exchanges diverge"
    return f"{head} ({', '.join(by_severity)})"


def _body(operation: dict[str, Any]) -> str:
    divergences = operation.get("divergences", [])
    lines = [describe_divergence(d) for d in divergences[:MAX_LISTED]]
    if len(divergences) > MAX_LISTED:
        lines.append(f"... and {len(divergences) - MAX_LISTED} more (see report.json)")
    if operation.get("rules_fired"):
        lines.append("normalizer rules fired: " + ", ".join(operation["rules_fired"]))
    return "\n".join(lines)


def build_junit(doc: dict[str, Any]) -> ET.Element:
    suites = ET.Element("testsuites", name="compat-diff")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for target in doc["targets"]:
        suite = ET.SubElement(suites, "testsuite", name=f"compat-diff {target['name']}")
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(properties, "property", name="endpoint", value=str(target.get("endpoint", "")))
        ET.SubElement(properties, "property", name="score", value=format_score(score_of(target)))
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        operations = sorted(target.get("operations", []),
                            key=lambda op: (str(op.get("service")), str(op.get("operation"))))
        for operation in operations:
            case = ET.SubElement(suite, "testcase", classname=f"{target['name']}.{operation.get('service')}",
                                 name=str(operation.get("operation")))
            counts["tests"] += 1
            verdict = operation.get("verdict")
            if verdict == "skipped":
                ET.SubElement(case, "skipped", message="not replayed (skipped)")
                counts["skipped"] += 1
            elif verdict == "error":
                error = ET.SubElement(case, "error", message=_failure_summary(operation), type="error")
                error.text = _body(operation)
                counts["errors"] += 1
            elif _counted(operation):
                failure = ET.SubElement(case, "failure", message=_failure_summary(operation),
                                        type=str(verdict))
                failure.text = _body(operation)
                counts["failures"] += 1
            elif operation.get("divergences"):
                # Minor divergences do not fail the case but stay visible to whoever opens it.
                ET.SubElement(case, "system-out").text = _body(operation)
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        suites.set(key, str(value))
    return suites


def write_junit(doc: dict[str, Any], path: Path) -> Path:
    tree = ET.ElementTree(build_junit(doc))
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return path
