"""Where the service may send requests: only registered endpoints, and never to loopback,
link-local, private or cloud metadata addresses unless the operator allows it.

A hostname is resolved and every address it resolves to is checked, when an endpoint is
registered and again before each shard is replayed (a name may be re-pointed in between).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from compat_diff.errors import InputError

Resolver = Callable[[str], list[str]]

# Cloud metadata services answer on these addresses whatever the network looks like.
METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


def system_resolver(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as error:
        raise InputError(f"the endpoint host {host!r} does not resolve ({error.strerror}).") from None
    return sorted({str(info[4][0]) for info in infos})


def forbidden_reason(address: str) -> str | None:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA:
        return "a cloud metadata address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_private or ip.is_reserved or ip.is_unspecified or ip.is_multicast:
        return "a private or reserved address"
    return None


def check_url(url: str, allow_private: bool, resolver: Resolver = system_resolver) -> None:
    """Raise :class:`InputError` (one sentence) when ``url`` may not be called."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"the endpoint {url!r} must be an http:// or https:// URL with a host.")
    if parts.username or parts.password:
        raise InputError(f"the endpoint {url!r} must not carry credentials in the URL.")
    if allow_private:
        return
    for address in resolver(parts.hostname):
        reason = forbidden_reason(address)
        if reason is not None:
            raise InputError(
                f"the endpoint {parts.hostname} resolves to {address}, {reason}; the service only calls "
                "public endpoints unless allow_private_endpoints is set in its configuration."
            )


def check_urls(urls: Iterable[str], allow_private: bool, resolver: Resolver = system_resolver) -> None:
    for url in urls:
        check_url(url, allow_private, resolver)
