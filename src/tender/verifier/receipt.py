"""Offline verification of a signed receipt (``tender receipt verify``).

A signed receipt is a compact JWS (EdDSA, see :mod:`.jws`) made with the platform's signing
key. Its payload is the RFC 8785 JSON of the receipt (format ``tender-receipt/1``,
:class:`~.formats.ReceiptPayload`): every field of the receipt, the ``bid.received`` audit
event it records, a C2SP signed checkpoint, and the RFC 9162 inclusion proof of that event's
leaf in the checkpoint's tree. With only the receipt and the platform's public key (``tender
audit public-key``), anyone can check that the bid was in the log, received before the
deadline, with this hash.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from asn1crypto import cms

from tender.verifier import jws, merkle
from tender.verifier.chain import canonical_bytes
from tender.verifier.checks import Check, collector
from tender.verifier.kinds import EventKind
from tender.verifier.notes import CheckpointError, NoteVerifier, verify_checkpoint

RECEIPT_FORMAT = "tender-receipt/1"


def verify_receipt(signed_receipt: str, verifier_key: str) -> list[Check]:
    """Every check of a signed receipt, offline; the receipt holds only if all pass."""
    checks: list[Check] = []
    check = collector(checks)
    try:
        verifier = NoteVerifier.parse(verifier_key)
    except CheckpointError as exc:
        check("platform key", False, f"not a verifier key: {exc}")
        return checks
    try:
        payload = json.loads(jws.verify(signed_receipt.strip(), verifier.public_key))
    except (jws.JWSError, ValueError) as exc:
        check("platform signature", False, str(exc))
        return checks
    check("platform signature", True, f"signed by {verifier.name}+{verifier.key_id.hex()}")
    if not check(
        "format", payload.get("format") == RECEIPT_FORMAT, f"format {payload.get('format')!r}"
    ):
        return checks
    event = payload["audit_event"]
    bid = event.get("payload", {})
    same = (
        all(bid.get(name) == payload[name] for name in ("file_name", "sha256", "size"))
        and bid.get("receipt_id") == payload["receipt_id"]
    )
    check(
        "audit event",
        event.get("kind") == EventKind.BID_RECEIVED
        and same
        and event.get("seq") == payload["audit_seq"],
        f"event {event.get('seq')} ({event.get('kind')}) records this file, hash and size"
        if same
        else "the audit event does not record this receipt's file, hash or size",
    )
    check(
        "on time",
        event.get("at") == payload["received_at"] and payload["received_at"] <= payload["deadline"],
        f"received {payload['received_at']}, deadline {payload['deadline']}",
    )
    checkpoint_data = payload.get("checkpoint")
    if not check(
        "checkpoint present", checkpoint_data is not None, "the receipt carries a checkpoint"
    ):
        return checks
    try:
        checkpoint = verify_checkpoint(verifier, checkpoint_data["note"], origin=verifier.name)
    except CheckpointError as exc:
        check("checkpoint signature", False, str(exc))
        return checks
    check("checkpoint signature", True, f"tree of {checkpoint.size} events signed by the platform")
    leaf = merkle.leaf_hash(canonical_bytes(event))
    try:
        merkle.verify_inclusion(
            leaf,
            payload["leaf_index"],
            checkpoint.size,
            [bytes.fromhex(node) for node in payload["inclusion_proof"]],
            checkpoint.root,
        )
        check("inclusion", True, f"leaf {payload['leaf_index']} is in the signed tree")
    except (merkle.ProofError, ValueError) as exc:
        check("inclusion", False, str(exc))
    check("time-stamp", *_timestamp_covers(checkpoint_data, checkpoint_data["note"]))
    return checks


def _timestamp_covers(checkpoint: dict[str, Any], note: str) -> tuple[bool, str]:
    """Whether the RFC 3161 token's message imprint is the SHA-256 of the signed note.

    (The authority's own signature and certificate are checked by ``tender audit verify``
    against its trust anchors; this checks that the token is about this checkpoint.)
    """
    try:
        token = cms.ContentInfo.load(base64.b64decode(checkpoint["timestamp_token"]))
        info = token["content"]["encap_content_info"]["content"].parsed
        imprint = info["message_imprint"]["hashed_message"].native
        when = info["gen_time"].native
    except (ValueError, KeyError, TypeError) as exc:
        return False, f"unreadable time-stamp token: {exc}"
    if imprint != hashlib.sha256(note.encode()).digest():
        return False, "the time-stamp token is about something else"
    return True, f"time-stamped at {when.isoformat()}"


def receipt_seq(signed: str) -> int | None:
    """The audit sequence number a receipt claims, read without trusting it (for lookup)."""
    try:
        seq = json.loads(jws.b64url_decode(signed.split(".")[1]))["audit_event"]["seq"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return seq if isinstance(seq, int) else None
