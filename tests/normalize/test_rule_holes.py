"""Rules that would silently do the wrong thing are refused: an ignore of everything, values of
the wrong type that YAML happily reads (``enabled: "maybe"``, ``version: true``), and a service no
API model knows (with the closest names suggested). Checked through the real command too."""

from __future__ import annotations

from pathlib import Path

import pytest

from compat_diff.aws.models import service_names
from compat_diff.errors import RuleError
from compat_diff.normalize import load_rules
from compat_diff.testing import run_cli


def _load(tmp_path: Path, text: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    load_rules([path], default_rules=False, known_services=service_names())


@pytest.mark.parametrize("path", ["$..*", "$.*", "$[*]", "$.*.*", "$..*[*]"])
def test_an_ignore_of_everything_is_refused(tmp_path: Path, path: str) -> None:
    for action in ("ignore", "type"):
        with pytest.raises(RuleError, match="would hide the whole answer"):
            _load(tmp_path, f"- {{id: all, reason: x, path: '{path}', action: {action}}}")


def test_a_wildcard_under_a_name_is_still_allowed(tmp_path: Path) -> None:
    _load(tmp_path, "- {id: meta, reason: x, path: '$.ResponseMetadata.*', action: ignore}")
    _load(tmp_path, "- {id: deep, reason: x, path: '$..RequestId', action: ignore}")


def test_enabled_must_be_a_boolean(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="'enabled' must be true or false, not 'maybe'"):
        _load(tmp_path, "- {id: r, reason: x, path: $.A, action: ignore, enabled: maybe}")
    with pytest.raises(RuleError, match="'enabled' must be true or false"):
        _load(tmp_path, "- {id: r, reason: x, path: $.A, action: ignore, enabled: 0}")


def test_version_must_be_a_whole_number_not_a_boolean(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="'version' must be a whole number, not True"):
        _load(tmp_path, "version: true\nrules:\n  - {id: r, reason: x, path: $.A, action: ignore}\n")
    with pytest.raises(RuleError, match="is version 2"):
        _load(tmp_path, "version: 2\nrules: []\n")
    with pytest.raises(RuleError, match="unknown top-level key 'rulez'"):
        _load(tmp_path, "version: 1\nrules: []\nrulez: []\n")
    _load(tmp_path, "version: 1\nrules:\n  - {id: r, reason: x, path: $.A, action: ignore}\n")


def test_an_unknown_service_is_an_error_with_the_closest_names(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match=r"service 'dynamodbb' is not .* \(did you mean dynamodb"):
        _load(tmp_path, "- {id: r, reason: x, service: [s3, dynamodbb], path: $.A, action: ignore}")
    with pytest.raises(RuleError, match=r"service 'no-such-thing' is not a service any API model knows$"):
        _load(tmp_path, "- {id: r, reason: x, service: no-such-thing, path: $.A, action: ignore}")
    _load(tmp_path, "- {id: r, reason: x, service: [s3, cognito-idp], path: $.A, action: ignore}")


def test_the_default_packs_pass_the_checks() -> None:
    assert load_rules([], default_rules=True, known_services=service_names()).rules


def test_the_diff_command_refuses_such_rules_with_one_sentence(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("- {id: hide.all, reason: noisy, path: '$..*', action: ignore}\n")
    recording = tmp_path / "rec.jsonl"
    recording.write_text('{"format": "compat-diff/recording", "version": 1}\n')
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "run.json").write_text(
        '{"format": "compat-diff/run", "version": 1, "recording": {"path": "'
        + str(recording)
        + '"}, "targets": [{"name": "t"}]}'
    )
    result = run_cli("diff", str(run_dir), "--report-dir", str(tmp_path / "r"), "--normalizers", str(rules))
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "hide.all" in lines[0] and "would hide the whole answer" in lines[0]
