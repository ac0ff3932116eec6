"""Signed receipts: what the platform signs for a supplier (formats ``tender-receipt/2`` for a
file, ``tender-fingerprint/1`` for a fingerprint).

Checked offline by :func:`tender.verifier.receipt.verify_receipt`.
"""

from __future__ import annotations

from tender.bids.schemas import FingerprintReceipt, Receipt
from tender.clock import format_time
from tender.verifier.formats import ExportedEvent, FingerprintPayload, ReceiptPayload
from tender.verifier.receipt import FINGERPRINT_FORMAT, RECEIPT_FORMAT


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
    match = receipt.fulfils_fingerprint
    if match is not None:  # absent otherwise, so receipts of other tenders are as before
        payload["fulfils_fingerprint"] = {
            "receipt_id": str(match.receipt_id),
            "received_at": format_time(match.received_at),
            "sha256": match.sha256,
        }
        payload["files_until"] = format_time(match.files_until)
    return payload


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
