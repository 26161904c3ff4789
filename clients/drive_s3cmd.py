"""s3cmd driver: SigV2 header auth (``--signature-v2``) or SigV4, with a multipart upload.

s3cmd ignores HTTP_PROXY; a proxy reaches it only through ``proxy_host``/``proxy_port`` in its
config file. This driver copies HTTP_PROXY there (the usual way to record s3cmd) unless
``--ignore-proxy-env`` is given, which shows what happens when nobody does: nothing is recorded.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from common import MIB, Settings, ca_bundle, check, payload, proxy_url, write_file

LARGE = 11 * MIB  # three parts with --multipart-chunk-size-mb=5


def _binary() -> list[str]:
    found = shutil.which("s3cmd") or str(Path(sys.executable).with_name("s3cmd"))
    check(Path(found).exists(), "s3cmd: the s3cmd script is missing (pip install s3cmd)")
    return [sys.executable, found]


def _config(settings: Settings, args: argparse.Namespace) -> Path:
    host = settings.host_port
    lines = [
        "[default]",
        f"access_key = {settings.access_key}",
        f"secret_key = {settings.secret_key}",
        f"host_base = {host}",
        # A host_bucket without %(bucket)s makes s3cmd use path-style requests.
        f"host_bucket = {'%(bucket)s.' + host if settings.addressing == 'virtual' else host}",
        f"bucket_location = {settings.region}",
        f"use_https = {'True' if settings.secure else 'False'}",
        f"signature_v2 = {'True' if args.signature == 'v2' else 'False'}",
        "check_ssl_certificate = True",
        "multipart_chunk_size_mb = 5",
        "progress_meter = False",
        "guess_mime_type = False",
        "preserve_attrs = False",
    ]
    bundle = ca_bundle()
    if bundle and settings.secure:
        lines.append(f"ca_certs_file = {bundle}")
    proxy = None if args.ignore_proxy_env else proxy_url(settings.secure)
    if proxy:
        parts = urlsplit(proxy)
        lines += [f"proxy_host = {parts.hostname}", f"proxy_port = {parts.port}"]
    path = settings.workdir / "s3cmd.cfg"
    path.write_text("\n".join(lines) + "\n")
    return path


def _s3cmd(config: Path, *argv: str) -> bytes:
    command = [*_binary(), "--config", str(config), "--no-check-md5", *argv]
    result = subprocess.run(command, capture_output=True, check=False)
    stderr = result.stderr.decode(errors="replace").strip()
    check(result.returncode == 0, f"s3cmd: {' '.join(argv)} failed ({result.returncode}): {stderr}")
    return result.stdout


def run(settings: Settings, args: argparse.Namespace) -> int:
    config = _config(settings, args)
    bucket = f"s3://{settings.bucket}"
    small = write_file(settings.workdir / "small.txt", 900, "s3cmd-small")
    large = write_file(settings.workdir / "large.bin", LARGE, "s3cmd-large")
    requests = 0

    _s3cmd(config, "mb", bucket)
    requests += 1
    _s3cmd(config, "put", str(small), f"{bucket}/small.txt")
    requests += 1
    _s3cmd(config, "put", str(large), f"{bucket}/large.bin")
    requests += 5  # initiate, three parts, complete
    listing = _s3cmd(config, "ls", f"{bucket}/")
    requests += 1
    check(listing.count(b"\n") == 2, f"s3cmd: unexpected listing {listing!r}")
    downloaded = settings.workdir / "downloaded.txt"
    _s3cmd(config, "get", "--force", f"{bucket}/small.txt", str(downloaded))
    requests += 2  # HeadObject, then GetObject
    check(downloaded.read_bytes() == payload(900, "s3cmd-small"), "s3cmd: downloaded file differs")
    _s3cmd(config, "del", f"{bucket}/small.txt", f"{bucket}/large.bin")
    requests += 2
    _s3cmd(config, "rb", bucket)
    requests += 1
    return requests
