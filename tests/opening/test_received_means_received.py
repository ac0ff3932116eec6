"""A bid counts when its last byte arrived: the opening waits for an upload that arrived by the
deadline to be recorded, however slow sealing and storing it are, up to the recording grace;
then it goes on without it and says so in the log.

Real parts throughout (intake, storage, both databases); the storage is only made slow: each
write waits until the test lets it go on, then is written as usual.
"""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta
from typing import Any

import anyio
import pytest
from sqlalchemy import select

from tender.audit.models import AuditEvent
from tender.bids.models import StorageIntent
from tender.bids.schemas import Receipt
from tender.clock import ManualClock
from tender.opening.models import OpeningResult
from tender.opening.run import RECORDING_POLL
from tender.platform import Platform
from tender.signing.testing import TestPKI, signed_pdf
from tender.storage.objectstore import ObjectStore, StoredObject
from tender.tenders.models import Tender, TenderStatus
from tests.conftest import People
from tests.helpers import audit_kinds, chunks_of, published_tender, register_signer


class SlowStore(ObjectStore):
    """The platform's object store, whose writes wait until the test says go on."""

    def __init__(self, store: ObjectStore) -> None:
        super().__init__(store.config)
        self.writing = threading.Event()
        self.go_on = threading.Event()

    def put_locked(self, *args: Any, **kwargs: Any) -> StoredObject:
        self.writing.set()
        assert self.go_on.wait(60), "the test never let the write go on"
        return super().put_locked(*args, **kwargs)


class SlowUpload:
    """Alice uploads a signed bid whose last byte arrives now (by the platform's clock); it is
    then sealed and stored slowly, in a thread of its own."""

    def __init__(self, platform: Platform, people: People, pki: TestPKI, tender: Tender) -> None:
        self.store = SlowStore(platform.store)
        intake = dataclasses.replace(platform.intake, store=self.store)
        pdf = signed_pdf(pki, "supplier-a", "Alpha's bid")
        self.receipts: list[Receipt] = []
        self.errors: list[Exception] = []

        async def submit() -> Receipt:
            return await intake.submit(
                supplier=people.alice,
                tender_id=tender.id,
                file_name="bid.pdf",
                chunks=chunks_of([pdf]),
            )

        def run() -> None:
            try:
                self.receipts.append(anyio.run(submit))
            except Exception as error:  # looked at by the test
                self.errors.append(error)

        self.thread = threading.Thread(target=run)
        self.thread.start()
        assert self.store.writing.wait(60), "the upload never got to storing"

    def finish(self) -> None:
        self.store.go_on.set()
        self.thread.join(60)


def _opening_started(platform: Platform, tender: Tender) -> dict[str, Any]:
    with platform.sessions.begin() as session:
        payload = session.scalar(
            select(AuditEvent.payload).where(
                AuditEvent.tender_id == tender.id, AuditEvent.kind == "opening.started"
            )
        )
    assert payload is not None
    return dict(payload)


def test_a_bid_in_by_the_deadline_but_recorded_after_it_is_accepted_and_opened(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=1)
    register_signer(platform, people.alice, test_pki, "supplier-a")
    clock.set(tender.deadline - timedelta(seconds=1))
    upload = SlowUpload(platform, people, test_pki, tender)  # its last byte is in
    clock.set(tender.deadline + timedelta(seconds=30))  # still storing as the deadline passes

    waiting = platform.opener.open_tender(tender.id)

    assert waiting.status == TenderStatus.PUBLISHED
    assert waiting.not_due_for == RECORDING_POLL  # the job asks again in a second
    assert "opening.started" not in audit_kinds(platform, tender.id)

    upload.finish()
    assert upload.errors == []
    (receipt,) = upload.receipts
    assert receipt.received_at == tender.deadline - timedelta(seconds=1)  # the last byte
    clock.advance(RECORDING_POLL)

    outcome = platform.opener.open_tender(tender.id)

    assert outcome.status == TenderStatus.OPENED
    assert "unrecorded_arrivals" not in _opening_started(platform, tender)
    with platform.sessions.begin() as session:
        result = session.get(OpeningResult, receipt.receipt_id)
    assert result is not None
    assert result.indication == "TOTAL_PASSED"


def test_the_opening_waits_no_longer_than_the_recording_grace(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=1)
    register_signer(platform, people.alice, test_pki, "supplier-a")
    clock.set(tender.deadline - timedelta(seconds=1))
    upload = SlowUpload(platform, people, test_pki, tender)
    grace = platform.opener.recording_grace
    clock.set(tender.deadline + grace - timedelta(seconds=10))
    assert platform.opener.open_tender(tender.id).not_due_for == RECORDING_POLL
    clock.set(tender.deadline + grace - timedelta(milliseconds=300))
    # Never past the grace: the next try comes when it ends.
    assert platform.opener.open_tender(tender.id).not_due_for == timedelta(milliseconds=300)
    clock.set(tender.deadline + grace)

    outcome = platform.opener.open_tender(tender.id)

    assert outcome.status == TenderStatus.OPENED  # without the bid still being stored
    went_on = _opening_started(platform, tender)["unrecorded_arrivals"]
    assert went_on["recording_grace_seconds"] == grace.total_seconds()
    (unrecorded,) = went_on["uploads"]
    assert unrecorded["object_key"].startswith(f"tenders/{tender.id}/bids/")
    assert unrecorded["arrived_at"].startswith(
        (tender.deadline - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")
    )
    upload.finish()  # stored at last, but too late to be recorded
    assert upload.receipts == []
    assert [type(error).__name__ for error in upload.errors] == ["TenderClosed"]
    with platform.sessions.begin() as session:
        intent = session.scalar(
            select(StorageIntent).where(StorageIntent.object_key == unrecorded["object_key"])
        )
        assert session.scalars(select(OpeningResult)).all() == []
    assert intent is not None
    assert intent.resolution == "refused"


@pytest.mark.parametrize("resolution", ["recorded", "refused", "store failed"])
def test_only_uploads_still_unresolved_hold_the_opening(
    platform: Platform, people: People, clock: ManualClock, resolution: str
) -> None:
    """An upload already recorded, refused, or that failed to store is not waited for, and
    neither is one that arrived after the deadline."""
    tender = published_tender(platform, people.officer, clock, hours=1)
    with platform.sessions.begin() as session:
        session.add_all(
            [
                StorageIntent(
                    tender_id=tender.id,
                    object_key=f"tenders/{tender.id}/bids/resolved.sealed",
                    created_at=tender.deadline,
                    arrived_at=tender.deadline - timedelta(seconds=5),
                    resolved_at=tender.deadline,
                    resolution=resolution,
                ),
                StorageIntent(
                    tender_id=tender.id,
                    object_key=f"tenders/{tender.id}/bids/late.sealed",
                    created_at=tender.deadline,
                    arrived_at=tender.deadline + timedelta(microseconds=1),
                ),
            ]
        )
    clock.set(tender.deadline + timedelta(seconds=1))

    assert platform.opener.open_tender(tender.id).status == TenderStatus.OPENED
