"""learn-noise on two real moto runs of the same calls: suggestions by value shape, refusals listed."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner
from rundir import write_recording

from compat_diff.cli import main
from compat_diff.compare.noise import Finding, suggest
from compat_diff.normalize import load_rules


def _recordings(tmp_path: Path, moto_pair) -> tuple[Path, Path]:
    reference, candidate = moto_pair
    return (
        write_recording(tmp_path / "one.jsonl", reference),
        write_recording(tmp_path / "two.jsonl", candidate),
    )


def test_without_rules_the_noise_is_learnt_by_shape(tmp_path: Path, moto_pair) -> None:
    one, two = _recordings(tmp_path, moto_pair)
    out = tmp_path / "learnt.yaml"
    result = CliRunner().invoke(
        main, ["learn-noise", str(one), "--against", str(two), "--out", str(out), "--no-default-rules"]
    )
    assert result.exit_code == 0, result.output
    rules = yaml.safe_load(out.read_text())["rules"]
    by_path = {(r["service"], r.get("operation"), r["path"]): r for r in rules}
    assert by_path[("sts", "GetCallerIdentity", "$.ResponseMetadata.RequestId")]["action"] == "id"
    service_wide = by_path[("dynamodb", None, "$.ResponseMetadata.RequestId")]
    assert "operations" in service_wide["reason"]
    assert by_path[("iam", "CreateUser", "$.User.CreateDate")]["action"] == "timestamp"
    assert by_path[("ec2", "RunInstances", "$.Instances[*].InstanceId")]["action"] == "id"
    assert all(r["reason"] for r in rules)
    # The suggestions load as a rule file and then leave no divergence between the two runs.
    load_rules([out], default_rules=False)
    again = tmp_path / "again.yaml"
    result = CliRunner().invoke(
        main,
        [
            "learn-noise",
            str(one),
            "--against",
            str(two),
            "--out",
            str(again),
            "--no-default-rules",
            "--normalizers",
            str(out),
        ],
    )
    assert result.exit_code == 0
    assert yaml.safe_load(again.read_text())["rules"] == []


def test_default_packs_leave_no_moto_noise(tmp_path: Path, moto_pair) -> None:
    one, two = _recordings(tmp_path, moto_pair)
    out = tmp_path / "learnt.yaml"
    result = CliRunner().invoke(main, ["learn-noise", str(one), "--against", str(two), "--out", str(out)])
    assert result.exit_code == 0
    assert yaml.safe_load(out.read_text())["rules"] == []


def test_over_broad_suggestions_are_refused() -> None:
    findings = {
        ("s3", "A", "$"): Finding("s3", "A", "$", 1, [(1, 2)], {"value"}),
        ("s3", "B", "$.Contents"): Finding("s3", "B", "$.Contents", 1, [([1], [2])], {"value"}),
        ("s3", "C", "$.Owner"): Finding("s3", "C", "$.Owner", 1, [({"a": 1}, None)], {"missing"}),
        ("s3", "D", "$.ResponseMetadata.HTTPStatusCode"): Finding(
            "s3", "D", "$.ResponseMetadata.HTTPStatusCode", 1, [(200, 500)], {"status"}
        ),
        ("s3", "E", "$.Note"): Finding("s3", "E", "$.Note", 1, [("short", "other")], {"value"}),
    }
    suggested, refused = suggest(findings)
    assert [r["path"] for r in suggested] == ["$.Note"]
    assert suggested[0]["action"] == "ignore"
    reasons = dict(refused)
    assert "root" in reasons["s3 A $"]
    assert "whole list" in reasons["s3 B $.Contents"]
    assert "whole object" in reasons["s3 C $.Owner"]
    assert "behaviour" in reasons["s3 D $.ResponseMetadata.HTTPStatusCode"]
