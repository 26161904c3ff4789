"""index.html: placeholder until the self-contained viewer lands."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write_html(doc: dict[str, Any], path: Path, details_path: Path | None) -> Path:
    path.write_text("<!doctype html><title>compat-diff report</title>", encoding="utf-8")
    return path
