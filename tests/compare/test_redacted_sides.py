"""Both sides are redacted the same way before they are compared: a secret the candidate handed
out equals the reference's redacted one, and a secret member the candidate left out still
diverges."""

from __future__ import annotations

from compat_diff.compare.exchange import SideTokens, diff_exchange
from compat_diff.compare.run import _without_secrets
from compat_diff.normalize import load_rules
from compat_diff.recording.runformat import Answer
from compat_diff.testing import make_exchange, make_request, make_response

RULES = load_rules([], default_rules=True)


def _sts(credentials: str) -> str:
    return (
        '<GetSessionTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetSessionTokenResult>'
        f"<Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId>{credentials}"
        "<Expiration>2024-01-01T00:00:00Z</Expiration></Credentials></GetSessionTokenResult>"
        "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetSessionTokenResponse>"
    )


def _compare(candidate_credentials: str):
    request = make_request(
        "POST",
        "http://127.0.0.1:5000/",
        [("Content-Type", "application/x-www-form-urlencoded")],
        "Action=GetSessionToken&Version=2011-06-15",
    )
    reference = make_response(
        200,
        [("Content-Type", "text/xml")],
        _sts("<SecretAccessKey>**REDACTED**</SecretAccessKey><SessionToken>**REDACTED**</SessionToken>"),
    )
    exchange = make_exchange(
        1, request, reference, service="sts", operation="GetSessionToken", protocol="query"
    )
    answer = Answer(
        1,
        "answered",
        request,
        make_response(200, [("Content-Type", "text/xml")], _sts(candidate_credentials)),
    )
    exchange, redacted = _without_secrets(exchange, answer)
    assert redacted is not None and redacted.response is not None
    return redacted, diff_exchange(exchange, redacted, RULES, "candidate", SideTokens()).result


def test_a_secret_handed_out_matches_the_redacted_reference() -> None:
    answer, result = _compare(
        "<SecretAccessKey>cand1dateSecret</SecretAccessKey><SessionToken>tok</SessionToken>"
    )
    assert "cand1dateSecret" not in answer.response.body.text()
    assert result.verdict == "match", result.divergences


def test_a_missing_secret_member_still_diverges() -> None:
    _, result = _compare("<SessionToken>tok</SessionToken>")
    assert result.verdict == "diverges"
    assert any(d.path.endswith("SecretAccessKey") for d in result.divergences), result.divergences
