"""A user's `pip install` works like the checkout: the wheel built from this project holds every
module and the default rule packs, and a compat-diff installed from it into a fresh virtual
environment loads the same default rules and runs a compare against moto.

The wheel is built without build isolation and installed without an index (the fresh environment
sees this environment's dependencies through a .pth file, never the checkout itself), so the test
needs no network.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from compat_diff.normalize import load_rules
from compat_diff.normalize.rules import default_pack_dir
from compat_diff.testing import moto_server

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    return subprocess.run(
        args, capture_output=True, text=True, cwd=cwd, env=env, timeout=600, stdin=subprocess.DEVNULL
    )


def _build_wheel(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "compat_diff", source / "compat_diff", ignore=ignore)
    shutil.copytree(ROOT / "normalizers", source / "normalizers", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    built = _run(
        sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
        "-w", str(tmp_path / "dist"), cwd=tmp_path,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("compat_diff-*.whl")
    return wheel


def _fresh_venv(tmp_path: Path) -> Path:
    venv = tmp_path / "venv"
    made = _run(sys.executable, "-m", "venv", "--without-pip", str(venv), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    site = _run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path)
    # This environment's dependencies (and pip), but not the checkout: a path in a .pth file is
    # added as it is, and the .pth files inside it (an editable install's) are not processed.
    ours = [entry for entry in sys.path if entry.endswith("site-packages")]
    Path(site.stdout.strip(), "zz-dependencies.pth").write_text("\n".join(ours) + "\n")
    return python


def test_the_wheel_ships_the_rule_packs_and_a_fresh_install_compares(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    modules = {str(path.relative_to(ROOT)) for path in (ROOT / "compat_diff").rglob("*.py")}
    assert modules <= names, f"modules missing from the wheel: {sorted(modules - names)}"
    packs = {f"compat_diff/normalizers/{path.name}" for path in (ROOT / "normalizers").glob("*.yaml")}
    assert packs and packs <= names, sorted(packs - names)

    python = _fresh_venv(tmp_path)
    installed = _run(
        str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--no-build-isolation", str(wheel),
        cwd=tmp_path,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr

    probe = (
        "import json, compat_diff\n"
        "from compat_diff.normalize import load_rules\n"
        "from compat_diff.normalize.rules import default_pack_dir\n"
        "print(json.dumps([compat_diff.__file__, str(default_pack_dir()),"
        " sorted(rule.id for rule in load_rules([]).rules)]))\n"
    )
    seen = _run(str(python), "-c", probe, cwd=tmp_path)
    assert seen.returncode == 0, seen.stderr
    module_file, pack_dir, rule_ids = json.loads(seen.stdout)
    venv = tmp_path / "venv"
    assert Path(module_file).is_relative_to(venv) and Path(pack_dir).is_relative_to(venv)
    assert default_pack_dir() == ROOT / "normalizers"  # the checkout reads its own folder
    assert rule_ids == sorted(rule.id for rule in load_rules([]).rules)

    with moto_server() as candidate:
        report = tmp_path / "report"
        compared = _run(
            str(python), "-m", "compat_diff", "compare", str(ROOT / "recordings" / "s3.jsonl"),
            "--target", f"moto={candidate.url}", "--report-dir", str(report), cwd=tmp_path,
        )  # fmt: skip
    assert compared.returncode in (0, 1), compared.stderr
    rules = json.loads((report / "report.json").read_text())["rules"]
    assert {Path(path).name for path in rules["files"]} == {Path(pack).name for pack in packs}
    # Printed relative to the working directory when under it.
    assert all((tmp_path / path).resolve().is_relative_to(venv) for path in rules["files"]), rules["files"]
    assert rules["fired"], "the default rules loaded but none applied"
