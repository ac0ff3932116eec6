"""``tender submit --seal`` against a served platform: the signature is pre-checked on the
supplier's computer, the file sealed there, and the opening at the deadline unseals and verifies
it; the platform never held the plain file."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tender.bids.models import BidDocument
from tender.clock import ManualClock
from tender.opening.models import OpeningResult
from tender.platform import Platform
from tender.signing.testing import TestPKI, make_pdf, signed_pdf
from tender.tenders.models import Tender
from tests.cli.test_submit import receipt_verified, said, signed_detached, tender_cli
from tests.conftest import People
from tests.helpers import published_tender, register_signer, unit_of_work

pytestmark = pytest.mark.integration


@pytest.fixture
def tender(platform: Platform, people: People, clock: ManualClock) -> Tender:
    return published_tender(
        platform, people.officer, clock, ref="HK-2026-099", supplier_sealed=True
    )


def test_a_bid_sealed_on_the_suppliers_computer_is_opened_at_the_deadline_and_verified(
    platform: Platform,
    people: People,
    clock: ManualClock,
    test_pki: TestPKI,
    tender: Tender,
    tmp_path: Path,
    url: str,
) -> None:
    register_signer(platform, people.alice, test_pki, "supplier-a")
    bid = tmp_path / "offer.pdf"
    bid.write_bytes(signed_pdf(test_pki, "supplier-a", "Sealed offer: HK$ 777,000"))
    digest = hashlib.sha256(bid.read_bytes()).hexdigest()

    done = tender_cli(
        url, people.tokens["Alice"], "submit", str(bid), "--tender", "HK-2026-099", "--seal",
        "--trust", str(test_pki.trust_dir),
    )  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    assert "Verdict (PAdES): TOTAL_PASSED" in done.stdout  # pre-checked here, not there
    assert said(done.stdout, "SHA-256", -1) == digest  # the receipt comes after the check
    assert said(done.stdout, "Sealed by you").startswith("yes")
    (saved,) = tmp_path.glob("offer.pdf.receipt-*.json")
    receipt = json.loads(saved.read_text())
    with unit_of_work(platform) as services:
        document = services.session.scalars(select(BidDocument)).one()
        key, version = document.object_key, document.object_version
    stored = b"".join(platform.store.iter_version(platform.intake.bucket, key, version))
    # What the platform keeps is what the command sealed and sent: the command checked the
    # receipt's sealed SHA-256 against the bytes it sent, and the stored bytes have it.
    assert hashlib.sha256(stored).hexdigest() == receipt["sealed_sha256"]
    assert b"HK$ 777,000" not in stored
    assert receipt["sha256"] == digest

    checked = receipt_verified(platform, url, test_pki, saved, bid)  # the plain file
    assert checked.returncode == 0, checked.stdout
    assert "The receipt holds." in checked.stdout
    sealed_copy = tmp_path / "offer.pdf.sealed"
    sealed_copy.write_bytes(stored)
    checked = receipt_verified(platform, url, test_pki, saved, sealed_copy)
    assert checked.returncode == 0, checked.stdout
    assert "your sealed file is the one received" in checked.stdout

    clock.set(tender.deadline + timedelta(seconds=1))
    platform.opener.open_tender(tender.id)

    with unit_of_work(platform) as services:
        result = services.session.get(OpeningResult, document.id)
    assert result is not None
    assert result.hash_matches
    assert result.computed_sha256 == digest
    assert result.indication == "TOTAL_PASSED"
    assert (result.signer_subject or "").startswith("CN=Supplier A,")


def test_a_file_and_its_detached_signature_are_both_sealed_and_opened_as_a_pair(
    platform: Platform,
    people: People,
    clock: ManualClock,
    test_pki: TestPKI,
    tender: Tender,
    tmp_path: Path,
    url: str,
) -> None:
    register_signer(platform, people.alice, test_pki, "supplier-a")
    bid, signature = signed_detached(url, test_pki, tmp_path, "prices.xlsx.p7s")

    done = tender_cli(
        url, people.tokens["Alice"], "submit", str(bid), "--p7s", str(signature),
        "--tender", "HK-2026-099", "--seal", "--trust", str(test_pki.trust_dir),
    )  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    clock.set(tender.deadline + timedelta(seconds=1))
    platform.opener.open_tender(tender.id)
    with unit_of_work(platform) as services:
        results = list(services.session.scalars(select(OpeningResult)))
    assert [r.indication for r in results] == ["TOTAL_PASSED", "TOTAL_PASSED"]


def test_a_file_failing_the_pre_check_here_is_not_sent_unless_the_supplier_insists(
    platform: Platform,
    people: People,
    test_pki: TestPKI,
    tender: Tender,
    tmp_path: Path,
    url: str,
) -> None:
    bid = tmp_path / "unsigned.pdf"
    bid.write_bytes(make_pdf("An offer nobody signed"))

    refused = tender_cli(
        url, people.tokens["Alice"], "submit", str(bid), "--tender", "HK-2026-099", "--seal",
        "--trust", str(test_pki.trust_dir),
    )  # fmt: skip
    with unit_of_work(platform) as services:
        after_refusal = services.session.scalars(select(BidDocument)).all()
    insisted = tender_cli(
        url, people.tokens["Alice"], "submit", str(bid), "--tender", "HK-2026-099", "--seal",
        "--trust", str(test_pki.trust_dir), "--send-anyway",
    )  # fmt: skip

    assert refused.returncode == 1
    assert "nothing was sealed or sent" in refused.stderr
    assert after_refusal == []
    assert insisted.returncode == 0, insisted.stdout + insisted.stderr
    assert "Sending it all the same" in insisted.stdout


def test_a_plain_upload_to_a_supplier_sealed_tender_is_refused_saying_how_to_seal(
    platform: Platform, people: People, test_pki: TestPKI, tender: Tender, tmp_path: Path, url: str
) -> None:
    bid = tmp_path / "offer.pdf"
    bid.write_bytes(signed_pdf(test_pki, "supplier-a", "plain"))

    done = tender_cli(url, people.tokens["Alice"], "submit", str(bid), "--tender", "HK-2026-099")

    assert done.returncode == 1
    assert "not sealed" in done.stderr
    assert "tender submit --seal" in done.stderr
    with unit_of_work(platform) as services:
        assert services.session.scalars(select(BidDocument)).all() == []
