"""CRC32C and CRC64NVME: the library in use agrees with the pure-Python fallback on vectors, and a
library that gets its check vector wrong is not used."""

from __future__ import annotations

import base64
import random

import pytest

from compat_diff.aws import checksums

VECTORS = [b"", b"a", checksums.CHECK_INPUT, b"\x00" * 32, b"\xff" * 33]
VECTORS += [random.Random(seed).randbytes(size) for seed, size in enumerate((7, 64, 1000, 4097, 65536 + 3))]


def test_crc32c_comes_from_a_library() -> None:
    # crc32c is a dependency: without it CRC32C is 0.3 s per MiB again.
    assert checksums.CRC32C_IMPLEMENTATION in ("crc32c", "awscrt")


@pytest.mark.parametrize("data", VECTORS, ids=lambda data: f"{len(data)}-bytes")
def test_library_and_pure_agree(data: bytes) -> None:
    assert checksums.crc32c(data) == checksums.pure_crc32c(data)
    assert checksums.crc64nvme(data) == checksums.pure_crc64nvme(data)


def test_catalogue_check_values() -> None:
    assert checksums.pure_crc32c(b"123456789") == 0xE3069283
    assert checksums.pure_crc64nvme(b"123456789") == 0xAE8B14860A799888
    # RFC 3720 B.4: 32 bytes of zeros.
    assert checksums.crc32c(b"\x00" * 32) == 0x8A9136AA


def test_headers_carry_big_endian_base64() -> None:
    assert checksums.checksum_header("x-amz-checksum-crc32c", b"123456789") == base64.b64encode(
        bytes.fromhex("e3069283")
    ).decode()
    assert checksums.checksum_header("X-Amz-Checksum-CRC64NVME", b"123456789") == base64.b64encode(
        bytes.fromhex("ae8b14860a799888")
    ).decode()
    assert checksums.checksum_header("x-amz-meta-x", b"") is None


def test_a_library_that_fails_its_check_falls_back_to_pure() -> None:
    def wrong(data: bytes) -> int:
        return 0

    def broken(data: bytes) -> int:
        raise OSError("no CPU support")

    name, compute = checksums.choose(
        "crc32c", [("wrong", wrong), ("broken", broken)], checksums.pure_crc32c
    )
    assert (name, compute) == ("pure", checksums.pure_crc32c)
    libraries = [("wrong", wrong), ("good", checksums.pure_crc32c)]
    name, _ = checksums.choose("crc32c", libraries, checksums.pure_crc32c)
    assert name == "good"
