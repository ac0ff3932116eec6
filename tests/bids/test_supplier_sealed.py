"""Supplier-sealed tenders on real storage and both databases: the platform stores the sealed
bytes as sent and never the plain file; the opening checks both hashes and records a supplier's
wrong declaration; what is not a sealed bid is refused."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tender.audit.models import AuditEvent
from tender.bids.models import BidDocument
from tender.bids.schemas import PLAINTEXT_SHA256_HEADER
from tender.clock import ManualClock
from tender.errors import Invalid
from tender.opening.models import OpeningResult
from tender.platform import Platform
from tender.runtime import serving
from tender.signing.testing import TestPKI, signed_pdf
from tender.storage.sealing import seal
from tender.tenders.models import Tender
from tender.verifier.bundle import verify_bundle
from tests.conftest import People
from tests.helpers import audit_kinds, published_tender, register_signer, unit_of_work, upload


@pytest.fixture
def tender(platform: Platform, people: People, clock: ManualClock) -> Tender:
    return published_tender(platform, people.officer, clock, hours=1, supplier_sealed=True)


def sealed(plaintext: bytes, tender: Tender) -> bytes:
    """``plaintext`` sealed to the tender's public key, as ``tender submit --seal`` does."""
    return b"".join(seal([plaintext], tender.public_key, chunk_size=4096))


def stored_bytes(platform: Platform, receipt_id: uuid.UUID) -> bytes:
    with unit_of_work(platform) as services:
        document = services.session.get(BidDocument, receipt_id)
        assert document is not None
        key, version = document.object_key, document.object_version
    return b"".join(platform.store.iter_version(platform.intake.bucket, key, version))


def test_the_platform_stores_exactly_the_sealed_bytes_sent_and_never_the_plain_file(
    platform: Platform, people: People, tender: Tender, test_pki: TestPKI
) -> None:
    plaintext = signed_pdf(test_pki, "supplier-a", "Our price: HK$ 990,000 " * 500)
    sent = sealed(plaintext, tender)

    receipt = upload(
        platform,
        people.alice,
        tender.id,
        "offer.pdf",
        [sent[:5000], sent[5000:]],
        declared_sha256=hashlib.sha256(plaintext).hexdigest(),
    )

    stored = stored_bytes(platform, receipt.receipt_id)
    assert stored == sent  # not sealed a second time
    assert b"HK$ 990,000" not in stored
    assert receipt.sha256 == hashlib.sha256(plaintext).hexdigest()
    assert receipt.sealed_sha256 == hashlib.sha256(sent).hexdigest()
    assert receipt.size == len(sent)
    assert receipt.committed_fields is not None
    assert receipt.committed_fields["sealed_sha256"] == receipt.sealed_sha256
    precheck = receipt.signature_precheck
    assert precheck is not None
    assert precheck.indication is None
    assert "cannot read it" in precheck.message_en


def test_a_bid_whose_declared_hash_is_wrong_is_opened_and_the_mismatch_recorded(
    platform: Platform,
    people: People,
    clock: ManualClock,
    tender: Tender,
    test_pki: TestPKI,
    tmp_path: Path,
) -> None:
    register_signer(platform, people.alice, test_pki, "supplier-a")
    register_signer(platform, people.bob, test_pki, "supplier-b")
    honest = signed_pdf(test_pki, "supplier-a", "A")
    good = upload(
        platform,
        people.alice,
        tender.id,
        "bid.pdf",
        [sealed(honest, tender)],
        declared_sha256=hashlib.sha256(honest).hexdigest(),
    )
    inside = signed_pdf(test_pki, "supplier-b", "B, the version sealed")
    declared = hashlib.sha256(b"B, the version declared").hexdigest()
    wrong = upload(
        platform,
        people.bob,
        tender.id,
        "bid.pdf",
        [sealed(inside, tender)],
        declared_sha256=declared,
    )
    clock.set(tender.deadline + timedelta(seconds=1))

    platform.opener.open_tender(tender.id)

    with unit_of_work(platform) as services:
        results = {r.document_id: r for r in services.session.scalars(select(OpeningResult))}
        record = services.opening.stored_record(reader=people.officer, tender_id=tender.id)
        opened = [
            event.payload
            for event in services.session.scalars(
                select(AuditEvent).where(AuditEvent.kind == "bid.opened")
            )
        ]
    assert results[good.receipt_id].indication == "TOTAL_PASSED"
    assert results[good.receipt_id].hash_matches
    mismatch = results[wrong.receipt_id]
    assert not mismatch.hash_matches
    assert mismatch.indication == "TOTAL_FAILED"
    assert mismatch.computed_sha256 == hashlib.sha256(inside).hexdigest()
    assert "not the one they declared" in mismatch.reason
    in_record = next(bid for bid in record["bids"] if bid["receipt_id"] == str(wrong.receipt_id))
    assert in_record["receipt_sha256"] == declared
    assert in_record["hash_matches"] is False
    assert in_record["sealed_sha256"] == wrong.sealed_sha256
    assert "not the one they declared" in in_record["reason"]
    audited = next(p for p in opened if p["receipt_id"] == str(wrong.receipt_id))
    assert audited["declared_sha256_differs"] is True
    # The auditor's bundle tells the supplier's mismatch from a platform that lost a bid.
    bundle = tmp_path / "bundle.zip"
    platform.exporter.export(tender_reference=tender.reference, out=bundle)
    checks = {c.name: c for c in verify_bundle(bundle, platform.checkpointer.signer.verifier_key())}
    intact = checks[f"bid {wrong.receipt_id} opened intact"]
    assert intact.ok
    assert "its supplier declared" in intact.detail
    assert all(c.ok for c in checks.values()), [c for c in checks.values() if not c.ok]


def test_sealed_bytes_swapped_for_another_sealed_file_fail_the_opening(
    platform: Platform,
    people: People,
    clock: ManualClock,
    tender: Tender,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Storage that gives back another file sealed to the same key: it unseals, and even holds
    the declared content, but its sealed SHA-256 is not the one received."""
    plaintext = b"the offer received"
    receipt = upload(
        platform,
        people.alice,
        tender.id,
        "bid.txt",
        [sealed(plaintext, tender)],
        declared_sha256=hashlib.sha256(plaintext).hexdigest(),
    )
    other = sealed(plaintext, tender)  # same content, fresh data key: other sealed bytes
    monkeypatch.setattr(platform.opener.store, "iter_version", lambda *_: iter([other]))
    clock.set(tender.deadline + timedelta(seconds=1))

    platform.opener.open_tender(tender.id)

    with unit_of_work(platform) as services:
        result = services.session.get(OpeningResult, receipt.receipt_id)
    assert result is not None
    assert not result.hash_matches
    assert "not the one received and receipted" in result.reason


def test_a_plain_upload_to_a_supplier_sealed_tender_is_refused_saying_how_to_seal(
    platform: Platform, people: People, tender: Tender
) -> None:
    with pytest.raises(Invalid) as refused:
        upload(platform, people.alice, tender.id, "offer.pdf", [b"%PDF-1.7 plain offer"])

    assert "not sealed" in refused.value.what
    assert "tender submit --seal" in refused.value.todo


@pytest.mark.parametrize(
    "body",
    [b"%PDF-1.7 a plain file with a made-up hash", b"", b"TNDRSEAL"],
    ids=["plain", "empty", "magic-only"],
)
def test_what_is_not_a_sealed_stream_is_refused_and_nothing_stored(
    platform: Platform, people: People, tender: Tender, body: bytes
) -> None:
    refused = refusal(platform, people, tender, body, hashlib.sha256(body).hexdigest())

    assert refused.what == "This upload is not a sealed bid."
    assert "tender submit --seal" in refused.todo
    with unit_of_work(platform) as services:
        assert services.session.scalars(select(BidDocument)).all() == []


@pytest.mark.parametrize("declared", ["not-a-hash", "AB" * 32, "0" * 63])
def test_a_malformed_declared_hash_is_refused(
    platform: Platform, people: People, tender: Tender, declared: str
) -> None:
    refused = refusal(platform, people, tender, sealed(b"offer", tender), declared)

    assert "is not one" in refused.what


def test_a_sealed_upload_to_a_tender_that_seals_itself_is_refused(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    ordinary = published_tender(platform, people.officer, clock, ref="T-2")
    declared = hashlib.sha256(b"offer").hexdigest()

    refused = refusal(platform, people, ordinary, sealed(b"offer", ordinary), declared)

    assert "without --seal" in refused.todo


def refusal(
    platform: Platform, people: People, tender: Tender, body: bytes, declared: str
) -> Invalid:
    """How Alice's upload of ``body``, declared to be of a file with SHA-256 ``declared``, is
    refused."""
    with pytest.raises(Invalid) as refused:
        upload(platform, people.alice, tender.id, "offer.pdf", [body], declared_sha256=declared)
    return refused.value


def test_over_http_a_plain_upload_is_refused_and_audited_and_the_key_is_public(
    platform: Platform, people: People, tender: Tender
) -> None:
    with serving(platform) as url, httpx.Client(base_url=url) as client:
        shown = client.get(f"/api/tenders/{tender.id}/public-key").json()
        refused = client.put(
            f"/api/tenders/{tender.id}/bids/offer.pdf",
            content=b"%PDF-1.7 plain",
            headers={"Authorization": f"Bearer {people.tokens['Alice']}"},
        )
        described = client.get(
            f"/api/tenders/{tender.id}",
            headers={"Authorization": f"Bearer {people.tokens['Alice']}"},
        ).json()
        empty_header = client.put(
            f"/api/tenders/{tender.id}/bids/offer.pdf",
            content=sealed(b"offer", tender),
            headers={
                "Authorization": f"Bearer {people.tokens['Alice']}",
                PLAINTEXT_SHA256_HEADER: "",
            },
        )

    assert shown["fingerprint"] == hashlib.sha256(tender.public_key).hexdigest()
    assert shown["supplier_sealed"] is True
    assert described["supplier_sealed"] is True
    assert refused.status_code == 422
    assert "tender submit --seal" in refused.json()["what_to_do"]
    assert empty_header.status_code == 422
    assert audit_kinds(platform, tender.id).count("bid.refused") == 2


def test_a_sealed_hash_rewritten_in_the_table_halts_the_opening(
    platform: Platform, people: People, clock: ManualClock, tender: Tender
) -> None:
    """The log commits to the sealed SHA-256 too: the table cannot be made to expect other
    sealed bytes."""
    receipt = upload(
        platform,
        people.alice,
        tender.id,
        "bid.txt",
        [sealed(b"offer", tender)],
        declared_sha256=hashlib.sha256(b"offer").hexdigest(),
    )
    with unit_of_work(platform) as services:
        document = services.session.get(BidDocument, receipt.receipt_id)
        assert document is not None
        document.sealed_sha256 = "0" * 64
    clock.set(tender.deadline + timedelta(seconds=1))

    assert platform.opener.open_tender(tender.id).halted
    assert "opening.halted" in audit_kinds(platform, tender.id)
