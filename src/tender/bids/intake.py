"""Bid upload: check the window, seal while streaming, lock the object, record and receipt.

The order matters. Bytes are hashed and sealed chunk by chunk into a temporary file of
ciphertext (memory stays one chunk), the sealed object is written under Object Lock, and only
then, in one transaction, are the document row and its audit event committed, with the deadline
checked again by the clock at that moment. A failure before that commit leaves no row and no
receipt.

An upload streams for as long as the file takes, so it cannot be one transaction (on SQLite
that would hold the write lock for minutes): the intake is one of the few parts that owns its
transactions (see README, "How it is built"). Each is short and uses :class:`BidService`.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import BinaryIO, TypeVar

import anyio.to_thread
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from tender import text
from tender.accounts.models import User
from tender.audit import service as audit
from tender.audit.checkpointer import Checkpointer, CheckpointSchedule
from tender.audit.models import CheckpointRecord
from tender.bids.models import BidDocument, BidFingerprint, BidWithdrawal, StorageIntent
from tender.bids.precheck import SEALED_BY_SUPPLIER, PreChecker
from tender.bids.schemas import (
    PLAINTEXT_SHA256_HEADER,
    FingerprintReceipt,
    Receipt,
    WithdrawalReceipt,
)
from tender.bids.service import BidService, Quota, SubmissionWindow
from tender.clock import Clock, format_time
from tender.errors import Invalid, TenderClosed, Unavailable
from tender.i18n import gettext as _
from tender.i18n import gettext_noop as N_  # noqa: N812 (the name extractors look for)
from tender.storage.objectstore import ObjectStore, ObjectStoreError
from tender.storage.sealing import SEALED_PREFIX_SIZE, Sealer, looks_sealed
from tender.verifier.kinds import EventKind

MAX_FILE_NAME = 255
SHA256_HEX_DIGITS = 64
AnyReceipt = TypeVar("AnyReceipt", Receipt, FingerprintReceipt, WithdrawalReceipt)
Recorded = TypeVar("Recorded", BidDocument, BidFingerprint, BidWithdrawal)
STORE_FAILED = "store failed"  # swept once more: the storage may have kept it all the same
# How many checkpoint intervals a receipt waits for the schedule before issuing one itself.
RECEIPT_WAIT_INTERVALS = 5
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SealedSpool:
    """A bid's ciphertext in a temporary file, with the digest and size of its plaintext.

    ``plaintext`` is a second temporary file with the plain bytes, kept only for the signature
    pre-check and only for files up to the pre-check limit (pyHanko needs random access); it
    is unlinked on creation and closed as soon as the pre-check is done.

    A file its supplier sealed (``sealed_sha256`` set, the SHA-256 of the bytes received) has
    no plaintext here: ``sha256`` is the one its supplier declared, ``size`` that received.
    """

    file: BinaryIO
    plaintext: BinaryIO | None
    sha256: str
    size: int
    sealed_size: int
    sealed_sha256: str | None = None

    def close(self) -> None:
        self.file.close()
        if self.plaintext is not None:
            self.plaintext.close()


class SealingSpool:
    """Hashes and seals a bid piece by piece, as it arrives, into a temporary file of
    ciphertext, keeping a plain copy for the pre-check (only up to ``plaintext_limit``); the
    pieces may come in one stream or in several requests (a resumable upload). Memory holds
    one sealing chunk at most."""

    def __init__(
        self, public_key: bytes, *, chunk_size: int, max_bytes: int, plaintext_limit: int
    ) -> None:
        self.size = 0
        self._max_bytes = max_bytes
        self._plaintext_limit = plaintext_limit
        self._sealer = Sealer(public_key, chunk_size=chunk_size)
        self._digest = hashlib.sha256()
        self._spool: BinaryIO = tempfile.TemporaryFile()  # noqa: SIM115 - closed by finish/close
        self._plaintext: BinaryIO | None = tempfile.TemporaryFile()  # noqa: SIM115 - likewise

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self._max_bytes:
            raise too_large(self._max_bytes)
        self._digest.update(chunk)
        self._spool.write(self._sealer.update(chunk))
        if self._plaintext is not None:
            if self.size > self._plaintext_limit:
                self._plaintext.close()
                self._plaintext = None
            else:
                self._plaintext.write(chunk)

    def finish(self) -> SealedSpool:
        """The sealed file, handed over (its caller closes it)."""
        if self.size == 0:
            raise empty_file()
        self._spool.write(self._sealer.finalize())
        sealed_size = self._spool.tell()
        self._spool.seek(0)
        if self._plaintext is not None:
            self._plaintext.seek(0)
        return SealedSpool(
            self._spool, self._plaintext, self._digest.hexdigest(), self.size, sealed_size
        )

    def close(self) -> None:
        """Throw away what arrived (the upload was refused or abandoned)."""
        self._spool.close()
        if self._plaintext is not None:
            self._plaintext.close()


class SupplierSealedSpool:
    """Spools a stream its supplier sealed to ``public_key``, as it is (it is not sealed
    again), hashing it; refuses, as soon as its first bytes show it, anything that is not a
    stream of the format that key seals to. Like :class:`SealingSpool`, piece by piece."""

    def __init__(
        self, public_key: bytes, *, declared_sha256: str, max_bytes: int, tender_id: uuid.UUID
    ) -> None:
        self.size = 0
        self._public_key = public_key
        self._declared_sha256 = declared_sha256
        self._max_bytes = max_bytes
        self._tender_id = tender_id
        self._digest = hashlib.sha256()
        self._start = b""
        self._spool: BinaryIO = tempfile.TemporaryFile()  # noqa: SIM115 - closed by finish/close

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self._max_bytes:
            raise too_large(self._max_bytes)
        if len(self._start) < SEALED_PREFIX_SIZE:
            self._start += chunk[: SEALED_PREFIX_SIZE - len(self._start)]
            if len(self._start) == SEALED_PREFIX_SIZE and not looks_sealed(
                self._start, self._public_key
            ):
                raise _not_sealed(self._tender_id)
        self._digest.update(chunk)
        self._spool.write(chunk)

    def finish(self) -> SealedSpool:
        """The sealed file, handed over (its caller closes it)."""
        if self.size < Sealer.sealed_size(
            0, recipient_public_key=self._public_key
        ) or not looks_sealed(self._start, self._public_key):
            raise _not_sealed(self._tender_id)
        self._spool.seek(0)
        return SealedSpool(
            self._spool,
            None,
            self._declared_sha256,
            self.size,
            self.size,
            self._digest.hexdigest(),
        )

    def close(self) -> None:
        self._spool.close()


Spool = SealingSpool | SupplierSealedSpool


async def spool_all(chunks: AsyncIterator[bytes], spool: Spool) -> SealedSpool:
    """Write a whole stream to ``spool``; what arrived is thrown away if it is refused."""
    try:
        async for chunk in chunks:
            spool.write(chunk)
        return spool.finish()
    except BaseException:
        spool.close()
        raise


def declared_plaintext_sha256(
    declared: str | None, *, supplier_sealed: bool, tender_id: uuid.UUID
) -> str | None:
    """The plain file's SHA-256 its supplier declared (header ``X-Tender-Plaintext-SHA256``),
    checked: required, as 64 hex digits, by a supplier-sealed tender; refused by any other,
    which seals bids itself (a file sealed twice could not be opened as the supplier meant)."""
    if not supplier_sealed:
        if declared is None:
            return None
        raise Invalid(
            _(
                "This upload says it is sealed on your computer, but this tender does not take "
                "sealed bids."
            ),
            _(
                "The tender seals bids itself when they arrive; the {header} header is only for "
                "supplier-sealed tenders."
            ).format(header=PLAINTEXT_SHA256_HEADER),
            _("Submit the plain file without --seal."),
            tender_id=tender_id,
            audit_kind=EventKind.BID_REFUSED,
        )
    if declared is None:
        raise Invalid(
            _("This tender takes only bids sealed on your computer; this upload is not sealed."),
            _(
                "The procuring entity chose supplier sealing: bids are sealed to the tender's "
                "key before they are sent, so the platform never holds them readable before the "
                "opening, and it will not receive a plain file."
            ),
            _(
                "Seal it with 'tender submit --seal' (it pre-checks the signature on your "
                "computer, seals the file and sends it), and upload it again."
            ),
            tender_id=tender_id,
            audit_kind=EventKind.BID_REFUSED,
        )
    if len(declared) != SHA256_HEX_DIGITS or any(c not in "0123456789abcdef" for c in declared):
        raise Invalid(
            _("The declared SHA-256 {declared!r} is not one.").format(declared=declared[:80]),
            _(
                "{header} must be the SHA-256 of the plain file, as 64 lower-case "
                "hex digits: the receipt names it and the opening checks the unsealed file against "
                "it."
            ).format(header=PLAINTEXT_SHA256_HEADER),
            _("Send the file with 'tender submit --seal', which computes it."),
            tender_id=tender_id,
            audit_kind=EventKind.BID_REFUSED,
        )
    return declared


def empty_file(tender_id: uuid.UUID | None = None) -> Invalid:
    return Invalid(
        _("The file is empty."),
        _("No bytes arrived, so there is nothing to seal."),
        _("Check that you chose the right file and upload it again."),
        tender_id=tender_id,
    )


def too_large(max_bytes: int, tender_id: uuid.UUID | None = None) -> Invalid:
    return Invalid(
        _("The file is too large."),
        _("This platform accepts bid files of up to {max_bytes:,} bytes.").format(
            max_bytes=max_bytes
        ),
        _("Split the bid into several files, or ask the procuring entity."),
        tender_id=tender_id,
        details={"max_bytes": max_bytes},
    )


def _not_sealed(tender_id: uuid.UUID) -> Invalid:
    return Invalid(
        _("This upload is not a sealed bid."),
        _(
            "This tender takes only bids sealed on your computer to the tender's key; what "
            "arrived does not start as a sealed file does (or is too short to be one), so "
            "nothing was stored and no receipt was issued."
        ),
        _(
            "Seal the file with 'tender submit --seal' and send it again; do not seal it with "
            "another tool."
        ),
        tender_id=tender_id,
        audit_kind=EventKind.BID_REFUSED,
    )


def check_file_name(file_name: str) -> str:
    """The file name as stored: in NFC (so that the same name typed on two systems is one
    file), without control or bidirectional-override characters ("invoice", U+202E,
    "fdp.exe" reads as "invoiceexe.pdf")."""
    name = text.required(file_name, field=N_("file name"), max_length=MAX_FILE_NAME)
    if any(c in name for c in "/\\") or name in {".", ".."}:
        raise Invalid(
            _("The file name {file_name!r} cannot be used.").format(file_name=file_name),
            _("A file name may not hold slashes, nor be '.' or '..'."),
            _("Rename the file and upload it again."),
        )
    return name


@dataclass(frozen=True)
class ArrivingBid:
    """An upload the tender takes, as its bytes arrive: who sends which file where, and the
    spool they are sealed into."""

    supplier: User
    tender_id: uuid.UUID
    file_name: str
    window: SubmissionWindow
    spool: Spool


@dataclass(frozen=True, kw_only=True)
class BidIntake:
    """Receives bid uploads for all tenders; built once per platform."""

    sessions: sessionmaker[Session]
    store: ObjectStore
    bucket: str
    clock: Clock
    retention: timedelta
    chunk_size: int
    max_bytes: int
    prechecker: PreChecker
    checkpointer: Checkpointer
    # Receipts wait for the next scheduled checkpoint; without a running schedule (a test, a
    # one-off command) the intake issues one itself.
    schedule: CheckpointSchedule | None = None
    quota: Quota = field(default_factory=Quota)

    async def submit(
        self,
        *,
        supplier: User,
        tender_id: uuid.UUID,
        file_name: str,
        chunks: AsyncIterator[bytes],
        declared_size: int | None = None,
        declared_sha256: str | None = None,
        envelope: str | None = None,
    ) -> Receipt:
        """Receive one bid document and return its receipt, with the signature pre-check.
        ``declared_size`` (the Content-Length, if sent) lets a file over the supplier's quota
        be refused before a byte is read. For a supplier-sealed tender the file comes sealed,
        with ``declared_sha256``, the SHA-256 of its plain bytes (see
        :func:`declared_plaintext_sha256`); it is stored as it came. ``envelope``: for a
        two-envelope tender, "technical" (the default) or "financial" (sealed to the tender's
        financial key)."""
        bid = await self.begin(
            supplier=supplier,
            tender_id=tender_id,
            file_name=file_name,
            declared_size=declared_size,
            declared_sha256=declared_sha256,
            envelope=envelope,
        )
        spool = await spool_all(chunks, bid.spool)
        # The last byte is in: this is when the bid was received, by the server's clock, however
        # long the platform now takes to seal, store and record it.
        return await self.deliver(bid, spool, arrived_at=self.clock.now())

    async def begin(
        self,
        *,
        supplier: User,
        tender_id: uuid.UUID,
        file_name: str,
        declared_size: int | None = None,
        declared_sha256: str | None = None,
        envelope: str | None = None,
    ) -> ArrivingBid:
        """Refuse an upload the tender does not take now (see :meth:`submit`), before a byte
        of it is read; else where its bytes go as they arrive."""
        name = check_file_name(file_name)
        window = await anyio.to_thread.run_sync(
            lambda: self._window(supplier, tender_id, name, declared_size, envelope)
        )
        declared = declared_plaintext_sha256(
            declared_sha256, supplier_sealed=window.supplier_sealed, tender_id=tender_id
        )
        spool: Spool = (
            SealingSpool(
                window.public_key,
                chunk_size=self.chunk_size,
                max_bytes=self.max_bytes,
                plaintext_limit=self.prechecker.max_bytes,
            )
            if declared is None
            else SupplierSealedSpool(
                window.public_key,
                declared_sha256=declared,
                max_bytes=self.max_bytes,
                tender_id=tender_id,
            )
        )
        return ArrivingBid(supplier, tender_id, name, window, spool)

    async def deliver(
        self, bid: ArrivingBid, spool: SealedSpool, *, arrived_at: datetime
    ) -> Receipt:
        """Store a bid whose last byte arrived at ``arrived_at`` (refused if that is too
        late), pre-check its signature, record it and return its signed receipt."""
        supplier, tender_id, name, window = bid.supplier, bid.tender_id, bid.file_name, bid.window
        document_id = uuid.uuid4()
        key = f"tenders/{tender_id}/bids/{document_id}.sealed"
        retain_until = window.deadline + self.retention
        try:
            await anyio.to_thread.run_sync(
                lambda: self._arrive(
                    supplier, tender_id, name, spool.sha256, spool.size, key, arrived_at
                )
            )
            precheck = (
                SEALED_BY_SUPPLIER
                if window.supplier_sealed
                else await self.prechecker.check(
                    spool.plaintext,
                    file_name=name,
                    at=arrived_at,
                    binding=window.binding,
                    signed_file_sha256=window.signed_file_sha256,
                )
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
            # Where the storage is and what failed is for the operators, not the supplier.
            log.error("storing %s failed: %s", key, exc)
            await anyio.to_thread.run_sync(self._give_up, key)
            raise Unavailable(
                _(
                    "Your file {name} was received but could not be stored, so it is NOT "
                    "submitted and no receipt was issued."
                ).format(name=name),
                _("The platform's sealed storage did not take it; the operators have been told."),
                _(
                    "Upload the file again; if this keeps happening before the deadline, "
                    "contact the procuring entity at once."
                ),
                tender_id=tender_id,
                audit_kind=EventKind.BID_REFUSED,
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
            sealed_sha256=spool.sealed_sha256,
            object_key=key,
            object_version=stored.version_id,
            retain_until=retain_until,
            received_at=arrived_at,
            precheck=precheck.to_json(),
            envelope=window.envelope,
        )
        receipt = await anyio.to_thread.run_sync(self._record, supplier, document)
        return await anyio.to_thread.run_sync(
            lambda: self._prove_and_sign(
                receipt,
                lambda bids, checkpoint: bids.prove(
                    receipt, checkpoint, self.checkpointer.sign_json
                ),
            )
        )

    async def refuse_if_late(self, bid: ArrivingBid, *, at: datetime) -> None:
        """Refuse a part of ``bid`` arriving at ``at`` when the file could no longer be
        received in time: the rest need not be sent."""

        def check() -> None:
            with self.sessions.begin() as session:
                self._bids(session).refuse_unless_open(
                    supplier=bid.supplier, tender_id=bid.tender_id, file_name=bid.file_name, at=at
                )

        await anyio.to_thread.run_sync(check)

    def _window(
        self,
        supplier: User,
        tender_id: uuid.UUID,
        file_name: str,
        declared_size: int | None,
        envelope: str | None,
    ) -> SubmissionWindow:
        with self.sessions.begin() as session:
            return self._bids(session).window(
                supplier=supplier,
                tender_id=tender_id,
                file_name=file_name,
                declared_size=declared_size,
                envelope=envelope,
            )

    def _arrive(
        self,
        supplier: User,
        tender_id: uuid.UUID,
        file_name: str,
        sha256: str,
        size: int,
        key: str,
        arrived_at: datetime,
    ) -> None:
        with self.sessions.begin() as session:
            self._bids(session).arrive(
                supplier=supplier,
                tender_id=tender_id,
                file_name=file_name,
                sha256=sha256,
                size=size,
                object_key=key,
                arrived_at=arrived_at,
            )

    async def register_fingerprint(
        self,
        *,
        supplier: User,
        tender_id: uuid.UUID,
        file_name: str,
        sha256: str,
        arrived_at: datetime | None = None,
    ) -> FingerprintReceipt:
        """Record a file's fingerprint (see ``BidService.register_fingerprint``) and return its
        receipt, signed with the next checkpoint's proof like a file's. ``arrived_at`` is when
        the request's last byte arrived (by default, now): the fingerprint's receipt time."""
        name = check_file_name(file_name)
        received_at = arrived_at or self.clock.now()

        def record() -> FingerprintReceipt:
            with self.sessions.begin() as session:
                return self._bids(session).register_fingerprint(
                    supplier=supplier,
                    tender_id=tender_id,
                    file_name=name,
                    sha256=sha256,
                    received_at=received_at,
                )

        receipt = await anyio.to_thread.run_sync(record)
        return await anyio.to_thread.run_sync(
            lambda: self._prove_and_sign(
                receipt,
                lambda bids, checkpoint: bids.prove_fingerprint(
                    receipt, checkpoint, self.checkpointer.sign_json
                ),
            )
        )

    async def withdraw(
        self,
        *,
        supplier: User,
        tender_id: uuid.UUID,
        file_name: str | None,
        arrived_at: datetime | None = None,
    ) -> WithdrawalReceipt:
        """Withdraw a bid, or one file of it (see ``BidService.withdraw``), and return the
        signed receipt, with the next checkpoint's proof like a file's. ``arrived_at`` is when
        the request arrived (by default, now): it decides whether it came by the deadline."""
        name = None if file_name is None else check_file_name(file_name)
        at = arrived_at or self.clock.now()

        def record() -> WithdrawalReceipt:
            with self.sessions.begin() as session:
                return self._bids(session).withdraw(
                    supplier=supplier, tender_id=tender_id, file_name=name, at=at
                )

        receipt = await anyio.to_thread.run_sync(record)
        return await anyio.to_thread.run_sync(
            lambda: self._prove_and_sign(
                receipt,
                lambda bids, checkpoint: bids.prove_withdrawal(
                    receipt, checkpoint, self.checkpointer.sign_json
                ),
            )
        )

    def _give_up(self, key: str) -> None:
        """The object was not stored: the opening need not wait for it. (If the storage took it
        after all and only the answer was lost, the sweep finds and names it.)"""
        with self.sessions.begin() as session:
            _resolve(session, key, STORE_FAILED, self.clock)

    def _record(self, supplier: User, document: BidDocument) -> Receipt:
        try:
            with self.sessions.begin() as session:
                receipt = self._bids(session).record(supplier=supplier, document=document)
                _resolve(session, document.object_key, "recorded", self.clock)
                return receipt
        except TenderClosed:
            # Too late: the refusal (audited by the web layer) names the locked object.
            with self.sessions.begin() as session:
                _resolve(session, document.object_key, "refused", self.clock)
            raise

    def _prove_and_sign(
        self,
        receipt: AnyReceipt,
        prove: Callable[[BidService, CheckpointRecord], AnyReceipt],
    ) -> AnyReceipt:
        """The receipt with a signed checkpoint and its inclusion proof, all signed (``prove``
        does it, given the checkpoint).

        What it receipts is already recorded: if this fails, the receipt goes back unproven,
        and is completed by the next scheduled checkpoint (or at start-up), rather than making
        the supplier think the bid was lost.
        """
        try:
            checkpoint = self._checkpoint_covering(receipt.audit_seq)
            with self.sessions.begin() as session:
                return prove(self._bids(session), checkpoint)
        except Exception:  # the database or storage went down after recording
            log.exception("receipt %s is recorded but not yet proven", receipt.receipt_id)
            return receipt

    def _checkpoint_covering(self, seq: int) -> CheckpointRecord:
        if self.schedule is not None and self.schedule.running:
            found = self.schedule.covering(
                seq, timeout=RECEIPT_WAIT_INTERVALS * self.schedule.interval
            )
            if found is not None:
                return found
        return self.checkpointer.issue("receipt")

    def complete_receipts(self, checkpoint: CheckpointRecord) -> int:
        """Sign every recorded receipt still unsigned that ``checkpoint`` covers (after a crash
        between recording and signing, or a failed signing); returns how many."""
        sign = self.checkpointer.sign_json
        with self.sessions.begin() as session:
            bids = self._bids(session)

            def unsigned(kind: type[Recorded]) -> list[Recorded]:  # covered, still unsigned
                return list(
                    session.scalars(
                        select(kind).where(
                            kind.signed_receipt.is_(None), kind.audit_seq <= checkpoint.size
                        )
                    )
                )

            documents = unsigned(BidDocument)
            fingerprints = unsigned(BidFingerprint)
            withdrawals = unsigned(BidWithdrawal)
            for document in documents:
                bids.prove(bids.receipt_of(document), checkpoint, sign)
            for fingerprint in fingerprints:
                bids.prove_fingerprint(bids.fingerprint_receipt_of(fingerprint), checkpoint, sign)
            for withdrawal in withdrawals:
                bids.prove_withdrawal(bids.withdrawal_receipt_of(withdrawal), checkpoint, sign)
        completed = len(documents) + len(fingerprints) + len(withdrawals)
        if completed:
            log.info("completed %d receipts left unsigned", completed)
        return completed

    def sweep_orphans(self, *, older_than: timedelta) -> list[str]:
        """Name in the audit trail every stored object no bid was recorded for.

        An intent older than ``older_than`` that was never resolved belongs to an upload whose
        process died between storing and recording; if its object exists (locked, it cannot be
        removed) a ``storage.orphaned`` event names it. Returns the keys named.
        """
        cutoff = self.clock.now() - older_than
        with self.sessions.begin() as session:
            stale = list(
                session.scalars(
                    select(StorageIntent).where(
                        or_(
                            (StorageIntent.resolved_at.is_(None))
                            & (StorageIntent.created_at <= cutoff),
                            StorageIntent.resolution == STORE_FAILED,
                        )
                    )
                )
            )
        named = []
        for intent in stale:
            versions = [v for k, v in self.store.list_versions(self.bucket, intent.object_key)]
            with self.sessions.begin() as session:
                if versions:
                    audit.append(
                        session,
                        kind=EventKind.STORAGE_ORPHANED,
                        actor=audit.SYSTEM_ACTOR,
                        at=self.clock.now(),
                        tender_id=intent.tender_id,
                        payload={
                            "object_key": intent.object_key,
                            "object_versions": versions,
                            "intended_at": format_time(intent.created_at),
                            "why": "stored, but the upload stopped before the bid was "
                            "recorded: it is not a bid and is never opened",
                        },
                    )
                    named.append(intent.object_key)
                _resolve(
                    session,
                    intent.object_key,
                    "orphaned" if versions else "never stored",
                    self.clock,
                )
        return named

    def _bids(self, session: Session) -> BidService:
        return BidService(session=session, clock=self.clock, quota=self.quota)


def _resolve(session: Session, object_key: str, resolution: str, clock: Clock) -> None:
    intent = session.scalar(select(StorageIntent).where(StorageIntent.object_key == object_key))
    if intent is not None and (intent.resolved_at is None or intent.resolution == STORE_FAILED):
        intent.resolved_at = clock.now()
        intent.resolution = resolution
