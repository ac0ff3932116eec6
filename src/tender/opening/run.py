"""Running the opening: after the deadline, unseal every bid, check it, verify it, record it.

Idempotent and resumable. The tender row is locked for every state change, each document's
result commits on its own, and a re-delivered message continues where the last one stopped:
running the opening twice gives the same results and no duplicate audit events. The opening
is a background job, so it owns its transactions (see README, "How it is built"); sealing the
record's PDF and writing it to storage happen with no transaction open.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from sqlalchemy.orm import Session, sessionmaker

from tender.accounts.models import User
from tender.accounts.service import AccountService
from tender.audit import service as audit
from tender.audit.checkpointer import Checkpointer, checkpoint_summary
from tender.bids.models import BidDocument
from tender.bids.precheck import signed_file_name
from tender.bids.service import documents_to_open
from tender.clock import Clock, format_time
from tender.opening.models import OpeningRecord, OpeningResult
from tender.opening.record import RecordWriter, StoredRecord, build_record
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
from tender.verifier.formats import RecordBid
from tender.verifier.kinds import EventKind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OpeningOutcome:
    """What one call of ``open_tender`` did. ``not_due_for`` is set when it came too early."""

    tender_id: uuid.UUID
    status: str
    documents_opened_now: int
    not_due_for: timedelta | None = None


@dataclass(frozen=True, kw_only=True)
class Opener:
    """Opens tenders; one instance per platform, safe to call from several workers at once."""

    sessions: sessionmaker[Session]
    store: ObjectStore
    bucket: str
    platform_key: PlatformKey
    trust: TrustStore
    clock: Clock
    retention: timedelta
    checkpointer: Checkpointer
    records: RecordWriter

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
            accounts = AccountService(session=session, clock=self.clock)
            bindings = {
                d.supplier_id: accounts.signer_binding(_organisation(session, d.supplier_id))
                for d in pending
            }
        if starting:
            # The deadline's checkpoint: every bid received is in the signed tree from here on.
            self.checkpointer.issue("deadline")
        partners = _signature_partners(documents)
        for document in pending:
            result = self._open_document(
                tender_key, document, partners.get(document.id), bindings[document.supplier_id]
            )
            with self.sessions.begin() as session:
                get_tender(session, tender_id, for_update=True)
                if session.get(OpeningResult, document.id) is None:
                    self._record_result(session, document, result)
        return self._finish(tender_id, documents_opened_now=len(pending))

    def _start(self, session: Session, tender: Tender, now: datetime) -> None:
        tender.status = TenderStatus.OPENING
        tender.opening_started_at = now
        delay = (now - tender.deadline).total_seconds()
        _system_event(
            session,
            EventKind.OPENING_STARTED,
            at=now,
            tender_id=tender.id,
            payload={"deadline": format_time(tender.deadline), "delay_seconds": round(delay, 3)},
        )
        _system_event(
            session,
            EventKind.TENDER_KEY_RELEASED,
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
            EventKind.BID_OPENED,
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

    def _finish(self, tender_id: uuid.UUID, *, documents_opened_now: int) -> OpeningOutcome:
        """Write the opening record, as JSON and as a PDF sealed by the platform, both under
        Object Lock with their hashes in the log; then mark the tender opened.

        The record is built in a short transaction and sealed and stored with none open; only
        recording it takes the tender's lock. If two workers race, the first to record wins and
        the other's locked copies are extra versions nothing points at.
        """
        # Issued before the finishing transaction, which it would otherwise wait for.
        checkpoint = self.checkpointer.issue("opening")
        with self.sessions.begin() as session:
            tender = get_tender(session, tender_id)
            if tender.status == TenderStatus.OPENED:
                return OpeningOutcome(tender.id, tender.status, documents_opened_now)
            opened_at = self.clock.now()
            record = build_record(
                session, tender, opened_at=opened_at, checkpoint=checkpoint_summary(checkpoint)
            )
            retain_until = tender.deadline + self.retention
        stored = self.records.write(record, tender_id=tender_id, retain_until=retain_until)
        with self.sessions.begin() as session:
            tender = get_tender(session, tender_id, for_update=True)
            if tender.status != TenderStatus.OPENED:
                self._record_stored(session, tender, stored, opened_at, record["bids"])
            return OpeningOutcome(tender.id, tender.status, documents_opened_now)

    def _record_stored(
        self,
        session: Session,
        tender: Tender,
        stored: StoredRecord,
        opened_at: datetime,
        bids: list[RecordBid],
    ) -> None:
        session.add(
            OpeningRecord(
                tender_id=tender.id,
                object_key=stored.json.key,
                object_version=stored.json.version_id,
                sha256=stored.json.sha256,
                pdf_object_key=stored.pdf.key,
                pdf_object_version=stored.pdf.version_id,
                pdf_sha256=stored.pdf.sha256,
                created_at=opened_at,
            )
        )
        tender.status = TenderStatus.OPENED
        tender.opened_at = opened_at
        _system_event(
            session,
            EventKind.OPENING_FINISHED,
            at=self.clock.now(),
            tender_id=tender.id,
            payload={
                "record_sha256": stored.json.sha256,
                "record_object_version": stored.json.version_id,
                "record_pdf_sha256": stored.pdf.sha256,
                "record_pdf_object_version": stored.pdf.version_id,
                "documents": len(bids),
                "passed": sum(1 for bid in bids if bid["indication"] == Indication.TOTAL_PASSED),
            },
        )


def _system_event(
    session: Session,
    kind: EventKind,
    *,
    at: datetime,
    tender_id: uuid.UUID,
    payload: dict[str, Any],
) -> None:
    """The opening acts on its own: its events name the system as the actor."""
    audit.append(
        session, kind=kind, actor=audit.SYSTEM_ACTOR, at=at, tender_id=tender_id, payload=payload
    )


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
        indication=Indication.TOTAL_FAILED,
        sub_indication=sub_indication,
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
        indication=report.indication,
        sub_indication=report.sub_indication,
        signer_subject=report.signer_subject,
        reason=report.message_en,
        report=report.to_json(),
        signed_length=signed_length,
    )
