"""What a recording of a generated suite says about the reference it was recorded against.

Every exchange of a generated suite carries its test (the session ``generated/<service>/<Op>``) and
its step (``valid``, ``missing:Bucket``, ``setup:CreateBucket`` ...). From those:

- a ``valid`` step must be identified as the very operation it tests (else our identification, or
  the generator, is wrong);
- an invalid step should be refused by the reference with a client error (4xx); one it accepts
  (2xx) or fails on (5xx) is a finding about the reference, listed rather than hidden.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from compat_diff.model import Exchange
from compat_diff.recording import read_recording

SESSION_PREFIX = "generated/"


@dataclass(frozen=True)
class Finding:
    seq: int
    service: str
    operation: str
    step: str
    status: int
    sent_as: str | None  # the operation the request was identified as


@dataclass
class SuiteFindings:
    valid: int = 0
    misidentified: list[Finding] = field(default_factory=list)
    invalid: int = 0
    refused: int = 0  # invalid steps answered with a 4xx
    accepted: list[Finding] = field(default_factory=list)  # invalid steps answered with a 2xx/3xx
    server_errors: list[Finding] = field(default_factory=list)  # invalid steps answered with a 5xx
    # Invalid steps whose request is, on the wire, another operation's valid request (S3 UploadPart
    # without its uploadId is a PutObject): not an invalid request at all, so no finding.
    became_other: list[Finding] = field(default_factory=list)
    by_kind: Counter[str] = field(default_factory=Counter)  # "missing" -> refused count, ...
    kind_totals: Counter[str] = field(default_factory=Counter)
    refused_by_service: Counter[str] = field(default_factory=Counter)


def test_of(exchange: Exchange) -> tuple[str, str] | None:
    """(service, operation) of the generated test an exchange belongs to, or None."""
    if not exchange.session.startswith(SESSION_PREFIX):
        return None
    parts = exchange.session[len(SESSION_PREFIX) :].split("/")
    return (parts[0], parts[1]) if len(parts) == 2 else None


def is_invalid_step(step: str) -> bool:
    return step not in ("", "valid") and not step.startswith(("setup:", "teardown:"))


def analyse(exchanges: list[Exchange]) -> SuiteFindings:
    result = SuiteFindings()
    for exchange in exchanges:
        test = test_of(exchange)
        if test is None:
            continue
        service, operation = test
        step = str(exchange.notes.get("step") or "")
        status = exchange.response.status
        finding = Finding(exchange.seq, service, operation, step, status, exchange.operation)
        if step == "valid":
            result.valid += 1
            if exchange.service != service or exchange.operation != operation:
                result.misidentified.append(finding)
        elif is_invalid_step(step) and exchange.operation not in (None, operation):
            result.became_other.append(finding)
        elif is_invalid_step(step):
            result.invalid += 1
            kind = step.split(":", 1)[0]
            result.kind_totals[kind] += 1
            if 400 <= status < 500:
                result.refused += 1
                result.by_kind[kind] += 1
                result.refused_by_service[service] += 1
            elif status >= 500:
                result.server_errors.append(finding)
            else:
                result.accepted.append(finding)
    return result


def analyse_recording(path: Path) -> SuiteFindings:
    return analyse(list(read_recording(path)))


def findings_markdown(findings: SuiteFindings, reference: str) -> str:
    """The findings as Markdown: the counts per kind of invalid request, then every exception."""
    lines = [
        f"Invalid requests refused by {reference} with a client error: "
        f"{findings.refused} of {findings.invalid}.",
        "",
        "| kind of invalid request | sent | refused (4xx) |",
        "|---|---:|---:|",
    ]
    for kind in sorted(findings.kind_totals):
        lines.append(f"| {kind} | {findings.kind_totals[kind]} | {findings.by_kind[kind]} |")
    for title, items in (
        ("Accepted although invalid (2xx)", findings.accepted),
        ("Answered with a server error (5xx)", findings.server_errors),
        ("Valid requests identified as another operation", findings.misidentified),
        ("Invalid requests that are another operation on the wire (not counted)", findings.became_other),
    ):
        lines += ["", f"### {title}: {len(items)}", ""]
        for item in items:
            seen = "" if item.sent_as in (None, item.operation) else f" (sent as {item.sent_as})"
            lines.append(
                f"- {item.service} {item.operation} `{item.step}`: {item.status}{seen} (seq {item.seq})"
            )
    return "\n".join(lines) + "\n"
