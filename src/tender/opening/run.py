"""Running the opening: after the deadline, unseal every bid, check it, verify it, record it.

Idempotent and resumable, and shared: several workers open one tender together. Before a
worker unseals a document (a detached signature and the file it signs count as one) it
claims it, with a lease in ``opening_claims`` (:data:`OPENING_LEASE`, renewed while the work
lasts): no bid is unsealed or verified twice while its opening is live, and the documents of
a worker that died are taken over once its lease has run out. The worker that starts an
opening asks for helpers (more messages for the same tender), and every worker that gets one
works through the documents nobody holds, a few at a time (one thread per process per tender;
the next document is read from storage while the current one is verified). The results of
each claimed batch commit together, without locking the tender; the opening record is written
once all results are in, by the worker that finds them all in first (it claims the record the
same way). A re-delivered message
continues where the last one stopped: running the opening twice gives the same results and
no duplicate audit events.

The opening waits for every upload whose last byte arrived by the deadline to be recorded
(``storage_intents.arrived_at``), but no longer than the recording grace after it; then it
goes on without it and says so in ``opening.started`` (the sweep names the stored object).

The opening is a background job, so it owns its transactions (see README, "How it is
built"); sealing the record's PDF and writing it to storage happen with no transaction open.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import secrets
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, BinaryIO, cast

from sqlalchemy import Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from tender.accounts.models import User
from tender.accounts.service import AccountService
from tender.audit import service as audit
from tender.audit.checkpointer import Checkpointer, checkpoint_summary
from tender.audit.models import AuditEvent
from tender.audit.sealed import reveal
from tender.bids.models import BidDocument, StorageIntent
from tender.bids.precheck import signed_file_name
from tender.clock import Clock, format_time
from tender.committee.models import FINANCIAL_KEY, TENDER_KEY
from tender.committee.service import remind_committees, unlock_tender_key
from tender.errors import Refusal
from tender.i18n import gettext as _
from tender.opening.models import OpeningClaim, OpeningRecord, OpeningResult
from tender.opening.notices import tell_of_opening
from tender.opening.record import (
    RecordWriter,
    StoredRecord,
    build_financial_record,
    build_record,
)
from tender.qualification.models import FinancialOpening
from tender.signing import (
    DocumentReport,
    Indication,
    SignerBinding,
    SubIndication,
    TrustStore,
    verify_document,
)
from tender.storage.objectstore import ObjectStore, ObjectStoreError
from tender.storage.sealing import KeyWrapper, SealError, TenderKey, unseal
from tender.tenders.models import OpeningMethod, Tender, TenderStatus
from tender.tenders.service import get_tender, move
from tender.verifier.formats import RecordBid, RecordVerdict
from tender.verifier.kinds import EventKind
from tender.verifier.ledger import TECHNICAL, LoggedBid, TenderLedger, parse_time

log = logging.getLogger(__name__)
OBJECT_READ_ATTEMPTS = 3
OBJECT_READ_BACKOFF_SECONDS = 1.0
OPENING_LEASE = timedelta(seconds=60)
"""How long a worker's claim on a document (or on writing the record) holds without being
renewed; renewed every quarter of it while the work lasts. A worker that dies leaves its
claims to run out: then another takes them (the reconciler sends one once none is live)."""
LEASE_RENEWAL_SECONDS = OPENING_LEASE.total_seconds() / 4
RECORDING_POLL = timedelta(seconds=1)
"""How soon the opening asks again while an upload that arrived by the deadline is not yet
recorded."""
OPENING_HELPERS = 7
"""How many more messages the worker that starts an opening sends for the same tender (at
most one per document left unclaimed after its first claim), so that up to this many other
workers join in."""
HELP_AGAIN = timedelta(seconds=1)
"""How soon a message that reached a process already opening its tender comes back (while
documents are left that nobody has claimed), so that another process may take it."""
IN_WORK_HERE = "in work here"
"""``OpeningOutcome.status`` of a call that found another thread of its process opening the
tender."""
AWAITING_COMMITTEE = "awaiting the committee"
"""``OpeningOutcome.status`` of a committee tender past its deadline whose committee has not
yet released a quorum of shares: it waits (the release that completes the quorum asks for
the opening again)."""
CLAIM_DOCUMENTS = 8
CLAIM_BYTES = 64 * 1024**2
CLAIM_SAMPLE = 32
"""A worker claims at most this many documents, or about this many bytes, at a time (at least
one document, and fewer as the unclaimed ones run out), so that the last ones spread too;
chosen from a random sample of CLAIM_SAMPLE of those it has not seen opened."""

Observe = Callable[[str, uuid.UUID], None]
"""Told ``("unsealed", document_id)`` and ``("verified", document_id)`` each time the opening
does one of these to a document: for counting (tests, the benchmark); must be quick."""


@dataclass(frozen=True)
class OpeningOutcome:
    """What one call of ``open_tender`` did. ``not_due_for`` is set when the message should
    come again that much later (too early, waiting for an upload to be recorded, or reaching
    a process already opening the tender); ``halted`` when the tables disagree with the log
    (the reason is in the log)."""

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
    """When the log says the tender is due (its deadline, or for a fingerprint-first tender the
    end of the files' grace), and whether the tenders table says the same."""
    if ledger.deadline is None or ledger.files_until is None:
        return _Due(None, ["the log holds no deadline for this tender"])
    due = parse_time(ledger.files_until)
    not_due_for = due - now if now < due else None
    problems = _late(ledger)
    if tender.deadline != parse_time(ledger.deadline):
        problems.insert(
            0,
            f"the tenders table gives the deadline {format_time(tender.deadline)}, but the "
            f"deadline in force in the log is {ledger.deadline}"
            + (": nothing is opened before it" if not_due_for else ""),
        )
    if tender.file_grace_seconds != ledger.file_grace_seconds:
        problems.insert(
            0,
            f"the tenders table gives the files' grace {tender.file_grace_seconds} s, but the "
            f"log gives {ledger.file_grace_seconds} s",
        )
    return _Due(not_due_for, problems)


def _late(ledger: TenderLedger) -> list[str]:
    grace = (
        "" if ledger.files_until == ledger.deadline else f", files' grace to {ledger.files_until}"
    )
    return [
        f"receipt {bid.receipt_id} (event {bid.seq}) arrived at {bid.at}, after the deadline "
        f"in the log ({bid.deadline}{grace}) and matching no fingerprint sent in time"
        if grace
        else f"receipt {bid.receipt_id} (event {bid.seq}) arrived at {bid.at}, after the "
        f"deadline in the log ({bid.deadline})"
        for bid in ledger.late()
    ]


def _documents(session: Session, tender_id: uuid.UUID) -> list[BidDocument]:
    return list(session.scalars(select(BidDocument).where(BidDocument.tender_id == tender_id)))


_COMPARED = (
    "supplier_id",
    "file_name",
    "sha256",
    "sealed_sha256",  # None but for supplier-sealed files, in the log as in the table
    "size",
    "object_key",
    "object_version",
)


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
            "sealed_sha256": row.sealed_sha256,
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
        current = row.superseded_at is None and row.withdrawn_at is None
        if current and bid.receipt_id not in due:
            problems.append(
                f"receipt {bid.receipt_id} is current in bid_documents, but the log has it "
                "superseded, withdrawn or late"
            )
        if row.superseded_at is not None and bid.receipt_id in due:
            problems.append(
                f"receipt {bid.receipt_id} is marked superseded in bid_documents, but the log "
                "has no later receipt of that file: it was dropped outside the log"
            )
        if row.withdrawn_at is not None and bid.receipt_id in due:
            problems.append(
                f"receipt {bid.receipt_id} is marked withdrawn in bid_documents, but the log "
                "has no withdrawal of it by the deadline: it was dropped outside the log"
            )
    problems += [
        f"bid_documents row {receipt_id} has no bid.received event in the log"
        for receipt_id in sorted(set(rows) - set(ledger.bids))
    ]
    return problems


@dataclass(frozen=True)
class _Unit:
    """What one claim covers: a document, and the detached-signature partner it is verified
    with (a signature ``X.p7s`` and its file ``X``: one unsealing each, one verification)."""

    document: BidDocument
    partner: BidDocument | None = None

    @property
    def documents(self) -> tuple[BidDocument, ...]:
        return (self.document,) if self.partner is None else (self.document, self.partner)

    @property
    def ids(self) -> frozenset[uuid.UUID]:
        return frozenset(d.id for d in self.documents)

    @property
    def size(self) -> int:
        return sum(d.size for d in self.documents)


@dataclass(frozen=True)
class _Unsealed:
    """A unit's documents unsealed to temporary files (closed with ``files``), each with its
    SHA-256, or why it could not be."""

    files: ExitStack
    plain: dict[uuid.UUID, tuple[BinaryIO, str]]
    failures: dict[uuid.UUID, _UnsealError]


def _close_unsealed(done: Future[_Unsealed]) -> None:
    if not done.cancelled() and done.exception() is None:
        done.result().files.close()


def _units(documents: list[BidDocument]) -> list[_Unit]:
    """The documents to open, each once, with its detached-signature partner."""
    partners = _signature_partners(documents)
    units: dict[frozenset[uuid.UUID], _Unit] = {}
    for document in documents:
        unit = _Unit(document, partners.get(document.id))
        units.setdefault(unit.ids, unit)
    return list(units.values())


def _worker_name() -> str:
    """Who holds a claim: host, process and a random tag (one per call of the opening)."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


class _InWork:
    """The tenders this process is opening, one thread each, and how many units each had
    unclaimed at its thread's last look. A second thread would only compete with the first
    for the interpreter (unsealing and verifying are Python, bound by the CPU): another
    process can help, this one cannot."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._free: dict[uuid.UUID, int | None] = {}

    @contextmanager
    def take(self, tender_id: uuid.UUID) -> Iterator[bool]:
        """Whether this thread may open ``tender_id`` here (no other thread of this process
        is); held until the block ends."""
        with self._lock:
            mine = tender_id not in self._free
            if mine:
                self._free[tender_id] = None
        try:
            yield mine
        finally:
            if mine:
                with self._lock:
                    del self._free[tender_id]

    def note_free(self, tender_id: uuid.UUID, units: int) -> None:
        with self._lock:
            if tender_id in self._free:
                self._free[tender_id] = units

    def free(self, tender_id: uuid.UUID) -> int | None:
        """Units the thread opening ``tender_id`` here found unclaimed at its last look (None
        before its first)."""
        with self._lock:
            return self._free.get(tender_id)


@dataclass(frozen=True, kw_only=True)
class Opener:
    """Opens tenders; one instance per platform, safe to call from several workers (threads
    or processes, on one database) at once: they share the work of one tender."""

    sessions: sessionmaker[Session]
    store: ObjectStore
    bucket: str
    platform_key: KeyWrapper
    trust: TrustStore
    clock: Clock
    retention: timedelta
    checkpointer: Checkpointer
    records: RecordWriter
    # How long after the deadline the opening waits for uploads that arrived by it to be
    # recorded (TENDER_RECORDING_GRACE_SECONDS).
    recording_grace: timedelta = timedelta(seconds=600)
    # Sends one more opening message for a tender (Jobs.request_opening): the helpers.
    request_help: Callable[[uuid.UUID], None] | None = None
    helpers: int = OPENING_HELPERS
    observe: Observe | None = None
    # Per instance (a platform has one per process): not copied by dataclasses.replace.
    _in_work: _InWork = field(default_factory=_InWork, init=False, repr=False, compare=False)

    def open_tender(self, tender_id: uuid.UUID) -> OpeningOutcome:
        """Open ``tender_id`` if the deadline in the log has passed; a no-op once it is opened.

        What is opened, and when, is what the log says, never a table: the deadline in force in
        the log, and the latest on-time receipt per supplier and file name as the opening
        reveals them. Where the tables disagree with the log, the opening stops before it
        finishes and says precisely why, in the log (``opening.halted``).

        Before it starts, the opening waits (``not_due_for``: ask again soon) while an upload
        that arrived by the deadline is still being recorded, up to the recording grace.
        Once started, this call opens every document no other worker holds, and writes the
        record if all results are then in (else the worker that records the last one does).
        While another thread of this process opens the tender, this call does nothing but,
        if documents are left unclaimed, asks (``not_due_for``) to be sent again, so that the
        message may reach a process that can help.
        """
        with self._in_work.take(tender_id) as mine:
            if not mine:
                free = self._in_work.free(tender_id)
                again = HELP_AGAIN if free is None or free > 0 else None
                return OpeningOutcome(tender_id, IN_WORK_HERE, 0, again)
            try:
                if self._financial_phase(tender_id):
                    return self._open_financial(tender_id)
                return self._open(tender_id)
            except Refusal as refusal:
                # The tender's key was refused (before the deadline in the log, or what is
                # stored disagrees with it): recorded once the opening's transaction is over.
                with self.sessions.begin() as session:
                    _system_event(
                        session,
                        refusal.audit_kind,
                        at=self.clock.now(),
                        tender_id=tender_id,
                        payload={"message": refusal.message, **refusal.details},
                    )
                raise

    def _open(self, tender_id: uuid.UUID) -> OpeningOutcome:
        worker = _worker_name()
        with self.sessions.begin() as session:
            if session.get(Tender, tender_id) is None:
                # A message for a tender this database does not have (another environment's,
                # or a restored backup): nothing to open, and retrying will not change that.
                log.error("opening requested for unknown tender %s; ignored", tender_id)
                return OpeningOutcome(tender_id, "unknown", 0)
            tender = get_tender(session, tender_id, for_update=True)
            if tender.status not in (TenderStatus.PUBLISHED, TenderStatus.OPENING):
                # A draft is not due; an opened or awarded one is done; a cancelled one is
                # never opened: its bids stay sealed (a message scheduled before it was
                # cancelled lands here and does nothing).
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
                assert ledger.files_until is not None  # else a problem above
                files_until = parse_time(ledger.files_until)
                unrecorded = _unrecorded_arrivals(session, tender.id, files_until)
                grace_ends = files_until + self.recording_grace
                if unrecorded and now < grace_ends:
                    log.info(
                        "opening of tender %s waits for %d upload(s) that arrived by the "
                        "deadline to be recorded",
                        tender.reference,
                        len(unrecorded),
                    )
                    return OpeningOutcome(
                        tender.id, tender.status, 0, min(RECORDING_POLL, grace_ends - now)
                    )
                if self._awaits_committee(session, tender, ledger):
                    return OpeningOutcome(tender.id, AWAITING_COMMITTEE, 0)
                self._start(session, tender, now, unrecorded, ledger)
            tender_key = self._tender_key(session, tender)
            problems = self._reveal(session, tender, tender_key, ledger)
            ledger = TenderLedger.of(audit.tender_events(session, tender.id))
            problems += _disagreements(session, tender, ledger)
            if problems:
                self._halt(session, tender, problems)
                return OpeningOutcome(tender.id, tender.status, 0, halted=True)
            # A two-envelope tender's financial envelopes wait for the financial opening.
            documents, units, bindings = self._work_list(session, tender, ledger.to_open(TECHNICAL))
        if starting:
            # The deadline's checkpoint: every bid received is in the signed tree from here on.
            self.checkpointer.issue("deadline")
        opened = self._work(tender_id, tender_key, units, bindings, worker, ask_for_help=starting)
        return self._finish(
            tender_id, [d.id for d in documents], worker, documents_opened_now=opened
        )

    def _work(
        self,
        tender_id: uuid.UUID,
        tender_key: TenderKey,
        units: list[_Unit],
        bindings: dict[uuid.UUID, SignerBinding],
        worker: str,
        *,
        ask_for_help: bool,
    ) -> int:
        """Claim, open and record documents until none is left that nobody holds; returns how
        many results this worker recorded. Each unit is tried once per call; the results of
        a claimed batch commit together. Claims not finished are given back if this raises (a
        retry, or another worker, takes them); only a worker that dies outright leaves them
        to run out."""
        opened = 0
        left = list(units)
        try:
            with (
                self._lease(tender_id, worker),
                ThreadPoolExecutor(1, thread_name_prefix="tender-unseal") as unsealer,
            ):
                while batch := self._claim(tender_id, left, worker):
                    if ask_for_help:
                        # Asked only now, so that helpers find this worker's claims live.
                        self._ask_for_help(tender_id, len(left))
                        ask_for_help = False
                    results = self._open_batch(tender_key, batch, bindings, unsealer)
                    opened += self._record_results(tender_id, results, worker)
        finally:
            # Whatever this worker still holds (an exception above): give it back.
            with self.sessions.begin() as session:
                _release(session, tender_id, worker, self.clock.now())
        return opened

    def _ask_for_help(self, tender_id: uuid.UUID, units: int) -> None:
        """Send helpers for the ``units`` left unclaimed (see OPENING_HELPERS)."""
        if self.request_help is None:
            return
        wanted = min(self.helpers, units)
        try:
            for _ in range(wanted):
                self.request_help(tender_id)
        except Exception:  # helpers only speed it up: this worker goes on alone
            log.exception("opening of %s: could not ask for help", tender_id)
            return
        if wanted > 0:
            log.info("opening of %s: asked %d more workers to help", tender_id, wanted)

    def _claim(self, tender_id: uuid.UUID, left: list[_Unit], worker: str) -> list[_Unit]:
        """Claim the next few of the units ``left`` that nobody holds and that still need a
        result (a lease until now + OPENING_LEASE, or an expired claim taken over); [] when
        there are none. Units found opened, and those claimed, are taken off ``left``.

        Chosen at random, so that workers claiming at once rarely collide, and looked up a
        sample at a time (all of them only when the sample has none free), so that a claim
        costs the same however many documents the tender has.
        """
        whole = len(left) <= CLAIM_SAMPLE
        while left:
            now = self.clock.now()
            sample = left if whole else random.sample(left, CLAIM_SAMPLE)
            ids = [i for unit in sample for i in unit.ids]
            with self.sessions.begin() as session:
                done = set(
                    session.scalars(
                        select(OpeningResult.document_id).where(OpeningResult.document_id.in_(ids))
                    )
                )
                busy = set(
                    session.scalars(
                        select(OpeningClaim.document_id).where(
                            OpeningClaim.document_id.in_(ids), OpeningClaim.claimed_until > now
                        )
                    )
                )
                finished = {id(u) for u in sample if u.ids <= done}
                free = [u for u in sample if id(u) not in finished and not u.ids & busy]
                batch: list[_Unit] = []
                if free:
                    random.shuffle(free)
                    most = min(CLAIM_DOCUMENTS, max(1, (len(left) - len(finished)) // 16))
                    chosen: list[_Unit] = []
                    for unit in free:
                        size = sum(u.size for u in chosen) + unit.size
                        if chosen and (len(chosen) >= most or size > CLAIM_BYTES):
                            break
                        chosen.append(unit)
                    wanted = {i for unit in chosen for i in unit.ids} - done
                    taken = _take_claims(session, tender_id, wanted, worker, now)
                    batch = [unit for unit in chosen if unit.ids - done <= taken]
                    partial = taken - {i for unit in batch for i in unit.ids}
                    if partial:  # a pair only half claimed: not this time
                        _release(session, tender_id, worker, now, partial)
            gone = finished | {id(unit) for unit in batch}
            left[:] = [unit for unit in left if id(unit) not in gone]
            if batch:
                # At most this many are left for others (exact once the sample is the whole).
                self._in_work.note_free(tender_id, len(free) - len(batch) if whole else len(left))
                return batch
            if not free:
                if whole:
                    self._in_work.note_free(tender_id, 0)
                    return []
                whole = True  # none free in the sample: look at them all
            # Else others claimed the chosen ones first: look again.
        self._in_work.note_free(tender_id, 0)
        return []

    @contextmanager
    def _lease(self, tender_id: uuid.UUID, worker: str) -> Iterator[None]:
        """Renew ``worker``'s live claims on the tender while the block runs (a large file can
        take longer than a lease): every LEASE_RENEWAL_SECONDS, from a thread of its own.
        Claims released (their results recorded) or taken over are left alone."""
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(LEASE_RENEWAL_SECONDS):
                try:
                    with self.sessions.begin() as session:
                        now = self.clock.now()
                        # Released claims end at or before now: untouched. Claims being
                        # released right now are skipped, not waited for (no deadlock with
                        # the transaction releasing them).
                        held = session.scalars(
                            select(OpeningClaim.document_id)
                            .where(
                                OpeningClaim.tender_id == tender_id,
                                OpeningClaim.worker == worker,
                                OpeningClaim.claimed_until > now,
                            )
                            .with_for_update(skip_locked=True)
                        ).all()
                        session.execute(
                            update(OpeningClaim)
                            .where(
                                OpeningClaim.document_id.in_(held),
                                OpeningClaim.worker == worker,
                                OpeningClaim.claimed_until > now,
                            )
                            .values(claimed_until=now + OPENING_LEASE)
                        )
                except Exception:  # the next renewal may succeed; the lease is long
                    log.exception("renewing the opening claims of %s failed", worker)

        renewer = threading.Thread(target=renew, name="tender-opening-lease", daemon=True)
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            renewer.join()

    def _record_results(
        self,
        tender_id: uuid.UUID,
        results: list[tuple[_Unit, list[OpeningResult]]],
        worker: str,
    ) -> int:
        """Record the results of a batch of units and release their claims, in one short
        transaction (the tender is not locked); returns how many were recorded. A result
        another worker recorded first (it took over a lease this worker had let run out)
        stays: the batch is then recorded unit by unit, around it."""
        try:
            with self.sessions.begin() as session:
                ids = [document.id for unit, _ in results for document in unit.documents]
                done = set(
                    session.scalars(
                        select(OpeningResult.document_id).where(OpeningResult.document_id.in_(ids))
                    )
                )
                recorded = 0
                for unit, unit_results in results:
                    for document, result in zip(unit.documents, unit_results, strict=True):
                        if document.id not in done:
                            self._record_result(session, document, result)
                            recorded += 1
                _release(session, tender_id, worker, self.clock.now(), ids)
                return recorded
        except IntegrityError:
            if len(results) > 1:
                return sum(self._record_results(tender_id, [each], worker) for each in results)
            log.warning(
                "another worker recorded the result of %s first; its result stands",
                ", ".join(sorted(str(i) for i in results[0][0].ids)),
            )
            return 0

    def _tender_key(
        self, session: Session, tender: Tender, key_name: str = TENDER_KEY
    ) -> TenderKey:
        """The tender's key, for the opening (audited; refused before the deadline in the
        log), or its financial key, for the financial opening (likewise, and refused before
        the financial opening was requested)."""
        return unlock_tender_key(
            session,
            tender,
            platform_key=self.platform_key,
            clock=self.clock,
            actor=audit.SYSTEM_ACTOR,
            purpose="financial opening" if key_name == FINANCIAL_KEY else "opening",
            key_name=key_name,
        )

    def _work_list(
        self, session: Session, tender: Tender, due: list[LoggedBid]
    ) -> tuple[list[BidDocument], list[_Unit], dict[uuid.UUID, SignerBinding]]:
        """The documents of the receipts ``due`` (as the log names them), the units of them
        still without a result, and the signer bindings of their suppliers."""
        rows = {str(d.id): d for d in _documents(session, tender.id)}
        documents = [rows[bid.receipt_id] for bid in due]
        done = _with_results(session, tender.id)
        units = [unit for unit in _units(documents) if not unit.ids <= done]
        accounts = AccountService(session=session, clock=self.clock)
        bindings = {
            supplier: accounts.signer_binding(_user(session, supplier))
            for supplier in {d.supplier_id for unit in units for d in unit.documents}
        }
        return documents, units, bindings

    def _awaits_committee(
        self, session: Session, tender: Tender, ledger: TenderLedger, key_name: str = TENDER_KEY
    ) -> bool:
        """Whether ``tender`` is a committee tender (as the log says) whose quorum of shares of
        its key ``key_name`` is not in; if so, for the tender key, its members who have not
        released are told (once; of the financial key they are told when the financial
        opening is requested)."""
        committee = ledger.committees.get(key_name)
        if ledger.opening_method != OpeningMethod.COMMITTEE or (
            committee is not None and len(ledger.released(key_name)) >= committee.quorum
        ):
            return False
        log.info(
            "opening of tender %s waits for its committee's shares of key %r",
            tender.reference,
            key_name,
        )
        if key_name == TENDER_KEY:
            remind_committees(session, clock=self.clock, tenders=[tender])
        return True

    def _reveal(
        self, session: Session, tender: Tender, tender_key: TenderKey, ledger: TenderLedger
    ) -> list[str]:
        """Publish the salt and fields of every sealed event of the tender not yet revealed
        (``sealed.revealed``); returns the events whose seal does not open as committed."""
        problems = []
        unrevealed = sorted(set(ledger.sealed) - set(ledger.reveals))
        payloads: dict[int, dict[str, Any]] = {}
        for start in range(0, len(unrevealed), 500):  # one query per 500, not one each
            # From each event's body, as the ledger read them (never the payload column).
            events = session.scalars(
                select(AuditEvent).where(AuditEvent.seq.in_(unrevealed[start : start + 500]))
            )
            payloads.update((event.seq, dict(audit.to_json(event)["payload"])) for event in events)
        for seq in unrevealed:
            try:
                revealed = reveal(payloads[seq], tender_key)  # the ledger was read from them
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
            select(AuditEvent)
            .where(
                AuditEvent.tender_id == tender.id,
                AuditEvent.kind == EventKind.OPENING_HALTED.value,
            )
            .order_by(AuditEvent.seq.desc())
            .limit(1)
        )
        log.error("opening of tender %s halted: %s", tender.reference, "; ".join(problems))
        if last is not None and audit.to_json(last)["payload"].get("problems") == problems:
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

    def _start(
        self,
        session: Session,
        tender: Tender,
        now: datetime,
        unrecorded: list[StorageIntent],
        ledger: TenderLedger,
    ) -> None:
        """The tender is opening: its key is released (by the platform key, or by the
        committee's members who released their shares, named with when). ``unrecorded``:
        uploads that arrived by the deadline and were still not recorded when the recording
        grace ran out; the opening goes on without them, and says so."""
        move(tender, TenderStatus.OPENING, now=now, todo=_("The opening does not start."))
        tender.opening_started_at = now
        delay = (now - tender.deadline).total_seconds()
        payload: dict[str, Any] = {
            "deadline": format_time(tender.deadline),
            "delay_seconds": round(delay, 3),
        }
        if unrecorded:
            log.warning(
                "opening of tender %s goes on without %d upload(s) that arrived by the deadline "
                "but were not recorded within %s",
                tender.reference,
                len(unrecorded),
                self.recording_grace,
            )
            payload["unrecorded_arrivals"] = {
                "recording_grace_seconds": self.recording_grace.total_seconds(),
                "uploads": [
                    {"object_key": intent.object_key, "arrived_at": format_time(arrived)}
                    for intent in unrecorded
                    if (arrived := intent.arrived_at) is not None
                ],
                "what_happens": "They arrived by the deadline but were not recorded in time, "
                "so they are not opened; an object stored for one is named by the sweep "
                "(storage.orphaned).",
            }
        _system_event(
            session, EventKind.OPENING_STARTED, at=now, tender_id=tender.id, payload=payload
        )
        _system_event(
            session,
            EventKind.TENDER_KEY_RELEASED,
            at=now,
            tender_id=tender.id,
            payload={"public_key": tender.public_key.hex(), **self._released_by(ledger)},
        )

    def _released_by(self, ledger: TenderLedger, key_name: str = TENDER_KEY) -> dict[str, Any]:
        if ledger.opening_method != OpeningMethod.COMMITTEE:
            return {"unwrapped_with_platform_key": self.platform_key.fingerprint}
        committee = ledger.committees[key_name]
        return {
            "key": key_name,
            "quorum": committee.quorum,
            "released_by": [
                {
                    "member_id": release.member_id,
                    "member": committee.members[release.member_id].name,
                    "organisation": committee.members[release.member_id].organisation,
                    "released_at": release.at,
                    "seq": release.seq,
                }
                for release in ledger.released(key_name)
            ],
        }

    def _financial_phase(self, tender_id: uuid.UUID) -> bool:
        """Whether ``tender_id`` is a two-envelope tender whose technical opening is done: an
        opening message for it is about its financial envelopes."""
        with self.sessions.begin() as session:
            tender = session.get(Tender, tender_id)
            return (
                tender is not None
                and tender.two_envelopes
                and tender.status in (TenderStatus.OPENED, TenderStatus.AWARDED)
            )

    def _open_financial(self, tender_id: uuid.UUID) -> OpeningOutcome:
        """Open the financial envelopes of the bids qualified on their technical envelopes,
        once the log records that the officer asked for it (else a no-op); never those of the
        others, which are not even read from storage.

        As the technical opening: the log decides (the verdicts are the last
        ``bid.qualification`` per supplier before ``financial_opening.requested``), the
        financial key is unlocked by ``unlock_tender_key`` (audited; for a committee tender
        once a quorum released shares of it after the request), documents are claimed and
        opened the same way, and the financial part of the record is written once all are in.
        """
        worker = _worker_name()
        with self.sessions.begin() as session:
            tender = get_tender(session, tender_id, for_update=True)
            ledger = TenderLedger.of(audit.tender_events(session, tender.id))
            if ledger.financial_requested is None or ledger.financial_finished is not None:
                return OpeningOutcome(tender.id, tender.status, 0)
            if self._awaits_committee(session, tender, ledger, FINANCIAL_KEY):
                return OpeningOutcome(tender.id, AWAITING_COMMITTEE, 0)
            key = self._tender_key(session, tender, FINANCIAL_KEY)
            problems = _disagreements(session, tender, ledger)
            if problems:
                self._halt(session, tender, problems)
                return OpeningOutcome(tender.id, tender.status, 0, halted=True)
            due = ledger.financial_due()
            if ledger.financial_started is None:
                _system_event(
                    session,
                    EventKind.FINANCIAL_OPENING_STARTED,
                    at=self.clock.now(),
                    tender_id=tender.id,
                    payload={
                        "public_key": ledger.financial_public_key,
                        "receipts": [bid.receipt_id for bid in due],
                        **self._released_by(ledger, FINANCIAL_KEY),
                    },
                )
            documents, units, bindings = self._work_list(session, tender, due)
        opened = self._work(tender_id, key, units, bindings, worker, ask_for_help=False)
        return self._finish_financial(tender_id, [d.id for d in documents], worker, opened)

    def _finish_financial(
        self, tender_id: uuid.UUID, due: list[uuid.UUID], worker: str, opened: int
    ) -> OpeningOutcome:
        """Write the financial part of the opening record (JSON and sealed PDF, locked, hashes
        in ``financial_opening.finished``) once every due financial envelope has its result;
        by one worker, as ``_finish`` does for the technical part."""
        writer = f"record:{worker}"[:120]
        with self.sessions.begin() as session:
            tender = get_tender(session, tender_id, for_update=True)
            finished = OpeningOutcome(tender.id, tender.status, opened)
            opening = session.get(FinancialOpening, tender_id)
            technical = session.get(OpeningRecord, tender_id)
            if opening is None or opening.finished_at is not None or technical is None:
                return finished
            if self._missing_results(session, tender_id, due):
                return finished
            if not _claim_record(session, tender_id, due, writer, self.clock.now()):
                return finished
        with self._lease(tender_id, writer):
            checkpoint = self.checkpointer.issue("financial opening")
            with self.sessions.begin() as session:
                tender = get_tender(session, tender_id)
                ledger = TenderLedger.of(audit.tender_events(session, tender.id))
                assert ledger.financial_started is not None  # written before any result
                opened_at = self.clock.now()
                record = build_financial_record(
                    session,
                    tender,
                    started_at=parse_time(ledger.financial_started[1]),
                    opened_at=opened_at,
                    checkpoint=checkpoint_summary(checkpoint),
                    verdicts=_verdicts(ledger),
                    technical_record_sha256=technical.sha256,
                )
                retain_until = tender.deadline + self.retention
            stored = self.records.write(
                record,
                tender_id=tender_id,
                retain_until=retain_until,
                name="financial-opening-record",
            )
        with self.sessions.begin() as session:
            tender = get_tender(session, tender_id, for_update=True)
            _release(session, tender_id, writer, self.clock.now())
            opening = session.get(FinancialOpening, tender_id)
            assert opening is not None  # checked above; never deleted
            if opening.finished_at is None:
                opening.finished_at = opened_at
                opening.object_key, opening.object_version = stored.json.key, stored.json.version_id
                opening.sha256 = stored.json.sha256
                opening.pdf_object_key = stored.pdf.key
                opening.pdf_object_version = stored.pdf.version_id
                opening.pdf_sha256 = stored.pdf.sha256
                _system_event(
                    session,
                    EventKind.FINANCIAL_OPENING_FINISHED,
                    at=self.clock.now(),
                    tender_id=tender.id,
                    payload={**stored.logged(), "documents": len(record["bids"])},
                )
            return OpeningOutcome(tender.id, tender.status, opened)

    def _open_document(
        self,
        tender_key: TenderKey,
        document: BidDocument,
        partner: BidDocument | None,
        binding: SignerBinding,
        unsealed: _Unsealed | None = None,
    ) -> list[OpeningResult]:
        """Unseal a document (and its detached-signature partner), check, verify; the result
        of each (``document``'s first). ``unsealed``: the two already unsealed (and closed
        here).

        A detached signature ``X.p7s`` and the file ``X`` it signs are partners: each is
        unsealed once, the pair verified once, and each gets the verdict of the pair.
        Validation is as of the signature's receipt time, which the receipt proves.
        """
        documents = [document] if partner is None else [document, partner]
        if unsealed is None:
            unsealed = self._unseal(tender_key, document, partner)
        with unsealed.files:
            plain, failures = unsealed.plain, unsealed.failures
            if failures:
                return [_unopened(each, plain, failures) for each in documents]
            if partner is None and signed_file_name(document.file_name) is not None:
                return [self._lone_signature(document, *plain[document.id], binding)]
            if partner is None:
                content, signature, signed_at = plain[document.id][0], None, document.received_at
            else:
                signed = document if signed_file_name(document.file_name) else partner
                data = partner if signed is document else document
                content, signature = plain[data.id][0], plain[signed.id][0]
                signed_at = signed.received_at
            report = verify_document(
                content,
                detached_signature=signature,
                trust=self.trust,
                at=signed_at,
                expected_signers=binding,
            )
            for each in documents:
                self._note("verified", each.id)
        # The revision the last signature signed, from the same parse (None for CAdES).
        signed_length = report.signed_revision_length if signature is None else None
        return [_from_report(each, plain[each.id][1], report, signed_length) for each in documents]

    def _unseal(
        self, tender_key: TenderKey, document: BidDocument, partner: BidDocument | None
    ) -> _Unsealed:
        """Unseal a document and its partner, each to a temporary file, checked against its
        receipt; what could not be unsealed as received is a failure, not an exception."""
        unsealed = _Unsealed(ExitStack(), {}, {})
        try:
            for each in (document,) if partner is None else (document, partner):
                # Closed with unsealed.files, once verified (or at once, below, on failure).
                sink = unsealed.files.enter_context(tempfile.TemporaryFile())  # noqa: SIM115
                try:
                    unsealed.plain[each.id] = (sink, self._unseal_checked(tender_key, each, sink))
                except _UnsealError as failure:
                    unsealed.failures[each.id] = failure
                self._note("unsealed", each.id)
        except BaseException:
            unsealed.files.close()
            raise
        return unsealed

    def _open_batch(
        self,
        tender_key: TenderKey,
        batch: list[_Unit],
        bindings: dict[uuid.UUID, SignerBinding],
        unsealer: ThreadPoolExecutor,
    ) -> list[tuple[_Unit, list[OpeningResult]]]:
        """Open each unit of ``batch``, unsealing the next one (reading storage, mostly
        waiting) in ``unsealer``'s thread while this one verifies the current one."""
        results: list[tuple[_Unit, list[OpeningResult]]] = []
        ahead: Future[_Unsealed] | None = unsealer.submit(
            self._unseal, tender_key, batch[0].document, batch[0].partner
        )
        try:
            for index, unit in enumerate(batch):
                assert ahead is not None  # submitted for every unit before its turn
                unsealed = ahead.result()
                ahead = None
                if index + 1 < len(batch):
                    following = batch[index + 1]
                    ahead = unsealer.submit(
                        self._unseal, tender_key, following.document, following.partner
                    )
                binding = bindings[unit.document.supplier_id]
                results.append(
                    (
                        unit,
                        self._open_document(
                            tender_key, unit.document, unit.partner, binding, unsealed
                        ),
                    )
                )
        finally:
            if ahead is not None:  # this one failed: the next one's files are not needed
                ahead.add_done_callback(_close_unsealed)
        return results

    def _lone_signature(
        self, document: BidDocument, plaintext: BinaryIO, computed: str, binding: SignerBinding
    ) -> OpeningResult:
        """A detached signature whose file was not submitted: failed (no file will ever come),
        with the signature's report saying who signed and, per ETSI,
        INDETERMINATE/SIGNED_DATA_NOT_FOUND."""
        missing = _failed(
            document,
            computed,
            "This detached signature's file was not submitted: there is no "
            f"{signed_file_name(document.file_name)} from the same supplier.",
            hash_matches=True,
            sub_indication=SubIndication.SIGNED_DATA_NOT_FOUND,
        )
        alone = verify_document(
            None,
            detached_signature=plaintext,
            trust=self.trust,
            at=document.received_at,
            expected_signers=binding,
        )
        self._note("verified", document.id)
        missing.signer_subject, missing.report = alone.signer_subject, alone.to_json()
        return missing

    def _note(self, what: str, document_id: uuid.UUID) -> None:
        if self.observe is not None:
            self.observe(what, document_id)

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
        digest, sealed_digest = hashlib.sha256(), hashlib.sha256()
        sealed = _hashed(
            self.store.iter_version(self.bucket, document.object_key, document.object_version),
            sealed_digest,
        )
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
        if document.sealed_sha256 is not None:
            _check_supplier_sealed(document, sealed_digest.hexdigest(), computed)
        elif computed != document.sha256:
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
                **_supplier_sealed_fields(document, result),
            },
        )

    def _finish(
        self,
        tender_id: uuid.UUID,
        due: list[uuid.UUID],
        worker: str,
        *,
        documents_opened_now: int,
    ) -> OpeningOutcome:
        """Write the opening record, as JSON and as a PDF sealed by the platform, both under
        Object Lock with their hashes in the log; then mark the tender opened.

        Only once every document in ``due`` has its result (else another worker is still at
        work, and the one that records the last result writes the record), and only by one
        worker: it claims the record (a lease, like a document's) under the tender's lock.
        The record is built in a short transaction and sealed and stored with none open; only
        recording it takes the tender's lock again.
        """
        writer = f"record:{worker}"[:120]
        with self.sessions.begin() as session:
            tender = get_tender(session, tender_id, for_update=True)
            if tender.status == TenderStatus.OPENED:
                return OpeningOutcome(tender.id, tender.status, documents_opened_now)
            if self._missing_results(session, tender_id, due):
                return OpeningOutcome(tender.id, tender.status, documents_opened_now)
            if not _claim_record(session, tender_id, due, writer, self.clock.now()):
                return OpeningOutcome(tender.id, tender.status, documents_opened_now)
        with self._lease(tender_id, writer):
            # Issued before the finishing transaction, which it would otherwise wait for.
            checkpoint = self.checkpointer.issue("opening")
            with self.sessions.begin() as session:
                tender = get_tender(session, tender_id)
                opened_at = self.clock.now()
                record = build_record(
                    session, tender, opened_at=opened_at, checkpoint=checkpoint_summary(checkpoint)
                )
                retain_until = tender.deadline + self.retention
            stored = self.records.write(record, tender_id=tender_id, retain_until=retain_until)
        with self.sessions.begin() as session:
            tender = get_tender(session, tender_id, for_update=True)
            _release(session, tender_id, writer, self.clock.now())
            if tender.status != TenderStatus.OPENED:
                # The tables may have been changed while the bids were being opened.
                ledger = TenderLedger.of(audit.tender_events(session, tender.id))
                problems = self._reveal(session, tender, self._tender_key(session, tender), ledger)
                problems += _disagreements(session, tender, ledger)
                if problems:
                    self._halt(session, tender, problems)
                    return OpeningOutcome(tender.id, tender.status, 0, halted=True)
                self._record_stored(session, tender, stored, opened_at, record["bids"])
            return OpeningOutcome(tender.id, tender.status, documents_opened_now)

    def _missing_results(
        self, session: Session, tender_id: uuid.UUID, due: list[uuid.UUID]
    ) -> set[uuid.UUID]:
        """The documents in ``due`` that have no result yet."""
        return set(due) - _with_results(session, tender_id)

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
        move(tender, TenderStatus.OPENED, now=opened_at, todo=_("The record is not kept."))
        tender.opened_at = opened_at
        _system_event(
            session,
            EventKind.OPENING_FINISHED,
            at=self.clock.now(),
            tender_id=tender.id,
            payload={
                **stored.logged(),
                "documents": len(bids),
                "passed": sum(1 for bid in bids if bid["indication"] == Indication.TOTAL_PASSED),
            },
        )
        tell_of_opening(session, clock=self.clock, tender=tender)


def _verdicts(ledger: TenderLedger) -> list[RecordVerdict]:
    """The qualification verdicts the log holds, as the financial record lists them."""
    return [
        {
            "supplier_id": verdict.supplier_id,
            "supplier_organisation": verdict.supplier_organisation,
            "qualified": verdict.qualified,
            "reason": verdict.reason,
            "decided_by": verdict.officer,
            "decided_at": verdict.at,
            "seq": verdict.seq,
        }
        for verdict in ledger.verdicts.values()
    ]


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


def _hashed(pieces: Iterator[bytes], digest: Any) -> Iterator[bytes]:
    for piece in pieces:
        digest.update(piece)
        yield piece


def _check_supplier_sealed(document: BidDocument, sealed_sha256: str, computed: str) -> None:
    """A file its supplier sealed: the sealed bytes must be those received (the platform's
    part), and the file inside the one its supplier declared (the supplier's part: a
    mismatch means they sealed another file than they declared, and is recorded as such)."""
    if sealed_sha256 != document.sealed_sha256:
        raise _UnsealError(
            f"The sealed file {document.file_name} unsealed, but its sealed bytes' SHA-256 "
            f"({sealed_sha256}) is not the one received and receipted "
            f"({document.sealed_sha256}): the stored bytes are not those received.",
            None,
        )
    if computed != document.sha256:
        raise _UnsealError(
            f"{document.file_name} was sealed by its supplier, and the file inside is not the "
            f"one they declared: its SHA-256 is {computed}, the supplier declared "
            f"{document.sha256} when sending it (the receipt names both). The sealed bytes are "
            f"those received (SHA-256 {sealed_sha256}), so the platform kept what it was "
            "sent; the supplier sealed another file than they declared, and its receipt does "
            "not prove this file.",
            computed,
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


def _supplier_sealed_fields(document: BidDocument, result: OpeningResult) -> dict[str, Any]:
    """For a file its supplier sealed: whose hash did not match, if one did not. With its
    sealed bytes intact (it unsealed, so a SHA-256 was computed), a mismatch is the
    supplier's declaration's, not the platform's keeping."""
    if document.sealed_sha256 is None:
        return {}
    return {
        "sealed_sha256": document.sealed_sha256,
        "declared_sha256_differs": not result.hash_matches and result.computed_sha256 is not None,
    }


def _user(session: Session, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    assert user is not None  # a foreign key guarantees it
    return user


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


def _unopened(
    document: BidDocument,
    plain: dict[uuid.UUID, tuple[BinaryIO, str]],
    failures: dict[uuid.UUID, _UnsealError],
) -> OpeningResult:
    """The result of ``document`` when it, or its partner, could not be unsealed as received:
    its own failure, or (its own bytes intact) the partner's, which leaves nothing to verify."""
    own = failures.get(document.id)
    if own is not None:
        return _failed(document, own.computed, own.reason, sub_indication=own.sub_indication)
    other = next(iter(failures.values()))
    return _failed(
        document,
        plain[document.id][1],
        other.reason,
        hash_matches=True,
        sub_indication=other.sub_indication,
    )


def _with_results(session: Session, tender_id: uuid.UUID) -> set[uuid.UUID]:
    """The documents of the tender that have their opening result."""
    return set(
        session.scalars(
            select(OpeningResult.document_id).where(OpeningResult.tender_id == tender_id)
        )
    )


def _unrecorded_arrivals(
    session: Session, tender_id: uuid.UUID, deadline: datetime
) -> list[StorageIntent]:
    """Uploads of the tender whose last byte arrived by ``deadline`` and that are not yet
    recorded (nor refused, nor given up): bids the opening must wait for."""
    return list(
        session.scalars(
            select(StorageIntent)
            .where(
                StorageIntent.tender_id == tender_id,
                StorageIntent.resolved_at.is_(None),
                StorageIntent.arrived_at.is_not(None),
                StorageIntent.arrived_at <= deadline,
            )
            .order_by(StorageIntent.arrived_at)
        )
    )


def _take_claims(
    session: Session,
    tender_id: uuid.UUID,
    document_ids: Collection[uuid.UUID],
    worker: str,
    now: datetime,
) -> set[uuid.UUID]:
    """Claim each of ``document_ids`` that nobody holds (no claim yet, or one that ran out by
    ``now``) for ``worker`` until now + OPENING_LEASE; returns those claimed. One statement
    (INSERT ... ON CONFLICT DO UPDATE ... WHERE expired), atomic on PostgreSQL and SQLite:
    of two workers claiming the same document at once, exactly one gets it."""
    if not document_ids:
        return set()
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"opening claims are not written for {dialect}")
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = cast(Table, OpeningClaim.__table__)
    until = now + OPENING_LEASE
    statement = insert(table).values(
        [
            {"document_id": i, "tender_id": tender_id, "worker": worker, "claimed_until": until}
            for i in sorted(document_ids)  # one order for all: no deadlocks between claimers
        ]
    )
    claim = statement.on_conflict_do_update(
        index_elements=[table.c.document_id],
        set_={
            "worker": statement.excluded.worker,
            "claimed_until": statement.excluded.claimed_until,
        },
        where=table.c.claimed_until <= now,
    ).returning(table.c.document_id)
    return set(session.scalars(claim))


def _release(
    session: Session,
    tender_id: uuid.UUID,
    worker: str,
    now: datetime,
    document_ids: Collection[uuid.UUID] | None = None,
) -> None:
    """End ``worker``'s live claims on the tender (on ``document_ids`` only, if given). The
    rows stay, saying who opened what."""
    query = update(OpeningClaim).where(
        OpeningClaim.tender_id == tender_id,
        OpeningClaim.worker == worker,
        OpeningClaim.claimed_until > now,
    )
    if document_ids is not None:
        query = query.where(OpeningClaim.document_id.in_(list(document_ids)))
    session.execute(query.values(claimed_until=now))


def _claim_record(
    session: Session, tender_id: uuid.UUID, due: list[uuid.UUID], writer: str, now: datetime
) -> bool:
    """Claim the writing of the tender's record for ``writer``: a lease on the claim of its
    first due document (each of them has its result by now, and its claim released). Call
    with the tender locked. True if claimed; False if another worker is writing it. A tender
    with nothing to open has no such claim: whoever gets there writes the record."""
    if not due:
        return True
    return bool(_take_claims(session, tender_id, due[:1], writer, now))
