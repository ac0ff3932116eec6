"""Submitting bids on real storage and both databases: receipts, sealing, lateness, audit."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import anyio
import pytest
from minio import Minio
from sqlalchemy import select

from tender.bids.models import BidDocument
from tender.clock import ManualClock
from tender.errors import Invalid, TenderClosed, Unavailable
from tender.platform import Platform
from tender.runtime import free_port
from tender.storage.objectstore import ObjectStore, S3Config
from tender.verifier.kinds import EventKind
from tests.conftest import People
from tests.helpers import audit_kinds, chunks_of, published_tender, unit_of_work, upload

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


def test_upload_finishing_after_the_deadline_is_refused_and_names_its_locked_object(
    platform: Platform, people: People, clock: ManualClock
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
    orphan = refused.value.details["unopened_sealed_object"]
    assert orphan["sha256"] == hashlib.sha256(b"first half second half").hexdigest()
    mode, _ = platform.store.get_retention(
        platform.settings.bucket, orphan["key"], orphan["version"]
    )
    assert mode == "COMPLIANCE"
    with platform.sessions.begin() as session:
        assert session.scalars(select(BidDocument)).all() == []
