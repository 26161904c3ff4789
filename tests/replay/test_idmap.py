"""The id index and substitution on plain data: which values are generated, and how they are replaced."""

from __future__ import annotations

from compat_diff.replay.idmap import DependencyIndex, IdMap, Substituter
from compat_diff.testing import make_exchange, make_request, make_response


def test_substitution_is_longest_first_whole_token_and_covers_encoded_forms():
    sub = Substituter({"i-abc": "i-999", "i-abcdef": "i-777", "http://h:1/q": "http://k:2/q"})
    assert sub.text("InstanceId.1=i-abc&InstanceId.2=i-abcdef") == "InstanceId.1=i-999&InstanceId.2=i-777"
    assert sub.text("i-abcx stays") == "i-abcx stays"
    assert sub.text("QueueUrl=http%3A%2F%2Fh%3A1%2Fq") == "QueueUrl=http%3A%2F%2Fk%3A2%2Fq"
    assert sub.text('{"QueueUrl": "http://h:1/q"}') == '{"QueueUrl": "http://k:2/q"}'
    assert sub.text("arn:aws:ec2:us-east-1:1:instance%2Fi-abc") == "arn:aws:ec2:us-east-1:1:instance%2Fi-999"


def test_only_generated_values_that_come_back_are_indexed():
    create = make_exchange(
        1,
        make_request("PUT", "http://h/chosen-name"),
        make_response(
            200, [("x-amz-version-id", "v-generated-1")], "<R><Name>chosen-name</Name><Id>gen-123</Id></R>"
        ),
    )
    use = make_exchange(2, make_request("GET", "http://h/chosen-name?versionId=v-generated-1&id=gen-123"))
    index = DependencyIndex.build([create, use])
    # The name was sent before it came back (client-chosen); the two generated values are needed by seq 2.
    assert {need.value for need in index.needs[2]} == {"v-generated-1", "gen-123"}
    assert index.produced == {1: {"v-generated-1", "gen-123"}}

    idmap = IdMap(index)
    idmap.learn(
        1,
        create.response,
        make_response(200, [("x-amz-version-id", "v-cand")], "<R><Name>chosen-name</Name></R>"),
    )
    replacements, broken = idmap.resolve(2)
    assert replacements == {"v-generated-1": "v-cand"}
    assert broken == [{"seq": 1, "value": "gen-123"}]


def test_the_redaction_marker_is_never_an_id() -> None:
    from compat_diff.aws.redact import REDACTED
    from compat_diff.replay.idmap import interesting

    assert not interesting(REDACTED)
