"""report.json: the report document itself, the one file other tools read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson


def write_json(doc: dict[str, Any], path: Path) -> Path:
    # Keys stay in the producer's order (no OPT_SORT_KEYS) so "format" and "version" come first.
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS) + b"\n")
    return path
