"""Tender documents: uploaded by the buying officers, read by suppliers, each read on record.

An upload streams for as long as the file takes, so, like the bid intake, the
:class:`DocumentIntake` owns its short transactions: it checks who may upload and when, hashes
the stream into a temporary file (memory stays one chunk), stores it under Object Lock, then
records it with its ``tender.document_added`` event, checking the window again. The documents
are public once published, so they are not sealed; locking them keeps what suppliers read
unchangeable for as long as the bids.

Before a tender is published its documents are part of it (:data:`ORIGINAL`); after, a new
document waits, seen by the buying officers only, until an addendum publishes it
(:mod:`tender.documents.addenda`).
"""

from __future__ import annotations

import hashlib
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO

import anyio.to_thread
from sqlalchemy import Select, select, union
from sqlalchemy.orm import Session, sessionmaker

from tender.accounts.models import Role, User
from tender.audit import service as audit
from tender.bids.intake import check_file_name
from tender.bids.models import BidDocument, BidFingerprint
from tender.clock import Clock, for_people, format_time
from tender.documents.models import ORIGINAL, DocumentDownload, TenderDocument
from tender.documents.schemas import DocumentOut, DownloadOut
from tender.errors import Conflict, Forbidden, Invalid, NotFound
from tender.i18n import gettext as _
from tender.storage.objectstore import ObjectStore
from tender.tenders.access import require_buyer, require_visible
from tender.tenders.models import Tender, TenderStatus
from tender.tenders.service import get_tender, status_word
from tender.verifier.kinds import EventKind


def is_buyer(actor: User | None, tender: Tender) -> bool:
    """Whether ``actor`` (None: the public) is an officer of the organisation that runs
    ``tender``."""
    if actor is None:
        return False
    try:
        require_buyer(actor, tender)
    except (Forbidden, NotFound):
        return False
    return True


def require_before_deadline(tender: Tender, now: datetime, *, to: str) -> None:
    """Refuse unless ``tender`` is a draft, or published with its deadline still ahead."""
    if tender.status is TenderStatus.DRAFT:
        return
    if tender.status is TenderStatus.PUBLISHED and now < tender.deadline:
        return
    passed = tender.status is TenderStatus.PUBLISHED
    raise Conflict(
        _("Tender {reference} can no longer {to}.").format(reference=tender.reference, to=to),
        _("Its deadline ({deadline}) has passed; it is now {now}.").format(
            deadline=for_people(tender.deadline), now=for_people(now)
        )
        if passed
        else _(
            "It is {status}; only a draft, or a published tender before its deadline, can be "
            "changed."
        ).format(status=status_word(tender.status)),
        _(
            "Nothing can be changed once the deadline has passed: what suppliers bid on is "
            "settled. Publish a new tender if the requirement has changed."
        ),
        tender_id=tender.id,
        details={"status": tender.status.value, "deadline": format_time(tender.deadline)},
    )


def suppliers_of(session: Session, tender_id: uuid.UUID) -> list[User]:
    """The suppliers taking part in a tender so far, to be told when it changes: those who
    submitted a file or a fingerprint, and those who downloaded its documents."""
    taking_part = union(
        select(BidDocument.supplier_id).where(BidDocument.tender_id == tender_id),
        select(BidFingerprint.supplier_id).where(BidFingerprint.tender_id == tender_id),
        select(DocumentDownload.user_id).where(DocumentDownload.tender_id == tender_id),
    )
    return list(
        session.scalars(
            select(User)
            .where(User.role == Role.SUPPLIER, User.id.in_(taking_part))
            .order_by(User.name)
        )
    )


def current_version(
    session: Session, tender_id: uuid.UUID, name: str, *, published: bool
) -> TenderDocument | None:
    """The version of document ``name`` not replaced by a later one: the published one, or
    the one waiting for an addendum."""
    query = select(TenderDocument).where(
        TenderDocument.tender_id == tender_id,
        TenderDocument.name == name,
        TenderDocument.superseded_at.is_(None),
    )
    query = query.where(
        TenderDocument.addendum.is_not(None) if published else TenderDocument.addendum.is_(None)
    )
    return session.scalar(query)


@dataclass(frozen=True)
class _Spool:
    file: BinaryIO
    sha256: str
    size: int


async def _spool(chunks: AsyncIterator[bytes], *, max_bytes: int, tender_id: uuid.UUID) -> _Spool:
    """The stream in a temporary file, hashed on the way (never held in memory whole)."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, who closes it
    try:
        digest, size = hashlib.sha256(), 0
        async for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise Invalid(
                    _("The document is too large."),
                    _("This platform accepts files of up to {max_bytes:,} bytes.").format(
                        max_bytes=max_bytes
                    ),
                    _("Split it into several documents."),
                    tender_id=tender_id,
                )
            digest.update(chunk)
            await anyio.to_thread.run_sync(spool.write, chunk)
        if size == 0:
            raise Invalid(
                _("The document is empty."),
                _("No bytes arrived."),
                _("Check that you chose the right file and upload it again."),
                tender_id=tender_id,
            )
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return _Spool(spool, digest.hexdigest(), size)


@dataclass(frozen=True, kw_only=True)
class DocumentIntake:
    """Receives tender document uploads; owns its short transactions (an upload streams)."""

    sessions: sessionmaker[Session]
    store: ObjectStore
    bucket: str
    clock: Clock
    retention: timedelta
    max_bytes: int

    async def upload(
        self, *, officer: User, tender_id: uuid.UUID, name: str, chunks: AsyncIterator[bytes]
    ) -> DocumentOut:
        """Store one document of ``tender_id`` and record it; answers with what was recorded."""
        name = check_file_name(name)
        await anyio.to_thread.run_sync(self._check, officer, tender_id)
        spool = await _spool(chunks, max_bytes=self.max_bytes, tender_id=tender_id)
        key = f"tenders/{tender_id}/documents/{uuid.uuid4()}"
        try:
            stored = await anyio.to_thread.run_sync(
                lambda: self.store.put_locked(
                    self.bucket,
                    key,
                    spool.file,
                    length=spool.size,
                    retain_until=self.clock.now() + self.retention,
                )
            )
        finally:
            spool.file.close()
        document = TenderDocument(
            tender_id=tender_id,
            name=name,
            sha256=spool.sha256,
            size=spool.size,
            object_key=key,
            object_version=stored.version_id,
            uploaded_by=officer.id,
        )
        return await anyio.to_thread.run_sync(self._record, officer, document)

    def _check(self, officer: User, tender_id: uuid.UUID) -> None:
        with self.sessions.begin() as session:
            tender = get_tender(session, tender_id)
            require_buyer(officer, tender)
            require_before_deadline(tender, self.clock.now(), to=_("take documents"))

    def _record(self, officer: User, document: TenderDocument) -> DocumentOut:
        with self.sessions.begin() as session:
            # Locked: an addendum publishing the documents waits for this, and so on.
            tender = get_tender(session, document.tender_id, for_update=True)
            now = self.clock.now()
            require_before_deadline(tender, now, to=_("take documents"))
            draft = tender.status is TenderStatus.DRAFT
            document.addendum = ORIGINAL if draft else None
            document.uploaded_at = now
            # In a draft the tender's own version is replaced (and so never published); after
            # publishing, only one waiting for the next addendum (which replaces the published
            # one).
            replaced = current_version(session, tender.id, document.name, published=draft)
            if replaced is not None:
                replaced.superseded_at = now
                replaced.addendum = None
            event = audit.append(
                session,
                kind=EventKind.TENDER_DOCUMENT_ADDED,
                actor=officer.actor,
                at=now,
                tender_id=tender.id,
                payload={
                    "document_id": str(document.id),
                    "name": document.name,
                    "sha256": document.sha256,
                    "size": document.size,
                    "object_key": document.object_key,
                    "object_version": document.object_version,
                    # Published with the tender, or waiting for an addendum to publish it.
                    "published_with": "tender" if draft else "next addendum",
                },
            )
            document.audit_seq = event.seq
            session.add(document)
            session.flush()
            return DocumentOut.of(document)


@dataclass(frozen=True)
class DocumentCopy:
    """A tender document as a reader gets it: its name and its bytes, streamed."""

    name: str
    sha256: str
    chunks: Iterator[bytes]


@dataclass(frozen=True, kw_only=True)
class DocumentService:
    """Reading tender documents, in the caller's transaction (it never commits)."""

    session: Session
    clock: Clock
    store: ObjectStore
    bucket: str

    def listing(self, *, viewer: User | None, tender_id: uuid.UUID) -> list[DocumentOut]:
        """Every published version (the replaced ones too, marked); for the buying officers
        also the documents waiting for an addendum. ``viewer`` None: the public."""
        tender = self._visible(viewer, tender_id)
        query = self._readable(viewer, tender, select(TenderDocument))
        return [
            DocumentOut.of(d)
            for d in self.session.scalars(
                query.order_by(TenderDocument.name, TenderDocument.uploaded_at)
            )
        ]

    def download(
        self, *, reader: User, tender_id: uuid.UUID, name: str, addendum: int | None
    ) -> DocumentCopy:
        """The current published version of ``name`` (or the one published with ``addendum``),
        streamed; the read is recorded. The buying officers may also read one that waits."""
        tender = self._visible(reader, tender_id)
        query = self._readable(reader, tender, select(TenderDocument)).where(
            TenderDocument.name == name
        )
        if addendum is not None:
            query = query.where(TenderDocument.addendum == addendum)
        versions = list(self.session.scalars(query.order_by(TenderDocument.uploaded_at)))
        # The latest published version; a waiting one only if none is published yet.
        published = [d for d in versions if d.addendum is not None]
        waiting = [d for d in versions if d.addendum is None and d.superseded_at is None]
        found = (published or waiting)[-1:]
        if not found:
            raise NotFound(
                (
                    _("Tender {reference} has no document {name!r}.")
                    if addendum is None
                    else _(
                        "Tender {reference} has no document {name!r} published with addendum "
                        "{addendum}."
                    )
                ).format(reference=tender.reference, name=name, addendum=addendum),
                _("No document of that name was published with this tender."),
                _("GET /api/tenders/{id}/documents lists its documents.").format(id=tender.id),
                tender_id=tender.id,
            )
        document = found[0]
        self.session.add(
            DocumentDownload(
                tender_id=tender.id,
                document_id=document.id,
                user_id=reader.id,
                downloaded_at=self.clock.now(),
            )
        )
        return DocumentCopy(
            document.name,
            document.sha256,
            self.store.iter_version(self.bucket, document.object_key, document.object_version),
        )

    def downloads(self, *, viewer: User, tender_id: uuid.UUID) -> list[DownloadOut]:
        """Who read which document version, and when (the buying officers only)."""
        tender = get_tender(self.session, tender_id)
        require_buyer(viewer, tender)
        rows = self.session.execute(
            select(DocumentDownload, TenderDocument, User)
            .join(TenderDocument, TenderDocument.id == DocumentDownload.document_id)
            .join(User, User.id == DocumentDownload.user_id)
            .where(DocumentDownload.tender_id == tender.id)
            .order_by(DocumentDownload.downloaded_at)
        )
        return [
            DownloadOut(
                document=document.name,
                addendum=document.addendum,
                sha256=document.sha256,
                user_id=user.id,
                user_name=user.name,
                organisation=user.organisation,
                role=user.role,
                downloaded_at=download.downloaded_at,
            )
            for download, document, user in rows
        ]

    @staticmethod
    def _readable(
        viewer: User | None, tender: Tender, query: Select[TenderDocument]
    ) -> Select[TenderDocument]:
        """The documents of ``tender`` that ``viewer`` may read: all for the buying officers,
        the published versions for anyone else."""
        query = query.where(TenderDocument.tender_id == tender.id)
        if is_buyer(viewer, tender):
            return query
        return query.where(TenderDocument.addendum.is_not(None))

    def _visible(self, viewer: User | None, tender_id: uuid.UUID) -> Tender:
        tender = get_tender(self.session, tender_id)
        require_visible(self.session, viewer, tender)
        return tender
