"""s3fs driver: fsspec's S3 filesystem on aiobotocore (botocore's signer, aiohttp's transport).

aiobotocore takes proxies from the environment like botocore does, and the CA from
AWS_CA_BUNDLE. s3fs adds HEAD and listing probes of its own, so the request count is not printed.
"""

from __future__ import annotations

import argparse
import os

import s3fs
from common import MIB, Settings, ca_bundle, check, payload

LARGE = 11 * MIB  # written through a 5 MiB block size: a multipart upload of three parts


def run(settings: Settings, args: argparse.Namespace) -> None:
    client_kwargs: dict[str, object] = {}
    if settings.region == "us-east-1":
        # s3fs sends a client region_name as CreateBucket's LocationConstraint, which S3 refuses
        # for us-east-1; botocore takes that region from the environment instead.
        os.environ["AWS_DEFAULT_REGION"] = settings.region
    else:
        client_kwargs["region_name"] = settings.region
    bundle = ca_bundle()
    if bundle and settings.secure:
        client_kwargs["verify"] = bundle
    filesystem = s3fs.S3FileSystem(
        key=settings.access_key,
        secret=settings.secret_key,
        endpoint_url=settings.endpoint,
        client_kwargs=client_kwargs,
        config_kwargs={"s3": {"addressing_style": settings.addressing}, "retries": {"max_attempts": 1}},
        use_listings_cache=False,
    )
    bucket = settings.bucket
    small = payload(1800, "s3fs-small")
    large = payload(LARGE, "s3fs-large")

    filesystem.mkdir(bucket)
    filesystem.pipe(f"{bucket}/small.bin", small)
    with filesystem.open(f"{bucket}/large.bin", "wb", block_size=5 * MIB) as handle:
        for offset in range(0, LARGE, MIB):
            handle.write(large[offset : offset + MIB])
    check(filesystem.info(f"{bucket}/large.bin")["size"] == LARGE, "s3fs: large.bin has the wrong size")
    check(filesystem.cat(f"{bucket}/small.bin") == small, "s3fs: small.bin read back differs")
    listed = sorted(filesystem.ls(bucket, detail=False))
    check(listed == [f"{bucket}/large.bin", f"{bucket}/small.bin"], f"s3fs: listed {listed}")
    filesystem.rm(f"{bucket}/small.bin")
    filesystem.rm(f"{bucket}/large.bin")
    filesystem.rmdir(bucket)
    return None
