"""Commitments: how an audit event can hold a fact without telling it until the opening.

Before a tender's opening, an event that would name a bidder carries instead
``commitment = hex(SHA-256(salt || RFC 8785 JSON of the fields))`` with a random 32-byte salt;
the salt and the fields are sealed to the tender's key beside it. At the opening, a
``sealed.revealed`` event publishes the salt and the fields, and anyone can check that they are
what was committed to: the fields cannot be changed afterwards, and before the reveal the
commitment tells nothing about them (the salt makes guessing the fields useless).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import rfc8785

SALT_BYTES = 32


def commitment(salt: bytes, fields: Mapping[str, Any]) -> str:
    """The commitment to ``fields`` with ``salt`` (hex)."""
    return hashlib.sha256(salt + rfc8785.dumps(dict(fields))).hexdigest()


def opens(commitment_hex: object, salt_hex: object, fields: object) -> bool:
    """Whether ``salt_hex`` and ``fields`` (as a reveal or a receipt carries them) are what
    ``commitment_hex`` commits to. Malformed input is simply not a match."""
    if not (
        isinstance(commitment_hex, str) and isinstance(salt_hex, str) and isinstance(fields, dict)
    ):
        return False
    try:
        salt = bytes.fromhex(salt_hex)
        return len(salt) == SALT_BYTES and commitment(salt, fields) == commitment_hex
    except (ValueError, TypeError):
        return False
