"""obstore driver: Rust object_store's own SigV4 signer, conditional requests and multipart puts.

object_store cannot create buckets, so the bucket is made and removed with plain boto3 calls; the
object traffic in between is all object_store's. Its HTTP client takes the proxy from
``client_options.proxy_url`` (passed from HTTP_PROXY here) and refuses plain HTTP unless
``allow_http`` is set.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import boto3
import obstore
from botocore.config import Config
from common import MIB, Settings, ca_bundle, check, payload, proxy_url
from obstore.exceptions import AlreadyExistsError, PreconditionError
from obstore.store import S3Store

LARGE = 11 * MIB  # three 5 MiB chunks


def _store(settings: Settings) -> S3Store:
    client_options: dict[str, object] = {"allow_http": not settings.secure}
    proxy = proxy_url(settings.secure)
    if proxy:
        client_options["proxy_url"] = proxy
    bundle = ca_bundle()
    if bundle and settings.secure:
        # object_store takes PEM text (not a path) and adds it to the system roots.
        client_options["root_certificate"] = Path(bundle).read_text()
    endpoint = settings.bucket_url() if settings.addressing == "virtual" else settings.endpoint
    return S3Store(
        settings.bucket,
        endpoint=endpoint,
        access_key_id=settings.access_key,
        secret_access_key=settings.secret_key,
        region=settings.region,
        virtual_hosted_style_request=settings.addressing == "virtual",
        client_options=client_options,  # type: ignore[arg-type]
    )


def _boto3(settings: Settings) -> object:
    return boto3.client(
        "s3",
        endpoint_url=settings.endpoint,
        region_name=settings.region,
        aws_access_key_id=settings.access_key,
        aws_secret_access_key=settings.secret_key,
        config=Config(s3={"addressing_style": settings.addressing}, retries={"max_attempts": 1}),
        verify=ca_bundle() or True,
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    setup = _boto3(settings)
    store = _store(settings)
    first = payload(1500, "obstore-first")
    second = payload(1600, "obstore-second")
    large = payload(LARGE, "obstore-large")
    requests = 0

    setup.create_bucket(Bucket=settings.bucket)  # type: ignore[attr-defined]
    requests += 1
    created = obstore.put(store, "doc.bin", first, mode="create")  # If-None-Match: *
    requests += 1
    try:
        obstore.put(store, "doc.bin", second, mode="create")
        raise SystemExit("run_client: obstore: a create over an existing object succeeded")
    except AlreadyExistsError:
        pass  # the server answered 412 to If-None-Match: *
    requests += 1
    etag = created["e_tag"]
    check(bool(etag), "obstore: the create returned no ETag")
    updated = obstore.put(store, "doc.bin", second, mode={"e_tag": etag})  # If-Match: <etag>
    requests += 1
    try:
        obstore.put(store, "doc.bin", first, mode={"e_tag": etag})  # stale ETag now
        raise SystemExit("run_client: obstore: an update with a stale ETag succeeded")
    except PreconditionError:
        pass
    requests += 1
    current = obstore.get(store, "doc.bin", options={"if_match": updated["e_tag"]})
    requests += 1
    check(bytes(current.bytes()) == second, "obstore: doc.bin read back differs")
    try:
        obstore.get(store, "doc.bin", options={"if_none_match": updated["e_tag"]})
        raise SystemExit("run_client: obstore: If-None-Match with the current ETag returned a body")
    except Exception as error:  # object_store reports 304 as NotModified (a generic error in Python)
        check("not modified" in str(error).lower() or "304" in str(error), f"obstore: unexpected {error!r}")
    requests += 1
    ranged = obstore.get_range(store, "doc.bin", start=100, end=200)
    requests += 1
    check(bytes(ranged) == second[100:200], "obstore: ranged read differs")
    obstore.put(store, "large.bin", large, use_multipart=True, chunk_size=5 * MIB, max_concurrency=1)
    requests += 5  # create, three parts, complete
    meta = obstore.head(store, "large.bin")
    requests += 1
    check(meta["size"] == LARGE, f"obstore: large.bin has {meta['size']} bytes")
    obstore.copy(store, "doc.bin", "copy.bin")
    requests += 1
    listed = sorted(item["path"] for batch in obstore.list(store) for item in batch)
    requests += 1
    check(listed == ["copy.bin", "doc.bin", "large.bin"], f"obstore: listed {listed}")
    for name in listed:
        obstore.delete(store, name)
        requests += 1
    setup.delete_bucket(Bucket=settings.bucket)  # type: ignore[attr-defined]
    requests += 1
    return requests
