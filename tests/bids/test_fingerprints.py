"""Fingerprint first: a supplier registers a file's SHA-256 before the deadline and uploads the
file within the tender's grace period; a slow line no longer decides who may bid."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from pathlib import Path

import anyio
import pytest
from litestar.testing import TestClient
from minio import Minio
from sqlalchemy import select

from tender.accounts.models import User
from tender.app import create_app
from tender.bids.models import BidDocument, BidFingerprint, BidWithdrawal
from tender.bids.schemas import FingerprintReceipt
from tender.clock import ManualClock, for_people, format_time
from tender.errors import Invalid, TenderClosed
from tender.platform import Platform
from tender.signing.testing import TestPKI, signed_pdf
from tender.storage.objectstore import S3Config
from tender.tenders.models import OpeningMethod, Tender, TenderStatus
from tender.tenders.schemas import TenderCreate
from tender.verifier.bundle import verify_bundle
from tender.verifier.receipt import verify_receipt
from tests.conftest import People
from tests.helpers import audit_kinds, register_signer, unit_of_work, upload

BID = b"%PDF-1.7 our price is 1 000 000 HKD " * 50
GRACE = timedelta(hours=24)


def fingerprint_first_tender(platform: Platform, officer: User, clock: ManualClock) -> Tender:
    with unit_of_work(platform) as services:
        tender = services.tenders.create(
            actor=officer,
            data=TenderCreate(
                reference="FP-1",
                title="Bridge repairs",
                deadline=clock.now() + timedelta(hours=1),
                file_grace_seconds=int(GRACE.total_seconds()),
                opening=OpeningMethod.AUTOMATIC,
            ),
        )
        return services.tenders.publish(actor=officer, tender_id=tender.id)


def register(
    platform: Platform, supplier: User, tender: Tender, name: str, content: bytes
) -> FingerprintReceipt:
    return anyio.run(
        lambda: platform.intake.register_fingerprint(
            supplier=supplier,
            tender_id=tender.id,
            file_name=name,
            sha256=hashlib.sha256(content).hexdigest(),
        )
    )


def test_a_file_sent_after_the_deadline_is_received_if_its_fingerprint_came_in_time(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI
) -> None:
    tender = fingerprint_first_tender(platform, people.officer, clock)
    clock.set(tender.deadline - timedelta(seconds=1))
    fingerprint = register(platform, people.alice, tender, "offer.pdf", BID)

    clock.set(tender.deadline + timedelta(hours=3))  # the line was slow: three hours late
    receipt = upload(platform, people.alice, tender.id, "offer.pdf", [BID])

    vkey = platform.checkpointer.signer.verifier_key()
    anchors = test_pki.trust_store()
    assert fingerprint.signed_receipt is not None
    assert [c.name for c in verify_receipt(fingerprint.signed_receipt, vkey, tsa_trust=anchors)
            if not c.ok] == []  # fmt: skip
    assert receipt.signed_receipt is not None
    checks = verify_receipt(
        receipt.signed_receipt, vkey, tsa_trust=anchors, own_file=io.BytesIO(BID)
    )
    assert [c.name for c in checks if not c.ok] == []
    on_time = next(c for c in checks if c.name == "on time")
    assert "matching fingerprint" in on_time.detail
    assert receipt.fulfils_fingerprint is not None
    assert receipt.fulfils_fingerprint.receipt_id == fingerprint.receipt_id
    assert audit_kinds(platform, tender.id).count("bid.fingerprinted") == 1


def test_after_the_deadline_only_the_fingerprinted_bytes_are_received(
    platform: Platform, people: People, clock: ManualClock, s3_config: S3Config
) -> None:
    tender = fingerprint_first_tender(platform, people.officer, clock)
    register(platform, people.alice, tender, "offer.pdf", BID)
    clock.set(tender.deadline + timedelta(minutes=5))

    with pytest.raises(TenderClosed) as changed:
        upload(platform, people.alice, tender.id, "offer.pdf", [BID + b"and a discount"])
    assert "not the file whose fingerprint you registered" in changed.value.what
    assert hashlib.sha256(BID).hexdigest() in changed.value.why

    # Bob registered nothing: his file is refused before a byte is read.
    with pytest.raises(TenderClosed) as unregistered:
        upload(platform, people.bob, tender.id, "offer.pdf", [BID])
    assert "whose fingerprint was registered by the deadline" in unregistered.value.why

    # Alice's fingerprint names offer.pdf, not another file.
    with pytest.raises(TenderClosed):
        upload(platform, people.alice, tender.id, "prices.pdf", [BID])

    stored = Minio(
        s3_config.endpoint, s3_config.access_key, s3_config.secret_key, secure=False
    ).list_objects(platform.settings.bucket, prefix=f"tenders/{tender.id}/", recursive=True)
    assert list(stored) == []
    with platform.sessions.begin() as session:
        assert session.scalars(select(BidDocument)).all() == []


def test_over_http_a_fingerprint_is_receipted_and_a_mismatch_refused_and_audited(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = fingerprint_first_tender(platform, people.officer, clock)
    alice = {"Authorization": f"Bearer {people.tokens['Alice']}"}
    with TestClient(create_app(platform)) as client:
        registered = client.post(
            f"/api/tenders/{tender.id}/fingerprints",
            json={"file_name": "offer.pdf", "sha256": hashlib.sha256(BID).hexdigest()},
            headers=alice,
        )
        clock.set(tender.deadline + timedelta(hours=2))
        refused = client.put(
            f"/api/tenders/{tender.id}/bids/offer.pdf", content=b"other bytes", headers=alice
        )
        accepted = client.put(
            f"/api/tenders/{tender.id}/bids/offer.pdf", content=BID, headers=alice
        )
        summary = client.get(f"/api/tenders/{tender.id}/bids", headers=alice)

    assert registered.status_code == 201, registered.text
    assert registered.json()["signed_receipt"]
    assert refused.status_code == 409
    assert "not the file whose fingerprint you registered" in refused.json()["what"]
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["fulfils_fingerprint"]["receipt_id"] == registered.json()["receipt_id"]
    assert [f["file_name"] for f in summary.json()["own_fingerprints"]] == ["offer.pdf"]
    assert audit_kinds(platform, tender.id).count("bid.refused") == 1


def test_a_fingerprint_in_by_the_deadline_counts_however_long_it_then_waited(
    platform: Platform, people: People, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Received means received for fingerprints too: on deadline day hundreds arrive in the
    last second and wait for a thread, the database and the tender's lock. The time the
    request's last byte arrived decides, not the time it was served."""
    tender = fingerprint_first_tender(platform, people.officer, clock)
    arrived = tender.deadline - timedelta(milliseconds=100)
    served = tender.deadline + timedelta(seconds=10)
    readings = iter([arrived])  # the first reading is the arrival stamp; the rest come later
    with TestClient(create_app(platform)) as client:
        monkeypatch.setattr(clock, "now", lambda: next(readings, served))
        registered = client.post(
            f"/api/tenders/{tender.id}/fingerprints",
            json={"file_name": "offer.pdf", "sha256": hashlib.sha256(BID).hexdigest()},
            headers={"Authorization": f"Bearer {people.tokens['Alice']}"},
        )
        late = client.post(
            f"/api/tenders/{tender.id}/fingerprints",
            json={"file_name": "other.pdf", "sha256": hashlib.sha256(BID).hexdigest()},
            headers={"Authorization": f"Bearer {people.tokens['Alice']}"},
        )

    assert registered.status_code == 201, registered.text
    assert registered.json()["received_at"] == format_time(arrived)
    assert late.status_code == 409  # arrived after the deadline: refused, and it says when
    assert for_people(served) in late.json()["what"]  # the platform's time, as people read it


def test_receipts_left_unsigned_are_signed_with_the_next_checkpoint(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    """A fingerprint and a withdrawal recorded, then the signing failed (a crash, the
    time-stamping authority down): the next checkpoint signs their receipts, as it does a
    file's, and each verifies offline."""
    tender = fingerprint_first_tender(platform, people.officer, clock)
    with unit_of_work(platform) as services:
        fingerprint = services.bids.register_fingerprint(
            supplier=people.alice,
            tender_id=tender.id,
            file_name="offer.pdf",
            sha256=hashlib.sha256(BID).hexdigest(),
            received_at=clock.now(),
        )
        withdrawal = services.bids.withdraw(
            supplier=people.alice, tender_id=tender.id, file_name=None, at=clock.now()
        )
    assert fingerprint.signed_receipt is None
    assert withdrawal.signed_receipt is None

    completed = platform.intake.complete_receipts(platform.checkpointer.issue("test"))

    with platform.sessions.begin() as session:
        signed = [
            session.get(kind, receipt_id).signed_receipt  # type: ignore[union-attr]
            for kind, receipt_id in (
                (BidFingerprint, fingerprint.receipt_id),
                (BidWithdrawal, withdrawal.receipt_id),
            )
        ]
    key = platform.checkpointer.signer.verifier_key()
    assert completed == 2
    for receipt in signed:
        assert receipt is not None
        trust = platform.checkpointer.timestamp_trust
        assert [c for c in verify_receipt(receipt, key, tsa_trust=trust) if not c.ok] == []


def test_the_grace_period_ends(platform: Platform, people: People, clock: ManualClock) -> None:
    tender = fingerprint_first_tender(platform, people.officer, clock)
    register(platform, people.alice, tender, "offer.pdf", BID)
    clock.set(tender.deadline + GRACE + timedelta(seconds=1))
    with pytest.raises(TenderClosed):
        upload(platform, people.alice, tender.id, "offer.pdf", [BID])


def test_the_last_fingerprint_by_the_deadline_counts(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = fingerprint_first_tender(platform, people.officer, clock)
    register(platform, people.alice, tender, "offer.pdf", b"first draft")
    register(platform, people.alice, tender, "offer.pdf", BID)
    clock.set(tender.deadline + timedelta(minutes=5))

    with pytest.raises(TenderClosed):
        upload(platform, people.alice, tender.id, "offer.pdf", [b"first draft"])
    assert upload(platform, people.alice, tender.id, "offer.pdf", [BID]).sha256 == (
        hashlib.sha256(BID).hexdigest()
    )


def test_fingerprints_are_refused_after_the_deadline_and_where_not_allowed(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = fingerprint_first_tender(platform, people.officer, clock)
    with pytest.raises(Invalid) as not_a_hash:
        anyio.run(
            lambda: platform.intake.register_fingerprint(
                supplier=people.alice, tender_id=tender.id, file_name="a.pdf", sha256="abc"
            )
        )
    assert "sha256sum" in not_a_hash.value.todo

    with unit_of_work(platform) as services:
        plain = services.tenders.create(
            actor=people.officer,
            data=TenderCreate(
                reference="T-2",
                title="Paint",
                deadline=clock.now() + timedelta(hours=1),
                opening=OpeningMethod.AUTOMATIC,
            ),
        )
        services.tenders.publish(actor=people.officer, tender_id=plain.id)
    with pytest.raises(Invalid) as direct:
        register(platform, people.alice, plain, "offer.pdf", BID)
    assert "Upload the file itself" in direct.value.todo

    clock.set(tender.deadline + timedelta(seconds=1))
    with pytest.raises(TenderClosed):
        register(platform, people.alice, tender, "offer.pdf", BID)


@pytest.mark.parametrize("seconds", [0, 60, 8 * 24 * 3600])
def test_a_grace_period_out_of_range_is_refused(
    platform: Platform, people: People, clock: ManualClock, seconds: int
) -> None:
    with unit_of_work(platform) as services, pytest.raises(Invalid) as refused:
        services.tenders.create(
            actor=people.officer,
            data=TenderCreate(
                reference="FP-2",
                title="Bridge",
                deadline=clock.now() + timedelta(hours=1),
                file_grace_seconds=seconds,
            ),
        )
    assert "grace period" in refused.value.what


def test_the_opening_waits_for_the_grace_opens_fingerprinted_files_and_records_the_rest(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI, tmp_path: Path
) -> None:
    tender = fingerprint_first_tender(platform, people.officer, clock)
    register_signer(platform, people.alice, test_pki, "supplier-a")
    alice_bid = signed_pdf(test_pki, "supplier-a", "Alpha's price")
    register(platform, people.alice, tender, "bid.pdf", alice_bid)
    register(platform, people.bob, tender, "bid.pdf", b"a file Bob never sends")

    clock.set(tender.deadline + timedelta(seconds=1))
    assert platform.opener.open_tender(tender.id).not_due_for is not None  # files may follow
    clock.set(tender.deadline + timedelta(hours=5))
    upload(platform, people.alice, tender.id, "bid.pdf", [alice_bid])
    clock.set(tender.deadline + GRACE + timedelta(seconds=1))
    outcome = platform.opener.open_tender(tender.id)

    assert outcome.status == TenderStatus.OPENED
    with unit_of_work(platform) as services:
        record = services.opening.stored_record(reader=people.officer, tender_id=tender.id)
    assert [(b["supplier_organisation"], b["indication"]) for b in record["bids"]] == [
        ("Alpha Ltd", "TOTAL_PASSED")
    ]
    assert [f["supplier_organisation"] for f in record["fingerprints_without_file"]] == ["Beta Ltd"]
    assert "files_until" in record["tender"]

    bundle = tmp_path / "bundle.zip"
    platform.exporter.export(tender_reference=tender.reference, out=bundle)
    checks = verify_bundle(bundle, platform.checkpointer.signer.verifier_key())
    assert {c.name: c.detail for c in checks if not c.ok} == {}
    on_time = [c.detail for c in checks if c.name.endswith("on time")]
    assert any("matching fingerprint" in detail for detail in on_time)
