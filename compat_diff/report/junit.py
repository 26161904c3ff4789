"""junit.xml: one test case per target, service and operation, so CI systems show compatibility
as tests (classname ``target.service``, name ``operation``).

A case fails exactly when its operation fails the gate (``OperationResult.gate_failing``): a
compared exchange does not match, for a divergence that is neither known nor in the baseline.
An operation whose candidate could not be reached is an error; one with nothing compared is
skipped. Messages name the top divergence with both sides as JSON.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from compat_diff.report.files import write_with
from compat_diff.report.result import Finding, OperationResult, RunResult, TargetResult, format_score

# Enough findings to act on without making a CI page unreadable for a badly broken operation.
MAX_LISTED = 50


def _tagged(finding: Finding) -> str:
    line = finding.describe()
    if finding.status == "known":
        line = f"known: {line} — {finding.reason}" + (f" ({finding.issue})" if finding.issue else "")
    elif finding.status:
        line = f"{finding.status}: {line}"
    seqs = ", ".join(str(seq) for seq in finding.seqs)
    return f"{line} [seq {seqs}{', ...' if finding.count > len(finding.seqs) else ''}]"


def _not_compared(op: OperationResult) -> str:
    return ", ".join(f"{count} {verdict}" for verdict, count in op.not_compared.items())


def _message(op: OperationResult) -> str:
    head = f"{op.verdict}: {op.compared - op.matching} of {op.compared} compared exchanges diverge"
    top = op.top_finding
    return f"{head}; top: {top.describe()}" if top else head


def _body(op: OperationResult) -> str:
    lines = [_tagged(finding) for finding in op.findings[:MAX_LISTED]]
    if len(op.findings) > MAX_LISTED:
        lines.append(f"... and {len(op.findings) - MAX_LISTED} more (see report.json)")
    if op.not_compared:
        lines.append(f"not compared (not counted): {_not_compared(op)}")
    if op.rules_fired:
        lines.append("normalizer rules fired: " + ", ".join(op.rules_fired))
    return "\n".join(lines)


def _case(suite: ET.Element, target: TargetResult, op: OperationResult, counts: dict[str, int]) -> None:
    case = ET.SubElement(suite, "testcase", classname=f"{target.name}.{op.service}", name=op.operation)
    counts["tests"] += 1
    if not op.compared:
        ET.SubElement(case, "skipped", message=f"not compared: {_not_compared(op) or 'no exchanges'}")
        counts["skipped"] += 1
    elif op.gate_failing and op.verdict == "error":
        ET.SubElement(case, "error", message=_message(op), type="error").text = _body(op)
        counts["errors"] += 1
    elif op.gate_failing:
        ET.SubElement(case, "failure", message=_message(op), type=op.verdict).text = _body(op)
        counts["failures"] += 1
    elif op.findings or op.not_compared:
        # Minor, known or baseline divergences do not fail the case but stay visible.
        ET.SubElement(case, "system-out").text = _body(op)


def build_junit(result: RunResult) -> ET.Element:
    suites = ET.Element("testsuites", name="compat-diff")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for target in result.targets:
        suite = ET.SubElement(suites, "testsuite", name=f"compat-diff {target.name}")
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(properties, "property", name="endpoint", value=str(target.endpoint or ""))
        ET.SubElement(properties, "property", name="score", value=format_score(target.score))
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for op in target.operations:
            _case(suite, target, op, counts)
        notes = _suite_notes(result, target)
        if notes:
            ET.SubElement(suite, "system-out").text = "\n".join(notes)
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        suites.set(key, str(value))
    return suites


def _suite_notes(result: RunResult, target: TargetResult) -> list[str]:
    lines: list[str] = []
    if result.baseline is not None:
        new = [ref for ref in result.baseline.new if ref.target == target.name]
        fixed = [ref for ref in result.baseline.fixed if ref.target == target.name]
        lines.append(f"against the baseline {result.baseline.path}: {len(new)} new, {len(fixed)} fixed")
        lines += [
            f"fixed: {ref.service}.{ref.operation}: {ref.finding.describe()}" for ref in fixed[:MAX_LISTED]
        ]
    if result.known is not None:
        for entry in result.known.stale:
            if entry.target in (None, target.name):
                lines.append(f"known divergence no longer happening: {entry.describe()}")
    return lines


# Characters XML 1.0 cannot carry at all (control characters, lone surrogates): a CI system's
# parser rejects the whole file for one of them, so each becomes U+FFFD.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_safe(root: ET.Element) -> ET.Element:
    """Every text and attribute of ``root`` without characters XML cannot carry (ElementTree
    escapes markup, but writes these as they are)."""
    for element in root.iter():
        if element.text:
            element.text = _NOT_XML.sub("\ufffd", element.text)
        if element.tail:
            element.tail = _NOT_XML.sub("\ufffd", element.tail)
        for key, value in element.attrib.items():
            element.set(key, _NOT_XML.sub("\ufffd", value))
    return root


def write_junit(result: RunResult, path: Path) -> Path:
    tree = ET.ElementTree(_xml_safe(build_junit(result)))
    ET.indent(tree)
    return write_with(path, lambda out: tree.write(out, encoding="utf-8", xml_declaration=True))
