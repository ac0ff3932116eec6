"""RFC 3161 time-stamps on checkpoints: about this note, signed intact, by a trusted authority.

Trust is judged against anchors the auditor brings (a bundle's ``certificates/trust``, or a
folder given to ``tender receipt verify --tsa-trust``), with the platform's own policy
(:class:`~tender.signing.TrustStore`: offline, revocation checked if declared, softly).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
from datetime import datetime

from asn1crypto import cms
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data

from tender.signing import TrustStore


def check_timestamp(token_b64: str, note: str, trust: TrustStore | None) -> tuple[bool, str]:
    """Whether the base64 RFC 3161 ``token_b64`` time-stamps the signed ``note`` (its message
    imprint is the note's SHA-256), is signed intact, and chains to ``trust``; and a sentence
    saying so, or what is wrong. With no ``trust`` the token cannot be judged as trusted."""
    data = note.encode()
    try:
        signed = cms.ContentInfo.load(base64.b64decode(token_b64))["content"]
        info = signed["encap_content_info"]["content"].parsed
        imprint = info["message_imprint"]["hashed_message"].native
        when: datetime = info["gen_time"].native
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return False, f"unreadable time-stamp token: {exc}"
    if imprint != hashlib.sha256(data).digest():
        return False, (
            f"the token's message imprint {imprint.hex()} is not the SHA-256 of the signed "
            "note: it time-stamps something else"
        )
    if trust is None:
        return False, (
            "no trust anchors for the time-stamping authority were given, so who time-stamped "
            "it cannot be judged"
        )
    try:
        status = asyncio.run(
            validate_tst_signed_data(
                signed, trust.validation_context(when), functools.partial(_digest, data=data)
            )
        )
    except SignatureValidationError as exc:
        return False, str(exc)
    authority = status["signing_cert"].subject.human_friendly
    if not (status["intact"] and status["valid"]):
        return False, f"the signature of {authority} over the token does not verify"
    if status["trust_problem_indic"] is not None:
        return False, (
            f"signed by {authority}, which does not chain to a trusted anchor "
            f"({status['trust_problem_indic']})"
        )
    return True, f"time-stamped at {when.isoformat()} by {authority}"


def _digest(algorithm: str, *, data: bytes) -> bytes:
    return hashlib.new(algorithm, data).digest()
