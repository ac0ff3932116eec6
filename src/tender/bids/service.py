"""Bid submission: check the window, seal while streaming, lock the object, record and receipt.

The order matters. Bytes are hashed and sealed chunk by chunk into a temporary file of
ciphertext (memory stays one chunk), the sealed object is written under Object Lock, and only
then, in one transaction, are the document row and its audit event committed, with the deadline
checked again by the clock at that moment. A failure before that commit leaves no row and no
receipt.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import BinaryIO

import anyio.to_thread
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tender.accounts.models import Role, User
from tender.accounts.service import require_role, signer_binding
from tender.audit import service as audit
from tender.audit.chain import format_time
from tender.audit.checkpoints import Checkpointer, checkpoint_summary
from tender.audit.models import AuditEvent
from tender.bids.models import BidDocument
from tender.bids.precheck import PreChecker, signed_file_name
from tender.bids.receipts import receipt_payload
from tender.bids.schemas import BidSummary, PreCheck, Receipt
from tender.clock import Clock
from tender.errors import Invalid, TenderClosed, Unavailable
from tender.signing import SignerBinding
from tender.storage.objectstore import ObjectStore, ObjectStoreError
from tender.storage.sealing import Sealer
from tender.tenders.models import Tender, TenderStatus
from tender.tenders.service import get_tender

MAX_FILE_NAME = 255
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SealedSpool:
    """A bid's ciphertext in a temporary file, with the digest and size of its plaintext.

    ``plaintext`` is a second temporary file with the plain bytes, kept only for the signature
    pre-check and only for files up to the pre-check limit (pyHanko needs random access); it
    is unlinked on creation and closed as soon as the pre-check is done.
    """

    file: BinaryIO
    plaintext: BinaryIO | None
    sha256: str
    size: int
    sealed_size: int

    def close(self) -> None:
        self.file.close()
        if self.plaintext is not None:
            self.plaintext.close()


async def seal_to_spool(
    chunks: AsyncIterator[bytes],
    public_key: bytes,
    *,
    chunk_size: int,
    max_bytes: int,
    plaintext_limit: int,
) -> SealedSpool:
    """Hash and seal a stream into a temporary file, keeping a plain copy for the pre-check."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, who closes it
    plaintext: BinaryIO | None = tempfile.TemporaryFile()  # noqa: SIM115 - likewise
    try:
        sealer = Sealer(public_key, chunk_size=chunk_size)
        digest = hashlib.sha256()
        size = 0
        async for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise Invalid(
                    "The file is too large.",
                    f"This platform accepts bid files of up to {max_bytes:,} bytes.",
                    "Split the bid into several files, or ask the procuring entity.",
                )
            digest.update(chunk)
            spool.write(sealer.update(chunk))
            if plaintext is not None:
                if size > plaintext_limit:
                    plaintext.close()
                    plaintext = None
                else:
                    plaintext.write(chunk)
        if size == 0:
            raise Invalid(
                "The file is empty.",
                "No bytes arrived, so there is nothing to seal.",
                "Check that you chose the right file and upload it again.",
            )
        spool.write(sealer.finalize())
        sealed_size = spool.tell()
        spool.seek(0)
        if plaintext is not None:
            plaintext.seek(0)
    except BaseException:
        spool.close()
        if plaintext is not None:
            plaintext.close()
        raise
    return SealedSpool(spool, plaintext, digest.hexdigest(), size, sealed_size)


def check_file_name(file_name: str) -> str:
    name = file_name.strip()
    if (
        not name
        or len(name) > MAX_FILE_NAME
        or any(c in name for c in "/\\\x00")
        or name
        in {
            ".",
            "..",
        }
    ):
        raise Invalid(
            f"The file name {file_name!r} cannot be used.",
            f"A file name must be 1 to {MAX_FILE_NAME} characters without slashes.",
            "Rename the file and upload it again.",
        )
    return name


@dataclass(frozen=True)
class SubmissionWindow:
    """What an upload needs to know before it streams: where to seal to, and for whom."""

    public_key: bytes
    deadline: datetime
    binding: SignerBinding
    signed_file_sha256: str | None  # for a .p7s: the receipt hash of the file it signs


@dataclass(frozen=True, kw_only=True)
class BidService:
    """Submissions for all tenders; built once per platform."""

    sessions: sessionmaker[Session]
    store: ObjectStore
    bucket: str
    clock: Clock
    retention: timedelta
    chunk_size: int
    max_bytes: int
    prechecker: PreChecker
    checkpoints: Checkpointer

    async def submit(
        self,
        *,
        supplier: User,
        tender_id: uuid.UUID,
        file_name: str,
        chunks: AsyncIterator[bytes],
    ) -> Receipt:
        """Receive one bid document and return its receipt, with the signature pre-check."""
        name = check_file_name(file_name)
        window = await anyio.to_thread.run_sync(self._check_window, supplier, tender_id, name)
        spool = await seal_to_spool(
            chunks,
            window.public_key,
            chunk_size=self.chunk_size,
            max_bytes=self.max_bytes,
            plaintext_limit=self.prechecker.max_bytes,
        )
        document_id = uuid.uuid4()
        key = f"tenders/{tender_id}/bids/{document_id}.sealed"
        retain_until = window.deadline + self.retention
        try:
            precheck = await self.prechecker.check(
                spool.plaintext,
                file_name=name,
                at=self.clock.now(),
                binding=window.binding,
                signed_file_sha256=window.signed_file_sha256,
            )
            if spool.plaintext is not None:
                spool.plaintext.close()  # the plain copy lives no longer than the pre-check
            stored = await anyio.to_thread.run_sync(
                lambda: self.store.put_locked(
                    self.bucket,
                    key,
                    spool.file,
                    length=spool.sealed_size,
                    retain_until=retain_until,
                )
            )
        except ObjectStoreError as exc:
            raise Unavailable(
                f"Your file {name} was received but could not be stored, so it is NOT "
                "submitted and no receipt was issued.",
                f"The platform's sealed storage failed: {exc}",
                "Upload the file again; if this keeps happening before the deadline, "
                "contact the procuring entity at once.",
                tender_id=tender_id,
                audit_kind="bid.refused",
            ) from exc
        finally:
            spool.close()
        document = BidDocument(
            id=document_id,
            tender_id=tender_id,
            supplier_id=supplier.id,
            file_name=name,
            sha256=spool.sha256,
            size=spool.size,
            sealed_size=spool.sealed_size,
            object_key=key,
            object_version=stored.version_id,
            retain_until=retain_until,
            precheck=precheck.to_json(),
        )
        receipt = await anyio.to_thread.run_sync(self._record, supplier, document)
        return await anyio.to_thread.run_sync(self._prove_and_sign, receipt)

    def _prove_and_sign(self, receipt: Receipt) -> Receipt:
        """Add a signed checkpoint and the inclusion proof to the receipt, and sign it all.

        The bid is already recorded: if this fails, the receipt goes back unproven (the proof
        can be asked for later) rather than making the supplier think the bid was lost.
        """
        try:
            checkpoint = self.checkpoints.issue("receipt")
        except Exception:
            log.exception(
                "no checkpoint for receipt %s; returned without proof", receipt.receipt_id
            )
            return receipt
        with self.sessions.begin() as session:
            proof = audit.inclusion(session, seq=receipt.audit_seq, size=checkpoint.size)
            event = session.get(AuditEvent, receipt.audit_seq)
            document = session.get(BidDocument, receipt.receipt_id)
            assert event is not None
            assert document is not None
            proven = replace(
                receipt,
                checkpoint=checkpoint_summary(checkpoint),
                inclusion_proof=proof["proof"],
            )
            document.signed_receipt = self.checkpoints.sign_json(
                receipt_payload(proven, audit.to_json(event))
            )
            return replace(proven, signed_receipt=document.signed_receipt)

    def _check_window(
        self, supplier: User, tender_id: uuid.UUID, file_name: str
    ) -> SubmissionWindow:
        with self.sessions.begin() as session:
            require_role(supplier, [Role.SUPPLIER], "submit bids")
            tender = get_tender(session, tender_id)
            self._refuse_unless_open(tender, self.clock.now())
            signed_name = signed_file_name(file_name)
            signed = (
                None
                if signed_name is None
                else _current_document(session, tender.id, supplier.id, signed_name)
            )
            return SubmissionWindow(
                public_key=tender.public_key,
                deadline=tender.deadline,
                binding=signer_binding(session, supplier.organisation),
                signed_file_sha256=signed.sha256 if signed else None,
            )

    def _refuse_unless_open(self, tender: Tender, now: datetime) -> None:
        if tender.status == TenderStatus.DRAFT:
            raise TenderClosed(
                f"Tender {tender.reference} is not published yet.",
                "A draft tender takes no bids.",
                "Wait until the procuring entity publishes it.",
                tender_id=tender.id,
                audit_kind="bid.refused",
            )
        if now > tender.deadline or tender.status != TenderStatus.PUBLISHED:
            raise TenderClosed(
                f"Tender {tender.reference} closed at {format_time(tender.deadline)}; "
                f"your upload arrived at {format_time(now)}.",
                "Bids count only if the platform has received them in full by the deadline "
                "(the platform's clock decides).",
                "The bid cannot be accepted. Contact the procuring entity if you believe "
                "the platform was at fault.",
                tender_id=tender.id,
                audit_kind="bid.refused",
                details={"deadline": format_time(tender.deadline), "arrived_at": format_time(now)},
            )

    def _record(self, supplier: User, document: BidDocument) -> Receipt:
        with self.sessions.begin() as session:
            # Locking the tender row orders this commit against the opening job.
            tender = get_tender(session, document.tender_id, for_update=True)
            now = self.clock.now()
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
            document.received_at = now
            earlier = _current_document(session, tender.id, supplier.id, document.file_name)
            if earlier is not None:
                earlier.superseded_at = now
            event = audit.append(
                session,
                kind="bid.received",
                actor=supplier.actor,
                at=now,
                tender_id=tender.id,
                payload={
                    "receipt_id": str(document.id),
                    "supplier_organisation": supplier.organisation,
                    "file_name": document.file_name,
                    "sha256": document.sha256,
                    "size": document.size,
                    "object_key": document.object_key,
                    "object_version": document.object_version,
                    "signature_precheck": (document.precheck or {}).get("indication"),
                },
            )
            document.audit_seq = event.seq
            session.add(document)
            session.flush()
            return _receipt(tender, supplier, document, event)

    def summary(self, *, viewer: User, tender_id: uuid.UUID) -> BidSummary:
        """How many documents a tender has, and the viewer's own receipts."""
        with self.sessions.begin() as session:
            tender = get_tender(session, tender_id)
            count = session.scalar(
                select(func.count())
                .select_from(BidDocument)
                .where(BidDocument.tender_id == tender_id, BidDocument.superseded_at.is_(None))
            )
            rows = session.execute(
                select(BidDocument, AuditEvent)
                .join(AuditEvent, AuditEvent.seq == BidDocument.audit_seq)
                .where(BidDocument.tender_id == tender_id, BidDocument.supplier_id == viewer.id)
                .order_by(BidDocument.received_at)
            ).all()
            receipts = [_receipt(tender, viewer, doc, event) for doc, event in rows]
            return BidSummary(
                tender_id=tender_id, documents_received=count or 0, own_receipts=receipts
            )


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
        signed_receipt=document.signed_receipt,
    )


def _current_document(
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


def documents_to_open(session: Session, tender_id: uuid.UUID) -> list[BidDocument]:
    """The documents the opening unseals: every upload not superseded by a later one."""
    query = (
        select(BidDocument)
        .where(BidDocument.tender_id == tender_id, BidDocument.superseded_at.is_(None))
        .order_by(BidDocument.received_at)
    )
    return list(session.scalars(query))
