"""Signed attestations: a DSSE envelope around an in-toto Statement v1, signed with Ed25519.

Keys rotate (old public keys stay published so old attestations still verify); each endpoint's
attestations form a hash chain through ``predicate.previous``. Verification needs no service:
the envelope, the public keys and the results bundle are enough.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://compat-diff.dev/attestation/run/v1"
KEYS_PATH = "/.well-known/compat-diff/keys.json"


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what is actually signed."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode(), validate=True)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def envelope_digest(envelope: Mapping[str, Any]) -> str:
    """The digest the next attestation of the same endpoint names as its ``previous``."""
    body = json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + sha256(body)


@dataclass(frozen=True)
class SigningKey:
    keyid: str
    private: Ed25519PrivateKey

    @staticmethod
    def generate() -> SigningKey:
        private = Ed25519PrivateKey.generate()
        return SigningKey(keyid=keyid_of(private.public_key()), private=private)

    def private_bytes(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )

    @staticmethod
    def from_private_bytes(raw: bytes) -> SigningKey:
        private = Ed25519PrivateKey.from_private_bytes(raw)
        return SigningKey(keyid=keyid_of(private.public_key()), private=private)

    def public_b64(self) -> str:
        return b64(public_raw(self.private.public_key()))


def public_raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def keyid_of(public: Ed25519PublicKey) -> str:
    return "ed25519:" + sha256(public_raw(public))[:32]


def sign_statement(statement: Mapping[str, Any], key: SigningKey) -> dict[str, Any]:
    payload = json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()
    signature = key.private.sign(pae(PAYLOAD_TYPE, payload))
    return {
        "payloadType": PAYLOAD_TYPE,
        "payload": b64(payload),
        "signatures": [{"keyid": key.keyid, "sig": b64(signature)}],
    }


def make_statement(
    *,
    bundle: bytes,
    endpoint_description: Mapping[str, Any],
    predicate: Mapping[str, Any],
) -> dict[str, Any]:
    return {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"name": "results-bundle.json", "digest": {"sha256": sha256(bundle)}},
            {"name": "endpoint.json", "digest": {"sha256": sha256(canonical_json(endpoint_description))}},
        ],
        "predicateType": PREDICATE_TYPE,
        "predicate": dict(predicate),
    }


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class VerificationFailed(Exception):
    """One sentence saying what does not hold."""


def load_public_keys(document: Mapping[str, Any]) -> dict[str, Ed25519PublicKey]:
    """Public keys from the well-known keys document (``{"keys": [{"keyid", "public"}]}``)."""
    keys: dict[str, Ed25519PublicKey] = {}
    for entry in document.get("keys") or ():
        try:
            public = Ed25519PublicKey.from_public_bytes(unb64(str(entry["public"])))
        except (KeyError, ValueError, TypeError):
            raise VerificationFailed(
                "the keys document holds a key that is not an Ed25519 public key"
            ) from None
        if keyid_of(public) != entry.get("keyid"):
            raise VerificationFailed(f"the key {entry.get('keyid')} does not match its key id")
        keys[str(entry["keyid"])] = public
    return keys


def verify_envelope(
    envelope: Mapping[str, Any],
    keys: Mapping[str, Ed25519PublicKey],
    *,
    bundle: bytes | None = None,
    previous: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Check the signature, the payload, the expiry, the bundle's digest and (given the previous
    attestation of the same endpoint) the chain; return the statement or raise VerificationFailed."""
    try:
        payload = unb64(str(envelope["payload"]))
        payload_type = str(envelope["payloadType"])
        signatures = list(envelope["signatures"])
    except (KeyError, TypeError, ValueError):
        raise VerificationFailed(
            "the file is not a DSSE envelope (payloadType, payload, signatures)"
        ) from None
    if payload_type != PAYLOAD_TYPE:
        raise VerificationFailed(f"the envelope's payload type is {payload_type!r}, not {PAYLOAD_TYPE!r}")
    verified = False
    for signature in signatures:
        public = keys.get(str(signature.get("keyid")))
        if public is None:
            continue
        try:
            public.verify(unb64(str(signature.get("sig"))), pae(payload_type, payload))
            verified = True
            break
        except (InvalidSignature, ValueError):
            raise VerificationFailed(
                f"the signature by {signature.get('keyid')} does not match the payload: it was altered"
            ) from None
    if not verified:
        named = ", ".join(str(s.get("keyid")) for s in signatures) or "none"
        raise VerificationFailed(f"no signature is by a known key (signed by {named})")
    try:
        statement = json.loads(payload)
    except ValueError:
        raise VerificationFailed("the signed payload is not JSON") from None
    if statement.get("_type") != STATEMENT_TYPE or statement.get("predicateType") != PREDICATE_TYPE:
        raise VerificationFailed("the signed payload is not a compat-diff in-toto statement")
    predicate = statement.get("predicate") or {}
    valid_until = predicate.get("validUntil")
    now = now or datetime.now(UTC)
    if not valid_until or datetime.fromisoformat(str(valid_until)) < now:
        raise VerificationFailed(f"the attestation expired at {valid_until}")
    if bundle is not None:
        wanted = next(
            (
                s["digest"]["sha256"]
                for s in statement.get("subject", [])
                if s.get("name") == "results-bundle.json"
            ),
            None,
        )
        if wanted != sha256(bundle):
            raise VerificationFailed("the results bundle does not match the digest the attestation signs")
    if previous is not None:
        expected = predicate.get("previous")
        if expected != envelope_digest(previous):
            raise VerificationFailed(
                "the chain is broken: the previous attestation given is not the one this one names"
            )
    return dict(statement)
