"""Fixtures for the candidate tests: a per-test data directory and the installed-or-fail rule."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from compat_diff.candidates import CANDIDATES, installed


def require_installed(name: str) -> None:
    """Skip locally when a candidate is missing, but fail in CI, where `make test` installs them all.

    Optional candidates (LocalStack, which needs Python 3.13) are skipped everywhere when missing.
    """
    ok, reason = installed(name)
    if ok:
        return
    if os.environ.get("CI", "").lower() == "true" and not CANDIDATES[name].optional:
        pytest.fail(f"{name} is not installed in CI: {reason}")
    pytest.skip(f"{name} is not installed: {reason}")


@pytest.fixture
def base_dir(tmp_path: Path) -> Path:
    return tmp_path / "candidates"
