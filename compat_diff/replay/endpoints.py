"""Endpoint URLs as the HTTP client will use them: one parser, one canonical form, one AWS check.

A URL that reaches the replay (``--target``, a targets file, a per-service endpoint, the AWS
CLI's configuration) is parsed here by yarl, the URL library aiohttp sends with, so the host we
judge is the host that is resolved: IDNA/UTS-46 mapped (the full-width and ideographic dots
U+FF0E, U+3002 and U+FF61 become ``.``), lower case, trailing dots ignored for the AWS check.
Callers keep the canonical URL this module returns, so nothing later sees the written form.
"""

from __future__ import annotations

import ipaddress
import re

import yarl

from compat_diff.errors import TargetError

AWS_HOST_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws")
# A DNS name as resolvers accept it after IDNA mapping (underscores appear in local set-ups).
_HOSTNAME = re.compile(
    r"^(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.*$"
)


def is_aws_host(host: str) -> bool:
    """True when ``host`` (already canonical, see :func:`canonical_endpoint`) is an AWS endpoint."""
    host = host.lower().rstrip(".")
    return any(host.endswith(suffix) or host == suffix[1:] for suffix in AWS_HOST_SUFFIXES)


def canonical_endpoint(url: str, where: str) -> str:
    """The endpoint ``url`` exactly as aiohttp will address it, without a trailing slash.

    Raises :class:`TargetError` (one sentence naming ``where``) for anything that is not a plain
    http(s) URL with a host: credentials in the URL, a query or fragment, a bad port, an IPv6
    address without brackets, a host no resolver would accept.
    """
    text = url.strip()
    scheme, sep, rest = text.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        raise TargetError(f"{where} must be an http:// or https:// URL with a host, not {url!r}")
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" in authority:
        # Never parsed further nor echoed: the part before @ is a password as often as not.
        raise TargetError(
            f"{where} must not carry credentials in the URL (user:password@); give them as "
            "access_key/secret_key_env in a targets file or through the AWS credential chain"
        )
    if not authority.startswith("[") and authority.count(":") > 1:
        raise TargetError(
            f"{where} has an IPv6 address without brackets: write it as http://[ADDRESS]:PORT, not {url!r}"
        )
    try:
        parsed = yarl.URL(text)
        port = parsed.port
    except (ValueError, UnicodeError) as error:
        raise TargetError(f"{where} is not a valid URL ({_reason(error)}): {url!r}") from None
    host = (parsed.raw_host or "").lower()
    if not host:
        raise TargetError(f"{where} must be an http:// or https:// URL with a host, not {url!r}")
    if parsed.raw_query_string or parsed.raw_fragment or text.endswith(("?", "#")):
        raise TargetError(f"{where} must not carry a query or fragment: {url!r}")
    if port is None or not 0 < port < 65536:
        raise TargetError(f"{where} has an invalid port: {url!r}")
    if not (_is_ip(host) or _HOSTNAME.match(host)):
        raise TargetError(f"{where} names the host {host!r}, which is not a valid host name: {url!r}")
    netloc = f"[{host}]" if ":" in host else host
    if parsed.explicit_port is not None:
        netloc = f"{netloc}:{parsed.explicit_port}"
    return f"{parsed.scheme.lower()}://{netloc}{parsed.raw_path}".rstrip("/")


def endpoint_host(url: str) -> str:
    """The host of a canonical endpoint (as :func:`canonical_endpoint` returned it)."""
    return (yarl.URL(url).raw_host or "").lower()


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _reason(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text.removeprefix("Invalid URL: ")
