"""The pure rule engine: rule files, paths, and normalization of parsed answers (no botocore, no deepdiff)."""

from compat_diff.normalize.engine import (
    IdPairing,
    IdSide,
    IdTokens,
    Normalized,
    normalize,
    timestamp_class,
    timestamp_format,
    type_name,
)
from compat_diff.normalize.paths import Step, format_path, matches, parse_path
from compat_diff.normalize.rules import Rule, RuleSet, default_pack_dir, load_rules, rules_from_yaml

__all__ = [
    "IdPairing",
    "IdSide",
    "IdTokens",
    "Normalized",
    "Rule",
    "RuleSet",
    "Step",
    "default_pack_dir",
    "format_path",
    "load_rules",
    "matches",
    "normalize",
    "parse_path",
    "rules_from_yaml",
    "timestamp_class",
    "timestamp_format",
    "type_name",
]
