"""Run one real S3 client through a fixed, deterministic set of operations.

    python clients/run_client.py CLIENT --endpoint URL --bucket NAME [options]

Meant to be recorded: ``compat-diff record --out r.jsonl -- python clients/run_client.py minio
--endpoint http://s3.compat-diff.test:PORT --bucket cdtest-minio``. Each driver uses its client the
way a user would (its own signing, framing and proxy settings) and prints
``expected-requests: N`` when the number of HTTP requests it made is knowable from the client's
API, else ``expected-requests: unknown``. See docs/clients.md.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Settings

# client name -> (driver module, one line on what it exercises)
DRIVERS: dict[str, tuple[str, str]] = {
    "awscli": ("drive_awscli", "aws s3 cp (multipart, >8 MB), aws s3 sync, ranged download"),
    "pyarrow": ("drive_pyarrow", "aws-sdk-cpp through pyarrow.fs.S3FileSystem, multipart streaming"),
    "obstore": ("drive_obstore", "Rust object_store: SigV4, conditional requests, multipart"),
    "s5cmd": ("drive_s5cmd", "Go aws-sdk: s5cmd mb/cp (multipart)/ls/cat/rm/rb"),
    "rclone": ("drive_rclone", "Go aws-sdk-v2: rclone copy to an on-the-fly :s3 remote"),
    "minio": ("drive_minio", "minio Python SDK: SigV4, multipart, copy, bulk delete"),
    "s3cmd": ("drive_s3cmd", "s3cmd with SigV2 (--signature-v2) or SigV4, multipart"),
    "s3fs": ("drive_s3fs", "s3fs over aiobotocore (async botocore on aiohttp)"),
    "presigned": ("drive_presigned", "boto3 presigned GET/PUT URLs (SigV2 and SigV4 query) + urllib"),
    "chunked": ("drive_chunked", "hand-framed aws-chunked upload, one signature per chunk"),
}


def parse_args(argv: list[str]) -> tuple[str, Settings, argparse.Namespace]:
    parser = argparse.ArgumentParser(prog="run_client.py", description=__doc__.splitlines()[0])
    parser.add_argument("client", choices=sorted(DRIVERS))
    parser.add_argument(
        "--endpoint",
        default=os.environ.get("AWS_ENDPOINT_URL"),
        help="the S3 endpoint (default: $AWS_ENDPOINT_URL)",
    )
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    parser.add_argument("--access-key", default=os.environ.get("AWS_ACCESS_KEY_ID", "testing"))
    parser.add_argument("--secret-key", default=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"))
    parser.add_argument("--addressing", choices=("path", "virtual"), default="path")
    parser.add_argument("--workdir", type=Path, default=None, help="scratch files (default: a temp dir)")
    parser.add_argument(
        "--signature",
        choices=("v2", "v4"),
        default="v4",
        help="s3cmd only: SigV2 header auth (--signature-v2) or SigV4",
    )
    parser.add_argument(
        "--ignore-proxy-env",
        action="store_true",
        help="s3cmd only: do not copy HTTP_PROXY into s3cmd's own proxy settings",
    )
    args = parser.parse_args(argv)
    if not args.endpoint:
        parser.error("--endpoint (or AWS_ENDPOINT_URL) is required")
    workdir = args.workdir
    if workdir is None:
        import tempfile

        workdir = Path(tempfile.mkdtemp(prefix=f"run-client-{args.client}-"))
    workdir.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        endpoint=args.endpoint.rstrip("/"),
        bucket=args.bucket,
        region=args.region,
        access_key=args.access_key,
        secret_key=args.secret_key,
        addressing=args.addressing,
        workdir=workdir,
    )
    return args.client, settings, args


def main(argv: list[str] | None = None) -> int:
    client, settings, args = parse_args(sys.argv[1:] if argv is None else argv)
    module = importlib.import_module(DRIVERS[client][0])
    try:
        expected = module.run(settings, args)
    finally:
        # A scratch folder the driver made for itself goes with it; a --workdir given is the caller's.
        if args.workdir is None:
            import shutil

            shutil.rmtree(settings.workdir, ignore_errors=True)
    print(f"expected-requests: {expected if expected is not None else 'unknown'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
