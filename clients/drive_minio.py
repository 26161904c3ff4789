"""minio Python SDK driver: SigV4 with the payload hash signed over plain HTTP, multipart, copy.

minio-py builds its own urllib3 pool and ignores HTTP_PROXY, so the proxy is handed to it as a
``urllib3.ProxyManager`` (the way a user routes it through a proxy).
"""

from __future__ import annotations

import argparse
import io

import urllib3
from common import MIB, Settings, ca_bundle, check, payload, proxy_url
from minio import Minio
from minio.commonconfig import CopySource
from minio.deleteobjects import DeleteObject


def _http_client(settings: Settings) -> urllib3.PoolManager | None:
    proxy = proxy_url(settings.secure)
    if proxy is None:
        return None
    return urllib3.ProxyManager(proxy, ca_certs=ca_bundle(), retries=False)


def run(settings: Settings, args: argparse.Namespace) -> int:
    client = Minio(
        settings.host_port,
        access_key=settings.access_key,
        secret_key=settings.secret_key,
        secure=settings.secure,
        region=settings.region,  # a known region spares the GetBucketLocation probe
        http_client=_http_client(settings),
    )
    if settings.addressing == "virtual":
        client.enable_virtual_style_endpoint()
    else:
        client.disable_virtual_style_endpoint()
    bucket = settings.bucket
    small = payload(1000, "minio-small")
    large = payload(11 * MIB, "minio-large")
    requests = 0

    client.make_bucket(bucket)
    requests += 1
    client.put_object(bucket, "small.txt", io.BytesIO(small), len(small), content_type="text/plain")
    requests += 1
    # 11 MiB in 5 MiB parts: create + 3 parts + complete; one part at a time keeps the order fixed.
    client.put_object(
        bucket, "large.bin", io.BytesIO(large), len(large), part_size=5 * MIB, num_parallel_uploads=1
    )
    requests += 5
    stat = client.stat_object(bucket, "large.bin")
    requests += 1
    check(stat.size == len(large), f"minio: large.bin has {stat.size} bytes, expected {len(large)}")
    response = client.get_object(bucket, "small.txt")
    requests += 1
    try:
        check(response.read() == small, "minio: small.txt read back differs")
    finally:
        response.close()
        response.release_conn()
    # minio-py stats the source before copying it.
    client.copy_object(bucket, "copy.txt", CopySource(bucket, "small.txt"))
    requests += 2
    names = sorted(item.object_name or "" for item in client.list_objects(bucket))
    requests += 1
    check(names == ["copy.txt", "large.bin", "small.txt"], f"minio: listed {names}")
    errors = list(client.remove_objects(bucket, [DeleteObject(name) for name in names]))
    requests += 1
    check(not errors, f"minio: bulk delete failed: {errors}")
    client.remove_bucket(bucket)
    requests += 1
    return requests
