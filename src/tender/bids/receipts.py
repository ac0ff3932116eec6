"""Signed receipts: what the platform signs for a supplier (formats ``tender-receipt/2`` for a
file, ``tender-fingerprint/1`` for a fingerprint).

Checked offline by :func:`tender.verifier.receipt.verify_receipt`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tender.bids.schemas import FingerprintReceipt, Receipt, WithdrawalReceipt
from tender.clock import for_people, format_time
from tender.verifier.formats import (
    ExportedEvent,
    FingerprintPayload,
    ReceiptPayload,
    WithdrawalPayload,
)
from tender.verifier.receipt import FINGERPRINT_FORMAT, RECEIPT_FORMAT, WITHDRAWAL_FORMAT


def receipt_payload(receipt: Receipt, audit_event: ExportedEvent) -> ReceiptPayload:
    """The JSON the platform signs: the receipt's fields and the audit event it records."""
    precheck = receipt.signature_precheck
    payload: ReceiptPayload = {
        "format": RECEIPT_FORMAT,
        "receipt_id": str(receipt.receipt_id),
        "tender_id": str(receipt.tender_id),
        "tender_reference": receipt.tender_reference,
        "supplier": receipt.supplier,
        "supplier_organisation": receipt.supplier_organisation,
        "file_name": receipt.file_name,
        "sha256": receipt.sha256,
        "size": receipt.size,
        "received_at": format_time(receipt.received_at),
        "deadline": format_time(receipt.deadline),
        "sealed_object_version": receipt.sealed_object_version,
        "retained_until": format_time(receipt.retained_until),
        "audit_seq": receipt.audit_seq,
        "audit_hash": receipt.audit_hash,
        "signature_precheck": None if precheck is None else precheck.to_json(),
        "leaf_index": receipt.leaf_index,
        "commitment_salt": receipt.commitment_salt,
        "committed_fields": receipt.committed_fields,
        "checkpoint": receipt.checkpoint,
        "inclusion_proof": receipt.inclusion_proof,
        "audit_event": audit_event,
    }
    if receipt.sealed_sha256 is not None:  # absent otherwise, likewise
        payload["sealed_sha256"] = receipt.sealed_sha256
    match = receipt.fulfils_fingerprint
    if match is not None:  # absent otherwise, so receipts of other tenders are as before
        payload["fulfils_fingerprint"] = {
            "receipt_id": str(match.receipt_id),
            "received_at": format_time(match.received_at),
            "sha256": match.sha256,
        }
        payload["files_until"] = format_time(match.files_until)
    if receipt.envelope is not None:  # likewise: only a two-envelope tender's receipts
        payload["envelope"] = receipt.envelope
    return payload


def withdrawal_payload(receipt: WithdrawalReceipt, audit_event: ExportedEvent) -> WithdrawalPayload:
    """The JSON the platform signs for a withdrawal."""
    return {
        "format": WITHDRAWAL_FORMAT,
        "receipt_id": str(receipt.receipt_id),
        "tender_id": str(receipt.tender_id),
        "tender_reference": receipt.tender_reference,
        "supplier": receipt.supplier,
        "supplier_organisation": receipt.supplier_organisation,
        "file_name": receipt.file_name,
        "withdrawn": [str(receipt_id) for receipt_id in receipt.withdrawn],
        "withdrawn_at": format_time(receipt.withdrawn_at),
        "deadline": format_time(receipt.deadline),
        "audit_seq": receipt.audit_seq,
        "audit_hash": receipt.audit_hash,
        "leaf_index": receipt.leaf_index,
        "commitment_salt": receipt.commitment_salt,
        "committed_fields": receipt.committed_fields,
        "checkpoint": receipt.checkpoint,
        "inclusion_proof": receipt.inclusion_proof,
        "audit_event": audit_event,
    }


def fingerprint_payload(
    receipt: FingerprintReceipt, audit_event: ExportedEvent
) -> FingerprintPayload:
    """The JSON the platform signs for a fingerprint."""
    return {
        "format": FINGERPRINT_FORMAT,
        "receipt_id": str(receipt.receipt_id),
        "tender_id": str(receipt.tender_id),
        "tender_reference": receipt.tender_reference,
        "supplier": receipt.supplier,
        "supplier_organisation": receipt.supplier_organisation,
        "file_name": receipt.file_name,
        "sha256": receipt.sha256,
        "received_at": format_time(receipt.received_at),
        "deadline": format_time(receipt.deadline),
        "files_until": format_time(receipt.files_until),
        "audit_seq": receipt.audit_seq,
        "audit_hash": receipt.audit_hash,
        "leaf_index": receipt.leaf_index,
        "commitment_salt": receipt.commitment_salt,
        "committed_fields": receipt.committed_fields,
        "checkpoint": receipt.checkpoint,
        "inclusion_proof": receipt.inclusion_proof,
        "audit_event": audit_event,
    }


_ENVELOPE_IN_WORDS = {
    "technical": "technical (opened at the deadline)",
    "financial": "financial (opened only if the bid qualifies on its technical envelope)",
}


def in_words(receipt: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A file's receipt (its signed payload, or the API's JSON of it) as labelled lines for
    people: what, when (Hong Kong time and UTC), on time or not, and the signature pre-check
    with what to do. ``tender submit`` prints them and the receipt PDF shows them."""
    rows = [
        ("Tender", str(receipt["tender_reference"])),
        ("File", str(receipt["file_name"])),
        ("SHA-256", str(receipt["sha256"])),
        *(
            [
                ("Sealed by you", "yes: the platform received and keeps only the sealed file"),
                ("Sealed SHA-256", str(receipt["sealed_sha256"])),
                ("Size", f"{int(receipt['size']):,} bytes sealed"),
            ]
            if receipt.get("sealed_sha256")
            else [("Size", f"{int(receipt['size']):,} bytes")]
        ),
        ("Received at", for_people(_time(receipt["received_at"]))),
        ("Deadline", for_people(_time(receipt["deadline"]))),
        ("On time", _on_time(receipt)),
        ("Receipt", str(receipt["receipt_id"])),
    ]
    if receipt.get("envelope"):  # a two-envelope tender's file
        rows.insert(2, ("Envelope", _ENVELOPE_IN_WORDS.get(receipt["envelope"], "?")))
    check = receipt.get("signature_precheck")
    if not check:
        return [*rows, ("Signature pre-check", "none made; the opening verifies the signature")]
    indication = check.get("indication")
    if indication == "TOTAL_PASSED":
        verdict, todo = "passed", "Nothing: the opening is expected to accept the signature."
    elif indication is None:
        verdict, todo = "not made", "See above."
    else:
        sub = check.get("sub_indication")
        verdict = f"NOT passed ({indication}{' / ' + sub if sub else ''})"
        todo = (
            "Fix the signature and submit the file again before the deadline: a new upload of "
            "the same file name replaces this one for the opening."
        )
    return [
        *rows,
        ("Signature pre-check", verdict),
        ("", str(check.get("message_en", ""))),
        ("", str(check.get("message_zh", ""))),
        ("What to do", todo),
        ("", "(Advisory: the opening verifies again, and its verdict is the one that counts.)"),
    ]


def _time(value: object) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _on_time(receipt: Mapping[str, Any]) -> str:
    if _time(receipt["received_at"]) <= _time(receipt["deadline"]):
        return "yes: received in full by the deadline"
    match = receipt.get("fulfils_fingerprint")
    if match:
        return (
            "yes: after the deadline, but it is the file whose fingerprint you registered in "
            f"time (at {for_people(_time(match['received_at']))})"
        )
    return "NO: received after the deadline; it will not be opened"
