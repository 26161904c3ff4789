"""Writing started candidates as a targets file (spec section 2) for ``replay`` and ``compare``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from compat_diff.candidates.base import RunningCandidate

SecretStyle = Literal["inline", "env"]

_HEADER = """\
# Targets for the candidate clouds started on this machine by compat-diff.
# Their credentials are fixed, well-known test values of throwaway local servers, not secrets, so
# they are written inline as secret_key; for real clouds use secret_key_env or profile instead.
"""

_HEADER_ENV = """\
# Targets for the candidate clouds started on this machine by compat-diff.
# Secrets are read from the environment variables named by secret_key_env.
"""


def secret_env_name(name: str) -> str:
    """The environment variable that holds a candidate's secret key: COMPAT_DIFF_SECRET_<NAME>."""
    return "COMPAT_DIFF_SECRET_" + re.sub(r"[^A-Z0-9]", "_", name.upper())


def target_secrets(candidates: Iterable[RunningCandidate]) -> dict[str, str]:
    """The environment to export when a targets file was written with ``secrets="env"``."""
    return {secret_env_name(candidate.name): candidate.secret_key for candidate in candidates}


def _toml_string(value: str) -> str:
    # A JSON string of printable text is also a valid TOML basic string.
    return json.dumps(value, ensure_ascii=True)


def _toml_key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _toml_string(name)


def render_targets_toml(candidates: Iterable[RunningCandidate], *, secrets: SecretStyle = "inline") -> str:
    lines = [_HEADER if secrets == "inline" else _HEADER_ENV]
    for candidate in candidates:
        lines.append(f"[target.{_toml_key(candidate.name)}]")
        if "*" not in candidate.services:
            # The replay skips calls of other services instead of sending them where nothing answers.
            lines.append("services = [" + ", ".join(_toml_string(s) for s in candidate.services) + "]")
        lines.append(f"endpoint = {_toml_string(candidate.endpoint)}")
        lines.append(f"region = {_toml_string(candidate.region)}")
        lines.append(f"access_key = {_toml_string(candidate.access_key)}")
        if secrets == "inline":
            lines.append(f"secret_key = {_toml_string(candidate.secret_key)}")
        else:
            lines.append(f"secret_key_env = {_toml_string(secret_env_name(candidate.name))}")
        lines.append(f"s3_addressing = {_toml_string(candidate.s3_addressing)}")
        lines.append("")
    return "\n".join(lines)


def write_targets_toml(
    candidates: list[RunningCandidate], path: Path, *, secrets: SecretStyle = "inline"
) -> None:
    """Write ``[target.NAME]`` tables for the candidates to ``path`` (replacing the file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(render_targets_toml(candidates, secrets=secrets))
    temporary.replace(path)
