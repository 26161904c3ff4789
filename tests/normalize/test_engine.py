"""The rule engine on plain trees: each action, paths as reports print them, and no mutation."""

from __future__ import annotations

import copy

from compat_diff.model import TimestampText
from compat_diff.normalize import (
    IdPairing,
    IdTokens,
    format_path,
    normalize,
    parse_path,
    rules_from_yaml,
    timestamp_format,
)


def rules(text: str):
    return rules_from_yaml(text).rules


def test_paths_round_trip_as_printed() -> None:
    for keys in [
        ("Contents", 0, "Key"),
        ("ResponseMetadata", "HTTPHeaders", "x-amz-request-id"),
        ("Tags", "aws:cloudformation:stack"),
        ("Map", "it's"),
    ]:
        printed = format_path(keys)
        steps = parse_path(printed)
        assert [s.selector for s in steps] == list(keys)
    assert format_path(("Contents", 0, "Key")) == "$.Contents[0].Key"


def test_ignore_recursive_and_wildcards_without_mutating() -> None:
    tree = {"ResponseMetadata": {"RequestId": "x"}, "Items": [{"RequestId": "y", "Keep": 1}]}
    original = copy.deepcopy(tree)
    result = normalize(tree, rules("- {id: r, reason: x, path: $..RequestId, action: ignore}"))
    assert result.tree == {"ResponseMetadata": {}, "Items": [{"Keep": 1}]}
    assert tree == original
    assert result.fired == ("r",)


def test_type_keeps_only_the_type() -> None:
    result = normalize(
        {"A": "abc", "B": 3},
        rules("""
- {id: a, reason: x, path: $.A, action: type}
- {id: b, reason: x, path: $.B, action: type}
"""),
    )
    assert result.tree == {"A": "<type:string>", "B": "<type:integer>"}


def test_timestamp_keeps_the_format() -> None:
    assert timestamp_format("2024-01-02T03:04:05.000Z") == "iso8601"
    assert timestamp_format("Tue, 02 Jan 2024 03:04:05 GMT") == "rfc1123"
    assert timestamp_format(1700000000.5) == "epoch"
    assert timestamp_format("1700000000") == "epoch"
    assert timestamp_format("soon") is None
    tree = {
        "T": [TimestampText("2024-01-02T03:04:05Z"), TimestampText("Tue, 02 Jan 2024 03:04:05 GMT")],
        "NotModeled": "2024-01-02T03:04:05Z",
    }
    result = normalize(tree, rules("- {id: t, reason: x, path: $..*, shape: timestamp, action: timestamp}"))
    assert result.tree == {
        "T": [
            "<timestamp:iso8601 YYYY-MM-DDThh:mm:ssZ>",
            "<timestamp:rfc1123 Www, DD Mmm YYYY hh:mm:ss GMT>",
        ],
        "NotModeled": "2024-01-02T03:04:05Z",
    }


def test_the_placeholder_keeps_the_exact_format_class() -> None:
    rule = rules("- {id: t, reason: x, path: $..*, action: timestamp}")
    classes = [
        normalize({"T": value}, rule).tree["T"]
        for value in (
            "2024-01-02T03:04:01.000Z",
            "2024-01-02T03:04:01Z",
            "2024-01-02T03:04:01+00:00",
            "2024-01-02T03:04:01+0000",
        )
    ]
    assert len(set(classes)) == 4, classes
    assert classes[0] == "<timestamp:iso8601 YYYY-MM-DDThh:mm:ss.sssZ>"
    # Another instant of one class is the same placeholder: only the format is compared.
    assert normalize({"T": "2031-12-31T23:59:59.999Z"}, rule).tree["T"] == classes[0]
    assert normalize({"T": 1700000000}, rule).tree != normalize({"T": 1700000000.5}, rule).tree
    assert (
        normalize({"T": "Tue, 2 Jan 2024 03:04:05 GMT"}, rule).tree
        != normalize({"T": "Tue, 02 Jan 2024 03:04:05 GMT"}, rule).tree
    )


def test_id_tokens_are_shared_across_answers_of_one_side() -> None:
    rule = rules("- {id: i, reason: x, path: '$..InstanceId', action: id, kind: instance-id}")
    ids = IdTokens()
    first = normalize({"I": [{"InstanceId": "i-a"}, {"InstanceId": "i-b"}]}, rule, ids)
    second = normalize({"InstanceId": "i-b"}, rule, ids)
    assert first.tree == {"I": [{"InstanceId": "<instance-id:1>"}, {"InstanceId": "<instance-id:2>"}]}
    assert second.tree == {"InstanceId": "<instance-id:2>"}


def test_id_with_pattern_replaces_only_the_id_part() -> None:
    rule = rules(
        "- {id: q, reason: x, path: $.QueueUrl, action: id, kind: endpoint, pattern: '^(https?://[^/]+)'}"
    )
    result = normalize({"QueueUrl": "http://127.0.0.1:5000/123456789012/q"}, rule)
    assert result.tree == {"QueueUrl": "<endpoint:1>/123456789012/q"}


def test_sort_by_key_and_regex() -> None:
    result = normalize(
        {"Buckets": [{"Name": "b"}, {"Name": "a"}], "Arn": "arn:aws:s3:::x", "Url": "v1-abc"},
        rules("""
- {id: s, reason: x, path: $.Buckets, action: sort, key: Name}
- {id: r, reason: x, path: $.Url, action: regex, pattern: 'v\\d', replacement: 'vN'}
"""),
    )
    assert result.tree["Buckets"] == [{"Name": "a"}, {"Name": "b"}]
    assert result.tree["Url"] == "vN-abc"


def test_tolerance_is_reported_by_concrete_path() -> None:
    result = normalize(
        {"Stats": [{"Avg": 1.5}]},
        rules("- {id: t, reason: x, path: '$.Stats[*].Avg', action: tolerance, tolerance: 0.1}"),
    )
    assert result.tolerances == {"$.Stats[0].Avg": 0.1}
    assert result.tree == {"Stats": [{"Avg": 1.5}]}


def test_default_packs_tokenize_the_account_in_arns_and_queue_urls_consistently() -> None:
    from compat_diff.normalize import load_rules

    packs = load_rules([], default_rules=True)
    applicable = packs.select("sqs", "GetQueueAttributes", "candidate")
    moto = {
        "QueueUrl": "http://127.0.0.1:5000/123456789012/q",
        "Attributes": {"QueueArn": "arn:aws:sqs:us-east-1:123456789012:q"},
    }
    other = {
        "QueueUrl": "http://127.0.0.1:4566/000000000000/q",
        "Attributes": {"QueueArn": "arn:aws:sqs:us-east-1:000000000000:q"},
    }
    mixed = {
        "QueueUrl": "http://127.0.0.1:4566/000000000000/q",
        "Attributes": {"QueueArn": "arn:aws:sqs:us-east-1:111111111111:q"},
    }
    reference = normalize(moto, applicable, IdTokens()).tree
    assert reference["Attributes"]["QueueArn"] == "arn:aws:sqs:us-east-1:<account:1>:q"
    assert normalize(other, applicable, IdTokens()).tree == reference
    # A candidate that answers with two accounts where the reference used one still differs.
    assert normalize(mixed, applicable, IdTokens()).tree != reference


PAIRED = """
- {id: i, reason: x, path: '$..InstanceId', action: id, kind: instance-id}
- {id: q, reason: x, path: $..QueueUrl, action: id, kind: endpoint, pattern: 'https?://[^/]+'}
"""


def pair(pairing: IdPairing, reference: dict, candidate: dict) -> tuple[object, object]:
    """One exchange of a run: the reference answer first, then the candidate's."""
    rule = rules(PAIRED)
    first = normalize(reference, rule, pairing.reference()).tree
    return first, normalize(candidate, rule, pairing.candidate()).tree


def test_paired_ids_take_the_reference_token_of_the_same_place() -> None:
    pairing = IdPairing()
    ref, cand = pair(
        pairing,
        {"I": [{"InstanceId": "i-a"}, {"InstanceId": "i-b"}]},
        {"I": [{"InstanceId": "i-x"}, {"InstanceId": "i-y"}]},
    )
    assert ref == cand == {"I": [{"InstanceId": "<instance-id:1>"}, {"InstanceId": "<instance-id:2>"}]}
    # Once paired, a candidate id keeps its token wherever it shows, even in another place.
    ref, cand = pair(pairing, {"Last": {"InstanceId": "i-b"}}, {"Other": {"InstanceId": "i-y"}})
    assert ref == {"Last": {"InstanceId": "<instance-id:2>"}}
    assert cand == {"Other": {"InstanceId": "<instance-id:2>"}}


def test_one_candidate_id_where_the_reference_used_two_and_the_reverse_differ() -> None:
    pairing = IdPairing()
    ref, cand = pair(
        pairing,
        {"I": [{"InstanceId": "i-a"}, {"InstanceId": "i-b"}]},
        {"I": [{"InstanceId": "i-x"}, {"InstanceId": "i-x"}]},
    )
    assert ref["I"][1] != cand["I"][1]  # type: ignore[index]
    pairing = IdPairing()
    ref, cand = pair(
        pairing,
        {"I": [{"InstanceId": "i-a"}, {"InstanceId": "i-a"}]},
        {"I": [{"InstanceId": "i-x"}, {"InstanceId": "i-y"}]},
    )
    assert ref == {"I": [{"InstanceId": "<instance-id:1>"}, {"InstanceId": "<instance-id:1>"}]}
    assert cand == {"I": [{"InstanceId": "<instance-id:1>"}, {"InstanceId": "<instance-id:c1>"}]}


def test_an_id_only_the_candidate_shows_gets_its_own_token_until_it_pairs() -> None:
    pairing = IdPairing()
    ref, cand = pair(pairing, {"Error": "NotFound"}, {"InstanceId": "i-x"})
    assert cand == {"InstanceId": "<instance-id:c1>"}
    # The later ids still pair: nothing shifts.
    ref, cand = pair(pairing, {"InstanceId": "i-b"}, {"InstanceId": "i-y"})
    assert ref == cand == {"InstanceId": "<instance-id:1>"}
    # The loose id pairs where it stands in for a reference id no other candidate id took.
    ref, cand = pair(pairing, {"InstanceId": "i-c"}, {"InstanceId": "i-x"})
    assert ref == cand == {"InstanceId": "<instance-id:2>"}


def test_pattern_ids_pair_by_match() -> None:
    pairing = IdPairing()
    ref, cand = pair(
        pairing,
        {"QueueUrl": "http://a:1/q http://b:2/q"},
        {"QueueUrl": "http://x:3/q http://y:4/q"},
    )
    assert ref == cand == {"QueueUrl": "<endpoint:1>/q <endpoint:2>/q"}
    ref, cand = pair(pairing, {"QueueUrl": "http://b:2/q"}, {"QueueUrl": "http://x:3/q"})
    assert (ref, cand) == ({"QueueUrl": "<endpoint:2>/q"}, {"QueueUrl": "<endpoint:1>/q"})
