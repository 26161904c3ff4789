"""Rule files: a bad file names the file, the rule id and the problem; overrides replace by id."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from compat_diff.errors import RuleError
from compat_diff.normalize import load_rules, rules_from_yaml

GOOD = """
- id: mine.request
  reason: request ids vary
  path: $.ResponseMetadata.RequestId
  action: ignore
"""


def write(tmp_path: Path, text: str, name: str = "rules.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("- {id: r1, reason: x, path: $.A, action: explode}", "action 'explode' is not one of"),
        ("- {id: r2, reason: x, path: 'A.B', action: ignore}", "bad path"),
        ("- {id: r3, reason: x, path: '$.A[', action: ignore}", "bad path"),
        ("- {id: r4, path: $.A, action: ignore}", "needs a one-line 'reason'"),
        ("- {id: r5, reason: x, path: $, action: ignore}", "would hide the whole answer"),
        ("- {id: r6, reason: x, path: $.A, action: regex, pattern: '('}", "pattern does not compile"),
        ("- {id: r7, reason: x, path: $.A, action: tolerance}", "needs a non-negative number"),
        ("- {id: r8, reason: x, path: $.A, action: ignore, colour: red}", "unknown key 'colour'"),
        ("- {id: r9, reason: x, path: $.A, action: regex}", "needs a 'pattern'"),
    ],
)
def test_bad_rule_names_file_id_and_problem(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(RuleError) as caught:
        load_rules([path], default_rules=False)
    message = str(caught.value)
    rule_id = text.split("id: ")[1].split(",")[0]
    assert str(path) in message and f"rule {rule_id}" in message and problem in message


def test_not_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "- id: a\n  reason: [unclosed\n")
    with pytest.raises(RuleError, match=r"is not valid YAML at line \d"):
        load_rules([path], default_rules=False)


def test_entry_without_id(tmp_path: Path) -> None:
    path = write(tmp_path, "- {reason: x, path: $.A, action: ignore}")
    with pytest.raises(RuleError, match="entry #1 needs an 'id'"):
        load_rules([path], default_rules=False)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="does not exist"):
        load_rules([tmp_path / "nope.yaml"], default_rules=False)


def test_later_rule_with_same_id_replaces_and_can_disable(tmp_path: Path) -> None:
    override = write(tmp_path, "- {id: common.request-id, enabled: false}\n" + GOOD)
    rules = load_rules([override])
    ids = [rule.id for rule in rules.rules]
    assert "common.request-id" not in ids
    assert ids[-1] == "mine.request"


def test_default_packs_load_and_cover_the_listed_services() -> None:
    rules = load_rules([])
    services = {s for rule in rules.rules if rule.services for s in rule.services}
    assert services >= {"s3", "ec2", "iam", "sts", "sqs", "sns", "dynamodb", "kinesis", "cloudwatch"}
    assert all(rule.reason for rule in rules.rules)


def test_selection_by_service_operation_and_target() -> None:
    rules = rules_from_yaml("""
- {id: a, reason: x, path: $.A, action: ignore, service: s3}
- {id: b, reason: x, path: $.B, action: ignore, service: s3, operation: [GetObject, HeadObject]}
- {id: c, reason: x, path: $.C, action: ignore, target: swift}
""")
    assert [r.id for r in rules.select("s3", "GetObject", "swift")] == ["a", "b", "c"]
    assert [r.id for r in rules.select("s3", "PutObject", "ceph")] == ["a"]
    assert [r.id for r in rules.select("sqs", "GetObject", None)] == []


def test_cli_bad_rule_file_exits_2_with_one_sentence(tmp_path: Path) -> None:
    from compat_diff.cli import main

    rules = write(tmp_path, "- {id: broken.one, reason: x, path: $.A, action: explode}")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "run.json").write_text(
        '{"format": "compat-diff/run", "version": 1, "recording": {"path": "'
        + str(write(tmp_path, '{"format": "compat-diff/recording", "version": 1}\n', "rec.jsonl"))
        + '"}, "targets": [{"name": "t"}]}'
    )
    result = CliRunner().invoke(
        main, ["diff", str(run_dir), "--report-dir", str(tmp_path / "r"), "--normalizers", str(rules)]
    )
    assert result.exit_code == 2
    assert "broken.one" in result.output and "rules.yaml" in result.output
    assert "Traceback" not in result.output
