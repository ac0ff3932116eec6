"""Signed receipts: what the platform signs for a supplier (format ``tender-receipt/1``).

Checked offline by :func:`tender.verifier.receipt.verify_receipt`.
"""

from __future__ import annotations

from tender.bids.schemas import Receipt
from tender.clock import format_time
from tender.verifier.formats import ExportedEvent, ReceiptPayload
from tender.verifier.receipt import RECEIPT_FORMAT


def receipt_payload(receipt: Receipt, audit_event: ExportedEvent) -> ReceiptPayload:
    """The JSON the platform signs: the receipt's fields and the audit event it records."""
    precheck = receipt.signature_precheck
    return {
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
