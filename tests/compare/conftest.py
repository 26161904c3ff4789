"""Shared fixtures for the comparison tests: two real moto servers running the same calls."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "golden"))

import goldenlib

from compat_diff.model import Exchange


@pytest.fixture(scope="session")
def moto_pair() -> tuple[list[Exchange], list[Exchange]]:
    """The golden scenario run once against each of two fresh moto servers: (reference, candidate)."""
    with goldenlib.moto_server() as url:
        reference = goldenlib.capture_run(url)
    with goldenlib.moto_server() as url:
        candidate = goldenlib.capture_run(url)
    assert [e.operation for e in reference] == [e.operation for e in candidate]
    return reference, candidate
