"""AWS CLI (v1) driver: ``aws s3`` high-level commands, including a multipart upload and a sync.

The CLI runs as its own process, reading credentials from the environment and settings from a
throwaway config file, exactly as a user's shell would. One request at a time keeps the order
of the recorded parts fixed from run to run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from common import MIB, Settings, check, payload, write_file

LARGE = 9 * MIB  # above the CLI's 8 MB multipart threshold: 8 MiB + 1 MiB parts
SYNC_FILES = {"a.txt": 100, "b.txt": 2000, "nested/c.txt": 30000}


def _aws(settings: Settings, env: dict[str, str], *argv: str) -> str:
    command = [sys.executable, "-m", "awscli", "--endpoint-url", settings.endpoint, *argv]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    check(
        result.returncode == 0,
        f"awscli: {' '.join(argv)} failed ({result.returncode}): {result.stderr.strip()}",
    )
    return result.stdout


def run(settings: Settings, args: argparse.Namespace) -> int:
    config = settings.workdir / "aws-config"
    config.write_text(
        "[default]\n"
        f"region = {settings.region}\n"
        "s3 =\n"
        f"    addressing_style = {settings.addressing}\n"
        "    max_concurrent_requests = 1\n"
        "    multipart_threshold = 8MB\n"
        "    multipart_chunksize = 8MB\n"
    )
    env = {
        **os.environ,
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(settings.workdir / "no-credentials"),
        "AWS_ACCESS_KEY_ID": settings.access_key,
        "AWS_SECRET_ACCESS_KEY": settings.secret_key,
        "AWS_DEFAULT_REGION": settings.region,
        "AWS_PAGER": "",
    }
    env.pop("AWS_PROFILE", None)
    bucket = f"s3://{settings.bucket}"
    large = write_file(settings.workdir / "large.bin", LARGE, "awscli-large")
    sync_dir = settings.workdir / "sync"
    for name, size in SYNC_FILES.items():
        write_file(sync_dir / name, size, f"awscli-{name}")
    requests = 0

    _aws(settings, env, "s3", "mb", bucket)
    requests += 1
    _aws(settings, env, "s3", "cp", str(large), f"{bucket}/large.bin")
    requests += 4  # CreateMultipartUpload, two UploadPart, CompleteMultipartUpload
    _aws(settings, env, "s3", "sync", str(sync_dir), f"{bucket}/sync/")
    requests += 1 + len(SYNC_FILES)  # one listing of the destination, one PutObject per file
    downloaded = settings.workdir / "downloaded.bin"
    _aws(settings, env, "s3", "cp", f"{bucket}/large.bin", str(downloaded))
    requests += 3  # HeadObject, then two ranged GetObject of 8 MiB each at most
    check(downloaded.read_bytes() == payload(LARGE, "awscli-large"), "awscli: downloaded file differs")
    listing = _aws(settings, env, "s3", "ls", f"{bucket}/", "--recursive")
    requests += 1
    check(listing.count("\n") == 1 + len(SYNC_FILES), f"awscli: unexpected listing {listing!r}")
    _aws(settings, env, "s3", "rm", bucket, "--recursive")
    requests += 1 + 1 + len(SYNC_FILES)  # one listing, one DeleteObject per key
    _aws(settings, env, "s3", "rb", bucket)
    requests += 1
    return requests
