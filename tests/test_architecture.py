"""The layering in ARCHITECTURE.md, checked: each package imports only what its row allows."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "compat_diff"

# Which of our own top-level parts each part may import.
ALLOWED: dict[str, set[str]] = {
    "model": set(),
    "errors": {"model"},
    "recording": {"model", "errors"},
    "aws": {"model", "errors"},
    "capture": {"model", "errors", "recording", "aws"},
    "replay": {"model", "errors", "recording", "aws"},
    "normalize": {"model", "errors"},
    "compare": {"model", "errors", "recording", "aws", "normalize", "report"},
    "report": {"model", "errors", "compare"},
    "candidates": {"model", "errors"},
    "coverage": {"model", "errors", "recording", "aws"},
    "testing": {"model"},
    "generate": {"model", "errors", "aws", "recording"},
    "pytest_plugin": set(),
    "cli": {"*"},
    "__main__": {"cli"},
    "__init__": set(),
}

# Third-party libraries that exactly one part may import.
EXCLUSIVE: dict[str, str] = {
    "mitmproxy": "capture",
    "botocore": "aws",
    "deepdiff": "compare",
    "aiohttp": "replay",
}


# Client programs shipped in the package and copied out to run on their own (under any pinned SDK):
# they drive boto3 like any AWS client and import nothing of ours.
CLIENT_PROGRAMS = {"generate/runner.py"}


def _part_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_respects_layers(path: Path) -> None:
    part = _part_of(path)
    assert part in ALLOWED, f"{part} is not described in ARCHITECTURE.md; add its row and an ALLOWED entry"
    allowed = ALLOWED[part]
    for name in _imports(path):
        top = name.split(".")
        if top[0] == "compat_diff" and len(top) > 1:
            target = top[1]
            if target in (part, "__init__") or "*" in allowed:
                continue
            assert target in allowed, f"{path.name}: {part} may not import compat_diff.{target}"
        elif top[0] in EXCLUSIVE and str(path.relative_to(PACKAGE)) not in CLIENT_PROGRAMS:
            owner = EXCLUSIVE[top[0]]
            assert part == owner, f"{path.name}: only {owner}/ may import {top[0]}"


def test_client_programs_import_nothing_of_ours() -> None:
    for relative in CLIENT_PROGRAMS:
        names = _imports(PACKAGE / relative)
        assert not [name for name in names if name.startswith("compat_diff")], relative


def test_every_module_found() -> None:
    assert len(MODULES) > 5
