"""Tenders created now seal their bids to a hybrid post-quantum key (sealed stream format 2);
tenders created before, with an X25519 key (format 1), still take bids and open."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import select

from tender.bids.models import BidDocument
from tender.clock import ManualClock
from tender.opening.models import OpeningResult
from tender.platform import Platform
from tender.signing.testing import TestPKI, signed_pdf
from tender.storage.sealing import TenderKey
from tender.tenders.models import Tender, TenderStatus
from tests.conftest import People
from tests.helpers import published_tender, register_signer, unit_of_work, upload


def legacy_tender_key(cls: type[TenderKey]) -> TenderKey:
    """What ``TenderKey.generate`` made before hybrid keys: an X25519 key pair."""
    return cls(X25519PrivateKey.generate())


def stored_format(platform: Platform, document_id: object) -> bytes:
    """The magic and format version that the sealed object of a document starts with."""
    with platform.sessions.begin() as session:
        document = session.get(BidDocument, document_id)
        assert document is not None
        key, version = document.object_key, document.object_version
    stored = platform.store.iter_version(platform.settings.bucket, key, version)
    return next(iter(stored))[:9]


@pytest.mark.parametrize(
    ("created", "public_key_size", "magic_and_version"),
    [("now", 1216, b"TNDRSEAL\x02"), ("before", 32, b"TNDRSEAL\x01")],
)
def test_a_tenders_bids_are_sealed_to_its_kind_of_key_and_open(
    platform: Platform,
    people: People,
    clock: ManualClock,
    test_pki: TestPKI,
    monkeypatch: pytest.MonkeyPatch,
    created: str,
    public_key_size: int,
    magic_and_version: bytes,
) -> None:
    if created == "before":
        monkeypatch.setattr(TenderKey, "generate", classmethod(legacy_tender_key))
    tender = published_tender(platform, people.officer, clock, hours=1)
    monkeypatch.undo()  # bids and the opening run with the code of today
    register_signer(platform, people.alice, test_pki, "supplier-a")
    receipt = upload(
        platform, people.alice, tender.id, "bid.pdf", [signed_pdf(test_pki, "supplier-a", "A")]
    )
    clock.set(tender.deadline + timedelta(seconds=2))

    outcome = platform.opener.open_tender(tender.id)

    assert len(tender.public_key) == public_key_size
    assert stored_format(platform, receipt.receipt_id) == magic_and_version
    assert outcome.status == TenderStatus.OPENED
    with unit_of_work(platform) as services:
        result = services.session.scalars(
            select(OpeningResult).where(OpeningResult.document_id == receipt.receipt_id)
        ).one()
        stored = services.session.get(Tender, tender.id)
        assert stored is not None
        assert stored.public_key == tender.public_key  # the whole key, read back
    assert result.hash_matches
    assert result.indication == "TOTAL_PASSED"
