"""Compact JWS with EdDSA (RFC 7515 + RFC 8037): how the platform signs receipts.

Small and our own because it is part of what auditors and suppliers check offline: the
protected header is ``{"alg":"EdDSA","kid":<key id>}``, the payload is carried in the token
(base64url, no padding), and the signature is Ed25519 over ``header.payload`` in ASCII.
"""

from __future__ import annotations

import base64
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tender.verifier.notes import Ed25519Key


class JWSError(ValueError):
    """A token that is malformed, uses another algorithm, or whose signature does not verify."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise JWSError(f"not base64url: {text[:20]!r}") from exc


def sign(payload: bytes, key: Ed25519Key, *, kid: str | None = None) -> str:
    """The compact serialisation ``header.payload.signature`` of ``payload``, signed with
    ``key`` (in memory, or in a token)."""
    header: dict[str, str] = {"alg": "EdDSA"}
    if kid is not None:
        header["kid"] = kid
    signing_input = (
        b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + b64url(payload)
    )
    return signing_input + "." + b64url(key.sign(signing_input.encode("ascii")))


def verify(token: str, key: Ed25519PublicKey) -> bytes:
    """The payload of ``token`` if its EdDSA signature verifies with ``key``; else JWSError."""
    parts = token.split(".")
    if len(parts) != 3:
        raise JWSError(f"a compact JWS has 3 parts separated by '.', this one has {len(parts)}")
    header_b64, payload_b64, signature_b64 = parts
    try:
        header = json.loads(b64url_decode(header_b64))
    except ValueError as exc:
        raise JWSError("the protected header is not JSON") from exc
    if not isinstance(header, dict) or header.get("alg") != "EdDSA":
        raise JWSError(f"the token's algorithm is not EdDSA: header {header!r}")
    try:
        key.verify(b64url_decode(signature_b64), f"{header_b64}.{payload_b64}".encode("ascii"))
    except InvalidSignature as exc:
        raise JWSError("the signature does not verify with the platform's key") from exc
    return b64url_decode(payload_b64)
