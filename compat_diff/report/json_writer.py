"""report.json: the result document as JSON, the one file other tools read."""

from __future__ import annotations

from pathlib import Path

import orjson

from compat_diff.report.files import write_file
from compat_diff.report.result import RunResult


def write_json(result: RunResult, path: Path) -> Path:
    # Keys stay in the producer's order (no OPT_SORT_KEYS) so "format" and "version" come first.
    data = orjson.dumps(result.to_json(), option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str)
    return write_file(path, data + b"\n")
