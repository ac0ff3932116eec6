"""After the opening: the opening record, and bid documents for evaluators (each read audited).

Works in the caller's transaction (the request's); nothing here is readable before the
opening has finished.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy.orm import Session

from tender.accounts.models import User
from tender.audit import service as audit
from tender.bids.models import BidDocument
from tender.clock import Clock, for_people
from tender.committee.models import FINANCIAL_KEY, TENDER_KEY
from tender.committee.service import unlock_tender_key
from tender.errors import Conflict, NotFound
from tender.i18n import gettext as _
from tender.opening.models import OpeningRecord, OpeningResult
from tender.storage.objectstore import ObjectStore
from tender.storage.sealing import KeyWrapper, unseal
from tender.tenders.access import require_overseer
from tender.tenders.models import UNSEALED
from tender.tenders.service import get_tender, status_word
from tender.verifier.formats import OpeningRecordDocument
from tender.verifier.kinds import EventKind
from tender.verifier.ledger import FINANCIAL


class OpeningRecordMismatchError(RuntimeError):
    """The opening record read back differs from the one the opening wrote."""


@dataclass(frozen=True)
class EvaluationCopy:
    """A bid document as an evaluator reads it: its name and its plain bytes, streamed."""

    file_name: str
    chunks: Iterator[bytes]


@dataclass(frozen=True, kw_only=True)
class OpeningService:
    """Reads after the opening, in the caller's transaction (it never commits)."""

    session: Session
    clock: Clock
    store: ObjectStore
    bucket: str
    platform_key: KeyWrapper

    def document_for_evaluation(
        self, *, reader: User, tender_id: uuid.UUID, receipt_id: uuid.UUID, as_received: bool
    ) -> EvaluationCopy:
        """A bid document's plain bytes, streamed, once the tender is opened.

        Evaluators get the signed revision: for a signed PDF, exactly the bytes its last
        signature covers, never anything appended after signing. ``as_received`` gives the
        whole file as uploaded (both are kept: the sealed original is never changed). Each
        read is audited, in the caller's transaction, before any byte is given.
        """
        tender = get_tender(self.session, tender_id)
        require_overseer(self.session, reader, tender)
        document = self.session.get(BidDocument, receipt_id)
        if document is None or document.tender_id != tender.id:
            raise NotFound(
                _("Tender {reference} has no bid document {receipt_id}.").format(
                    reference=tender.reference, receipt_id=receipt_id
                ),
                _("The receipt id does not belong to this tender."),
                _("Take the receipt id from the opening record."),
                tender_id=tender.id,
            )
        if tender.status not in UNSEALED:
            raise Conflict(
                _("Tender {reference} is not opened, so its bids are sealed.").format(
                    reference=tender.reference
                ),
                _(
                    "Nobody can read a bid before the opening, which runs by itself after the "
                    "deadline ({deadline})."
                ).format(deadline=for_people(tender.deadline)),
                _("Wait for the opening."),
                tender_id=tender.id,
            )
        result = self.session.get(OpeningResult, document.id)
        financial = document.envelope == FINANCIAL
        if financial and result is None:
            raise Conflict(
                _(
                    "The financial envelope {file_name} of tender {reference} was "
                    "not opened, so it stays sealed."
                ).format(file_name=document.file_name, reference=tender.reference),
                _(
                    "A financial envelope is opened only if its bid was found qualified on its "
                    "technical envelope, by the financial opening the officer asks for; an "
                    "unqualified bid's is never decrypted. This attempt is recorded."
                ),
                _(
                    "GET /api/tenders/{id}/qualification shows the verdicts and whether "
                    "the financial opening has run."
                ).format(id=tender.id),
                tender_id=tender.id,
                details={"receipt_id": str(document.id), "envelope": FINANCIAL},
            )
        limit = None if as_received or result is None else result.signed_length
        tender_key = unlock_tender_key(
            self.session,
            tender,
            platform_key=self.platform_key,
            clock=self.clock,
            actor=reader.actor,
            purpose="evaluation copy",
            key_name=FINANCIAL_KEY if financial else TENDER_KEY,
        )
        audit.append(
            self.session,
            kind=EventKind.BID_READ,
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
        return EvaluationCopy(document.file_name, _first_bytes(unseal(sealed, tender_key), limit))

    def stored_record(self, *, reader: User, tender_id: uuid.UUID) -> OpeningRecordDocument:
        """The opening record as written to locked storage, checked against its recorded hash."""
        row = self._record_row(reader, tender_id)
        body = b"".join(self.store.iter_version(self.bucket, row.object_key, row.object_version))
        if hashlib.sha256(body).hexdigest() != row.sha256:
            raise OpeningRecordMismatchError(
                f"The stored opening record of tender {tender_id} does not match the "
                "hash written when it was opened: the stored copy or the database was altered. "
                "Report this to the auditor; the audit trail holds the original hash."
            )
        record: OpeningRecordDocument = json.loads(body)
        return record

    def stored_record_pdf(self, *, reader: User, tender_id: uuid.UUID) -> Iterator[bytes]:
        """The sealed PDF of the opening record, streamed from locked storage."""
        row = self._record_row(reader, tender_id)
        return self.store.iter_version(self.bucket, row.pdf_object_key, row.pdf_object_version)

    def _record_row(self, reader: User, tender_id: uuid.UUID) -> OpeningRecord:
        tender = get_tender(self.session, tender_id)
        require_overseer(self.session, reader, tender)
        row = self.session.get(OpeningRecord, tender_id)
        if row is None:
            raise Conflict(
                _("Tender {reference} has not been opened yet (status: {status}).").format(
                    reference=tender.reference, status=status_word(tender.status)
                ),
                _("The opening runs by itself after the deadline, {deadline}.").format(
                    deadline=for_people(tender.deadline)
                ),
                _("Try again after the deadline."),
                tender_id=tender.id,
            )
        return row


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
