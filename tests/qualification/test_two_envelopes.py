"""Two-envelope tenders on real storage and both databases: the timed opening opens the
technical envelopes only; the officer qualifies each bid; only the qualified bids' financial
envelopes are then decrypted, through the one audited unlock of the financial key; the
record has a part per envelope; and the verifier catches a log where an unqualified bid's
financial envelope was opened."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from tender.accounts.models import User
from tender.accounts.service import AccountService
from tender.app import create_app
from tender.audit import service as audit
from tender.awards.schemas import AwardCreate
from tender.awards.service import AwardService
from tender.bids.schemas import Receipt
from tender.clock import ManualClock
from tender.committee.models import FINANCIAL_KEY, CommitteeShare
from tender.committee.service import member_context, unlock_tender_key
from tender.errors import Conflict, Invalid
from tender.notifications.messages import MessageKind
from tender.notifications.models import OutboxMessage
from tender.opening.models import OpeningRecord
from tender.opening.run import AWAITING_COMMITTEE
from tender.platform import Platform
from tender.qualification.models import FinancialOpening
from tender.qualification.service import QualificationService
from tender.signing.testing import TestPKI, signed_pdf
from tender.storage.committee import decrypt_share
from tender.tenders.models import OpeningMethod, Tender, TenderStatus
from tender.tenders.schemas import TenderCreate
from tender.tenders.service import get_tender
from tender.verifier.bundle import check_complete, verify_bundle
from tender.verifier.checks import Check, collector
from tender.verifier.envelopes import check_envelopes
from tender.verifier.kinds import EventKind
from tender.verifier.ledger import TenderLedger
from tests.conftest import People
from tests.helpers import (
    Member,
    register_signer,
    release_share,
    three_members,
    two_envelope_tender,
    unit_of_work,
    upload,
)

REF = "TE-1"


@dataclass(frozen=True)
class Bid:
    technical: Receipt
    financial: Receipt

    @property
    def keys(self) -> tuple[str, str]:
        """The storage keys of its technical and financial envelopes' sealed objects."""
        return _object_key(self.technical), _object_key(self.financial)


def _object_key(receipt: Receipt) -> str:
    assert receipt.committed_fields is not None
    return str(receipt.committed_fields["object_key"])


@pytest.fixture
def reads(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The key of every object the platform reads from storage from now on (the reads
    themselves go on, to the real storage)."""
    keys: list[str] = []
    real = platform.store.iter_version

    def recorded(bucket: str, key: str, version_id: str, **kwargs: Any) -> Iterator[bytes]:
        keys.append(key)
        return real(bucket, key, version_id, **kwargs)

    monkeypatch.setattr(platform.store, "iter_version", recorded)
    return keys


def _bid(platform: Platform, pki: TestPKI, supplier: User, signer: str, tender: Tender) -> Bid:
    register_signer(platform, supplier, pki, signer)
    return Bid(
        technical=upload(
            platform, supplier, tender.id, "method.pdf", [signed_pdf(pki, signer, "Method")]
        ),
        financial=upload(
            platform,
            supplier,
            tender.id,
            "prices.pdf",
            [signed_pdf(pki, signer, "Prices")],
            envelope="financial",
        ),
    )


@contextmanager
def _qualification(platform: Platform) -> Iterator[QualificationService]:
    with platform.sessions.begin() as session:
        yield QualificationService(session=session, clock=platform.clock, jobs=platform.jobs)


def _verdict(
    platform: Platform, officer: User, tender: Tender, supplier: User, qualified: bool, why: str
) -> None:
    with _qualification(platform) as service:
        service.record(
            actor=officer,
            tender_id=tender.id,
            supplier_id=supplier.id,
            qualified=qualified,
            reason=why,
        )


def _request_financial_opening(platform: Platform, officer: User, tender: Tender) -> None:
    with _qualification(platform) as service:
        service.request_financial_opening(actor=officer, tender_id=tender.id)


def _events(platform: Platform, tender: Tender, kind: EventKind | None = None) -> list[Any]:
    with platform.sessions.begin() as session:
        events = audit.tender_events(session, tender.id)
    return [dict(e) for e in events if kind is None or e["kind"] == kind]


def _opened_receipts(platform: Platform, tender: Tender) -> set[str]:
    return {e["payload"]["receipt_id"] for e in _events(platform, tender, EventKind.BID_OPENED)}


def _records(platform: Platform, tender: Tender) -> tuple[dict[str, Any], dict[str, Any]]:
    """The technical and the financial part of the opening record, as stored."""
    with platform.sessions.begin() as session:
        technical = session.get(OpeningRecord, tender.id)
        financial = session.get(FinancialOpening, tender.id)
        assert technical is not None
        assert financial is not None
        assert financial.object_key is not None
        assert financial.object_version is not None
        pointers = [
            (technical.object_key, technical.object_version),
            (financial.object_key, financial.object_version),
        ]
    bucket = platform.settings.bucket
    first, second = (
        json.loads(b"".join(platform.store.iter_version(bucket, key, version)))
        for key, version in pointers
    )
    return first, second


def _financially_opened(
    platform: Platform, people: People, clock: ManualClock, pki: TestPKI, reads: list[str]
) -> tuple[Tender, Bid, Bid]:
    """A two-envelope tender opened automatically: Alice's bid qualified, Bob's not (after a
    correction), and the financial opening done."""
    tender = two_envelope_tender(platform, people.officer, clock, ref=REF)
    alice = _bid(platform, pki, people.alice, "supplier-a", tender)
    bob = _bid(platform, pki, people.bob, "supplier-b", tender)
    clock.set(tender.deadline + timedelta(seconds=1))
    platform.opener.open_tender(tender.id)
    _verdict(platform, people.officer, tender, people.alice, True, "Meets every criterion.")
    _verdict(platform, people.officer, tender, people.bob, True, "Meets every criterion.")
    _verdict(platform, people.officer, tender, people.bob, False, "No ISO 9001 certificate.")
    _request_financial_opening(platform, people.officer, tender)
    platform.opener.open_tender(tender.id)
    return tender, alice, bob


def test_the_timed_opening_opens_technical_envelopes_only(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI, reads: list[str]
) -> None:
    tender = two_envelope_tender(platform, people.officer, clock, ref=REF)
    alice = _bid(platform, test_pki, people.alice, "supplier-a", tender)
    bob = _bid(platform, test_pki, people.bob, "supplier-b", tender)
    clock.set(tender.deadline + timedelta(seconds=1))

    outcome = platform.opener.open_tender(tender.id)
    again = platform.opener.open_tender(tender.id)  # nothing requested: nothing more opened

    assert (alice.technical.envelope, alice.financial.envelope) == ("technical", "financial")
    assert alice.financial.committed_fields is not None
    assert alice.financial.committed_fields["envelope"] == "financial"
    assert outcome.status == TenderStatus.OPENED
    assert again.documents_opened_now == 0
    assert set(reads) == {alice.keys[0], bob.keys[0]}
    assert _opened_receipts(platform, tender) == {
        str(alice.technical.receipt_id),
        str(bob.technical.receipt_id),
    }
    unwrapped = _events(platform, tender, EventKind.TENDER_KEY_UNWRAPPED)
    assert {e["payload"]["key"] for e in unwrapped} == {"tender"}


def test_an_unqualified_bids_financial_envelope_is_never_decrypted(
    platform: Platform,
    people: People,
    clock: ManualClock,
    test_pki: TestPKI,
    reads: list[str],
    tmp_path: Path,
) -> None:
    tender, alice, bob = _financially_opened(platform, people, clock, test_pki, reads)
    technical, financial = _records(platform, tender)
    platform.exporter.export(tender_reference=REF, out=tmp_path / "bundle.zip")
    checks = verify_bundle(tmp_path / "bundle.zip", platform.checkpointer.signer.verifier_key())
    with unit_of_work(platform) as services, pytest.raises(Conflict, match="stays sealed"):
        services.opening.document_for_evaluation(
            reader=people.officer,
            tender_id=tender.id,
            receipt_id=bob.financial.receipt_id,
            as_received=True,
        )
    with unit_of_work(platform) as services:
        prices = services.opening.document_for_evaluation(
            reader=people.officer,
            tender_id=tender.id,
            receipt_id=alice.financial.receipt_id,
            as_received=True,
        )
        read = b"".join(prices.chunks)

    assert bob.keys[1] not in reads
    assert alice.keys[1] in reads
    assert hashlib.sha256(read).hexdigest() == alice.financial.sha256
    assert _opened_receipts(platform, tender) == {
        str(alice.technical.receipt_id),
        str(bob.technical.receipt_id),
        str(alice.financial.receipt_id),
    }
    unwrapped = _events(platform, tender, EventKind.TENDER_KEY_UNWRAPPED)
    purposes = [e["payload"]["purpose"] for e in unwrapped if e["payload"]["key"] == "financial"]
    assert purposes == ["financial opening", "evaluation copy"]
    (requested,) = _events(platform, tender, EventKind.FINANCIAL_OPENING_REQUESTED)
    assert requested["payload"]["not_qualified"] == [str(people.bob.id)]
    assert technical["envelope"] == "technical"
    assert [b["file_name"] for b in technical["bids"]] == ["method.pdf", "method.pdf"]
    assert financial["envelope"] == "financial"
    assert [(b["supplier"], b["file_name"]) for b in financial["bids"]] == [("Alice", "prices.pdf")]
    assert {
        (v["supplier_organisation"], v["qualified"], v["reason"])
        for v in financial["qualification"]
    } == {
        ("Alpha Ltd", True, "Meets every criterion."),
        ("Beta Ltd", False, "No ISO 9001 certificate."),
    }
    assert financial["key_release"] == {"opening": "automatic"}
    assert [c for c in checks if not c.ok] == []
    names = {c.name for c in checks}
    assert {
        f"envelopes {REF} unqualified stay sealed",
        f"financial opening {REF} after every verdict",
        f"financial opening {REF} complete",
        f"financial key {REF} unwrapped after request",
        f"financial opening record JSON {REF}",
        f"financial opening record PDF {REF}",
    } <= names


def test_financial_opening_waits_for_every_verdict_and_then_freezes_them(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI
) -> None:
    tender = two_envelope_tender(platform, people.officer, clock, ref=REF)
    _bid(platform, test_pki, people.alice, "supplier-a", tender)
    _bid(platform, test_pki, people.bob, "supplier-b", tender)
    with pytest.raises(Conflict, match="not opened yet"):
        _verdict(platform, people.officer, tender, people.alice, True, "Early.")
    clock.set(tender.deadline + timedelta(seconds=1))
    platform.opener.open_tender(tender.id)
    _verdict(platform, people.officer, tender, people.alice, True, "Meets every criterion.")

    with pytest.raises(Conflict, match="Not every bid") as waiting:
        _request_financial_opening(platform, people.officer, tender)
    with platform.sessions.begin() as session, pytest.raises(Conflict, match="financial key"):
        unlock_tender_key(
            session,
            get_tender(session, tender.id),
            platform_key=platform.platform_key,
            clock=clock,
            actor="test",
            purpose="a peek",
            key_name=FINANCIAL_KEY,
        )
    _verdict(platform, people.officer, tender, people.bob, False, "Late delivery plan.")
    _request_financial_opening(platform, people.officer, tender)
    with pytest.raises(Conflict, match="was requested"):
        _verdict(platform, people.officer, tender, people.bob, True, "Changed my mind.")
    with pytest.raises(Conflict, match="was requested"):
        _request_financial_opening(platform, people.officer, tender)

    assert "Beta Ltd" in waiting.value.why
    unwrapped = _events(platform, tender, EventKind.TENDER_KEY_UNWRAPPED)
    assert {e["payload"]["key"] for e in unwrapped} == {"tender"}  # never the financial one


def test_a_single_envelope_tender_refuses_a_financial_envelope_and_a_name_stays_in_one(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI
) -> None:
    with unit_of_work(platform) as services:
        single = services.tenders.create(
            actor=people.officer,
            data=TenderCreate(
                reference="S-1",
                title="Paint",
                deadline=clock.now() + timedelta(hours=1),
                opening=OpeningMethod.AUTOMATIC,
            ),
        )
        services.tenders.publish(actor=people.officer, tender_id=single.id)
    two = two_envelope_tender(platform, people.officer, clock, ref=REF)
    upload(platform, people.alice, two.id, "offer.pdf", [b"technical"])

    with pytest.raises(Invalid, match="single envelope") as refused:
        upload(platform, people.alice, single.id, "prices.pdf", [b"1"], envelope="financial")
    with pytest.raises(Conflict, match="technical envelope"):
        upload(platform, people.alice, two.id, "offer.pdf", [b"2"], envelope="financial")
    with pytest.raises(Conflict, match="same envelope"):
        upload(platform, people.alice, two.id, "offer.pdf.p7s", [b"sig"], envelope="financial")
    with pytest.raises(Invalid, match="no envelope"):
        upload(platform, people.alice, two.id, "x.pdf", [b"3"], envelope="price")
    plain = upload(platform, people.alice, single.id, "offer.pdf", [b"single"])

    assert "Upload the file without an envelope" in refused.value.todo
    assert plain.envelope is None
    assert plain.committed_fields is not None
    assert "envelope" not in plain.committed_fields


def test_the_verifier_catches_a_log_where_an_unqualified_financial_envelope_was_opened(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI, reads: list[str]
) -> None:
    tender, _, bob = _financially_opened(platform, people, clock, test_pki, reads)
    events = _events(platform, tender)
    last = events[-1]

    def forged(kind: EventKind, payload: dict[str, Any], offset: int = 1) -> dict[str, Any]:
        return {**last, "seq": last["seq"] + offset, "kind": kind, "payload": payload}

    def failures(*extra: dict[str, Any]) -> dict[str, str]:
        ledger = TenderLedger.of([*events, *extra])
        checks: list[Check] = []
        check = collector(checks)
        check_envelopes(ledger, REF, check)
        check_complete(ledger, REF, check)
        return {c.name: c.detail for c in checks if not c.ok}

    opened_bobs = forged(
        EventKind.BID_OPENED,
        {"receipt_id": str(bob.financial.receipt_id), "hash_matches": True},
    )
    late_verdict = forged(
        EventKind.BID_QUALIFICATION,
        {"supplier_id": str(people.bob.id), "qualified": True, "reason": "after all"},
    )

    assert failures() == {}
    caught = failures(opened_bobs)
    assert "not qualified" in caught[f"envelopes {REF} unqualified stay sealed"]
    assert "financial envelope of a bid not qualified" in caught[f"opening {REF} complete"]
    assert "came after it" in failures(late_verdict)[f"financial opening {REF} after every verdict"]


@pytest.fixture
def members(platform: Platform) -> list[Member]:
    return three_members(platform)


@pytest.fixture
def client(platform: Platform, members: list[Member]) -> Iterator[TestClient[Litestar]]:
    with TestClient(create_app(platform)) as client:
        yield client


def _bearer(platform: Platform, user: User) -> dict[str, str]:
    with platform.sessions.begin() as session:
        token = AccountService(session=session, clock=platform.clock).operator_token(
            session.merge(user)
        )
    return {"Authorization": f"Bearer {token}"}


def test_a_committee_releases_the_financial_key_only_after_the_financial_opening_is_requested(
    platform: Platform,
    people: People,
    clock: ManualClock,
    test_pki: TestPKI,
    members: list[Member],
    client: TestClient[Litestar],
    reads: list[str],
    tmp_path: Path,
) -> None:
    tender = two_envelope_tender(platform, people.officer, clock, ref=REF, members=members)
    alice = _bid(platform, test_pki, people.alice, "supplier-a", tender)
    bob = _bid(platform, test_pki, people.bob, "supplier-b", tender)
    clock.set(tender.deadline + timedelta(seconds=1))
    for member in members[:2]:
        release_share(platform, member, tender.id)
    platform.opener.open_tender(tender.id)
    with platform.sessions.begin() as session:
        row = session.get(CommitteeShare, (tender.id, FINANCIAL_KEY, members[0].user.id))
        assert row is not None
        encrypted = row.encrypted_share
    olga_share = decrypt_share(
        encrypted,
        members[0].key,
        context=member_context(tender.id, FINANCIAL_KEY, members[0].user.id),
    )
    url = f"/api/tenders/{tender.id}"
    olga, officer = _bearer(platform, members[0].user), _bearer(platform, people.officer)

    early = client.post(
        f"{url}/committee/releases",
        json={"share": base64.b64encode(olga_share.to_bytes()).decode(), "key": "financial"},
        headers=olga,
    )
    verdicts = [
        client.post(
            f"{url}/qualification",
            json={"supplier_id": str(supplier.id), "qualified": ok, "reason": why},
            headers=officer,
        )
        for supplier, ok, why in [
            (people.alice, True, "Complete."),
            (people.bob, False, "No method statement."),
        ]
    ]
    requested = client.post(f"{url}/financial-opening", headers=officer)
    waiting = platform.opener.open_tender(tender.id)
    for member in members[:2]:
        clock.advance(timedelta(minutes=1))
        release_share(platform, member, tender.id, key_name=FINANCIAL_KEY)
    platform.opener.open_tender(tender.id)
    _, financial = _records(platform, tender)
    standing = client.get(f"{url}/qualification", headers=officer).json()
    committee = client.get(f"{url}/committee", headers=officer).json()
    platform.exporter.export(tender_reference=REF, out=tmp_path / "bundle.zip")
    checks = verify_bundle(tmp_path / "bundle.zip", platform.checkpointer.signer.verifier_key())

    assert early.status_code == 409
    assert "financial opening" in early.json()["why"]
    refused = _events(platform, tender, EventKind.COMMITTEE_SHARE_REFUSED)
    assert [(e["actor"], e["payload"]["key"]) for e in refused] == [
        (members[0].user.actor, "financial")
    ]
    assert [v.status_code for v in verdicts] == [201, 201]
    assert requested.status_code == 201
    with platform.sessions.begin() as session:
        told = session.scalars(
            select(OutboxMessage.recipient_user_id).where(
                OutboxMessage.kind == MessageKind.FINANCIAL_RELEASE_DUE.value
            )
        ).all()
    assert sorted(map(str, told)) == sorted(str(m.user.id) for m in members)
    assert waiting.status == AWAITING_COMMITTEE
    assert bob.keys[1] not in reads
    assert alice.keys[1] in reads
    assert [b["supplier"] for b in financial["bids"]] == ["Alice"]
    assert [r["member"] for r in financial["key_release"]["released"]] == [
        "Olga Opener",
        "Otto Observer",
    ]
    assert standing["financial_opening_finished_at"] is not None
    assert {(b["supplier_organisation"], b["qualified"]) for b in standing["bids"]} == {
        ("Alpha Ltd", True),
        ("Beta Ltd", False),
    }
    assert uuid.UUID(standing["tender_id"]) == tender.id
    assert "Financial key (two envelopes): 2 of 3 members" in committee["summary"]
    assert [c for c in checks if not c.ok] == []
    quorum = next(c for c in checks if c.name == f"committee {REF} financial quorum")
    assert quorum.detail.startswith("2 of the 3 members released their shares of key 'financial'")


def _award(platform: Platform, officer: User, tender: Tender, winner: str) -> None:
    with unit_of_work(platform) as services:
        AwardService(session=services.session, clock=platform.clock).award(
            actor=officer,
            tender_id=tender.id,
            data=AwardCreate(
                winners=[winner], value="1250000.00", currency="HKD", reasons="Lowest price."
            ),
        )


def test_a_two_envelope_tender_is_awarded_to_a_qualified_bid_once_its_prices_are_opened(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI
) -> None:
    tender = two_envelope_tender(platform, people.officer, clock, ref=REF)
    _bid(platform, test_pki, people.alice, "supplier-a", tender)
    _bid(platform, test_pki, people.bob, "supplier-b", tender)
    clock.set(tender.deadline + timedelta(seconds=1))
    platform.opener.open_tender(tender.id)
    _verdict(platform, people.officer, tender, people.alice, True, "Complete.")
    _verdict(platform, people.officer, tender, people.bob, False, "Incomplete.")
    with pytest.raises(Conflict, match="financial envelopes"):
        _award(platform, people.officer, tender, "Alpha Ltd")
    _request_financial_opening(platform, people.officer, tender)
    # The message the request sent is lost: the reconciler sends it again until it is done.
    resent = platform.reconciler().run_once()
    platform.opener.open_tender(tender.id)
    done = platform.reconciler().run_once()
    with pytest.raises(Invalid, match="qualified"):
        _award(platform, people.officer, tender, "Beta Ltd")
    _award(platform, people.officer, tender, "Alpha Ltd")

    assert resent == [tender.id]
    assert done == []
    with platform.sessions.begin() as session:
        assert get_tender(session, tender.id).status is TenderStatus.AWARDED


def test_an_officer_creates_a_two_envelope_tender_over_http(
    platform: Platform, people: People, clock: ManualClock, client: TestClient[Litestar]
) -> None:
    officer = _bearer(platform, people.officer)
    deadline = (clock.now() + timedelta(hours=1)).isoformat()

    def create(reference: str, envelopes: str) -> Any:
        return client.post(
            "/api/tenders",
            json={
                "reference": reference,
                "title": "Ferry pier",
                "deadline": deadline,
                "opening": "automatic",
                "envelopes": envelopes,
            },
            headers=officer,
        )

    created = create("TE-H", "two")
    unknown = create("TE-X", "three")
    with platform.sessions.begin() as session:
        tender = get_tender(session, uuid.UUID(created.json()["id"]))
        financial_key, wrapped = tender.financial_public_key, tender.wrapped_financial_key
    (logged,) = _events(platform, tender, EventKind.TENDER_CREATED)

    assert created.status_code == 201, created.text
    assert created.json()["envelopes"] == "two"
    assert unknown.status_code == 400
    assert financial_key is not None
    assert financial_key != tender.public_key
    assert wrapped is not None
    assert wrapped != tender.wrapped_private_key
    assert logged["payload"]["envelopes"] == "two"
    assert logged["payload"]["financial_public_key"] == financial_key.hex()
