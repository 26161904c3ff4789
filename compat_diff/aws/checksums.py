"""The flexible checksums S3 uses (``x-amz-checksum-*``, ``Content-MD5``), computed over a body's bytes.

CRC32C comes from the ``crc32c`` package (hardware-accelerated, a dependency); CRC64NVME from
awscrt (the AWS common runtime, which botocore's CRT extra installs) when it is importable. We do
not depend on awscrt ourselves: installing it switches botocore to its CRT signers in every client
of the same environment. The pure-Python table versions below are the fallback, and a library is
only used after it agrees with them on check vectors at import, so a broken build falls back
instead of sending wrong checksums.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable
from typing import Any

# The CRC catalogue's check value: each algorithm over b"123456789".
CHECK_INPUT = b"123456789"
CHECK_VALUES = {"crc32c": 0xE3069283, "crc64nvme": 0xAE8B14860A799888}


def _table(poly: int) -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC32C_TABLE = _table(0x82F63B78)
_CRC64NVME_TABLE = _table(0x9A6C9329AC4BC9B5)


def _reflected(data: bytes, table: tuple[int, ...], mask: int) -> int:
    crc = mask
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ mask


def pure_crc32c(data: bytes) -> int:
    return _reflected(data, _CRC32C_TABLE, 0xFFFFFFFF)


def pure_crc64nvme(data: bytes) -> int:
    return _reflected(data, _CRC64NVME_TABLE, 0xFFFFFFFFFFFFFFFF)


# Checked at import: the catalogue's check value, and agreement with the pure version on a longer input.
_LONG_VECTOR = bytes(range(256)) * 5 + b"tail"


def _crc32c_libraries() -> list[tuple[str, Callable[[bytes], int]]]:
    found: list[tuple[str, Callable[[bytes], int]]] = []
    try:
        import crc32c as crc32c_package

        found.append(("crc32c", lambda data: int(crc32c_package.crc32c(data))))
    except ImportError:
        pass
    crt = _awscrt()
    if crt is not None:
        found.append(("awscrt", lambda data: int(crt.crc32c(data))))
    return found


def _crc64nvme_libraries() -> list[tuple[str, Callable[[bytes], int]]]:
    crt = _awscrt()
    if crt is None or not hasattr(crt, "crc64nvme"):
        return []
    return [("awscrt", lambda data: int(crt.crc64nvme(data)))]


def _awscrt() -> Any:
    try:
        from awscrt import checksums  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    return checksums


def choose(
    algorithm: str, libraries: list[tuple[str, Callable[[bytes], int]]], pure: Callable[[bytes], int]
) -> tuple[str, Callable[[bytes], int]]:
    """The first library that gives the check value and agrees with ``pure``; else ``pure``."""
    expected = pure(_LONG_VECTOR)
    for name, compute in libraries:
        try:
            if compute(CHECK_INPUT) == CHECK_VALUES[algorithm] and compute(_LONG_VECTOR) == expected:
                return name, compute
        except Exception:  # a library that fails its check is not used, whatever the failure
            continue
    return "pure", pure


CRC32C_IMPLEMENTATION, crc32c = choose("crc32c", _crc32c_libraries(), pure_crc32c)
CRC64NVME_IMPLEMENTATION, crc64nvme = choose("crc64nvme", _crc64nvme_libraries(), pure_crc64nvme)


def crc32(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


# Header name -> the digest bytes a header carries (base64-encoded on the wire).
CHECKSUMS: dict[str, Callable[[bytes], bytes]] = {
    "content-md5": lambda data: hashlib.md5(data).digest(),
    "x-amz-checksum-crc32": lambda data: crc32(data).to_bytes(4, "big"),
    "x-amz-checksum-crc32c": lambda data: crc32c(data).to_bytes(4, "big"),
    "x-amz-checksum-crc64nvme": lambda data: crc64nvme(data).to_bytes(8, "big"),
    "x-amz-checksum-sha1": lambda data: hashlib.sha1(data).digest(),
    "x-amz-checksum-sha256": lambda data: hashlib.sha256(data).digest(),
}


def checksum_header(name: str, data: bytes) -> str | None:
    """The value of checksum header ``name`` for ``data``, or None when ``name`` is no checksum we know."""
    compute = CHECKSUMS.get(name.lower())
    return base64.b64encode(compute(data)).decode("ascii") if compute else None
