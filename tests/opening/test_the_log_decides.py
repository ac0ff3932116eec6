"""Insiders with the database cannot drop, swap or early-open a bid: the log decides.

Each test does what someone with write access to the database (or the bucket, or the disk)
would do, on real storage and both databases, and shows the opening refusing to go along,
saying why in the log, and the offline verifier catching what is left.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from tender.audit.models import AuditEvent
from tender.bids.models import BidDocument
from tender.bids.schemas import Receipt
from tender.clock import ManualClock
from tender.opening.models import OpeningResult
from tender.opening.run import Opener
from tender.platform import Platform
from tender.signing.testing import TestPKI, signed_pdf
from tender.tenders.models import Tender, TenderStatus
from tender.verifier.bundle import verify_bundle
from tests.conftest import People
from tests.helpers import audit_kinds, published_tender, register_signer, upload


def _two_bids(
    platform: Platform, people: People, clock: ManualClock, pki: TestPKI
) -> tuple[Tender, Receipt, Receipt]:
    tender = published_tender(platform, people.officer, clock, hours=1)
    register_signer(platform, people.alice, pki, "supplier-a")
    register_signer(platform, people.bob, pki, "supplier-b")
    alice = upload(
        platform, people.alice, tender.id, "bid.pdf", [signed_pdf(pki, "supplier-a", "A")]
    )
    bob = upload(platform, people.bob, tender.id, "bid.pdf", [signed_pdf(pki, "supplier-b", "B")])
    return tender, alice, bob


def _halted(platform: Platform, tender: Tender) -> list[list[str]]:
    with platform.sessions.begin() as session:
        return [
            payload["problems"]
            for payload in session.scalars(
                select(AuditEvent.payload)
                .where(AuditEvent.tender_id == tender.id, AuditEvent.kind == "opening.halted")
                .order_by(AuditEvent.seq)
            )
        ]


def _bundle_failures(platform: Platform, tmp_path: Path) -> dict[str, str]:
    bundle = tmp_path / "bundle.zip"
    platform.exporter.export(tender_reference="T-1", out=bundle)
    checks = verify_bundle(bundle, platform.checkpointer.signer.verifier_key())
    return {c.name: c.detail for c in checks if not c.ok}


def test_a_deleted_bid_row_halts_the_opening_and_the_verifier_says_so(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI, tmp_path: Path
) -> None:
    tender, alice, _ = _two_bids(platform, people, clock, test_pki)
    with platform.sessions.begin() as session:  # a rival with database access drops Alice
        session.execute(delete(BidDocument).where(BidDocument.id == alice.receipt_id))
    clock.set(tender.deadline + timedelta(seconds=1))

    outcome = platform.opener.open_tender(tender.id)
    again = platform.opener.open_tender(tender.id)  # the reconciler retries

    assert outcome.halted
    assert again.halted
    assert outcome.status == TenderStatus.OPENING  # never "opened" without Alice's bid
    assert _halted(platform, tender) == [  # said once, however often it is retried
        [
            f"receipt {alice.receipt_id} (event {alice.audit_seq}) has no row in "
            "bid_documents: it was deleted"
        ]
    ]
    assert "opening.finished" not in audit_kinds(platform, tender.id)
    failed = _bundle_failures(platform, tmp_path)
    assert "has no row in bid_documents" in failed["opening T-1 halted"]


def test_a_bid_marked_superseded_outside_the_log_halts_the_opening(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI
) -> None:
    tender, alice, _ = _two_bids(platform, people, clock, test_pki)
    with platform.sessions.begin() as session:
        session.execute(
            update(BidDocument)
            .where(BidDocument.id == alice.receipt_id)
            .values(superseded_at=clock.now())
        )
    clock.set(tender.deadline + timedelta(seconds=1))

    assert platform.opener.open_tender(tender.id).halted

    assert _halted(platform, tender) == [
        [
            f"receipt {alice.receipt_id} is marked superseded in bid_documents, but the log "
            "has no later receipt of that file: it was dropped outside the log"
        ]
    ]


def test_a_receipt_hash_rewritten_in_the_table_halts_the_opening(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI
) -> None:
    tender, alice, _ = _two_bids(platform, people, clock, test_pki)
    with platform.sessions.begin() as session:
        session.execute(
            update(BidDocument).where(BidDocument.id == alice.receipt_id).values(sha256="0" * 64)
        )
    clock.set(tender.deadline + timedelta(seconds=1))

    assert platform.opener.open_tender(tender.id).halted

    rewritten = "0" * 64
    assert _halted(platform, tender) == [
        [
            f"receipt {alice.receipt_id}: bid_documents says sha256 {rewritten!r}, "
            f"the log {alice.sha256!r}"
        ]
    ]


def test_a_deadline_edited_into_the_past_opens_nothing_early(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI
) -> None:
    tender, _, _ = _two_bids(platform, people, clock, test_pki)
    with platform.sessions.begin() as session:  # an officer tries to open half an hour early
        session.execute(
            update(Tender)
            .where(Tender.id == tender.id)
            .values(deadline=clock.now() - timedelta(minutes=1))
        )
    clock.advance(timedelta(minutes=30))

    early = platform.opener.open_tender(tender.id)
    platform.opener.open_tender(tender.id)

    assert early.halted
    assert early.not_due_for == timedelta(minutes=30)  # the job comes back at the real deadline
    kinds = audit_kinds(platform, tender.id)
    assert "tender.key_released" not in kinds
    assert "opening.started" not in kinds
    [[problem]] = _halted(platform, tender)
    assert "but the deadline in force in the log is" in problem
    assert problem.endswith("nothing is opened before it")
    with platform.sessions.begin() as session:  # put back as it was: it opens at the deadline
        session.execute(
            update(Tender).where(Tender.id == tender.id).values(deadline=tender.deadline)
        )
    clock.set(tender.deadline + timedelta(seconds=1))
    assert platform.opener.open_tender(tender.id).status == TenderStatus.OPENED


def test_a_deadline_extended_in_the_table_lets_no_late_bid_in(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI
) -> None:
    tender, _, _ = _two_bids(platform, people, clock, test_pki)
    with platform.sessions.begin() as session:  # an officer gives a favoured firm an hour more
        session.execute(
            update(Tender)
            .where(Tender.id == tender.id)
            .values(deadline=tender.deadline + timedelta(hours=1))
        )
    clock.set(tender.deadline + timedelta(minutes=10))
    late = upload(
        platform, people.alice, tender.id, "late.pdf", [signed_pdf(test_pki, "supplier-a", "L")]
    )
    clock.set(tender.deadline + timedelta(hours=1, seconds=1))

    assert platform.opener.open_tender(tender.id).halted

    [problems] = _halted(platform, tender)
    assert any("but the deadline in force in the log is" in p for p in problems)
    assert any(
        f"receipt {late.receipt_id} (event {late.audit_seq}) arrived at" in p
        and "after the deadline in the log" in p
        for p in problems
    )
    with platform.sessions.begin() as session:
        assert session.get(OpeningResult, late.receipt_id) is None


def test_a_superseded_bid_is_its_own_event_and_only_the_latest_is_opened(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=1)
    register_signer(platform, people.alice, test_pki, "supplier-a")
    first = upload(
        platform, people.alice, tender.id, "bid.pdf", [signed_pdf(test_pki, "supplier-a", "1")]
    )
    clock.advance(timedelta(minutes=1))
    second = upload(
        platform, people.alice, tender.id, "bid.pdf", [signed_pdf(test_pki, "supplier-a", "2")]
    )
    clock.set(tender.deadline + timedelta(seconds=1))

    platform.opener.open_tender(tender.id)

    assert audit_kinds(platform, tender.id).count("bid.superseded") == 1
    with platform.sessions.begin() as session:
        opened = set(session.scalars(select(OpeningResult.document_id)))
    assert opened == {second.receipt_id}
    assert first.receipt_id not in opened


def test_an_opener_that_skips_a_bid_is_caught_by_the_verifier(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI, tmp_path: Path
) -> None:
    """A subverted platform (say, a patched opening job) leaves a receipt out of the opening
    and signs everything properly: the bundle still fails, because the log says it was due."""
    tender, alice, bob = _two_bids(platform, people, clock, test_pki)
    clock.set(tender.deadline + timedelta(seconds=1))

    class SkipsBob(Opener):
        def _record_result(
            self, session: Session, document: BidDocument, result: OpeningResult
        ) -> None:
            if document.id != bob.receipt_id:
                super()._record_result(session, document, result)

        def _missing_results(
            self, session: Session, tender_id: uuid.UUID, due: list[uuid.UUID]
        ) -> set[uuid.UUID]:
            return set()  # and writes the record all the same

    parts = {f.name: getattr(platform.opener, f.name) for f in dataclasses.fields(Opener) if f.init}
    SkipsBob(**parts).open_tender(tender.id)

    failed = _bundle_failures(platform, tmp_path)
    assert failed["opening T-1 complete"] == (
        f"on-time receipt {bob.receipt_id} has no opening result"
    )
    assert str(alice.receipt_id) not in failed["opening T-1 complete"]


def test_a_sealed_object_gone_from_the_disk_is_a_result_not_a_stall(
    platform: Platform,
    people: People,
    clock: ManualClock,
    test_pki: TestPKI,
    tmp_path: Path,
) -> None:
    """Someone with a shell removes the storage server's data under one bid. The opening tries
    a few times, then records that document as failed and opens the others."""
    from tender.storage.embedded import EmbeddedS3
    from tender.storage.objectstore import ObjectStore

    server = EmbeddedS3(
        tmp_path / "s3", access_key="disk-test", secret_key="disk-test-secret", stop_timeout=2.0
    )
    with server:
        store = ObjectStore(server.config)
        bucket = "bids-disk"
        store.ensure_bucket(bucket)
        own = dataclasses.replace(
            platform,
            intake=dataclasses.replace(platform.intake, store=store, bucket=bucket),
            opener=dataclasses.replace(platform.opener, store=store, bucket=bucket),
        )
        tender, alice, bob = _two_bids(own, people, clock, test_pki)
    for volume in (tmp_path / "s3").rglob("*.dat"):  # the volumes that hold the sealed bytes
        volume.unlink()
    with server:  # back up, the bytes gone
        store = ObjectStore(server.config)
        opener = dataclasses.replace(platform.opener, store=store, bucket=bucket)
        clock.set(tender.deadline + timedelta(seconds=1))
        outcome = opener.open_tender(tender.id)

    assert outcome.status == TenderStatus.OPENED
    with platform.sessions.begin() as session:
        results = {r.document_id: r for r in session.scalars(select(OpeningResult))}
    for receipt in (alice, bob):
        result = results[receipt.receipt_id]
        assert (result.indication, result.sub_indication) == (
            "TOTAL_FAILED",
            "SIGNED_DATA_NOT_FOUND",
        )
        assert "missing or unreadable" in result.reason
