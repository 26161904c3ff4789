"""pyarrow.fs.S3FileSystem driver: the AWS C++ SDK's signing, and Arrow's multipart streaming writer.

The C++ SDK reads no proxy variables, so the proxy comes from ``proxy_options``; for HTTPS it
trusts the CA named by ``tls_ca_file_path`` (docs/clients.md). Arrow probes with HEAD requests
of its own, so the number of requests is a property of the Arrow version and not printed.
"""

from __future__ import annotations

import argparse
from urllib.parse import urlsplit

from common import MIB, Settings, ca_bundle, check, payload, proxy_url
from pyarrow import fs

LARGE = 12 * MIB  # beyond Arrow's 10 MiB part size (the first part is 5 MiB), so it goes multipart


def _filesystem(settings: Settings) -> fs.S3FileSystem:
    options: dict[str, object] = {
        "access_key": settings.access_key,
        "secret_key": settings.secret_key,
        "region": settings.region,
        "endpoint_override": settings.host_port,
        "scheme": "https" if settings.secure else "http",
        "force_virtual_addressing": settings.addressing == "virtual",
        "allow_bucket_creation": True,
        "allow_bucket_deletion": True,
        # Background writes upload parts concurrently; one at a time keeps the recording's order.
        "background_writes": False,
    }
    proxy = proxy_url(settings.secure)
    if proxy:
        parts = urlsplit(proxy)
        options["proxy_options"] = {
            "scheme": parts.scheme or "http",
            "host": parts.hostname,
            "port": parts.port,
        }
    bundle = ca_bundle()
    if bundle and settings.secure:
        options["tls_ca_file_path"] = bundle
    return fs.S3FileSystem(**options)


def run(settings: Settings, args: argparse.Namespace) -> int | None:
    s3 = _filesystem(settings)
    bucket = settings.bucket
    small = payload(3000, "pyarrow-small")
    large = payload(LARGE, "pyarrow-large")

    s3.create_dir(bucket)
    with s3.open_output_stream(f"{bucket}/small.bin") as stream:
        stream.write(small)
    with s3.open_output_stream(f"{bucket}/large.bin") as stream:
        # Written in 1 MiB pieces, as a streaming producer would, so Arrow decides the part cuts.
        for offset in range(0, LARGE, MIB):
            stream.write(large[offset : offset + MIB])
    info = s3.get_file_info(f"{bucket}/large.bin")
    check(info.size == LARGE, f"pyarrow: large.bin has {info.size} bytes, expected {LARGE}")
    with s3.open_input_stream(f"{bucket}/small.bin") as stream:
        check(stream.read() == small, "pyarrow: small.bin read back differs")
    listed = sorted(item.path for item in s3.get_file_info(fs.FileSelector(bucket, recursive=True)))
    check(listed == [f"{bucket}/large.bin", f"{bucket}/small.bin"], f"pyarrow: listed {listed}")
    s3.delete_file(f"{bucket}/small.bin")
    s3.delete_file(f"{bucket}/large.bin")
    s3.delete_dir(bucket)
    return None
