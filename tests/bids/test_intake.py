"""Submitting bids on real storage and both databases: receipts, sealing, lateness, audit."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import anyio
import pytest
from minio import Minio
from sqlalchemy import select

from tender.bids import precheck
from tender.bids.models import BidDocument
from tender.bids.precheck import PreChecker
from tender.bids.schemas import PreCheck, Receipt
from tender.clock import ManualClock
from tender.errors import Invalid, TenderClosed, Unavailable
from tender.platform import Platform
from tender.runtime import free_port
from tender.signing import DocumentReport, verify_document
from tender.signing.testing import TestPKI, signed_pdf
from tender.storage.objectstore import ObjectStore, S3Config
from tender.verifier.kinds import EventKind
from tests.conftest import People
from tests.helpers import (
    audit_kinds,
    chunks_of,
    published_tender,
    register_signer,
    unit_of_work,
    upload,
)

MARKER = b"PLAINTEXT-MARKER-of-the-bid "


def test_receipt_tells_what_was_received_and_when(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock)
    parts = [MARKER * 100, b"x" * 10_000, b"tail"]
    body = b"".join(parts)

    receipt = upload(platform, people.alice, tender.id, "offer.pdf", parts)

    assert receipt.sha256 == hashlib.sha256(body).hexdigest()
    assert receipt.size == len(body)
    assert receipt.received_at == clock.now()
    assert receipt.file_name == "offer.pdf"
    assert receipt.tender_reference == "T-1"
    assert receipt.supplier_organisation == "Alpha Ltd"
    assert receipt.retained_until == tender.deadline + timedelta(
        days=platform.settings.retention_days
    )
    assert audit_kinds(platform, tender.id)[-1] == "bid.received"


def test_stored_object_is_ciphertext_under_compliance_lock(
    platform: Platform, people: People, clock: ManualClock, s3_config: S3Config
) -> None:
    tender = published_tender(platform, people.officer, clock)
    receipt = upload(platform, people.alice, tender.id, "offer.pdf", [MARKER * 1000])
    with platform.sessions.begin() as session:
        document = session.get(BidDocument, receipt.receipt_id)
        assert document is not None
    raw = Minio(
        s3_config.endpoint, s3_config.access_key, s3_config.secret_key, secure=False
    ).get_object(platform.settings.bucket, document.object_key, version_id=document.object_version)
    stored = raw.read()
    raw.close()

    assert MARKER not in stored
    assert len(stored) == document.sealed_size > document.size
    mode, until = platform.store.get_retention(
        platform.settings.bucket, document.object_key, document.object_version
    )
    assert mode == "COMPLIANCE"
    assert until >= tender.deadline


def test_upload_one_second_after_deadline_is_refused_and_audited(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=1)
    clock.set(tender.deadline + timedelta(seconds=1))

    with pytest.raises(TenderClosed) as refused:
        upload(platform, people.alice, tender.id, "late.pdf", [b"late bid"])

    message = refused.value.message
    assert "closed at" in message
    assert "arrived at" in message
    assert refused.value.details["arrived_at"] > refused.value.details["deadline"]
    assert refused.value.audit_kind == EventKind.BID_REFUSED
    with platform.sessions.begin() as session:
        assert session.scalars(select(BidDocument)).all() == []


def test_upload_exactly_at_deadline_is_accepted(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=1)
    clock.set(tender.deadline)
    receipt = upload(platform, people.alice, tender.id, "just-in-time.pdf", [b"on time"])
    assert receipt.received_at == tender.deadline


def test_empty_file_and_bad_name_are_refused(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock)
    with pytest.raises(Invalid, match="empty"):
        upload(platform, people.alice, tender.id, "x.pdf", [])
    with pytest.raises(Invalid, match="file name"):
        upload(platform, people.alice, tender.id, "../x.pdf", [b"x"])


def test_reupload_supersedes_the_earlier_file(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock)
    first = upload(platform, people.alice, tender.id, "offer.pdf", [b"first"])
    clock.advance(timedelta(minutes=5))
    second = upload(platform, people.alice, tender.id, "offer.pdf", [b"second"])
    upload(platform, people.bob, tender.id, "offer.pdf", [b"bob's"])

    with unit_of_work(platform) as services:
        summary = services.bids.summary(viewer=people.alice, tender_id=tender.id)
        counted = services.bids.summary(viewer=people.officer, tender_id=tender.id)
    assert summary.documents_received is None  # a supplier is not told how many others bid
    assert counted.documents_received == 2  # Alice's latest and Bob's
    assert [r.receipt_id for r in summary.own_receipts] == [first.receipt_id, second.receipt_id]
    with platform.sessions.begin() as session:
        old = session.get(BidDocument, first.receipt_id)
        assert old is not None
        assert old.superseded_at == second.received_at


def test_storage_failure_means_no_receipt_and_says_so(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock)
    unreachable = S3Config(endpoint=f"127.0.0.1:{free_port()}", access_key="a", secret_key="b")
    broken = replace(platform.intake, store=ObjectStore(unreachable))

    with pytest.raises(Unavailable) as refused:
        anyio.run(
            lambda: broken.submit(
                supplier=people.alice,
                tender_id=tender.id,
                file_name="offer.pdf",
                chunks=chunks_of([b"offer"]),
            )
        )

    assert "NOT submitted" in refused.value.message
    assert "Upload the file again" in refused.value.message
    with platform.sessions.begin() as session:
        assert session.scalars(select(BidDocument)).all() == []


def test_upload_whose_last_byte_arrives_after_the_deadline_is_refused_and_never_stored(
    platform: Platform, people: People, clock: ManualClock, s3_config: S3Config
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=1)
    clock.set(tender.deadline - timedelta(seconds=1))

    async def slow_upload() -> AsyncIterator[bytes]:
        yield b"first half "
        clock.set(tender.deadline + timedelta(seconds=1))  # the rest arrives too late
        yield b"second half"

    with pytest.raises(TenderClosed) as refused:
        anyio.run(
            lambda: platform.intake.submit(
                supplier=people.alice, tender_id=tender.id, file_name="x.pdf", chunks=slow_upload()
            )
        )
    assert "your upload arrived at" in refused.value.what
    stored = Minio(
        s3_config.endpoint, s3_config.access_key, s3_config.secret_key, secure=False
    ).list_objects(platform.settings.bucket, prefix=f"tenders/{tender.id}/", recursive=True)
    assert list(stored) == []
    with platform.sessions.begin() as session:
        assert session.scalars(select(BidDocument)).all() == []


@dataclass(frozen=True, kw_only=True)
class _SlowPreChecker(PreChecker):
    """The real pre-check, after the clock has moved on by ``delay``: a platform busy on
    deadline day."""

    clock: ManualClock
    delay: timedelta

    async def check(self, *args: Any, **kwargs: Any) -> PreCheck:
        self.clock.advance(self.delay)
        return await super().check(*args, **kwargs)


def test_bid_whose_last_byte_arrived_in_time_is_accepted_however_long_recording_takes(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    """Received means received: the receipt time is when the last byte arrived, not when the
    platform got round to sealing, storing and recording it."""
    tender = published_tender(platform, people.officer, clock, hours=1)
    last_byte = tender.deadline - timedelta(seconds=2)
    clock.set(last_byte)
    busy = replace(
        platform.intake,
        prechecker=_SlowPreChecker(
            trust=platform.intake.prechecker.trust,
            max_bytes=platform.intake.prechecker.max_bytes,
            clock=clock,
            delay=timedelta(seconds=30),
        ),
    )

    receipt = anyio.run(
        lambda: busy.submit(
            supplier=people.alice,
            tender_id=tender.id,
            file_name="offer.pdf",
            chunks=chunks_of([MARKER]),
        )
    )

    assert clock.now() > tender.deadline  # recorded after the deadline...
    assert receipt.received_at == last_byte  # ...received before it
    with platform.sessions.begin() as session:
        document = session.get(BidDocument, receipt.receipt_id)
        assert document is not None
        assert document.received_at == last_byte
    assert audit_kinds(platform, tender.id)[-1] == "bid.received"


def test_the_signature_pre_check_runs_off_the_event_loop(
    platform: Platform,
    people: People,
    clock: ManualClock,
    test_pki: TestPKI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Validation is CPU work: on the event loop it would stall every other upload."""
    tender = published_tender(platform, people.officer, clock)
    register_signer(platform, people.alice, test_pki, "supplier-a")
    validated_in: list[int] = []

    def spied(*args: Any, **kwargs: Any) -> DocumentReport:
        validated_in.append(threading.get_ident())
        return verify_document(*args, **kwargs)

    monkeypatch.setattr(precheck, "verify_document", spied)
    bid = signed_pdf(test_pki, "supplier-a", "A")

    async def submit() -> tuple[int, Receipt]:
        receipt = await platform.intake.submit(
            supplier=people.alice,
            tender_id=tender.id,
            file_name="bid.pdf",
            chunks=chunks_of([bid]),
        )
        return threading.get_ident(), receipt

    loop_thread, receipt = anyio.run(submit)

    assert receipt.signature_precheck is not None
    assert receipt.signature_precheck.indication == "TOTAL_PASSED"
    assert len(validated_in) == 1
    assert validated_in[0] != loop_thread
