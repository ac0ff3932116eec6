"""Offline verification of a signed receipt (``tender receipt verify``).

A signed receipt is a compact JWS (EdDSA, see :mod:`.jws`) made with the platform's signing
key. Its payload is the RFC 8785 JSON of the receipt (format ``tender-receipt/2``,
:class:`~.formats.ReceiptPayload`): every field of the receipt, the ``bid.received`` audit
event it records (which, until the tender's opening, holds only a commitment to who sent what),
the salt and fields that open that commitment, a C2SP signed checkpoint and the RFC 9162
inclusion proof of the event's leaf in the checkpoint's tree. With only the receipt, the
platform's public key (``tender audit public-key``) and the time-stamping authority's
certificates, anyone can check that the bid was in the log, received before the deadline, with
this hash; with the supplier's own file, that it is the file received.

A fingerprint's receipt (``tender-fingerprint/1``) is checked the same way for its
``bid.fingerprinted`` event, and a withdrawal's (``tender-withdrawal/1``) for its
``bid.withdrawn`` event: that it committed to withdrawing these receipts, and came by the
deadline.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import IO, Any

from tender.signing import TrustStore
from tender.verifier import jws, merkle
from tender.verifier.chain import canonical_bytes
from tender.verifier.checks import Check, Checker, collector
from tender.verifier.commitments import opens
from tender.verifier.kinds import EventKind
from tender.verifier.notes import CheckpointError, NoteVerifier, verify_checkpoint
from tender.verifier.timestamps import check_timestamp

RECEIPT_FORMAT = "tender-receipt/2"
RECEIPT_FORMAT_V1 = "tender-receipt/1"  # before commitments: the event named the file
FINGERPRINT_FORMAT = "tender-fingerprint/1"  # a file's SHA-256, registered before the file
WITHDRAWAL_FORMAT = "tender-withdrawal/1"  # receipts withdrawn before the deadline
SHOWN_FIELDS = (
    "receipt_id",
    "tender_id",
    "tender_reference",
    "supplier",
    "supplier_organisation",
    "file_name",
    "size",
    "sha256",
    "sealed_sha256",
    "received_at",
    "withdrawn",
    "withdrawn_at",
    "deadline",
    "audit_seq",
)
"""The values ``tender receipt verify`` prints (those a receipt has), and compares with the
receipt's visible JSON."""
_FILE = ("receipt_id", "file_name", "sha256", "size")
_EVENTS: dict[str, tuple[EventKind, dict[str, str]]] = {
    RECEIPT_FORMAT: (EventKind.BID_RECEIVED, {name: name for name in _FILE}),
    RECEIPT_FORMAT_V1: (EventKind.BID_RECEIVED, {name: name for name in _FILE}),
    FINGERPRINT_FORMAT: (
        EventKind.BID_FINGERPRINTED,
        {name: name for name in ("receipt_id", "file_name", "sha256")},
    ),
    WITHDRAWAL_FORMAT: (
        EventKind.BID_WITHDRAWN,
        {"withdrawal_id": "receipt_id", "file_name": "file_name", "withdrawn": "withdrawn"},
    ),
}
"""Per format: the event a receipt records, and which of the event's (committed) values must
be which of the receipt's."""


def read_receipt(text: str) -> tuple[str, dict[str, Any] | None]:
    """The signed receipt (compact JWS) in ``text``, and the receipt's visible values when
    ``text`` is the receipt's JSON (which carries the JWS as ``signed_receipt``) rather than
    the JWS alone.

    :raises ValueError: if ``text`` starts as JSON but is not JSON.
    """
    text = text.strip()
    if not text.startswith("{"):
        return text, None
    visible = json.loads(text)
    if not isinstance(visible, dict):
        return "", None
    return str(visible.get("signed_receipt") or ""), visible


def signed_payload(signed_receipt: str, verifier_key: str) -> dict[str, Any] | None:
    """The receipt's signed values, if the platform's signature over them verifies."""
    try:
        payload = json.loads(
            jws.verify(signed_receipt.strip(), NoteVerifier.parse(verifier_key).public_key)
        )
    except (CheckpointError, jws.JWSError, ValueError):
        return None
    return payload if isinstance(payload, dict) else None


def verify_receipt(
    signed_receipt: str,
    verifier_key: str,
    *,
    visible: Mapping[str, Any] | None = None,
    tsa_trust: TrustStore | None = None,
    own_file: IO[bytes] | None = None,
) -> list[Check]:
    """Every check of a signed receipt, offline; the receipt holds only if all pass.

    :param visible: the receipt's JSON as shown to the supplier; each of its values must be
        the signed one.
    :param tsa_trust: anchors of the time-stamping authority; without them the time-stamp
        cannot be judged and that check fails, saying so.
    :param own_file: the supplier's own copy of the bid file, compared by size and SHA-256.
    """
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
    check("platform signature", True, f"signed by {verifier.label}")
    if not check(
        "format",
        payload.get("format") in _EVENTS,
        f"format {payload.get('format')!r}",
    ):
        return checks
    if visible is not None:
        _check_visible(visible, payload, check)
    _check_event(payload, check)
    _check_on_time(payload, check)
    if own_file is not None:
        _check_own_file(own_file, payload, check)
    _check_checkpoint(payload, verifier, tsa_trust, check)
    return checks


def _check_visible(visible: Mapping[str, Any], payload: Mapping[str, Any], check: Checker) -> None:
    """A receipt's shown values must be its signed ones: an edited copy is not a receipt."""
    differing = [
        f"{name} shows {visible[name]!r} but the platform signed {payload.get(name)!r}"
        for name in SHOWN_FIELDS
        if name in visible and not _same_value(visible[name], payload.get(name))
    ]
    check(
        "shown values",
        not differing,
        "every value shown is the one the platform signed"
        if not differing
        else "; ".join(differing),
    )


def _same_value(shown: Any, signed: Any) -> bool:
    """Equal, or the same instant written two ways: the API writes 09:00:00Z where the signed
    receipt has 09:00:00.000000Z."""
    if shown == signed:
        return True
    if not (isinstance(shown, str) and isinstance(signed, str)):
        return False
    try:
        return datetime.fromisoformat(shown) == datetime.fromisoformat(signed)
    except ValueError:
        return False


def _check_on_time(payload: Mapping[str, Any], check: Checker) -> None:
    """Received (or withdrawn) by the deadline; or, a file of a fingerprint-first tender,
    within the files' grace and with the SHA-256 of a fingerprint received by the deadline."""
    if payload["format"] == WITHDRAWAL_FORMAT:
        withdrawn, deadline = payload["withdrawn_at"], payload["deadline"]
        check(
            "on time",
            payload["audit_event"].get("at") == withdrawn and withdrawn <= deadline,
            f"withdrawn {withdrawn}, deadline {deadline}",
        )
        return
    received, deadline = payload["received_at"], payload["deadline"]
    logged_then = payload["audit_event"].get("at") == received
    match = payload.get("fulfils_fingerprint")
    if received <= deadline or not isinstance(match, dict):
        check(
            "on time",
            logged_then and received <= deadline,
            f"received {received}, deadline {deadline}",
        )
        return
    files_until = payload.get("files_until", "")
    in_grace = (
        logged_then
        and match.get("received_at", "~") <= deadline
        and match.get("sha256") == payload["sha256"]
        and received <= files_until
    )
    check(
        "on time",
        in_grace,
        f"received {received}, after the deadline {deadline} but within the files' grace "
        f"(to {files_until}), matching fingerprint {match.get('receipt_id')} received "
        f"{match.get('received_at')}"
        if in_grace
        else f"received {received}, deadline {deadline}, files' grace to {files_until}: the "
        "fingerprint it claims does not make it on time",
    )


def _check_event(payload: Mapping[str, Any], check: Checker) -> None:
    """The signed audit event records this receipt: through its commitment, or (format 1)
    plainly."""
    event = payload["audit_event"]
    logged = event.get("payload", {})
    kind, compared = _EVENTS[payload["format"]]
    if "sealed_sha256" in payload:  # a supplier-sealed file's: the log commits to it too
        compared = {**compared, "sealed_sha256": "sealed_sha256"}
    values = ", ".join(compared.values())
    if "commitment" in logged:
        fields = payload.get("committed_fields") or {}
        same = opens(logged["commitment"], payload.get("commitment_salt"), fields) and all(
            fields.get(logged_name) == payload.get(name) for logged_name, name in compared.items()
        )
        detail = (
            f"event {event.get('seq')} ({event.get('kind')}) commits to this receipt's {values}"
            if same
            else f"the audit event's commitment is not to this receipt's {values}"
        )
    else:
        same = all(logged.get(name) == payload.get(name) for name in compared)
        detail = (
            f"event {event.get('seq')} ({event.get('kind')}) records this receipt's {values}"
            if same
            else f"the audit event does not record this receipt's {values}"
        )
    check(
        "audit event",
        event.get("kind") == kind and same and event.get("seq") == payload["audit_seq"],
        detail,
    )


def _check_own_file(own_file: IO[bytes], payload: Mapping[str, Any], check: Checker) -> None:
    """The supplier's file is the one received: by size and SHA-256; for a file its supplier
    sealed, either the plain file (by the SHA-256 declared: its size is not on the receipt) or
    the sealed one as sent (by its SHA-256 and size)."""
    if "sha256" not in payload:
        check("your file", False, "this receipt names no file's hash to compare yours with")
        return
    digest, size = hashlib.sha256(), 0
    for chunk in iter(lambda: own_file.read(1 << 20), b""):
        digest.update(chunk)
        size += len(chunk)
    sealed = payload.get("sealed_sha256")
    if sealed is not None and digest.hexdigest() == sealed and size == payload.get("size"):
        check("your file", True, f"your sealed file is the one received ({size:,} bytes)")
        return
    # A fingerprint names no size, and a supplier-sealed receipt's is the sealed file's.
    expected_size = size if sealed is not None else payload.get("size", size)
    same = digest.hexdigest() == payload["sha256"] and size == expected_size
    check(
        "your file",
        same,
        f"your file is the one received ({size:,} bytes, SHA-256 {payload['sha256']})"
        if same
        else f"your file ({size:,} bytes, SHA-256 {digest.hexdigest()}) is not the one received "
        f"({expected_size:,} bytes, SHA-256 {payload['sha256']})",
    )


def _check_checkpoint(
    payload: Mapping[str, Any],
    verifier: NoteVerifier,
    tsa_trust: TrustStore | None,
    check: Checker,
) -> None:
    checkpoint_data = payload.get("checkpoint")
    if checkpoint_data is None:
        check("checkpoint present", False, "the receipt carries no checkpoint")
        return
    check("checkpoint present", True, "the receipt carries a checkpoint")
    try:
        checkpoint = verify_checkpoint(verifier, checkpoint_data["note"], origin=verifier.name)
    except CheckpointError as exc:
        check("checkpoint signature", False, str(exc))
        return
    check("checkpoint signature", True, f"tree of {checkpoint.size} events signed by the platform")
    leaf = merkle.leaf_hash(canonical_bytes(payload["audit_event"]))
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
    check(
        "time-stamp",
        *check_timestamp(
            checkpoint_data.get("timestamp_token", ""), checkpoint_data["note"], tsa_trust
        ),
    )


def receipt_seq(signed: str) -> int | None:
    """The audit sequence number a receipt claims, read without trusting it (for lookup)."""
    try:
        seq = json.loads(jws.b64url_decode(signed.split(".")[1]))["audit_event"]["seq"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return seq if isinstance(seq, int) else None
