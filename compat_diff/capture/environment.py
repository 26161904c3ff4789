"""The environment a recorded command runs in: proxy variables, CA bundles, NO_PROXY.

Decision on ``SSL_CERT_FILE``: it replaces OpenSSL's whole trust store, so pointing it at the
proxy's CA alone would break any TLS connection the command makes around the proxy. We point it
(and ``AWS_CA_BUNDLE`` / ``REQUESTS_CA_BUNDLE``, which also replace the store) at a combined
bundle: the system's roots plus the proxy CA. ``NODE_EXTRA_CA_CERTS`` adds to Node's store, so it
gets the proxy CA alone.
"""

from __future__ import annotations

import os
import shlex
import ssl
from collections.abc import Mapping
from pathlib import Path

BUNDLE_NAME = "compat-diff-ca-bundle.pem"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")
REPLACING_CA_VARIABLES = ("AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")
_LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0", ".localhost", "localhost.localdomain"}


def system_ca_file() -> Path | None:
    """The trust store OpenSSL (and so Python, curl, ...) uses by default, if it is a file."""
    paths = ssl.get_default_verify_paths()
    for candidate in (os.environ.get("SSL_CERT_FILE"), paths.cafile, paths.openssl_cafile):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    try:
        import certifi  # botocore's and requests' own fallback

        return Path(certifi.where())
    except ImportError:
        return None


def write_ca_bundle(ca_cert: Path) -> Path:
    """Write the system roots plus the proxy CA beside the CA; returns the bundle's path."""
    bundle = ca_cert.with_name(BUNDLE_NAME)
    roots = system_ca_file()
    parts = []
    if roots is not None and roots.resolve() != bundle.resolve():
        parts.append(roots.read_bytes().rstrip(b"\n") + b"\n")
    parts.append(ca_cert.read_bytes())
    partial = bundle.with_suffix(".partial")
    partial.write_bytes(b"".join(parts))
    os.replace(partial, bundle)
    return bundle


def without_loopback(no_proxy: str) -> str:
    """NO_PROXY minus loopback entries, so calls to local endpoints go through the proxy too."""
    kept = []
    for entry in no_proxy.split(","):
        host = entry.strip()
        if not host or host.lower() in _LOOPBACK or host.startswith("127."):
            continue
        kept.append(host)
    return ",".join(kept)


def proxy_variables(
    proxy_url: str, ca_cert: Path, bundle: Path, environ: Mapping[str, str]
) -> dict[str, str]:
    """The variables to set for a client to send its calls through the proxy and trust its CA."""
    variables = {name: proxy_url for name in PROXY_VARIABLES}
    variables.update({name: str(bundle) for name in REPLACING_CA_VARIABLES})
    variables["NODE_EXTRA_CA_CERTS"] = str(ca_cert)
    for name in ("NO_PROXY", "no_proxy"):
        if name in environ:
            variables[name] = without_loopback(environ[name])
    return variables


def command_environment(variables: Mapping[str, str], environ: Mapping[str, str]) -> dict[str, str]:
    env = dict(environ)
    env.update(variables)
    return env


def export_lines(variables: Mapping[str, str]) -> list[str]:
    return [f"export {name}={shlex.quote(value)}" for name, value in variables.items()]
