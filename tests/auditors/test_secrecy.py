"""Nobody learns who bid before the opening: not officers or auditors reading the trail or its
export, not suppliers counting, not the server's logs, not the checkpoints' timing."""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from tender.app import create_app
from tender.audit.models import CheckpointRecord
from tender.bids.schemas import Receipt
from tender.clock import ManualClock
from tender.platform import Platform
from tender.signing.testing import TestPKI, signed_pdf
from tender.tenders.models import Tender
from tender.verifier.bundle import verify_bundle
from tests.conftest import People
from tests.helpers import published_tender, register_signer, upload


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient[Litestar]]:
    with TestClient(create_app(platform)) as client:
        yield client


def _as(people: People, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {people.tokens[name]}"}


def _bids(
    platform: Platform, people: People, clock: ManualClock, pki: TestPKI
) -> tuple[Tender, Receipt, Receipt]:
    tender = published_tender(platform, people.officer, clock, hours=1)
    register_signer(platform, people.alice, pki, "supplier-a")
    register_signer(platform, people.bob, pki, "supplier-b")
    alice = upload(
        platform, people.alice, tender.id, "alpha-offer.pdf", [signed_pdf(pki, "supplier-a", "A")]
    )
    bob = upload(
        platform, people.bob, tender.id, "beta-offer.pdf", [signed_pdf(pki, "supplier-b", "B")]
    )
    return tender, alice, bob


def _tender_lines(bundle: Path, tender: Tender) -> str:
    """The exported events of this tender, as text."""
    with zipfile.ZipFile(bundle) as opened:
        lines = opened.read("events.jsonl").decode().splitlines()
    return "\n".join(line for line in lines if str(tender.id) in line)


def test_before_the_opening_the_trail_and_its_export_name_no_bidder(
    platform: Platform,
    people: People,
    clock: ManualClock,
    test_pki: TestPKI,
    client: TestClient[Litestar],
    tmp_path: Path,
) -> None:
    tender, alice, bob = _bids(platform, people, clock, test_pki)
    # Bob also tries to read the opening record: refused, and the refusal names him not.
    assert (
        client.get(f"/api/tenders/{tender.id}/opening", headers=_as(people, "Bob")).status_code
        == 403
    )
    secrets = [
        "Alpha Ltd",
        "Beta Ltd",
        str(people.alice.id),
        str(people.bob.id),
        "alpha-offer.pdf",
        "beta-offer.pdf",
        alice.sha256,
        bob.sha256,
        alice.sealed_object_version,
    ]

    seen_by_officer = client.get(
        "/api/audit/events", params={"tender_id": str(tender.id)}, headers=_as(people, "Olivia")
    ).text
    bundle = tmp_path / "bundle.zip"
    platform.exporter.export(tender_reference="T-1", out=bundle)
    exported = _tender_lines(bundle, tender)

    for secret in secrets:
        assert secret not in seen_by_officer, secret
        assert secret not in exported, secret
    assert str(alice.receipt_id) in exported  # the receipt ids and times are public
    assert alice.file_name == "alpha-offer.pdf"  # the supplier's own receipt keeps every field

    clock.set(tender.deadline + timedelta(seconds=1))
    platform.opener.open_tender(tender.id)
    platform.exporter.export(tender_reference="T-1", out=bundle)
    revealed = _tender_lines(bundle, tender)
    checks = {c.name: c for c in verify_bundle(bundle, platform.checkpointer.signer.verifier_key())}

    for secret in secrets:
        assert secret in revealed, secret  # the opening published them
    assert checks["commitments T-1"].ok, checks["commitments T-1"].detail
    assert all(c.ok for c in checks.values()), [c for c in checks.values() if not c.ok]


def test_a_supplier_is_not_told_how_many_others_bid(
    platform: Platform,
    people: People,
    clock: ManualClock,
    test_pki: TestPKI,
    client: TestClient[Litestar],
) -> None:
    tender, _, _ = _bids(platform, people, clock, test_pki)
    path = f"/api/tenders/{tender.id}/bids"

    as_bob = client.get(path, headers=_as(people, "Bob")).json()
    as_officer = client.get(path, headers=_as(people, "Olivia")).json()

    assert as_bob["documents_received"] is None
    assert [r["file_name"] for r in as_bob["own_receipts"]] == ["beta-offer.pdf"]
    assert as_officer["documents_received"] == 2


def test_checkpoints_come_on_a_schedule_not_one_per_bid(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI
) -> None:
    platform.schedule.start()
    try:
        tender, alice, bob = _bids(platform, people, clock, test_pki)
    finally:
        platform.schedule.stop()

    with platform.sessions.begin() as session:
        reasons = set(session.scalars(select(CheckpointRecord.reason)))
    assert reasons == {"schedule"}  # none issued for a receipt on its own
    for receipt in (alice, bob):
        assert receipt.signed_receipt is not None  # each answered with the next checkpoint
        assert receipt.checkpoint is not None
        assert receipt.checkpoint["size"] >= receipt.audit_seq
    assert tender.status == "published"


def test_the_pre_check_logs_no_signer(
    platform: Platform,
    people: People,
    clock: ManualClock,
    test_pki: TestPKI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=1)
    caplog.set_level(logging.DEBUG)

    receipt = upload(
        platform,
        people.bob,
        tender.id,
        "offer.pdf",
        [signed_pdf(test_pki, "untrusted-supplier", "B")],
    )

    assert receipt.signature_precheck is not None  # the pre-check ran, and told Bob
    assert "Untrusted Supplier" not in caplog.text
    assert "offer.pdf" not in caplog.text


def test_the_access_log_names_no_address_tender_or_file(
    platform: Platform,
    people: People,
    clock: ManualClock,
    test_pki: TestPKI,
    client: TestClient[Litestar],
    caplog: pytest.LogCaptureFixture,
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=1)
    caplog.set_level(logging.INFO, logger="tender.requests")

    answer = client.put(
        f"/api/tenders/{tender.id}/bids/alpha-offer.pdf",
        content=signed_pdf(test_pki, "supplier-a", "A"),
        headers=_as(people, "Alice"),
    )

    assert answer.status_code == 201
    logged = " ".join(r.getMessage() for r in caplog.records if r.name == "tender.requests")
    assert "PUT /api/tenders/{tender_id}/bids/{file_name} 201" in logged
    for secret in ("alpha-offer.pdf", str(tender.id), "testclient"):
        assert secret not in logged
