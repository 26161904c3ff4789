"""Generated ids pair across the two sides of a run, so one id missing on one side stays one divergence.

Each case replays the real moto ``CreateUser`` answer (and a real moto error answer) through the whole
pipeline of one target's run, with the user ids edited the way the scenario needs.
"""

from __future__ import annotations

import re
from dataclasses import replace

import goldenlib

from compat_diff.compare.exchange import SideTokens, diff_exchange
from compat_diff.compare.runfiles import Answer
from compat_diff.model import Body, Exchange, ExchangeResult, HttpResponse
from compat_diff.normalize import load_rules

RULES = load_rules([], default_rules=True)
CREATE, CREATED = goldenlib.load_vector(goldenlib.HERE / "query-iam-CreateUser")
_, FAILED = goldenlib.load_vector(goldenlib.HERE / "query-iam-GetUser-error")


def with_user_id(response: HttpResponse, user_id: str) -> HttpResponse:
    text = re.sub(r"<UserId>[^<]*</UserId>", f"<UserId>{user_id}</UserId>", response.body.text())
    return replace(response, body=Body.of(text.encode()))


def run(pairs: list[tuple[str | None, str | None]]) -> list[ExchangeResult]:
    """Diff one run: per exchange the reference's user id and the candidate's (None: an error answer)."""
    assert FAILED.response is not None
    tokens = SideTokens()
    results = []
    for seq, (reference_id, candidate_id) in enumerate(pairs, start=1):
        if reference_id is None:
            exchange: Exchange = replace(CREATE, seq=seq, response=FAILED.response)
        else:
            exchange = replace(CREATE, seq=seq, response=with_user_id(CREATE.response, reference_id))
        if candidate_id is None:
            answer: Answer = replace(FAILED, seq=seq)
        else:
            assert CREATED.response is not None
            answer = replace(CREATED, seq=seq, response=with_user_id(CREATED.response, candidate_id))
        results.append(diff_exchange(exchange, answer, RULES, "clone", tokens).result)
    return results


def verdicts(results: list[ExchangeResult]) -> list[str]:
    return [result.verdict for result in results]


def test_one_missing_id_does_not_shift_the_later_ones() -> None:
    results = run([("AIDAAAAA", None), ("AIDABBBB", "AIDAYYYY"), ("AIDACCCC", "AIDAZZZZ")])
    assert verdicts(results) == ["diverges", "match", "match"]


def test_one_extra_id_does_not_shift_the_later_ones() -> None:
    # The reference failed where the candidate created a user: the candidate's id is its own.
    results = run([(None, "AIDAXXXX"), ("AIDABBBB", "AIDAYYYY"), ("AIDACCCC", "AIDAZZZZ")])
    assert verdicts(results) == ["diverges", "match", "match"]


def test_a_broken_cross_reference_diverges_where_it_breaks() -> None:
    results = run(
        [
            ("AIDAAAAA", "AIDAXXXX"),
            ("AIDABBBB", "AIDAYYYY"),
            ("AIDACCCC", "AIDAZZZZ"),
            ("AIDADDDD", "AIDAWWWW"),
            ("AIDAAAAA", "AIDAVVVV"),
        ]
    )
    assert verdicts(results) == ["match", "match", "match", "match", "diverges"]
    (divergence,) = [d for d in results[4].divergences if d.counts]
    assert divergence.path == "$.User.UserId"
    assert divergence.reference == "<iam-id:1>"
    assert divergence.candidate != divergence.reference


def test_one_candidate_id_where_the_reference_had_two_diverges() -> None:
    results = run([("AIDAAAAA", "AIDAXXXX"), ("AIDABBBB", "AIDAXXXX")])
    assert verdicts(results) == ["match", "diverges"]
