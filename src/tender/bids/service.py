"""Bids in the caller's transaction: the submission window, recording, receipts, summaries.

The upload itself, which streams for as long as the file takes, is :mod:`tender.bids.intake`;
it calls this service in short transactions of its own.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tender.accounts.models import User
from tender.accounts.service import AccountService
from tender.audit import service as audit
from tender.audit.checkpointer import checkpoint_summary
from tender.audit.models import AuditEvent, CheckpointRecord
from tender.audit.sealed import seal_fields
from tender.bids.models import BidDocument, BidFingerprint, BidWithdrawal, StorageIntent
from tender.bids.precheck import signed_file_name
from tender.bids.receipt_pdf import render_receipt_pdf
from tender.bids.receipts import fingerprint_payload, receipt_payload, withdrawal_payload
from tender.bids.schemas import (
    BidSummary,
    FingerprintMatch,
    FingerprintReceipt,
    OwnReceipt,
    PreCheck,
    Receipt,
    WithdrawalReceipt,
)
from tender.clock import Clock, format_time
from tender.errors import Conflict, Forbidden, Invalid, NotFound, TenderClosed, TooLarge
from tender.i18n import gettext as _
from tender.notifications.messages import MessageKind
from tender.notifications.service import NotificationService
from tender.signing import SignerBinding
from tender.tenders.access import oversees, require_visible
from tender.tenders.models import Tender, TenderStatus
from tender.tenders.service import get_tender
from tender.verifier.commitments import SALT_BYTES
from tender.verifier.formats import (
    ExportedEvent,
    FingerprintPayload,
    ReceiptPayload,
    WithdrawalPayload,
)
from tender.verifier.kinds import EventKind
from tender.verifier.ledger import FINANCIAL, TECHNICAL


@dataclass(frozen=True)
class SubmissionWindow:
    """What an upload needs to know before it streams: where to seal to, and for whom."""

    public_key: bytes
    deadline: datetime
    binding: SignerBinding
    signed_file_sha256: str | None  # for a .p7s: the receipt hash of the file it signs
    envelope: str | None  # of a two-envelope tender: which one the file goes in
    supplier_sealed: bool = False  # the upload comes sealed by its supplier (Tender's)


@dataclass(frozen=True)
class Quota:
    """What one supplier may store in one tender: every stored object is locked for years.
    (Uploads streaming at the same moment are each checked against what was recorded before
    them, so parallel ones can pass it by those in flight.)"""

    files: int = 50  # TENDER_MAX_FILES_PER_BID
    bytes: int = 2 * 1024**3  # TENDER_MAX_BYTES_PER_BID


@dataclass(frozen=True, kw_only=True)
class BidService:
    """Bid documents and receipts, in the caller's transaction (it never commits)."""

    session: Session
    clock: Clock
    quota: Quota = field(default_factory=Quota)

    def window(
        self,
        *,
        supplier: User,
        tender_id: uuid.UUID,
        file_name: str,
        declared_size: int | None = None,
        envelope: str | None = None,
    ) -> SubmissionWindow:
        """Refuse unless ``tender_id`` takes bids now, in ``envelope`` (None: the technical
        one, or a single-envelope tender's only one), and a file of ``declared_size`` bytes
        (None: not known until it ends) fits the supplier's quota; else what the upload
        needs: a financial file is sealed to the tender's financial key."""
        tender = get_tender(self.session, tender_id)
        require_visible(self.session, supplier, tender)  # a draft is not there for suppliers
        self._refuse_unless_received_in_time(
            tender, self.clock.now(), supplier=supplier, file_name=file_name
        )
        envelope = self._envelope(tender, supplier, file_name, envelope)
        self._refuse_over_quota(tender, supplier, file_name, declared_size or 0)
        signed_name = signed_file_name(file_name)
        signed = (
            None
            if signed_name is None
            else current_document(self.session, tender.id, supplier.id, signed_name)
        )
        financial = envelope == FINANCIAL
        return SubmissionWindow(
            public_key=tender.financial_public_key
            if financial and tender.financial_public_key is not None
            else tender.public_key,
            envelope=envelope,
            deadline=tender.deadline,
            binding=AccountService(session=self.session, clock=self.clock).signer_binding(supplier),
            signed_file_sha256=signed.sha256 if signed else None,
            supplier_sealed=tender.supplier_sealed,
        )

    def _envelope(
        self, tender: Tender, supplier: User, file_name: str, envelope: str | None
    ) -> str | None:
        """The envelope a file goes in (None for a single-envelope tender), or refused: a
        single-envelope tender has no financial one, and a file name belongs to one envelope
        of a bid (it is what a later upload of the file replaces)."""
        if envelope not in (None, TECHNICAL, FINANCIAL):
            raise Invalid(
                _("There is no envelope {envelope!r}.").format(envelope=envelope),
                _("A bid file goes in the technical or the financial envelope."),
                _('Send it with envelope "technical" or "financial".'),
                tender_id=tender.id,
                audit_kind=EventKind.BID_REFUSED,
            )
        if not tender.two_envelopes:
            if envelope == FINANCIAL:
                raise Invalid(
                    _(
                        "Tender {reference} has a single envelope: it takes no financial envelope."
                    ).format(reference=tender.reference),
                    _(
                        "Only a two-envelope tender has its bids' prices in a separate "
                        "envelope, opened after the technical ones; this one opens every file "
                        "at the deadline."
                    ),
                    _(
                        "Upload the file without an envelope (or as technical), with the rest "
                        "of your bid."
                    ),
                    tender_id=tender.id,
                    audit_kind=EventKind.BID_REFUSED,
                )
            return None
        chosen = envelope or TECHNICAL
        current = current_document(self.session, tender.id, supplier.id, file_name)
        signed_name = signed_file_name(file_name)
        signed = (
            None
            if signed_name is None
            else current_document(self.session, tender.id, supplier.id, signed_name)
        )
        if signed is not None and signed.envelope != chosen:
            raise Conflict(
                _("{signed_file}, which {file_name} signs, is in your {envelope} envelope.").format(
                    signed_file=signed.file_name,
                    file_name=file_name,
                    envelope=_envelope_name(signed.envelope),
                ),
                _(
                    "A detached signature is opened with the file it signs, so both go in the "
                    "same envelope."
                ),
                _("Upload {file_name} to the {envelope} envelope.").format(
                    file_name=file_name, envelope=_envelope_name(signed.envelope)
                ),
                tender_id=tender.id,
                audit_kind=EventKind.BID_REFUSED,
            )
        if current is not None and current.envelope != chosen:
            raise Conflict(
                _("You already sent {file_name} in your {envelope} envelope.").format(
                    file_name=file_name, envelope=_envelope_name(current.envelope)
                ),
                _(
                    "A file name belongs to one envelope of a bid: uploading it again replaces "
                    "it there, and a financial file must never be opened with the technical ones."
                ),
                _(
                    "Give the file another name for the {chosen} envelope, or withdraw the "
                    "{envelope} one first."
                ).format(chosen=_envelope_name(chosen), envelope=_envelope_name(current.envelope)),
                tender_id=tender.id,
                audit_kind=EventKind.BID_REFUSED,
            )
        return chosen

    def arrive(
        self,
        *,
        supplier: User,
        tender_id: uuid.UUID,
        file_name: str,
        sha256: str,
        size: int,
        object_key: str,
        arrived_at: datetime,
    ) -> None:
        """An upload's last byte arrived at ``arrived_at``: refuse it unless received in time
        and within the supplier's quota (before it is stored and locked); else note it (an
        intent, committed before the object is stored), so that the opening waits for it to be
        recorded however long sealing and storing take."""
        tender = get_tender(self.session, tender_id)
        self._refuse_unless_received_in_time(
            tender, arrived_at, supplier=supplier, file_name=file_name, sha256=sha256
        )
        self._refuse_over_quota(tender, supplier, file_name, size)
        self.session.add(
            StorageIntent(
                tender_id=tender_id,
                object_key=object_key,
                created_at=self.clock.now(),
                arrived_at=arrived_at,
            )
        )

    def refuse_unless_open(
        self, *, supplier: User, tender_id: uuid.UUID, file_name: str, at: datetime
    ) -> None:
        """Refuse a part of an upload arriving at ``at`` once its file could no longer be
        received in time (after the deadline; a fingerprinted file's, after the files' grace)."""
        self._refuse_unless_received_in_time(
            get_tender(self.session, tender_id), at, supplier=supplier, file_name=file_name
        )

    def record(self, *, supplier: User, document: BidDocument) -> Receipt:
        """Record a stored document, received in full at ``document.received_at`` (when its
        last byte arrived), and its ``bid.received`` event; an earlier upload of the same name
        is superseded."""
        # Locking the tender row orders this commit against the opening job.
        tender = get_tender(self.session, document.tender_id, for_update=True)
        now = document.received_at
        try:
            fingerprint = self._refuse_unless_received_in_time(
                tender,
                now,
                supplier=supplier,
                file_name=document.file_name,
                sha256=document.sha256,
            )
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
        document.fingerprint_id = None if fingerprint is None else fingerprint.id
        document.commitment_salt = secrets.token_bytes(SALT_BYTES).hex()
        earlier = current_document(self.session, tender.id, supplier.id, document.file_name)
        event = self._record_sealed(
            EventKind.BID_RECEIVED, tender, document, receipt_fields(document, supplier), at=now
        )
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
        # To the supplier who sent it only: nobody else learns who bid.
        NotificationService(session=self.session, clock=self.clock).tell(
            [supplier],
            MessageKind.RECEIPT_ISSUED,
            tender=tender,
            file_name=document.file_name,
            sha256=document.sha256,
            received_at=now,
            receipt_id=document.id,
        )
        return _receipt(tender, supplier, document, event, self._fingerprint_of(document))

    def prove(
        self,
        receipt: Receipt,
        checkpoint: CheckpointRecord,
        sign: Callable[[ReceiptPayload], str],
    ) -> Receipt:
        """The receipt with ``checkpoint`` and its inclusion proof, signed by ``sign``; the
        signed form is kept with the document."""
        document = self.session.get(BidDocument, receipt.receipt_id)
        return self._prove(receipt, document, checkpoint, receipt_payload, sign)

    def receipt_of(self, document: BidDocument) -> Receipt:
        """The receipt of a recorded document, as it was given (before its proof)."""
        tender = get_tender(self.session, document.tender_id)
        supplier, event = self._who_and_event(document.supplier_id, document.audit_seq)
        return _receipt(tender, supplier, document, event, self._fingerprint_of(document))

    def summary(self, *, viewer: User, tender_id: uuid.UUID) -> BidSummary:
        """The viewer's own receipts; for those who oversee the tender (its organisation's
        officers, auditors appointed to it), how many documents it has. Nobody else is told
        how many bid: not suppliers, not other organisations' officers, not admins."""
        tender = get_tender(self.session, tender_id)
        require_visible(self.session, viewer, tender)
        count = (
            None
            if not oversees(self.session, viewer, tender)
            else self.session.scalar(
                select(func.count())
                .select_from(BidDocument)
                .where(
                    BidDocument.tender_id == tender_id,
                    BidDocument.superseded_at.is_(None),
                    BidDocument.withdrawn_at.is_(None),
                )
            )
        )
        rows = self.session.execute(
            select(BidDocument, AuditEvent)
            .join(AuditEvent, AuditEvent.seq == BidDocument.audit_seq)
            .where(BidDocument.tender_id == tender_id, BidDocument.supplier_id == viewer.id)
            .order_by(BidDocument.received_at)
        ).all()
        receipts = [
            _receipt(tender, viewer, doc, event, self._fingerprint_of(doc)) for doc, event in rows
        ]
        fingerprints = self.session.execute(
            select(BidFingerprint, AuditEvent)
            .join(AuditEvent, AuditEvent.seq == BidFingerprint.audit_seq)
            .where(BidFingerprint.tender_id == tender_id, BidFingerprint.supplier_id == viewer.id)
            .order_by(BidFingerprint.received_at)
        ).all()
        return BidSummary(
            tender_id=tender_id,
            documents_received=count,
            own_receipts=receipts,
            own_fingerprints=[
                _fingerprint_receipt(tender, viewer, fingerprint, event)
                for fingerprint, event in fingerprints
            ],
        )

    def own_receipts(
        self, *, supplier: User, tender_id: uuid.UUID | None = None
    ) -> list[OwnReceipt]:
        """The supplier's receipts (of one tender, or of all), each saying whether its
        version counts for the opening."""
        query = (
            select(BidDocument, AuditEvent, Tender)
            .join(AuditEvent, AuditEvent.seq == BidDocument.audit_seq)
            .join(Tender, Tender.id == BidDocument.tender_id)
            .where(BidDocument.supplier_id == supplier.id)
            .order_by(Tender.deadline, Tender.id, BidDocument.file_name, BidDocument.received_at)
        )
        if tender_id is not None:
            # A clear refusal for an unknown tender, and for a draft: as if it did not exist.
            require_visible(self.session, supplier, get_tender(self.session, tender_id))
            query = query.where(BidDocument.tender_id == tender_id)
        return [
            own_receipt_standing(
                _receipt(tender, supplier, document, event, self._fingerprint_of(document)),
                superseded_at=document.superseded_at,
                withdrawn_at=document.withdrawn_at,
            )
            for document, event, tender in self.session.execute(query).all()
        ]

    def own_receipt(self, *, supplier: User, receipt_id: uuid.UUID) -> Receipt:
        """One of the supplier's receipts; anyone else's is refused (and the refusal audited)."""
        document = self.session.get(BidDocument, receipt_id)
        if document is None:
            raise NotFound(
                _("There is no receipt {receipt_id}.").format(receipt_id=receipt_id),
                _("No bid file was received with that receipt id."),
                _("Check the id; 'tender receipts' lists yours."),
                details={"receipt_id": str(receipt_id)},
            )
        if document.supplier_id != supplier.id:
            raise Forbidden(
                _("Receipt {receipt_id} is not yours.").format(receipt_id=receipt_id),
                _(
                    "A receipt says who submitted what; only the supplier who submitted the file "
                    "may read it."
                ),
                _(
                    "Ask for your own receipts ('tender receipts'); the supplier who submitted "
                    "this "
                    "file has its receipt."
                ),
                tender_id=document.tender_id,
                details={"receipt_id": str(receipt_id)},
            )
        return self.receipt_of(document)

    def own_receipt_pdf(self, *, supplier: User, receipt_id: uuid.UUID) -> bytes:
        """One of the supplier's receipts as a PDF, with the signed receipt attached."""
        receipt = self.own_receipt(supplier=supplier, receipt_id=receipt_id)
        if receipt.signed_receipt is None:
            raise Conflict(
                _("Receipt {receipt_id} is not signed yet.").format(receipt_id=receipt_id),
                _(
                    "The platform signs a receipt with its next checkpoint, within seconds of "
                    "receiving the file; the PDF carries the signed receipt."
                ),
                _("Ask again in a minute."),
                tender_id=receipt.tender_id,
            )
        return render_receipt_pdf(receipt.signed_receipt)

    def register_fingerprint(
        self,
        *,
        supplier: User,
        tender_id: uuid.UUID,
        file_name: str,
        sha256: str,
        received_at: datetime,
    ) -> FingerprintReceipt:
        """Record the SHA-256 of a file the supplier will upload after the deadline, within the
        tender's grace period: a tiny request, receipted at once, sealed in the log like a bid.
        A later fingerprint of the same file name replaces the earlier one. ``received_at`` is
        when its request arrived: received means received, however long it then waited."""
        tender = get_tender(self.session, tender_id, for_update=True)
        require_visible(self.session, supplier, tender)
        now = received_at
        if tender.file_grace_seconds is None:
            raise Invalid(
                _("Tender {reference} takes bid files themselves, not fingerprints.").format(
                    reference=tender.reference
                ),
                _(
                    "Only a tender that allows fingerprint first lets files follow their "
                    "fingerprints after the deadline."
                ),
                _("Upload the file itself before the deadline."),
                tender_id=tender.id,
                audit_kind=EventKind.BID_REFUSED,
            )
        refuse_if_cancelled(tender)
        if tender.status != TenderStatus.PUBLISHED or now > tender.deadline:
            raise TenderClosed(
                _(
                    "Tender {reference} closed at {deadline}; your fingerprint arrived at {now}."
                ).format(
                    reference=tender.reference,
                    deadline=format_time(tender.deadline),
                    now=format_time(now),
                ),
                _("Fingerprints count only if the platform has received them by the deadline."),
                _(
                    "The file cannot be submitted. Contact the procuring entity if you believe "
                    "the platform was at fault."
                ),
                tender_id=tender.id,
                audit_kind=EventKind.BID_REFUSED,
            )
        digest = sha256.strip().lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise Invalid(
                _("{sha256!r} is not a SHA-256 fingerprint.").format(sha256=sha256),
                _("A fingerprint is the file's SHA-256 hash: 64 hexadecimal digits."),
                _(
                    "Compute it with 'sha256sum FILE' (or 'certutil -hashfile FILE SHA256' on "
                    "Windows) and send it again."
                ),
                tender_id=tender.id,
                audit_kind=EventKind.BID_REFUSED,
            )
        fingerprint = BidFingerprint(
            id=uuid.uuid4(),
            tender_id=tender.id,
            supplier_id=supplier.id,
            file_name=file_name,
            sha256=digest,
            received_at=now,
            commitment_salt=secrets.token_bytes(SALT_BYTES).hex(),
        )
        earlier = self.session.scalar(
            select(BidFingerprint).where(
                BidFingerprint.tender_id == tender.id,
                BidFingerprint.supplier_id == supplier.id,
                BidFingerprint.file_name == file_name,
                BidFingerprint.superseded_at.is_(None),
            )
        )
        if earlier is not None:  # the ledger's rule too: the last one by the deadline counts
            earlier.superseded_at = now
        event = self._record_sealed(
            EventKind.BID_FINGERPRINTED,
            tender,
            fingerprint,
            fingerprint_fields(fingerprint, supplier),
            at=now,
        )
        self.session.flush()
        NotificationService(session=self.session, clock=self.clock).tell(
            [supplier],
            MessageKind.FINGERPRINT_RECEIVED,
            tender=tender,
            file_name=file_name,
            sha256=digest,
            received_at=now,
            receipt_id=fingerprint.id,
            files_until=tender.files_until,
        )
        return _fingerprint_receipt(tender, supplier, fingerprint, event)

    def prove_fingerprint(
        self,
        receipt: FingerprintReceipt,
        checkpoint: CheckpointRecord,
        sign: Callable[[FingerprintPayload], str],
    ) -> FingerprintReceipt:
        """The fingerprint's receipt with ``checkpoint`` and its inclusion proof, signed."""
        fingerprint = self.session.get(BidFingerprint, receipt.receipt_id)
        return self._prove(receipt, fingerprint, checkpoint, fingerprint_payload, sign)

    def withdraw(
        self, *, supplier: User, tender_id: uuid.UUID, file_name: str | None, at: datetime
    ) -> WithdrawalReceipt:
        """Withdraw the supplier's current documents (and fingerprints) of ``file_name``, or of
        the whole bid (None), before the deadline (the server's clock, ``at``, decides). They
        stay stored, sealed and in the log, and are not opened. The ``bid.withdrawn`` event is
        sealed until the opening, like a receipt: before it, nobody may learn who bid."""
        tender = get_tender(self.session, tender_id, for_update=True)
        require_visible(self.session, supplier, tender)
        refuse_if_cancelled(tender)
        if tender.status != TenderStatus.PUBLISHED or at > tender.deadline:
            raise TenderClosed(
                _(
                    "Tender {reference} closed at {deadline}; your withdrawal arrived at {now}."
                ).format(
                    reference=tender.reference,
                    deadline=format_time(tender.deadline),
                    now=format_time(at),
                ),
                _(
                    "A bid can be withdrawn only until the deadline (the platform's clock "
                    "decides); after it, what was received is opened."
                ),
                _(
                    "Nothing can be withdrawn now. Contact the procuring entity if you believe "
                    "the platform was at fault."
                ),
                tender_id=tender.id,
                audit_kind=EventKind.BID_REFUSED,
            )
        withdrawn: list[BidDocument | BidFingerprint] = [
            *_current(self.session, BidDocument, tender.id, supplier.id, file_name),
            *_current(self.session, BidFingerprint, tender.id, supplier.id, file_name),
        ]
        if not withdrawn:
            raise Invalid(
                (
                    _("You have nothing to withdraw from tender {reference}.")
                    if file_name is None
                    else _(
                        "You have nothing to withdraw from tender {reference} named {file_name!r}."
                    )
                ).format(reference=tender.reference, file_name=file_name),
                _(
                    "Only documents (or fingerprints) you submitted and did not withdraw yet can "
                    "be withdrawn."
                ),
                _("GET /api/tenders/{id}/bids lists your receipts and their file names."),
                tender_id=tender.id,
                audit_kind=EventKind.BID_REFUSED,
            )
        for row in withdrawn:
            row.withdrawn_at = at
        withdrawal = BidWithdrawal(
            id=uuid.uuid4(),
            tender_id=tender.id,
            supplier_id=supplier.id,
            file_name=file_name,
            withdrawn=sorted(str(row.id) for row in withdrawn),
            withdrawn_at=at,
            commitment_salt=secrets.token_bytes(SALT_BYTES).hex(),
        )
        event = self._record_sealed(
            EventKind.BID_WITHDRAWN,
            tender,
            withdrawal,
            _withdrawal_fields(withdrawal, supplier),
            at=at,
        )
        self.session.flush()
        return _withdrawal_receipt(tender, supplier, withdrawal, event)

    def fingerprint_receipt_of(self, fingerprint: BidFingerprint) -> FingerprintReceipt:
        """The receipt of a recorded fingerprint, as it was given (before its proof)."""
        supplier, event = self._who_and_event(fingerprint.supplier_id, fingerprint.audit_seq)
        tender = get_tender(self.session, fingerprint.tender_id)
        return _fingerprint_receipt(tender, supplier, fingerprint, event)

    def withdrawal_receipt_of(self, withdrawal: BidWithdrawal) -> WithdrawalReceipt:
        """The receipt of a recorded withdrawal, as it was given (before its proof)."""
        supplier, event = self._who_and_event(withdrawal.supplier_id, withdrawal.audit_seq)
        tender = get_tender(self.session, withdrawal.tender_id)
        return _withdrawal_receipt(tender, supplier, withdrawal, event)

    def _who_and_event(self, supplier_id: uuid.UUID, seq: int) -> tuple[User, AuditEvent]:
        supplier = self.session.get(User, supplier_id)
        event = self.session.get(AuditEvent, seq)
        assert supplier is not None  # foreign keys and the recorded seq guarantee both
        assert event is not None
        return supplier, event

    def prove_withdrawal(
        self,
        receipt: WithdrawalReceipt,
        checkpoint: CheckpointRecord,
        sign: Callable[[WithdrawalPayload], str],
    ) -> WithdrawalReceipt:
        """The withdrawal's receipt with ``checkpoint`` and its inclusion proof, signed (and
        kept, as a bid's receipt is)."""
        withdrawal = self.session.get(BidWithdrawal, receipt.receipt_id)
        return self._prove(receipt, withdrawal, checkpoint, withdrawal_payload, sign)

    def _prove(
        self,
        receipt: _AnyReceipt,
        row: BidDocument | BidFingerprint | BidWithdrawal | None,
        checkpoint: CheckpointRecord,
        payload: Callable[[_AnyReceipt, ExportedEvent], _Payload],
        sign: Callable[[_Payload], str],
    ) -> _AnyReceipt:
        """``receipt`` with ``checkpoint`` and its inclusion proof, signed; the signed form is
        kept on ``row``, the record it receipts."""
        proof = audit.inclusion(self.session, seq=receipt.audit_seq, size=checkpoint.size)
        event = self.session.get(AuditEvent, receipt.audit_seq)
        assert event is not None  # the receipt was made from them
        assert row is not None
        proven = replace(
            receipt, checkpoint=checkpoint_summary(checkpoint), inclusion_proof=proof.proof
        )
        row.signed_receipt = sign(payload(proven, audit.to_json(event)))
        return replace(proven, signed_receipt=row.signed_receipt)

    def _refuse_over_quota(self, tender: Tender, supplier: User, file_name: str, size: int) -> None:
        """Refuse a file of ``size`` bytes that would take the supplier past their quota in
        this tender (a file of a name already sent replaces it, so only the difference
        counts)."""
        kept = [
            document
            for document in _current(self.session, BidDocument, tender.id, supplier.id, None)
            if document.file_name != file_name
        ]
        files, total = len(kept) + 1, sum(document.size for document in kept) + size
        if files > self.quota.files:
            raise Conflict(
                _(
                    "You have {files} files in tender {reference}, the most one supplier may "
                    "submit."
                ).format(files=len(kept), reference=tender.reference),
                _(
                    "Each supplier may submit up to {max_files} files to a tender: every "
                    "stored file is kept locked for years."
                ).format(max_files=self.quota.files),
                _(
                    "Send a new version of a file under its name (it replaces the old one), "
                    "withdraw a file you do not need, or combine files into one."
                ),
                tender_id=tender.id,
                audit_kind=EventKind.BID_REFUSED,
                details={"files": len(kept), "max_files": self.quota.files},
            )
        if total > self.quota.bytes:
            raise TooLarge(
                _(
                    "This file would bring your submission to tender {reference} to {total:,} "
                    "bytes."
                ).format(reference=tender.reference, total=total),
                _(
                    "Each supplier may submit up to {max_bytes:,} bytes to a tender: every "
                    "stored file is kept locked for years."
                ).format(max_bytes=self.quota.bytes),
                _(
                    "Make the files smaller (compress scans, remove duplicates) or withdraw a "
                    "file you do not need, and send it again."
                ),
                tender_id=tender.id,
                audit_kind=EventKind.BID_REFUSED,
                details={"bytes": total, "max_bytes": self.quota.bytes},
            )

    def _record_sealed(
        self,
        kind: EventKind,
        tender: Tender,
        row: BidDocument | BidFingerprint | BidWithdrawal,
        fields: dict[str, Any],
        *,
        at: datetime,
    ) -> AuditEvent:
        """Record ``row`` (its id is its receipt's) with its event in the log. Who bid, and
        what, is sealed to the tender's key until the opening (see audit.sealed): the log holds
        a commitment to ``fields`` under the row's salt, the receipt id and the time."""
        event = audit.append(
            self.session,
            kind=kind,
            actor=audit.SEALED_ACTOR,
            at=at,
            tender_id=tender.id,
            payload=seal_fields(
                tender.public_key,
                fields,
                public={"receipt_id": str(row.id)},
                salt=bytes.fromhex(row.commitment_salt or ""),
            ).payload,
        )
        row.audit_seq = event.seq
        self.session.add(row)
        return event

    def _fingerprint_of(self, document: BidDocument) -> BidFingerprint | None:
        if document.fingerprint_id is None:
            return None
        return self.session.get(BidFingerprint, document.fingerprint_id)

    def _refuse_unless_received_in_time(
        self,
        tender: Tender,
        now: datetime,
        *,
        supplier: User,
        file_name: str,
        sha256: str | None = None,
    ) -> BidFingerprint | None:
        """Refuse a file unless it is received in time: by the deadline, or -- for a
        fingerprint-first tender, within the grace period -- matching the fingerprint its
        supplier registered for that file name by the deadline (returned; ``sha256`` None: not
        known yet, as the upload starts)."""
        if tender.status == TenderStatus.DRAFT:
            raise TenderClosed(
                _("Tender {reference} is not published yet.").format(reference=tender.reference),
                _("A draft tender takes no bids."),
                _("Wait until the procuring entity publishes it."),
                tender_id=tender.id,
                audit_kind=EventKind.BID_REFUSED,
            )
        refuse_if_cancelled(tender)
        if now <= tender.deadline and tender.status == TenderStatus.PUBLISHED:
            return None
        fingerprint = (
            None
            if now > tender.files_until or tender.status != TenderStatus.PUBLISHED
            else self.session.scalar(
                select(BidFingerprint).where(
                    BidFingerprint.tender_id == tender.id,
                    BidFingerprint.supplier_id == supplier.id,
                    BidFingerprint.file_name == file_name,
                    BidFingerprint.superseded_at.is_(None),
                    BidFingerprint.withdrawn_at.is_(None),
                )
            )
        )
        if fingerprint is None:
            raise TenderClosed(
                _("Tender {reference} closed at {deadline}; your upload arrived at {now}.").format(
                    reference=tender.reference,
                    deadline=format_time(tender.deadline),
                    now=format_time(now),
                ),
                _(
                    "Bids count only if the platform has received their last byte by the "
                    "deadline (the platform's clock decides)."
                )
                if tender.file_grace_seconds is None
                else _(
                    "Bids count only if the platform has received their last byte by the "
                    "deadline or, for a file whose fingerprint was registered by the deadline, "
                    "by {files_until} (the platform's clock decides)."
                ).format(files_until=format_time(tender.files_until)),
                _(
                    "The bid cannot be accepted. Contact the procuring entity if you believe "
                    "the platform was at fault."
                ),
                tender_id=tender.id,
                audit_kind=EventKind.BID_REFUSED,
                details={"deadline": format_time(tender.deadline), "arrived_at": format_time(now)},
            )
        if sha256 is not None and sha256 != fingerprint.sha256:
            raise TenderClosed(
                _("This {file_name} is not the file whose fingerprint you registered.").format(
                    file_name=file_name
                ),
                _(
                    "After the deadline of tender {reference} only a file with the "
                    "SHA-256 registered by the deadline is received: that is "
                    "{sha256}, registered at {received_at}; "
                    "this file's is {file_sha256}."
                ).format(
                    reference=tender.reference,
                    sha256=fingerprint.sha256,
                    received_at=format_time(fingerprint.received_at),
                    file_sha256=sha256,
                ),
                _(
                    "Upload the exact file you fingerprinted (unchanged, byte for byte) before "
                    "{files_until}."
                ).format(files_until=format_time(tender.files_until)),
                tender_id=tender.id,
                audit_kind=EventKind.BID_REFUSED,
                details={"deadline": format_time(tender.deadline), "arrived_at": format_time(now)},
            )
        return fingerprint


_Submitted = TypeVar("_Submitted", BidDocument, BidFingerprint)
_AnyReceipt = TypeVar("_AnyReceipt", Receipt, FingerprintReceipt, WithdrawalReceipt)
_Payload = TypeVar("_Payload", ReceiptPayload, FingerprintPayload, WithdrawalPayload)


def _current(
    session: Session,
    model: type[_Submitted],
    tender_id: uuid.UUID,
    supplier_id: uuid.UUID,
    file_name: str | None,
) -> list[_Submitted]:
    """The supplier's documents (or fingerprints) that count now: neither superseded nor
    withdrawn; of ``file_name``, or all (None)."""
    return list(
        session.scalars(
            select(model).where(
                model.tender_id == tender_id,
                model.supplier_id == supplier_id,
                model.superseded_at.is_(None),
                model.withdrawn_at.is_(None),
                *([] if file_name is None else [model.file_name == file_name]),
            )
        )
    )


def _envelope_name(envelope: str | None) -> str:
    """The envelope ("technical", "financial") as the reader calls it."""
    return {TECHNICAL: _("technical"), FINANCIAL: _("financial")}.get(
        envelope or TECHNICAL, str(envelope)
    )


def refuse_if_cancelled(tender: Tender) -> None:
    """A cancelled tender takes nothing more from suppliers."""
    if tender.status == TenderStatus.CANCELLED:
        raise TenderClosed(
            (
                _("Tender {reference} was cancelled at {cancelled_at}: {reason}").format(
                    reference=tender.reference,
                    cancelled_at=format_time(tender.cancelled_at),
                    reason=tender.cancellation_reason,
                )
                if tender.cancelled_at
                else _("Tender {reference} was cancelled: {reason}").format(
                    reference=tender.reference, reason=tender.cancellation_reason
                )
            ),
            _(
                "A cancelled tender takes no bids; what was submitted stays sealed and is never "
                "opened."
            ),
            _("Nothing to do. If the procuring entity publishes a new tender, submit to that."),
            tender_id=tender.id,
            audit_kind=EventKind.BID_REFUSED,
        )


def receipt_fields(document: BidDocument, supplier: User) -> dict[str, Any]:
    """What a ``bid.received`` event commits to, and the opening reveals: everything that says
    who sent what, and where its sealed bytes are (and for a two-envelope tender, in which
    envelope: what the opening of each envelope goes by)."""
    envelope = {} if document.envelope is None else {"envelope": document.envelope}
    return {
        **envelope,
        "receipt_id": str(document.id),
        "supplier_id": str(supplier.id),
        "supplier_organisation": supplier.organisation,
        "file_name": document.file_name,
        "sha256": document.sha256,
        "size": document.size,
        "object_key": document.object_key,
        "object_version": document.object_version,
        "signature_precheck": document.precheck["indication"] if document.precheck else None,
        # Only for a supplier-sealed file, so other receipts commit to what they always did.
        **({} if document.sealed_sha256 is None else {"sealed_sha256": document.sealed_sha256}),
    }


def fingerprint_fields(fingerprint: BidFingerprint, supplier: User) -> dict[str, Any]:
    """What a ``bid.fingerprinted`` event commits to, and the opening reveals."""
    return {
        "receipt_id": str(fingerprint.id),
        "supplier_id": str(supplier.id),
        "supplier_organisation": supplier.organisation,
        "file_name": fingerprint.file_name,
        "sha256": fingerprint.sha256,
    }


def _withdrawal_fields(withdrawal: BidWithdrawal, supplier: User) -> dict[str, Any]:
    """What a withdrawal's sealed event commits to."""
    return {
        "withdrawal_id": str(withdrawal.id),
        "supplier_id": str(supplier.id),
        "supplier_organisation": supplier.organisation,
        "file_name": withdrawal.file_name,
        "withdrawn": withdrawal.withdrawn,
    }


def _withdrawal_receipt(
    tender: Tender, supplier: User, withdrawal: BidWithdrawal, event: AuditEvent
) -> WithdrawalReceipt:
    return WithdrawalReceipt(
        receipt_id=withdrawal.id,
        tender_id=tender.id,
        tender_reference=tender.reference,
        supplier=supplier.name,
        supplier_organisation=supplier.organisation,
        file_name=withdrawal.file_name,
        withdrawn=[uuid.UUID(receipt_id) for receipt_id in withdrawal.withdrawn],
        withdrawn_at=withdrawal.withdrawn_at,
        deadline=tender.deadline,
        audit_seq=event.seq,
        audit_hash=event.hash,
        leaf_index=event.seq - 1,
        commitment_salt=withdrawal.commitment_salt,
        committed_fields=_withdrawal_fields(withdrawal, supplier),
        signed_receipt=withdrawal.signed_receipt,
    )


def _fingerprint_receipt(
    tender: Tender, supplier: User, fingerprint: BidFingerprint, event: AuditEvent
) -> FingerprintReceipt:
    return FingerprintReceipt(
        receipt_id=fingerprint.id,
        tender_id=tender.id,
        tender_reference=tender.reference,
        supplier=supplier.name,
        supplier_organisation=supplier.organisation,
        file_name=fingerprint.file_name,
        sha256=fingerprint.sha256,
        received_at=fingerprint.received_at,
        deadline=tender.deadline,
        files_until=tender.files_until,
        audit_seq=event.seq,
        audit_hash=event.hash,
        leaf_index=event.seq - 1,
        commitment_salt=fingerprint.commitment_salt or "",
        committed_fields=fingerprint_fields(fingerprint, supplier),
        signed_receipt=fingerprint.signed_receipt,
    )


def _receipt(
    tender: Tender,
    supplier: User,
    document: BidDocument,
    event: AuditEvent,
    fingerprint: BidFingerprint | None,
) -> Receipt:
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
        envelope=document.envelope,
        fulfils_fingerprint=None
        if fingerprint is None
        else FingerprintMatch(
            receipt_id=fingerprint.id,
            received_at=fingerprint.received_at,
            sha256=fingerprint.sha256,
            files_until=tender.files_until,
        ),
        sealed_sha256=document.sealed_sha256,
    )


def own_receipt_standing(
    receipt: Receipt, *, superseded_at: datetime | None, withdrawn_at: datetime | None
) -> OwnReceipt:
    """Whether ``receipt``'s version counts for the opening, in words."""
    if withdrawn_at is not None:
        return OwnReceipt(
            receipt=receipt,
            counts=False,
            standing="withdrawn",
            standing_since=withdrawn_at,
            explanation=f"You withdrew it at {format_time(withdrawn_at)}; it stays sealed and on "
            "record, but the opening does not open it.",
        )
    if superseded_at is None:
        return OwnReceipt(
            receipt=receipt,
            counts=True,
            standing="counts",
            standing_since=receipt.received_at,
            explanation=f"This version of {receipt.file_name} is the one the opening counts: "
            "the latest you sent in time. Uploading the file again before the deadline would "
            "replace it.",
        )
    return OwnReceipt(
        receipt=receipt,
        counts=False,
        standing="superseded",
        standing_since=superseded_at,
        explanation=f"Replaced at {format_time(superseded_at)} by a later upload of "
        f"{receipt.file_name}; it stays sealed and on record, but the opening counts the later "
        "one.",
    )


def current_document(
    session: Session, tender_id: uuid.UUID, supplier_id: uuid.UUID, file_name: str
) -> BidDocument | None:
    """The supplier's latest upload of ``file_name`` (earlier ones are superseded), unless
    withdrawn."""
    return session.scalar(
        select(BidDocument).where(
            BidDocument.tender_id == tender_id,
            BidDocument.supplier_id == supplier_id,
            BidDocument.file_name == file_name,
            BidDocument.superseded_at.is_(None),
            BidDocument.withdrawn_at.is_(None),
        )
    )
