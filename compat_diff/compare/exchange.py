"""One recorded exchange against one candidate's answer: parse, normalize, compare, give a verdict.

This is the pipeline every golden vector walks (raw exchange -> parsed -> normalized ->
divergences). The id pairing is owned by the caller, one per target's run (one per chunk when
diffed in parallel), so tokens stay consistent across the exchanges it sees.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from compat_diff.aws.parse import ParsedAnswer, model_declares, parse_answer
from compat_diff.compare.classify import NOT_IMPLEMENTED_CODES
from compat_diff.compare.diff import compare
from compat_diff.compare.runfiles import Answer
from compat_diff.model import Divergence, Exchange, ExchangeResult, Verdict
from compat_diff.normalize import IdPairing, Normalized, RuleSet, normalize
from compat_diff.normalize.paths import PathSyntaxError, parse_path


class SideTokens(IdPairing):
    """The id tokens of both sides of one target's run, the candidate's paired with the reference's."""


@dataclass(frozen=True, slots=True)
class Stages:
    """Every intermediate value of one comparison, kept for golden vectors and the details file."""

    reference: ParsedAnswer | None
    candidate: ParsedAnswer | None
    reference_normalized: Normalized | None
    candidate_normalized: Normalized | None
    result: ExchangeResult


def diff_exchange(
    exchange: Exchange, answer: Answer | None, rules: RuleSet, target: str | None, tokens: SideTokens
) -> Stages:
    seq = exchange.seq
    service, operation = exchange.service, exchange.operation

    def result(verdict: Verdict, divergences: tuple[Divergence, ...] = (), **more: Any) -> ExchangeResult:
        return ExchangeResult(
            seq=seq, service=service, operation=operation, verdict=verdict, divergences=divergences, **more
        )

    excluded = _not_compared(answer)
    if excluded is not None:
        verdict, note = excluded
        return Stages(None, None, None, None, result(verdict, notes=(note,)))
    assert answer is not None
    caused_by = _cause(answer)
    if answer.outcome == "too-large":
        error = answer.error or {}
        divergence = Divergence(
            seq=seq,
            kind="too-large",
            severity="critical",
            path="$",
            reference=exchange.response.body.size,
            candidate=f"more than {error.get('limit', '?')} bytes",
            message=str(error.get("message") or "the answer was larger than the replay's limit"),
            caused_by=caused_by,
        )
        return Stages(None, None, None, None, result("too-large", (divergence,)))
    if answer.outcome != "answered" or answer.response is None:
        error = answer.error or {}
        kind = error.get("kind", "transport")
        divergence = Divergence(
            seq=seq,
            kind="transport",
            severity="critical",
            path="$",
            reference=exchange.response.status,
            candidate=kind,
            message=str(error.get("message") or "no answer"),
            caused_by=caused_by,
        )
        return Stages(None, None, None, None, result("error", (divergence,)))

    reference = parse_answer(exchange.response, exchange.op, exchange.request)
    if reference.problem is not None:
        # Nothing to hold the candidate to: a recording problem, shown and left out of the score.
        note = f"the recorded reference answer does not parse ({reference.problem}); not compared"
        return Stages(reference, None, None, None, result("reference-unparseable", notes=(note,)))
    # The replay sends the recorded payload (re-framed at most), so an upload's ETag is checked
    # against the recorded body on both sides.
    candidate = parse_answer(answer.response, exchange.op, exchange.request)
    notes: list[str] = []
    if reference.generic:
        notes.append("no API model for this call: compared by generic XML/JSON structure")

    selected = rules.select(service, operation, target)
    if candidate.problem is not None:
        divergence = Divergence(
            seq=seq,
            kind="unparseable",
            severity="critical",
            path="$",
            reference=None,
            candidate=_body_excerpt(answer),
            message=candidate.problem,
            caused_by=caused_by,
        )
        ref_norm = normalize(reference.tree, selected, tokens.reference())
        res = result(
            _verdict_for(candidate, [divergence]),
            (divergence,),
            rules_fired=ref_norm.fired,
            notes=tuple(notes),
        )
        return Stages(reference, candidate, ref_norm, None, res)

    # The reference first: the candidate's ids pair with the ids at the same places in it.
    ref_norm = normalize(reference.tree, selected, tokens.reference())
    cand_norm = normalize(candidate.tree, selected, tokens.candidate())
    divergences = compare(
        ref_norm.tree,
        cand_norm.tree,
        selected,
        seq=seq,
        tolerances={**cand_norm.tolerances, **ref_norm.tolerances},
    )
    if not reference.is_error:
        divergences = [_modeled_extra(d, service, operation) for d in divergences]
    divergences = fold_under_root(divergences, ref_norm.tree, cand_norm.tree, seq)
    if caused_by is not None:
        divergences = [replace(d, caused_by=caused_by) for d in divergences]
    fired = tuple(dict.fromkeys(ref_norm.fired + cand_norm.fired))
    verdict = _verdict(reference, candidate, divergences)
    res = result(verdict, tuple(divergences), rules_fired=fired, notes=tuple(notes))
    return Stages(reference, candidate, ref_norm, cand_norm, res)


_REFERENCE_LACKS = (
    "the reference lacks a member the model says this operation returns; the reference may be "
    "the one that is wrong"
)


def _modeled_extra(divergence: Divergence, service: str | None, operation: str | None) -> Divergence:
    """An extra member the model declares is the reference's omission as much as the candidate's
    addition: say so (it stays minor, never counted against the candidate)."""
    if divergence.kind != "extra":
        return divergence
    try:
        keys = tuple(step.selector for step in parse_path(divergence.path))
    except PathSyntaxError:
        return divergence
    if any(not isinstance(key, str | int) for key in keys) or not model_declares(service, operation, keys):
        return divergence
    return replace(divergence, message=_REFERENCE_LACKS)


# Outcomes of the replay that mean "not compared": the exchange is shown but never scored.
_EXCLUDED_OUTCOMES: dict[str, Verdict] = {
    "not-run": "not-run",
    "reference-unparseable": "reference-unparseable",
    "internal-error": "internal-error",
    "internal": "internal-error",
    "not-replayable": "not-replayable",
}


def _not_compared(answer: Answer | None) -> tuple[Verdict, str] | None:
    """(verdict, note) when the answer says the exchange was not compared; None when it was."""
    if answer is None:
        return "not-run", "not run: the run holds no answer for it (interrupted?)"
    reason = answer.skipped or str((answer.error or {}).get("message") or "")
    if answer.outcome == "skipped":
        if (answer.skipped or "").startswith("not-replayable"):
            return "not-replayable", answer.skipped or "not-replayable"
        return "skipped", f"skipped: {reason or 'skipped by the replay'}"
    verdict = _EXCLUDED_OUTCOMES.get(answer.outcome)
    if verdict == "internal-error":
        return verdict, f"internal error of compat-diff, not of the candidate: {reason or 'unknown'}"
    if verdict is not None:
        return verdict, f"{answer.outcome}: {reason}" if reason else answer.outcome
    return None


def fold_under_root(
    divergences: list[Divergence], reference: Any, candidate: Any, seq: int
) -> list[Divergence]:
    """One root finding when one side answered an error and the other succeeded.

    The status, error code and message become one critical divergence; the members missing (or
    extra) as a consequence are folded under it instead of standing beside it as findings.
    """
    root = next((d for d in divergences if d.kind == "status" and d.severity == "critical"), None)
    if root is None:
        return divergences
    consequences = tuple(d for d in divergences if d is not root)
    merged = Divergence(
        seq=seq,
        kind="status",
        severity="critical",
        path=root.path,
        reference=_outcome_of(reference),
        candidate=_outcome_of(candidate),
        message=_root_message(reference, candidate),
        caused_by=root.caused_by,
        folded=consequences,
    )
    return [merged]


def _outcome_of(tree: Any) -> dict[str, Any]:
    """Status, error code and message of a parsed answer: what a client branches on."""
    tree = tree if isinstance(tree, dict) else {}
    metadata = tree.get("ResponseMetadata")
    status = metadata.get("HTTPStatusCode") if isinstance(metadata, dict) else None
    outcome: dict[str, Any] = {"status": status}
    error = tree.get("Error")
    if isinstance(error, dict):
        outcome["code"] = error.get("Code")
        outcome["message"] = error.get("Message")
    return outcome


def _root_message(reference: Any, candidate: Any) -> str:
    ref, cand = _outcome_of(reference), _outcome_of(candidate)

    def said(side: dict[str, Any]) -> str:
        text = str(side.get("status"))
        if side.get("code"):
            text += f" {side['code']}"
        return text

    if "code" in cand and "code" not in ref:
        return f"the reference succeeded ({said(ref)}) where the candidate failed ({said(cand)})"
    if "code" in ref and "code" not in cand:
        return f"the candidate succeeded ({said(cand)}) where the reference refused ({said(ref)})"
    return f"the reference answered {said(ref)}, the candidate {said(cand)}"


def _cause(answer: Answer) -> int | None:
    for dependency in answer.broken_dependencies:
        seq = dependency.get("seq")
        if isinstance(seq, int):
            return seq
    return None


def _verdict(reference: ParsedAnswer, candidate: ParsedAnswer, divergences: list[Divergence]) -> Verdict:
    if not any(d.counts for d in divergences):
        return "match"
    if _not_implemented(candidate) and not _not_implemented(reference):
        return "not-implemented"
    return "diverges"


def _verdict_for(candidate: ParsedAnswer, divergences: list[Divergence]) -> Verdict:
    if not any(d.counts for d in divergences):
        return "match"
    return "not-implemented" if candidate.status == 501 else "diverges"


def _not_implemented(answer: ParsedAnswer) -> bool:
    if answer.status == 501:
        return True
    error = answer.tree.get("Error")
    if isinstance(error, dict):
        code = str(error.get("Code") or "")
        if code in NOT_IMPLEMENTED_CODES:
            return True
        message = str(error.get("Message") or "").lower()
        if "not implemented" in message or "unknown action" in message or "not supported" in message:
            return answer.is_error
    return False


def _body_excerpt(answer: Answer, limit: int = 500) -> str | None:
    if answer.response is None or not answer.response.body.available:
        return None
    text = answer.response.body.read()[:limit].decode("utf-8", "replace")
    return text
