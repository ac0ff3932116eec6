"""The opening on real storage and both databases: verdicts, hash checks, idempotence."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from typing import Any

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy import select, text

from tender.audit.models import AuditEvent
from tender.audit.service import verify_stored_chain
from tender.clock import ManualClock
from tender.errors import Conflict
from tender.opening.models import OpeningResult
from tender.opening.record import RecordWriter
from tender.opening.run import Opener
from tender.platform import Platform
from tender.signing import verify_document
from tender.signing.signer import sign_detached
from tender.signing.testing import TestPKI, signed_pdf
from tender.tenders.models import TenderStatus
from tender.tenders.service import get_tender
from tests.conftest import People
from tests.helpers import (
    audit_kinds,
    opened_with_one_valid_bid,
    published_tender,
    register_signer,
    registered_before_its_authority_was_dropped,
    unit_of_work,
    upload,
)


def test_opening_before_the_deadline_does_nothing(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=1)
    outcome = platform.opener.open_tender(tender.id)
    assert outcome.status == TenderStatus.PUBLISHED
    assert outcome.not_due_for == timedelta(hours=1)
    assert "opening.started" not in audit_kinds(platform, tender.id)


def test_opening_unseals_checks_and_verifies_every_bid(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=1)
    register_signer(platform, people.alice, test_pki, "supplier-a")
    # Bob registered a certificate whose authority the platform has since stopped trusting.
    registered_before_its_authority_was_dropped(
        platform, people.bob, test_pki, "untrusted-supplier"
    )
    good = upload(
        platform, people.alice, tender.id, "bid.pdf", [signed_pdf(test_pki, "supplier-a", "A")]
    )
    untrusted = upload(
        platform,
        people.bob,
        tender.id,
        "bid.pdf",
        [signed_pdf(test_pki, "untrusted-supplier", "B")],
    )
    clock.set(tender.deadline + timedelta(seconds=2))

    outcome = platform.opener.open_tender(tender.id)

    assert outcome.status == TenderStatus.OPENED
    assert outcome.documents_opened_now == 2
    with unit_of_work(platform) as services:
        results = {r.document_id: r for r in services.session.scalars(select(OpeningResult))}
        record = services.opening.stored_record(reader=people.officer, tender_id=tender.id)
    assert results[good.receipt_id].indication == "TOTAL_PASSED"
    assert results[good.receipt_id].hash_matches
    assert (results[good.receipt_id].signer_subject or "").startswith("CN=Supplier A,")
    assert results[untrusted.receipt_id].indication == "INDETERMINATE"
    assert results[untrusted.receipt_id].sub_indication == "NO_CERTIFICATE_CHAIN_FOUND"
    assert [bid["receipt_id"] for bid in record["bids"]] == [
        str(good.receipt_id),
        str(untrusted.receipt_id),
    ]
    assert record["tender"]["opening_started_at"].startswith(
        (tender.deadline + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%S")
    )
    kinds = audit_kinds(platform, tender.id)
    assert kinds[-9:] == [
        "opening.started",
        "tender.key_released",
        "tender.key_unwrapped",  # each use of the key is recorded
        "sealed.revealed",  # who sent each bid, and what, is published only now
        "sealed.revealed",
        "bid.opened",
        "bid.opened",
        "tender.key_unwrapped",  # the last check of the log before the record is kept
        "opening.finished",
    ]


def test_opening_twice_gives_the_same_results_and_no_new_events(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI
) -> None:
    tender = opened_with_one_valid_bid(platform, people, clock, test_pki)
    with unit_of_work(platform) as services:
        events_before = services.session.scalars(
            select(AuditEvent.hash).order_by(AuditEvent.seq)
        ).all()
        record_before = services.opening.stored_record(reader=people.officer, tender_id=tender.id)

    clock.advance(timedelta(minutes=1))
    again = platform.opener.open_tender(tender.id)

    assert again.documents_opened_now == 0
    with unit_of_work(platform) as services:
        assert (
            services.session.scalars(select(AuditEvent.hash).order_by(AuditEvent.seq)).all()
            == events_before
        )
        assert (
            services.opening.stored_record(reader=people.officer, tender_id=tender.id)
            == record_before
        )
        assert verify_stored_chain(services.session).ok


def test_interrupted_opening_resumes_where_it_stopped(
    platform: Platform,
    people: People,
    clock: ManualClock,
    test_pki: TestPKI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=1)
    upload(platform, people.alice, tender.id, "bid.pdf", [signed_pdf(test_pki, "supplier-a", "A")])
    upload(platform, people.bob, tender.id, "bid.pdf", [signed_pdf(test_pki, "supplier-b", "B")])
    clock.set(tender.deadline + timedelta(seconds=1))
    real_open_document = Opener._open_document
    calls = 0

    def dies_on_second_bid(opener: Opener, *args: Any) -> list[OpeningResult]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise ConnectionError("object store went away")
        return real_open_document(opener, *args)

    monkeypatch.setattr(Opener, "_open_document", dies_on_second_bid)
    with pytest.raises(ConnectionError):
        platform.opener.open_tender(tender.id)
    monkeypatch.setattr(Opener, "_open_document", real_open_document)
    assert audit_kinds(platform, tender.id).count("bid.opened") == 1

    outcome = platform.opener.open_tender(tender.id)

    assert outcome.status == TenderStatus.OPENED
    assert outcome.documents_opened_now == 1
    kinds = audit_kinds(platform, tender.id)
    assert kinds.count("opening.started") == 1
    assert kinds.count("bid.opened") == 2
    with platform.sessions.begin() as session:
        assert len(session.scalars(select(OpeningResult)).all()) == 2


def test_valid_signature_by_someone_not_registered_fails(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=1)
    register_signer(platform, people.alice, test_pki, "supplier-a")
    receipt = upload(
        platform, people.alice, tender.id, "bid.pdf", [signed_pdf(test_pki, "supplier-c", "C")]
    )
    assert receipt.signature_precheck is not None
    assert receipt.signature_precheck.sub_indication == "SIGNER_NOT_REGISTERED"
    clock.set(tender.deadline + timedelta(seconds=1))
    platform.opener.open_tender(tender.id)
    with platform.sessions.begin() as session:
        result = session.get(OpeningResult, receipt.receipt_id)
    assert result is not None
    assert (result.indication, result.sub_indication) == ("TOTAL_FAILED", "SIGNER_NOT_REGISTERED")


def test_detached_signature_and_its_file_are_opened_as_a_pair(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=1)
    register_signer(platform, people.alice, test_pki, "supplier-a")
    register_signer(platform, people.bob, test_pki, "supplier-b")
    prices = b"item,price\nasphalt,1200\n" * 1000
    p7s = io.BytesIO()
    sign_detached(io.BytesIO(prices), p7s, test_pki.signer("supplier-a"))
    content = upload(platform, people.alice, tender.id, "prices.csv", [prices])
    signature = upload(platform, people.alice, tender.id, "prices.csv.p7s", [p7s.getvalue()])
    orphan = upload(platform, people.bob, tender.id, "lonely.csv.p7s", [p7s.getvalue()])

    assert content.signature_precheck is not None
    assert content.signature_precheck.indication is None
    assert "prices.csv.p7s" in content.signature_precheck.message_en
    assert signature.signature_precheck is not None
    assert signature.signature_precheck.indication == "TOTAL_PASSED"
    assert orphan.signature_precheck is not None
    assert orphan.signature_precheck.indication is None

    clock.set(tender.deadline + timedelta(seconds=1))
    platform.opener.open_tender(tender.id)
    with platform.sessions.begin() as session:
        results = {r.document_id: r for r in session.scalars(select(OpeningResult))}
    assert results[content.receipt_id].indication == "TOTAL_PASSED"
    assert results[signature.receipt_id].indication == "TOTAL_PASSED"
    assert (results[orphan.receipt_id].indication, results[orphan.receipt_id].sub_indication) == (
        "TOTAL_FAILED",
        "SIGNED_DATA_NOT_FOUND",
    )
    # Its report still says who signed it, though the file it signs never came.
    orphan_report = results[orphan.receipt_id].report
    assert orphan_report["signatures"][0]["signer"]["subject"].startswith("CN=Supplier A")


def test_evaluators_read_the_signed_revision_and_reads_are_audited(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=1)
    register_signer(platform, people.alice, test_pki, "supplier-a")
    signed = signed_pdf(test_pki, "supplier-a", "A")
    appended = b"\n% appended after signing: a price change nobody signed\n"
    receipt = upload(platform, people.alice, tender.id, "bid.pdf", [signed + appended])
    with unit_of_work(platform) as services, pytest.raises(Conflict, match="not opened"):
        services.opening.document_for_evaluation(
            reader=people.officer,
            tender_id=tender.id,
            receipt_id=receipt.receipt_id,
            as_received=False,
        )
    clock.set(tender.deadline + timedelta(seconds=1))
    platform.opener.open_tender(tender.id)

    def read(as_received: bool) -> bytes:
        with unit_of_work(platform) as services:
            copy = services.opening.document_for_evaluation(
                reader=people.officer,
                tender_id=tender.id,
                receipt_id=receipt.receipt_id,
                as_received=as_received,
            )
        assert copy.file_name == "bid.pdf"
        return b"".join(copy.chunks)

    assert read(as_received=False) == signed
    assert read(as_received=True) == signed + appended
    assert audit_kinds(platform, tender.id).count("bid.read") == 2


def test_an_opening_message_for_an_unknown_tender_is_ignored(platform: Platform) -> None:
    outcome = platform.opener.open_tender(uuid.uuid4())
    assert outcome.status == "unknown"
    assert outcome.not_due_for is None


def test_the_record_is_sealed_and_stored_while_no_transaction_holds_the_tender(
    platform: Platform,
    people: People,
    clock: ManualClock,
    test_pki: TestPKI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Sealing asks a time-stamping authority and writes to storage: slow steps that must not
    hold the tender's row (or SQLite's write lock) while they run."""
    tender = published_tender(platform, people.officer, clock, hours=1)
    upload(platform, people.alice, tender.id, "bid.pdf", [signed_pdf(test_pki, "supplier-a", "A")])
    clock.set(tender.deadline + timedelta(seconds=1))
    real_write = RecordWriter.write
    locked_meanwhile: list[str] = []

    def write_after_taking_the_lock(writer: RecordWriter, *args: Any, **kwargs: Any) -> Any:
        with platform.sessions.begin() as session:
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text("SET LOCAL lock_timeout = '5s'"))
            locked_meanwhile.append(get_tender(session, tender.id, for_update=True).reference)
        return real_write(writer, *args, **kwargs)

    monkeypatch.setattr(RecordWriter, "write", write_after_taking_the_lock)
    outcome = platform.opener.open_tender(tender.id)

    assert locked_meanwhile == ["T-1"]
    assert outcome.status == TenderStatus.OPENED


def test_the_sealed_record_carries_what_keeps_it_verifiable(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI
) -> None:
    """The opening seals its record PAdES B-LTA: the seal's revocation data are in the file
    and a document time-stamp covers them, so it verifies for the whole retention period."""
    tender = opened_with_one_valid_bid(platform, people, clock, test_pki)
    with unit_of_work(platform) as services:
        sealed = b"".join(
            services.opening.stored_record_pdf(reader=people.officer, tender_id=tender.id)
        )

    reader = PdfFileReader(io.BytesIO(sealed))
    kinds = [signature.sig_object_type for signature in reader.embedded_signatures]
    assert kinds == ["/Sig", "/DocTimeStamp"]
    assert "/DSS" in reader.root
    report = verify_document(io.BytesIO(sealed), trust=test_pki.trust_store(), at=clock.now())
    assert report.indication == "TOTAL_PASSED"
