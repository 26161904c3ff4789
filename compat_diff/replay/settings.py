"""The ``[replay]`` table of a targets file: limits that protect the replay from its candidates.

```toml
[replay]
max_answer_bytes = 67108864   # an answer past this size (decoded) is cut off: outcome too-large
unresponsive_after = 5        # timeouts/refusals in a row before the target is probed and given up
```

The command line's ``--max-answer-bytes`` and ``--unresponsive-after`` win over the file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from compat_diff.errors import TargetError

_KEYS = ("max_answer_bytes", "unresponsive_after")


@dataclass(frozen=True)
class ReplaySettings:
    max_answer_bytes: int | None = None
    unresponsive_after: int | None = None


def load_replay_settings(path: Path) -> ReplaySettings:
    """The ``[replay]`` table of the targets file at ``path`` (already read once by the targets loader)."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise TargetError(f"cannot read targets file {path}: {error}") from None
    table = document.get("replay")
    if table is None:
        return ReplaySettings()
    if not isinstance(table, dict):
        raise TargetError(f"{path}: replay must be a table ([replay])")
    unknown = sorted(set(table) - set(_KEYS))
    if unknown:
        raise TargetError(f"{path}: replay.{unknown[0]} is not a known key (known: {', '.join(_KEYS)})")
    return ReplaySettings(
        max_answer_bytes=_positive(table, "max_answer_bytes", path),
        unresponsive_after=_positive(table, "unresponsive_after", path),
    )


def _positive(table: dict[str, object], key: str, path: Path) -> int | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise TargetError(f"{path}: replay.{key} must be a positive whole number, not {value!r}")
    return value
