"""The opening: after the deadline, unseal every bid, check it, verify it, record it.

Idempotent and resumable. The tender row is locked for every state change, each document's
result commits on its own, and a re-delivered message continues where the last one stopped:
running the opening twice gives the same results and no duplicate audit events.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from pyhanko.sign.signers import Signer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tender.accounts.models import Role, User
from tender.accounts.service import require_role, signer_binding
from tender.audit import service as audit
from tender.audit.chain import format_time
from tender.audit.checkpoints import Checkpointer, checkpoint_summary
from tender.audit.models import AuditEvent, CheckpointRecord
from tender.bids.models import BidDocument
from tender.bids.precheck import signed_file_name
from tender.bids.service import documents_to_open
from tender.clock import Clock
from tender.errors import Conflict, NotFound
from tender.opening.models import OpeningRecord, OpeningResult
from tender.opening.record_pdf import render_record_pdf, seal_record_pdf
from tender.signing import (
    DocumentReport,
    Indication,
    SignerBinding,
    SubIndication,
    TrustStore,
    signed_revision_length,
    verify_document,
)
from tender.storage.objectstore import ObjectStore
from tender.storage.sealing import PlatformKey, SealError, TenderKey, unseal
from tender.tenders.models import Tender, TenderStatus
from tender.tenders.service import get_tender, key_context

RECORD_FORMAT = "tender-opening-record/1"
log = logging.getLogger(__name__)


class OpeningRecordMismatchError(RuntimeError):
    """The opening record read back differs from the one the opening wrote."""


@dataclass(frozen=True)
class OpeningOutcome:
    """What one call of ``open_tender`` did. ``not_due_for`` is set when it came too early."""

    tender_id: uuid.UUID
    status: str
    documents_opened_now: int
    not_due_for: timedelta | None = None


@dataclass(frozen=True, kw_only=True)
class OpeningService:
    """Opens tenders; one instance per platform, safe to call from several workers at once."""

    sessions: sessionmaker[Session]
    store: ObjectStore
    bucket: str
    platform_key: PlatformKey
    trust: TrustStore
    clock: Clock
    retention: timedelta
    checkpoints: Checkpointer
    seal: Signer  # the platform's organisation seal, for the opening record PDF

    def open_tender(self, tender_id: uuid.UUID) -> OpeningOutcome:
        """Open ``tender_id`` if its deadline has passed; a no-op once it is opened."""
        with self.sessions.begin() as session:
            if session.get(Tender, tender_id) is None:
                # A message for a tender this database does not have (another environment's,
                # or a restored backup): nothing to open, and retrying will not change that.
                log.error("opening requested for unknown tender %s; ignored", tender_id)
                return OpeningOutcome(tender_id, "unknown", 0)
            tender = get_tender(session, tender_id, for_update=True)
            if tender.status in (TenderStatus.DRAFT, TenderStatus.OPENED):
                return OpeningOutcome(tender.id, tender.status, 0)
            now = self.clock.now()
            if now < tender.deadline:
                return OpeningOutcome(tender.id, tender.status, 0, tender.deadline - now)
            starting = tender.status == TenderStatus.PUBLISHED
            if starting:
                self._start(session, tender, now)
            tender_key = TenderKey.unwrap(
                tender.wrapped_private_key, self.platform_key, context=key_context(tender.id)
            )
            documents = documents_to_open(session, tender.id)
            pending = [d for d in documents if session.get(OpeningResult, d.id) is None]
            bindings = {
                d.supplier_id: signer_binding(session, _organisation(session, d.supplier_id))
                for d in pending
            }
        if starting:
            # The deadline's checkpoint: every bid received is in the signed tree from here on.
            self.checkpoints.issue("deadline")
        partners = _signature_partners(documents)
        for document in pending:
            result = self._open_document(
                tender_key, document, partners.get(document.id), bindings[document.supplier_id]
            )
            with self.sessions.begin() as session:
                get_tender(session, tender_id, for_update=True)
                if session.get(OpeningResult, document.id) is None:
                    self._record_result(session, document, result)
        # Issued before the finishing transaction, which it would otherwise wait for.
        checkpoint = self.checkpoints.issue("opening")
        with self.sessions.begin() as session:
            tender = get_tender(session, tender_id, for_update=True)
            if tender.status != TenderStatus.OPENED:
                self._finish(session, tender, checkpoint)
            return OpeningOutcome(tender.id, tender.status, len(pending))

    def _start(self, session: Session, tender: Tender, now: datetime) -> None:
        tender.status = TenderStatus.OPENING.value
        tender.opening_started_at = now
        delay = (now - tender.deadline).total_seconds()
        _system_event(
            session,
            "opening.started",
            at=now,
            tender_id=tender.id,
            payload={"deadline": format_time(tender.deadline), "delay_seconds": round(delay, 3)},
        )
        _system_event(
            session,
            "tender.key_released",
            at=now,
            tender_id=tender.id,
            payload={
                "public_key": tender.public_key.hex(),
                "unwrapped_with_platform_key": self.platform_key.fingerprint,
            },
        )

    def _open_document(
        self,
        tender_key: TenderKey,
        document: BidDocument,
        partner: BidDocument | None,
        binding: SignerBinding,
    ) -> OpeningResult:
        """Unseal a document (and its detached-signature partner), check, verify.

        A detached signature ``X.p7s`` and the file ``X`` it signs are partners: each gets the
        verdict of the pair. Validation is as of the signature's receipt time, which the
        receipt proves.
        """
        with ExitStack() as files:
            plaintext = files.enter_context(tempfile.TemporaryFile())
            try:
                computed = self._unseal_checked(tender_key, document, plaintext)
                partner_plaintext: BinaryIO | None = None
                if partner is not None:
                    partner_plaintext = files.enter_context(tempfile.TemporaryFile())
                    self._unseal_checked(tender_key, partner, partner_plaintext)
            except _UnsealError as failure:
                return _failed(document, failure.computed, failure.reason)
            content: BinaryIO
            signature: BinaryIO | None
            if signed_file_name(document.file_name) is not None:  # this is the signature
                if partner_plaintext is None:
                    return _failed(
                        document,
                        computed,
                        "This detached signature's file was not submitted: there is no "
                        f"{signed_file_name(document.file_name)} from the same supplier.",
                        hash_matches=True,
                        sub_indication=SubIndication.SIGNED_DATA_NOT_FOUND,
                    )
                content, signature, signed_at = partner_plaintext, plaintext, document.received_at
            else:
                content, signature = plaintext, partner_plaintext
                signed_at = partner.received_at if partner is not None else document.received_at
            report = verify_document(
                content,
                detached_signature=signature,
                trust=self.trust,
                at=signed_at,
                expected_signers=binding,
            )
            signed_length = None
            if signature is None and report.signatures:
                plaintext.seek(0)
                signed_length = signed_revision_length(plaintext)
        return _from_report(document, computed, report, signed_length)

    def _unseal_checked(self, tender_key: TenderKey, document: BidDocument, sink: BinaryIO) -> str:
        """Unseal into ``sink`` (left at its start); returns the SHA-256, checked against the
        receipt. Raises ``_UnsealError`` saying what is wrong."""
        digest = hashlib.sha256()
        sealed = self.store.iter_version(self.bucket, document.object_key, document.object_version)
        try:
            for piece in unseal(sealed, tender_key):
                digest.update(piece)
                sink.write(piece)
        except SealError as exc:
            raise _UnsealError(
                f"The sealed file {document.file_name} failed its integrity check when "
                f"unsealed ({exc}); the stored bytes are not those received.",
                None,
            ) from exc
        computed = digest.hexdigest()
        if computed != document.sha256:
            raise _UnsealError(
                f"The unsealed file {document.file_name}'s SHA-256 differs from the one on "
                "the receipt.",
                computed,
            )
        sink.seek(0)
        return computed

    def _record_result(
        self, session: Session, document: BidDocument, result: OpeningResult
    ) -> None:
        now = self.clock.now()
        result.opened_at = now
        session.add(result)
        _system_event(
            session,
            "bid.opened",
            at=now,
            tender_id=document.tender_id,
            payload={
                "receipt_id": str(document.id),
                "file_name": document.file_name,
                "receipt_sha256": document.sha256,
                "computed_sha256": result.computed_sha256,
                "hash_matches": result.hash_matches,
                "indication": result.indication,
                "sub_indication": result.sub_indication,
                "signer_subject": result.signer_subject,
            },
        )

    def _finish(self, session: Session, tender: Tender, checkpoint: CheckpointRecord) -> None:
        """Write the opening record, as JSON and as a PDF sealed by the platform, both under
        Object Lock with their hashes in the log; then mark the tender opened."""
        now = self.clock.now()
        tender.opened_at = now
        record = build_record(session, tender)
        record["checkpoint"] = checkpoint_summary(checkpoint)
        body = json.dumps(record, sort_keys=True, indent=2, ensure_ascii=False).encode()
        rendered, sealed = io.BytesIO(), io.BytesIO()
        render_record_pdf(record, rendered)
        rendered.seek(0)
        seal_record_pdf(rendered, sealed, self.seal, timestamper=self.checkpoints.timestamper)
        retain_until = tender.deadline + self.retention
        json_copy = self._lock(f"tenders/{tender.id}/opening-record.json", body, retain_until)
        pdf_copy = self._lock(
            f"tenders/{tender.id}/opening-record.pdf", sealed.getvalue(), retain_until
        )
        session.add(
            OpeningRecord(
                tender_id=tender.id,
                object_key=json_copy.key,
                object_version=json_copy.version_id,
                sha256=json_copy.sha256,
                pdf_object_key=pdf_copy.key,
                pdf_object_version=pdf_copy.version_id,
                pdf_sha256=pdf_copy.sha256,
                created_at=now,
            )
        )
        tender.status = TenderStatus.OPENED.value
        bids = record["bids"]
        _system_event(
            session,
            "opening.finished",
            at=now,
            tender_id=tender.id,
            payload={
                "record_sha256": json_copy.sha256,
                "record_object_version": json_copy.version_id,
                "record_pdf_sha256": pdf_copy.sha256,
                "record_pdf_object_version": pdf_copy.version_id,
                "documents": len(bids),
                "passed": sum(1 for bid in bids if bid["indication"] == Indication.TOTAL_PASSED),
            },
        )

    def _lock(self, key: str, body: bytes, retain_until: datetime) -> _Locked:
        stored = self.store.put_locked(
            self.bucket, key, io.BytesIO(body), length=len(body), retain_until=retain_until
        )
        return _Locked(key, stored.version_id, hashlib.sha256(body).hexdigest())

    def document_for_evaluation(
        self,
        session: Session,
        *,
        reader: User,
        tender_id: uuid.UUID,
        receipt_id: uuid.UUID,
        as_received: bool,
    ) -> tuple[str, Iterator[bytes]]:
        """A bid document's name and its plain bytes, streamed, once the tender is opened.

        Evaluators get the signed revision: for a signed PDF, exactly the bytes its last
        signature covers, never anything appended after signing. ``as_received`` gives the
        whole file as uploaded (both are kept: the sealed original is never changed). Each
        read is audited, in the caller's transaction.
        """
        require_role(reader, [Role.OFFICER, Role.AUDITOR], "read bid documents")
        tender = get_tender(session, tender_id)
        document = session.get(BidDocument, receipt_id)
        if document is None or document.tender_id != tender.id:
            raise NotFound(
                f"Tender {tender.reference} has no bid document {receipt_id}.",
                "The receipt id does not belong to this tender.",
                "Take the receipt id from the opening record.",
                tender_id=tender.id,
            )
        if tender.status != TenderStatus.OPENED:
            raise Conflict(
                f"Tender {tender.reference} is not opened, so its bids are sealed.",
                "Nobody can read a bid before the opening, which runs by itself after the "
                f"deadline ({format_time(tender.deadline)}).",
                "Wait for the opening.",
                tender_id=tender.id,
            )
        result = session.get(OpeningResult, document.id)
        limit = None if as_received or result is None else result.signed_length
        tender_key = TenderKey.unwrap(
            tender.wrapped_private_key, self.platform_key, context=key_context(tender.id)
        )
        audit.append(
            session,
            kind="bid.read",
            actor=reader.actor,
            at=self.clock.now(),
            tender_id=tender.id,
            payload={
                "receipt_id": str(document.id),
                "file_name": document.file_name,
                "as_received": as_received,
                "bytes": document.size if limit is None else limit,
            },
        )
        sealed = self.store.iter_version(self.bucket, document.object_key, document.object_version)
        return document.file_name, _first_bytes(unseal(sealed, tender_key), limit)

    def stored_record_pdf(self, session: Session, tender_id: uuid.UUID) -> Iterator[bytes]:
        """The sealed PDF of the opening record, streamed from locked storage."""
        row = self._record_row(session, tender_id)
        return self.store.iter_version(self.bucket, row.pdf_object_key, row.pdf_object_version)

    def _record_row(self, session: Session, tender_id: uuid.UUID) -> OpeningRecord:
        tender = get_tender(session, tender_id)
        row = session.get(OpeningRecord, tender_id)
        if row is None:
            raise Conflict(
                f"Tender {tender.reference} has not been opened yet (status: {tender.status}).",
                f"The opening runs by itself after the deadline, {format_time(tender.deadline)}.",
                "Try again after the deadline.",
                tender_id=tender.id,
            )
        return row

    def stored_record(self, session: Session, tender_id: uuid.UUID) -> dict[str, Any]:
        """The opening record as written to locked storage, checked against its recorded hash."""
        row = self._record_row(session, tender_id)
        body = b"".join(self.store.iter_version(self.bucket, row.object_key, row.object_version))
        if hashlib.sha256(body).hexdigest() != row.sha256:
            raise OpeningRecordMismatchError(
                f"The stored opening record of tender {tender_id} does not match the "
                "hash written when it was opened: the stored copy or the database was altered. "
                "Report this to the auditor; the audit trail holds the original hash."
            )
        record: dict[str, Any] = json.loads(body)
        return record


def _system_event(
    session: Session, kind: str, *, at: datetime, tender_id: uuid.UUID, payload: dict[str, Any]
) -> None:
    """The opening acts on its own: its events name the system as the actor."""
    audit.append(
        session, kind=kind, actor=audit.SYSTEM_ACTOR, at=at, tender_id=tender_id, payload=payload
    )


def build_record(session: Session, tender: Tender) -> dict[str, Any]:
    """The opening record: the tender, every opened document and its verdict, the audit head."""
    rows = session.execute(
        select(BidDocument, OpeningResult, User)
        .join(OpeningResult, OpeningResult.document_id == BidDocument.id)
        .join(User, User.id == BidDocument.supplier_id)
        .where(BidDocument.tender_id == tender.id)
        .order_by(BidDocument.received_at)
    ).all()
    head = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).one()
    assert tender.opening_started_at is not None
    assert tender.opened_at is not None
    return {
        "format": RECORD_FORMAT,
        "tender": {
            "id": str(tender.id),
            "reference": tender.reference,
            "title": tender.title,
            "deadline": format_time(tender.deadline),
            "opening_started_at": format_time(tender.opening_started_at),
            "opened_at": format_time(tender.opened_at),
        },
        "bids": [
            {
                "receipt_id": str(document.id),
                "supplier": supplier.name,
                "supplier_organisation": supplier.organisation,
                "file_name": document.file_name,
                "size": document.size,
                "received_at": format_time(document.received_at),
                "receipt_sha256": document.sha256,
                "computed_sha256": result.computed_sha256,
                "hash_matches": result.hash_matches,
                "indication": result.indication,
                "sub_indication": result.sub_indication,
                "signer_subject": result.signer_subject,
                "reason": result.reason,
                "signature_report": result.report,
            }
            for document, result, supplier in rows
        ],
        "audit_head": {"seq": head.seq, "hash": head.hash},
    }


def _first_bytes(chunks: Iterator[bytes], limit: int | None) -> Iterator[bytes]:
    """The stream cut after ``limit`` bytes (all of it for None)."""
    remaining = limit
    for chunk in chunks:
        if remaining is None:
            yield chunk
            continue
        yield chunk[:remaining]
        remaining -= min(len(chunk), remaining)
        if remaining == 0:
            return


@dataclass(frozen=True)
class _Locked:
    key: str
    version_id: str
    sha256: str


class _UnsealError(Exception):
    def __init__(self, reason: str, computed: str | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.computed = computed


def _signature_partners(documents: list[BidDocument]) -> dict[uuid.UUID, BidDocument]:
    """Pairs each detached signature ``X.p7s`` with the file ``X`` of the same supplier."""
    by_name = {(d.supplier_id, d.file_name): d for d in documents}
    partners: dict[uuid.UUID, BidDocument] = {}
    for signature in documents:
        name = signed_file_name(signature.file_name)
        content = by_name.get((signature.supplier_id, name)) if name else None
        if content is not None:
            partners[signature.id] = content
            partners[content.id] = signature
    return partners


def _organisation(session: Session, user_id: uuid.UUID) -> str:
    user = session.get(User, user_id)
    assert user is not None  # a foreign key guarantees it
    return user.organisation


def _failed(
    document: BidDocument,
    computed: str | None,
    reason: str,
    *,
    hash_matches: bool = False,
    sub_indication: SubIndication = SubIndication.HASH_FAILURE,
) -> OpeningResult:
    return OpeningResult(
        document_id=document.id,
        tender_id=document.tender_id,
        hash_matches=hash_matches,
        computed_sha256=computed,
        indication=Indication.TOTAL_FAILED.value,
        sub_indication=sub_indication.value,
        signer_subject=None,
        reason=reason,
        report={},
        signed_length=None,
    )


def _from_report(
    document: BidDocument, computed: str, report: DocumentReport, signed_length: int | None
) -> OpeningResult:
    return OpeningResult(
        document_id=document.id,
        tender_id=document.tender_id,
        hash_matches=True,
        computed_sha256=computed,
        indication=report.indication.value,
        sub_indication=report.sub_indication.value if report.sub_indication else None,
        signer_subject=report.signer_subject,
        reason=report.message_en,
        report=report.to_json(),
        signed_length=signed_length,
    )
