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
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tender.accounts.models import User
from tender.accounts.service import AccountService
from tender.audit import service as audit
from tender.audit.checkpointer import Checkpointer, checkpoint_summary
from tender.audit.models import AuditEvent
from tender.audit.sealed import reveal
from tender.bids.models import BidDocument
from tender.bids.precheck import signed_file_name
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
from tender.storage.objectstore import ObjectStore, ObjectStoreError
from tender.storage.sealing import PlatformKey, SealError, TenderKey, unseal
from tender.tenders.models import Tender, TenderStatus
from tender.tenders.service import get_tender, key_context
from tender.verifier.formats import RecordBid
from tender.verifier.kinds import EventKind
from tender.verifier.ledger import TenderLedger, parse_time

log = logging.getLogger(__name__)
OBJECT_READ_ATTEMPTS = 3
OBJECT_READ_BACKOFF_SECONDS = 1.0


@dataclass(frozen=True)
class OpeningOutcome:
    """What one call of ``open_tender`` did. ``not_due_for`` is set when it came too early;
    ``halted`` when the tables disagree with the log (the reason is in the log)."""

    tender_id: uuid.UUID
    status: str
    documents_opened_now: int
    not_due_for: timedelta | None = None
    halted: bool = False


@dataclass(frozen=True)
class _Due:
    not_due_for: timedelta | None
    problems: list[str]


def _deadline_problems(tender: Tender, ledger: TenderLedger, now: datetime) -> _Due:
    """When the log says the tender is due, and whether the tenders table says the same."""
    if ledger.deadline is None:
        return _Due(None, ["the log holds no deadline for this tender"])
    deadline = parse_time(ledger.deadline)
    not_due_for = deadline - now if now < deadline else None
    problems = _late(ledger)
    if tender.deadline != deadline:
        problems.insert(
            0,
            f"the tenders table gives the deadline {format_time(tender.deadline)}, but the "
            f"deadline in force in the log is {ledger.deadline}"
            + (": nothing is opened before it" if not_due_for else ""),
        )
    return _Due(not_due_for, problems)


def _late(ledger: TenderLedger) -> list[str]:
    return [
        f"receipt {bid.receipt_id} (event {bid.seq}) arrived at {bid.at}, after the deadline "
        f"in the log ({bid.deadline})"
        for bid in ledger.late()
    ]


def _documents(session: Session, tender_id: uuid.UUID) -> list[BidDocument]:
    return list(session.scalars(select(BidDocument).where(BidDocument.tender_id == tender_id)))


_COMPARED = ("supplier_id", "file_name", "sha256", "size", "object_key", "object_version")


def _disagreements(session: Session, tender: Tender, ledger: TenderLedger) -> list[str]:
    """Where the bid_documents table tells another story than the log, precisely."""
    problems = _late(ledger)
    rows = {str(row.id): row for row in _documents(session, tender.id)}
    due = {bid.receipt_id for bid in ledger.to_open()}
    for bid in ledger.bids.values():
        row = rows.get(bid.receipt_id)
        if row is None:
            problems.append(
                f"receipt {bid.receipt_id} (event {bid.seq}) has no row in bid_documents: "
                "it was deleted"
            )
            continue
        shown = {
            "supplier_id": str(row.supplier_id),
            "file_name": row.file_name,
            "sha256": row.sha256,
            "size": row.size,
            "object_key": row.object_key,
            "object_version": row.object_version,
        }
        problems += [
            f"receipt {bid.receipt_id}: bid_documents says {name} {shown[name]!r}, the log "
            f"{(bid.fields or {}).get(name)!r}"
            for name in _COMPARED
            if bid.fields is not None and bid.fields.get(name) != shown[name]
        ]
        if row.superseded_at is None and bid.receipt_id not in due:
            problems.append(
                f"receipt {bid.receipt_id} is current in bid_documents, but the log has it "
                "superseded or late"
            )
        if row.superseded_at is not None and bid.receipt_id in due:
            problems.append(
                f"receipt {bid.receipt_id} is marked superseded in bid_documents, but the log "
                "has no later receipt of that file: it was dropped outside the log"
            )
    problems += [
        f"bid_documents row {receipt_id} has no bid.received event in the log"
        for receipt_id in sorted(set(rows) - set(ledger.bids))
    ]
    return problems


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
        """Open ``tender_id`` if the deadline in the log has passed; a no-op once it is opened.

        What is opened, and when, is what the log says, never a table: the deadline in force in
        the log, and the latest on-time receipt per supplier and file name as the opening
        reveals them. Where the tables disagree with the log, the opening stops before it
        finishes and says precisely why, in the log (``opening.halted``).
        """
        with self.sessions.begin() as session:
            if session.get(Tender, tender_id) is None:
                # A message for a tender this database does not have (another environment's,
                # or a restored backup): nothing to open, and retrying will not change that.
                log.error("opening requested for unknown tender %s; ignored", tender_id)
                return OpeningOutcome(tender_id, "unknown", 0)
            tender = get_tender(session, tender_id, for_update=True)
            if tender.status in (TenderStatus.DRAFT, TenderStatus.OPENED):
                return OpeningOutcome(tender.id, tender.status, 0)
            ledger = TenderLedger.of(audit.tender_events(session, tender.id))
            now = self.clock.now()
            due = _deadline_problems(tender, ledger, now)
            if due.problems:
                self._halt(session, tender, due.problems)
                return OpeningOutcome(tender.id, tender.status, 0, due.not_due_for, halted=True)
            if due.not_due_for is not None:
                return OpeningOutcome(tender.id, tender.status, 0, due.not_due_for)
            starting = tender.status == TenderStatus.PUBLISHED
            if starting:
                self._start(session, tender, now)
            tender_key = self._tender_key(tender)
            problems = self._reveal(session, tender, tender_key, ledger)
            ledger = TenderLedger.of(audit.tender_events(session, tender.id))
            problems += _disagreements(session, tender, ledger)
            if problems:
                self._halt(session, tender, problems)
                return OpeningOutcome(tender.id, tender.status, 0, halted=True)
            rows = {str(d.id): d for d in _documents(session, tender.id)}
            documents = [rows[bid.receipt_id] for bid in ledger.to_open()]
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

    def _tender_key(self, tender: Tender) -> TenderKey:
        return TenderKey.unwrap(
            tender.wrapped_private_key, self.platform_key, context=key_context(tender.id)
        )

    def _reveal(
        self, session: Session, tender: Tender, tender_key: TenderKey, ledger: TenderLedger
    ) -> list[str]:
        """Publish the salt and fields of every sealed event of the tender not yet revealed
        (``sealed.revealed``); returns the events whose seal does not open as committed."""
        problems = []
        for seq in sorted(set(ledger.sealed) - set(ledger.reveals)):
            event = session.get(AuditEvent, seq)
            assert event is not None  # the ledger was read from these very rows
            try:
                revealed = reveal(event.payload, tender_key)
            except (SealError, ValueError, KeyError) as exc:
                problems.append(f"event {seq}'s sealed fields do not open as committed ({exc})")
                continue
            _system_event(
                session,
                EventKind.SEALED_REVEALED,
                at=self.clock.now(),
                tender_id=tender.id,
                payload={"seq": seq, "salt": revealed.salt.hex(), "fields": revealed.fields},
            )
        return problems

    def _halt(self, session: Session, tender: Tender, problems: list[str]) -> None:
        """Say in the log why the opening cannot go on: once, not at every retry."""
        last = session.scalar(
            select(AuditEvent.payload)
            .where(
                AuditEvent.tender_id == tender.id,
                AuditEvent.kind == EventKind.OPENING_HALTED.value,
            )
            .order_by(AuditEvent.seq.desc())
            .limit(1)
        )
        log.error("opening of tender %s halted: %s", tender.reference, "; ".join(problems))
        if last is not None and last.get("problems") == problems:
            return
        _system_event(
            session,
            EventKind.OPENING_HALTED,
            at=self.clock.now(),
            tender_id=tender.id,
            payload={
                "problems": problems,
                "what_to_do": "Nothing was opened that the log does not decide. Restore the "
                "tables from a backup that agrees with the log, or investigate who changed "
                "them; the opening resumes by itself once they agree.",
            },
        )

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
                return _failed(
                    document,
                    failure.computed,
                    failure.reason,
                    sub_indication=failure.sub_indication,
                )
            content: BinaryIO
            signature: BinaryIO | None
            if signed_file_name(document.file_name) is not None:  # this is the signature
                if partner_plaintext is None:
                    missing = _failed(
                        document,
                        computed,
                        "This detached signature's file was not submitted: there is no "
                        f"{signed_file_name(document.file_name)} from the same supplier.",
                        hash_matches=True,
                        sub_indication=SubIndication.SIGNED_DATA_NOT_FOUND,
                    )
                    # The opening fails the document (no file will ever come); the signature
                    # report says who signed and, per ETSI, INDETERMINATE/SIGNED_DATA_NOT_FOUND.
                    alone = verify_document(
                        None,
                        detached_signature=plaintext,
                        trust=self.trust,
                        at=document.received_at,
                        expected_signers=binding,
                    )
                    missing.signer_subject, missing.report = alone.signer_subject, alone.to_json()
                    return missing
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
        receipt. Raises ``_UnsealError`` saying what is wrong.

        A sealed object that cannot be read is tried again a few times (storage can be briefly
        away); one that stays missing or unreadable is that document's result, so it never
        keeps the other bids from being opened.
        """
        for attempt in range(1, OBJECT_READ_ATTEMPTS + 1):
            sink.seek(0)
            sink.truncate()
            try:
                return self._unseal_once(tender_key, document, sink)
            except ObjectStoreError as exc:
                if attempt == OBJECT_READ_ATTEMPTS:
                    raise _UnsealError(
                        f"The sealed object of {document.file_name} is missing or unreadable "
                        f"after {attempt} attempts ({exc}); what was received cannot be "
                        "opened.",
                        None,
                        SubIndication.SIGNED_DATA_NOT_FOUND,
                    ) from exc
                log.warning("reading %s failed (attempt %d): %s", document.object_key, attempt, exc)
                time.sleep(OBJECT_READ_BACKOFF_SECONDS * attempt)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _unseal_once(self, tender_key: TenderKey, document: BidDocument, sink: BinaryIO) -> str:
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
                # The tables may have been changed while the bids were being opened.
                ledger = TenderLedger.of(audit.tender_events(session, tender.id))
                problems = self._reveal(session, tender, self._tender_key(tender), ledger)
                problems += _disagreements(session, tender, ledger)
                if problems:
                    self._halt(session, tender, problems)
                    return OpeningOutcome(tender.id, tender.status, 0, halted=True)
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
    def __init__(
        self,
        reason: str,
        computed: str | None,
        sub_indication: SubIndication = SubIndication.HASH_FAILURE,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.computed = computed
        self.sub_indication = sub_indication


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
