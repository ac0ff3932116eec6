"""Sealed event payloads: what an event of an unopened tender may not tell yet.

An event that would name a bidder (a receipt, a supplier's refusal) carries only a commitment
(:mod:`tender.verifier.commitments`) and, beside it, the salt and the fields sealed to the
tender's public key with :func:`tender.storage.sealing.seal`. Only the tender's private key,
released at the opening, unseals them; the opening then publishes them in ``sealed.revealed``
events. Format of the sealed envelope's plaintext: RFC 8785 JSON ``{"fields": ..., "salt":
hex}``; of the payload: ``{"commitment": hex, "sealed": base64(envelope), ...public fields}``.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import rfc8785

from tender.storage.sealing import TenderKey, seal, unseal
from tender.verifier.commitments import SALT_BYTES, commitment


@dataclass(frozen=True)
class SealedPayload:
    """The payload to log, and the salt (kept by whoever must later prove the fields)."""

    payload: dict[str, Any]
    salt: bytes


@dataclass(frozen=True)
class Revealed:
    salt: bytes
    fields: dict[str, Any]


def seal_fields(
    public_key: bytes,
    fields: Mapping[str, Any],
    *,
    public: Mapping[str, Any] | None = None,
    salt: bytes | None = None,
) -> SealedPayload:
    """A payload committing to ``fields`` and sealing them to ``public_key``; ``public`` fields
    are logged as they are."""
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    plaintext = rfc8785.dumps({"fields": dict(fields), "salt": salt.hex()})
    envelope = b"".join(seal([plaintext], public_key))
    payload = {
        **(public or {}),
        "commitment": commitment(salt, fields),
        "sealed": base64.b64encode(envelope).decode("ascii"),
    }
    return SealedPayload(payload, salt)


def is_sealed(payload: Mapping[str, Any]) -> bool:
    return "commitment" in payload and "sealed" in payload


def reveal(payload: Mapping[str, Any], tender_key: TenderKey) -> Revealed:
    """The salt and fields sealed in ``payload``. Raises ``SealError`` or ``ValueError`` if
    they do not open, or do not match the commitment."""
    envelope = base64.b64decode(payload["sealed"])
    opened = json.loads(b"".join(unseal([envelope], tender_key)))
    salt = bytes.fromhex(opened["salt"])
    fields: dict[str, Any] = opened["fields"]
    if commitment(salt, fields) != payload["commitment"]:
        raise ValueError("the sealed fields are not those the event commits to")
    return Revealed(salt, fields)
