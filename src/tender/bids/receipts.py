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
from tender.i18n import gettext as _
from tender.i18n import gettext_noop as N_  # noqa: N812 (the name extractors look for)
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
    "technical": N_("technical (opened at the deadline)"),
    "financial": N_("financial (opened only if the bid qualifies on its technical envelope)"),
}


def in_words(receipt: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A file's receipt (its signed payload, or the API's JSON of it) as labelled lines for
    people, in the language in force: what, when (Hong Kong time and UTC), on time or not,
    and the signature pre-check with what to do. ``tender submit`` prints them and the
    receipt PDF shows them."""
    rows = [
        (_("Tender"), str(receipt["tender_reference"])),
        (_("File"), str(receipt["file_name"])),
        ("SHA-256", str(receipt["sha256"])),
        *(
            [
                (
                    _("Sealed by you"),
                    _("yes: the platform received and keeps only the sealed file"),
                ),
                (_("Sealed SHA-256"), str(receipt["sealed_sha256"])),
                (_("Size"), _("{size:,} bytes sealed").format(size=int(receipt["size"]))),
            ]
            if receipt.get("sealed_sha256")
            else [(_("Size"), _("{size:,} bytes").format(size=int(receipt["size"])))]
        ),
        (_("Received at"), for_people(_time(receipt["received_at"]))),
        (_("Deadline"), for_people(_time(receipt["deadline"]))),
        (_("On time"), _on_time(receipt)),
        (_("Receipt"), str(receipt["receipt_id"])),
    ]
    if receipt.get("envelope"):  # a two-envelope tender's file
        envelope = _ENVELOPE_IN_WORDS.get(receipt["envelope"])
        rows.insert(2, (_("Envelope"), _(envelope) if envelope else "?"))
    check = receipt.get("signature_precheck")
    if not check:
        return [
            *rows,
            (_("Signature pre-check"), _("none made; the opening verifies the signature")),
        ]
    indication = check.get("indication")
    if indication == "TOTAL_PASSED":
        verdict = _("passed")
        todo = _("Nothing: the opening is expected to accept the signature.")
    elif indication is None:
        verdict, todo = _("not made"), _("See above.")
    else:
        sub = check.get("sub_indication")
        verdict = _("NOT passed ({indication})").format(
            indication=f"{indication}{' / ' + sub if sub else ''}"
        )
        todo = _(
            "Fix the signature and submit the file again before the deadline: a new upload of "
            "the same file name replaces this one for the opening."
        )
    return [
        *rows,
        (_("Signature pre-check"), verdict),
        ("", str(check.get("message_en", ""))),
        ("", str(check.get("message_zh", ""))),
        (_("What to do"), todo),
        ("", _("(Advisory: the opening verifies again, and its verdict is the one that counts.)")),
    ]


def _time(value: object) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _on_time(receipt: Mapping[str, Any]) -> str:
    if _time(receipt["received_at"]) <= _time(receipt["deadline"]):
        return _("yes: received in full by the deadline")
    match = receipt.get("fulfils_fingerprint")
    if match:
        return _(
            "yes: after the deadline, but it is the file whose fingerprint you registered in "
            "time (at {registered_at})"
        ).format(registered_at=for_people(_time(match["received_at"])))
    return _("NO: received after the deadline; it will not be opened")
