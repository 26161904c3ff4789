"""Streaming SigV4 driver: aws-chunked uploads with one signature per chunk, sent by http.client.

This is the framing of the Java SDK v1 and minio-go (neither installable here), rebuilt from the
published algorithm in aws_chunked.py. Requests go through HTTP_PROXY when set, exactly as framed.
"""

from __future__ import annotations

import argparse

from aws_chunked import EMPTY_SHA256, Credentials, send, sign, streaming_put
from common import Settings, ca_bundle, check, payload, proxy_url

SIZE = 200 * 1024 + 123  # three full 64 KiB chunks, a partial one and the closing empty chunk


def run(settings: Settings, args: argparse.Namespace) -> int:
    creds = Credentials(settings.access_key, settings.secret_key, settings.region)
    proxy = proxy_url(settings.secure)
    bundle = ca_bundle()
    base = settings.bucket_url()
    data = payload(SIZE, "chunked-object")
    requests = 0

    def signed(method: str, url: str) -> tuple[int, bytes]:
        status, _, body = send(
            method, url, sign(creds, method, url, {}, EMPTY_SHA256).headers, b"", proxy, bundle
        )
        return status, body

    status, body = signed("PUT", base)
    requests += 1
    check(status == 200, f"chunked: CreateBucket answered {status}: {body[:200]!r}")
    headers, framed = streaming_put(creds, f"{base}/streamed.bin", data)
    status, _, body = send("PUT", f"{base}/streamed.bin", headers, framed, proxy, bundle)
    requests += 1
    check(status == 200, f"chunked: streaming PutObject answered {status}: {body[:300]!r}")
    status, body = signed("GET", f"{base}/streamed.bin")
    requests += 1
    check(status == 200 and body == data, f"chunked: GetObject answered {status} with {len(body)} bytes")
    status, _ = signed("DELETE", f"{base}/streamed.bin")
    requests += 1
    check(status == 204, f"chunked: DeleteObject answered {status}")
    status, _ = signed("DELETE", base)
    requests += 1
    check(status == 204, f"chunked: DeleteBucket answered {status}")
    return requests
