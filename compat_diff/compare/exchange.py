"""One recorded exchange against one candidate's answer: parse, normalize, compare, give a verdict.

This is the pipeline every golden vector walks (raw exchange -> parsed -> normalized ->
divergences). The id pairing is owned by the caller, one per target's run (one per chunk when
diffed in parallel), so tokens stay consistent across the exchanges it sees.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from compat_diff.aws.parse import ParsedAnswer, parse_answer
from compat_diff.compare.classify import NOT_IMPLEMENTED_CODES
from compat_diff.compare.diff import compare
from compat_diff.compare.runfiles import Answer
from compat_diff.model import Divergence, Exchange, ExchangeResult
from compat_diff.normalize import IdPairing, Normalized, RuleSet, normalize


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

    def result(verdict: str, divergences: tuple[Divergence, ...] = (), **more: Any) -> ExchangeResult:
        return ExchangeResult(
            seq=seq, service=service, operation=operation, verdict=verdict, divergences=divergences, **more
        )

    if answer is None:
        return Stages(None, None, None, None, result("skipped", notes=("the run holds no answer for it",)))
    if answer.outcome == "skipped":
        reason = answer.skipped or "skipped by the replay"
        return Stages(None, None, None, None, result("skipped", notes=(f"skipped: {reason}",)))
    caused_by = _cause(answer)
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
    # The replay sends the recorded payload (re-framed at most), so an upload's ETag is checked
    # against the recorded body on both sides.
    candidate = parse_answer(answer.response, exchange.op, exchange.request)
    notes: list[str] = []
    if reference.problem is not None:
        # The reference itself does not parse: fall back to comparing both by generic structure.
        notes.append(f"the reference answer does not parse ({reference.problem}); compared generically")
        generic_op = replace(exchange.op, service=None, operation=None)
        reference = parse_answer(exchange.response, generic_op, exchange.request)
        candidate = parse_answer(answer.response, generic_op, exchange.request)
    elif reference.generic:
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
    if caused_by is not None:
        divergences = [replace(d, caused_by=caused_by) for d in divergences]
    fired = tuple(dict.fromkeys(ref_norm.fired + cand_norm.fired))
    verdict = _verdict(reference, candidate, divergences)
    res = result(verdict, tuple(divergences), rules_fired=fired, notes=tuple(notes))
    return Stages(reference, candidate, ref_norm, cand_norm, res)


def _cause(answer: Answer) -> int | None:
    for dependency in answer.broken_dependencies:
        seq = dependency.get("seq")
        if isinstance(seq, int):
            return seq
    return None


def _verdict(reference: ParsedAnswer, candidate: ParsedAnswer, divergences: list[Divergence]) -> str:
    if not any(d.counts for d in divergences):
        return "match"
    if _not_implemented(candidate) and not _not_implemented(reference):
        return "not-implemented"
    return "diverges"


def _verdict_for(candidate: ParsedAnswer, divergences: list[Divergence]) -> str:
    if candidate.status == 501:
        return "not-implemented"
    return "diverges" if any(d.counts for d in divergences) else "match"


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
