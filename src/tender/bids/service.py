"""Bids in the caller's transaction: the submission window, recording, receipts, summaries.

The upload itself, which streams for as long as the file takes, is :mod:`tender.bids.intake`;
it calls this service in short transactions of its own.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tender.accounts.models import Role, User
from tender.accounts.service import AccountService
from tender.audit import service as audit
from tender.audit.checkpointer import checkpoint_summary
from tender.audit.models import AuditEvent, CheckpointRecord
from tender.audit.sealed import seal_fields
from tender.bids.models import BidDocument, StorageIntent
from tender.bids.precheck import signed_file_name
from tender.bids.receipts import receipt_payload
from tender.bids.schemas import BidSummary, PreCheck, Receipt
from tender.clock import Clock, format_time
from tender.errors import TenderClosed
from tender.signing import SignerBinding
from tender.tenders.models import Tender, TenderStatus
from tender.tenders.service import get_tender
from tender.verifier.commitments import SALT_BYTES
from tender.verifier.formats import ReceiptPayload
from tender.verifier.kinds import EventKind


@dataclass(frozen=True)
class SubmissionWindow:
    """What an upload needs to know before it streams: where to seal to, and for whom."""

    public_key: bytes
    deadline: datetime
    binding: SignerBinding
    signed_file_sha256: str | None  # for a .p7s: the receipt hash of the file it signs


@dataclass(frozen=True, kw_only=True)
class BidService:
    """Bid documents and receipts, in the caller's transaction (it never commits)."""

    session: Session
    clock: Clock

    def window(self, *, supplier: User, tender_id: uuid.UUID, file_name: str) -> SubmissionWindow:
        """Refuse unless ``tender_id`` takes bids now; else what the upload needs."""
        tender = get_tender(self.session, tender_id)
        self._refuse_unless_open(tender, self.clock.now())
        signed_name = signed_file_name(file_name)
        signed = (
            None
            if signed_name is None
            else current_document(self.session, tender.id, supplier.id, signed_name)
        )
        return SubmissionWindow(
            public_key=tender.public_key,
            deadline=tender.deadline,
            binding=AccountService(session=self.session, clock=self.clock).signer_binding(
                supplier.organisation
            ),
            signed_file_sha256=signed.sha256 if signed else None,
        )

    def arrive(self, *, tender_id: uuid.UUID, object_key: str, arrived_at: datetime) -> None:
        """An upload's last byte arrived at ``arrived_at``: refuse it if that is after the
        deadline; else note it (an intent, committed before the object is stored), so that the
        opening waits for it to be recorded however long sealing and storing take."""
        tender = get_tender(self.session, tender_id)
        self._refuse_unless_open(tender, arrived_at)
        self.session.add(
            StorageIntent(
                tender_id=tender_id,
                object_key=object_key,
                created_at=self.clock.now(),
                arrived_at=arrived_at,
            )
        )

    def record(self, *, supplier: User, document: BidDocument) -> Receipt:
        """Record a stored document, received in full at ``document.received_at`` (when its
        last byte arrived), and its ``bid.received`` event; an earlier upload of the same name
        is superseded."""
        # Locking the tender row orders this commit against the opening job.
        tender = get_tender(self.session, document.tender_id, for_update=True)
        now = document.received_at
        try:
            self._refuse_unless_open(tender, now)
        except TenderClosed as refusal:
            # The upload finished after the deadline. Its sealed object is already locked
            # and can never be deleted; the audit trail names it so nobody mistakes it for
            # a bid.
            refusal.details["unopened_sealed_object"] = {
                "key": document.object_key,
                "version": document.object_version,
                "sha256": document.sha256,
            }
            raise
        document.commitment_salt = secrets.token_bytes(SALT_BYTES).hex()
        earlier = current_document(self.session, tender.id, supplier.id, document.file_name)
        # Who bid, and what, is sealed to the tender's key until the opening (see audit.sealed);
        # the log holds a commitment, the receipt id and the time.
        event = audit.append(
            self.session,
            kind=EventKind.BID_RECEIVED,
            actor=audit.SEALED_ACTOR,
            at=now,
            tender_id=tender.id,
            payload=seal_fields(
                tender.public_key,
                receipt_fields(document, supplier),
                public={"receipt_id": str(document.id)},
                salt=bytes.fromhex(document.commitment_salt),
            ).payload,
        )
        document.audit_seq = event.seq
        self.session.add(document)
        if earlier is not None:
            earlier.superseded_at = now
            audit.append(
                self.session,
                kind=EventKind.BID_SUPERSEDED,
                actor=audit.SEALED_ACTOR,
                at=now,
                tender_id=tender.id,
                payload=seal_fields(
                    tender.public_key,
                    {"receipt_id": str(earlier.id), "superseded_by": str(document.id)},
                ).payload,
            )
        self.session.flush()
        return _receipt(tender, supplier, document, event)

    def prove(
        self,
        receipt: Receipt,
        checkpoint: CheckpointRecord,
        sign: Callable[[ReceiptPayload], str],
    ) -> Receipt:
        """The receipt with ``checkpoint`` and its inclusion proof, signed by ``sign``; the
        signed form is kept with the document."""
        proof = audit.inclusion(self.session, seq=receipt.audit_seq, size=checkpoint.size)
        event = self.session.get(AuditEvent, receipt.audit_seq)
        document = self.session.get(BidDocument, receipt.receipt_id)
        assert event is not None  # the receipt was made from them
        assert document is not None
        proven = replace(
            receipt, checkpoint=checkpoint_summary(checkpoint), inclusion_proof=proof.proof
        )
        document.signed_receipt = sign(receipt_payload(proven, audit.to_json(event)))
        return replace(proven, signed_receipt=document.signed_receipt)

    def receipt_of(self, document: BidDocument) -> Receipt:
        """The receipt of a recorded document, as it was given (before its proof)."""
        tender = get_tender(self.session, document.tender_id)
        supplier = self.session.get(User, document.supplier_id)
        event = self.session.get(AuditEvent, document.audit_seq)
        assert supplier is not None  # foreign keys guarantee both
        assert event is not None
        return _receipt(tender, supplier, document, event)

    def summary(self, *, viewer: User, tender_id: uuid.UUID) -> BidSummary:
        """The viewer's own receipts; for officers and auditors, how many documents a tender
        has (suppliers are not told how many others bid)."""
        tender = get_tender(self.session, tender_id)
        count = (
            None
            if viewer.role == Role.SUPPLIER
            else self.session.scalar(
                select(func.count())
                .select_from(BidDocument)
                .where(BidDocument.tender_id == tender_id, BidDocument.superseded_at.is_(None))
            )
        )
        rows = self.session.execute(
            select(BidDocument, AuditEvent)
            .join(AuditEvent, AuditEvent.seq == BidDocument.audit_seq)
            .where(BidDocument.tender_id == tender_id, BidDocument.supplier_id == viewer.id)
            .order_by(BidDocument.received_at)
        ).all()
        receipts = [_receipt(tender, viewer, doc, event) for doc, event in rows]
        return BidSummary(tender_id=tender_id, documents_received=count, own_receipts=receipts)

    def _refuse_unless_open(self, tender: Tender, now: datetime) -> None:
        if tender.status == TenderStatus.DRAFT:
            raise TenderClosed(
                f"Tender {tender.reference} is not published yet.",
                "A draft tender takes no bids.",
                "Wait until the procuring entity publishes it.",
                tender_id=tender.id,
                audit_kind=EventKind.BID_REFUSED,
            )
        if now > tender.deadline or tender.status != TenderStatus.PUBLISHED:
            raise TenderClosed(
                f"Tender {tender.reference} closed at {format_time(tender.deadline)}; "
                f"your upload arrived at {format_time(now)}.",
                "Bids count only if the platform has received their last byte by the deadline "
                "(the platform's clock decides).",
                "The bid cannot be accepted. Contact the procuring entity if you believe "
                "the platform was at fault.",
                tender_id=tender.id,
                audit_kind=EventKind.BID_REFUSED,
                details={"deadline": format_time(tender.deadline), "arrived_at": format_time(now)},
            )


def receipt_fields(document: BidDocument, supplier: User) -> dict[str, Any]:
    """What a ``bid.received`` event commits to, and the opening reveals: everything that says
    who sent what, and where its sealed bytes are."""
    return {
        "receipt_id": str(document.id),
        "supplier_id": str(supplier.id),
        "supplier_organisation": supplier.organisation,
        "file_name": document.file_name,
        "sha256": document.sha256,
        "size": document.size,
        "object_key": document.object_key,
        "object_version": document.object_version,
        "signature_precheck": document.precheck["indication"] if document.precheck else None,
    }


def _receipt(tender: Tender, supplier: User, document: BidDocument, event: AuditEvent) -> Receipt:
    return Receipt(
        receipt_id=document.id,
        tender_id=tender.id,
        tender_reference=tender.reference,
        supplier=supplier.name,
        supplier_organisation=supplier.organisation,
        file_name=document.file_name,
        sha256=document.sha256,
        size=document.size,
        received_at=document.received_at,
        deadline=tender.deadline,
        sealed_object_version=document.object_version,
        retained_until=document.retain_until,
        audit_seq=event.seq,
        audit_hash=event.hash,
        signature_precheck=PreCheck.from_json(document.precheck) if document.precheck else None,
        leaf_index=event.seq - 1,
        commitment_salt=document.commitment_salt,
        committed_fields=receipt_fields(document, supplier),
        signed_receipt=document.signed_receipt,
    )


def current_document(
    session: Session, tender_id: uuid.UUID, supplier_id: uuid.UUID, file_name: str
) -> BidDocument | None:
    """The supplier's latest upload of ``file_name`` (earlier ones are superseded)."""
    return session.scalar(
        select(BidDocument).where(
            BidDocument.tender_id == tender_id,
            BidDocument.supplier_id == supplier_id,
            BidDocument.file_name == file_name,
            BidDocument.superseded_at.is_(None),
        )
    )
