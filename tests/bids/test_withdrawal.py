"""Withdrawing a bid over HTTP: before the deadline only, receipted, sealed in the log until
the opening, and never opened."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from tender.app import create_app
from tender.audit import service as audit
from tender.audit.models import AuditEvent
from tender.bids.models import BidWithdrawal
from tender.cli import main
from tender.clock import ManualClock
from tender.platform import Platform
from tender.signing.testing import TestPKI, signed_pdf
from tender.verifier import jws
from tender.verifier.bundle import check_complete, verify_bundle
from tender.verifier.checks import Check
from tender.verifier.ledger import TenderLedger
from tender.verifier.receipt import verify_receipt
from tests.conftest import People
from tests.helpers import published_tender, register_signer, unit_of_work, upload


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient[Litestar]]:
    with TestClient(create_app(platform)) as client:
        yield client


def test_a_withdrawn_file_is_receipted_sealed_and_not_opened_and_late_ones_are_refused(
    client: TestClient[Litestar],
    platform: Platform,
    people: People,
    clock: ManualClock,
    test_pki: TestPKI,
    tmp_path: Path,
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=1)
    register_signer(platform, people.alice, test_pki, "supplier-a")
    kept = upload(
        platform, people.alice, tender.id, "bid.pdf", [signed_pdf(test_pki, "supplier-a", "A")]
    )
    dropped = upload(platform, people.alice, tender.id, "extra.pdf", [b"%PDF-1.7 extra"])
    alice = {"Authorization": f"Bearer {people.tokens['Alice']}"}
    url = f"/api/tenders/{tender.id}/withdrawal"

    nothing = client.post(url, json={"file_name": "never-sent.pdf"}, headers=alice)
    withdrawn = client.post(url, json={"file_name": "extra.pdf"}, headers=alice)
    with platform.sessions.begin() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.kind == "bid.withdrawn")).one()
        logged = audit.to_json(event)
    clock.set(tender.deadline + timedelta(seconds=1))
    late = client.post(url, json={}, headers=alice)
    platform.opener.open_tender(tender.id)
    with platform.sessions.begin() as session:
        ledger = TenderLedger.of(audit.tender_events(session, tender.id))
    with unit_of_work(platform) as services:
        record = services.opening.stored_record(reader=people.officer, tender_id=tender.id)
    bundle = tmp_path / "bundle.zip"
    platform.exporter.export(tender_reference="T-1", out=bundle)
    checks = verify_bundle(bundle, platform.checkpointer.signer.verifier_key())

    assert nothing.status_code == 422
    assert withdrawn.status_code == 201, withdrawn.text
    receipt = withdrawn.json()
    assert receipt["withdrawn"] == [str(dropped.receipt_id)]
    assert receipt["signed_receipt"]  # signed with the next checkpoint's proof
    assert receipt["inclusion_proof"] is not None
    # Before the opening the log says only that something was withdrawn, not by whom.
    assert logged["actor"] == audit.SEALED_ACTOR
    assert "Alpha" not in str(logged["payload"])
    assert "extra.pdf" not in str(logged["payload"])
    assert late.status_code == 409
    assert "closed" in late.json()["what"]
    assert ledger.withdrawn == {str(dropped.receipt_id): event.seq}
    assert set(ledger.opened) == {str(kept.receipt_id)}  # the withdrawn file was not opened
    assert [bid["file_name"] for bid in record["bids"]] == ["bid.pdf"]
    assert [(n["file_name"], n["why"]) for n in record.get("not_opened", [])] == [
        ("extra.pdf", "withdrawn")
    ]
    assert [c for c in checks if not c.ok] == []  # the offline verifier agrees
    # The bundle carries the withdrawal's receipt, and the verifier checked it with the rest.
    assert f"receipt {receipt['receipt_id']}" in {c.name for c in checks}


def test_the_offline_verifier_fails_an_opening_that_opened_a_withdrawn_file() -> None:
    deadline, before = "2026-11-27T12:00:00Z", "2026-11-27T11:00:00Z"
    fields = {"supplier_id": "s", "file_name": "a.pdf", "sha256": "00"}
    ledger = TenderLedger.of(
        [
            {"seq": 1, "kind": "tender.created", "at": before, "payload": {"deadline": deadline}},
            {
                "seq": 2,
                "kind": "bid.received",
                "at": before,
                "payload": {"receipt_id": "r1", **fields},
            },
            {"seq": 3, "kind": "bid.withdrawn", "at": before, "payload": {"withdrawn": ["r1"]}},
            {"seq": 4, "kind": "bid.opened", "at": deadline, "payload": {"receipt_id": "r1"}},
        ]
    )
    checks: list[Check] = []

    def record(name: str, ok: bool, detail: str) -> bool:
        checks.append(Check(name, ok, detail))
        return ok

    check_complete(ledger, "T-1", record)

    (check,) = checks
    assert not check.ok
    assert check.detail == "receipt r1 was opened but was withdrawn by the deadline"


def test_a_whole_bid_withdrawn_leaves_nothing_to_open(
    client: TestClient[Litestar], platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=1)
    upload(platform, people.bob, tender.id, "a.pdf", [b"%PDF-1.7 a"])
    upload(platform, people.bob, tender.id, "b.pdf", [b"%PDF-1.7 b"])
    bob = {"Authorization": f"Bearer {people.tokens['Bob']}"}

    withdrawn = client.post(f"/api/tenders/{tender.id}/withdrawal", json={}, headers=bob)
    again = client.post(f"/api/tenders/{tender.id}/withdrawal", json={}, headers=bob)
    summary = client.get(
        f"/api/tenders/{tender.id}/bids",
        headers={"Authorization": f"Bearer {people.tokens['Olivia']}"},
    )
    clock.set(tender.deadline + timedelta(seconds=1))
    outcome = platform.opener.open_tender(tender.id)

    assert withdrawn.status_code == 201
    assert len(withdrawn.json()["withdrawn"]) == 2
    assert again.status_code == 422  # nothing left to withdraw
    assert summary.json()["documents_received"] == 0
    assert outcome.status == "opened"
    assert outcome.documents_opened_now == 0


def test_a_withdrawal_receipt_is_kept_and_holds_offline_like_a_bid_receipt(
    client: TestClient[Litestar],
    platform: Platform,
    people: People,
    clock: ManualClock,
    test_pki: TestPKI,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=1)
    sent = upload(platform, people.bob, tender.id, "a.pdf", [b"%PDF-1.7 a"])
    bob = {"Authorization": f"Bearer {people.tokens['Bob']}"}
    answer = client.post(
        f"/api/tenders/{tender.id}/withdrawal", json={"file_name": "a.pdf"}, headers=bob
    )
    assert answer.status_code == 201, answer.text
    receipt = answer.json()
    signed: str = receipt["signed_receipt"]
    vkey = platform.checkpointer.signer.verifier_key()
    anchors = test_pki.trust_store()

    with platform.sessions.begin() as session:
        kept = session.get(BidWithdrawal, uuid.UUID(receipt["receipt_id"]))
        assert kept is not None
        assert kept.signed_receipt == signed  # the platform keeps what it signed
        assert kept.withdrawn == [str(sent.receipt_id)]
    checks = verify_receipt(signed, vkey, visible=receipt, tsa_trust=anchors)
    assert [c for c in checks if not c.ok] == []
    assert {c.name for c in checks} >= {"audit event", "on time", "inclusion", "time-stamp"}

    # Even signed by the platform, a receipt that is not the logged withdrawal, or came after
    # the deadline, does not hold.
    payload = json.loads(jws.b64url_decode(signed.split(".")[1]))
    for changed, failing in (
        ({"withdrawn": [str(receipt["receipt_id"])]}, "audit event"),
        ({"withdrawn_at": payload["deadline"].replace("Z", "1Z")}, "on time"),
    ):
        resigned = platform.checkpointer.sign_json({**payload, **changed})
        failed = [c.name for c in verify_receipt(resigned, vkey, tsa_trust=anchors) if not c.ok]
        assert failed == [failing]

    # tender receipt verify says the same, and prints what was withdrawn and when.
    (tmp_path / "platform.pub").write_text(vkey + "\n")
    (tmp_path / "withdrawal.json").write_text(json.dumps(receipt))
    code = main(
        [
            *("receipt", "verify", str(tmp_path / "withdrawal.json")),
            *("--key", str(tmp_path / "platform.pub"), "--tsa-trust", str(test_pki.trust_dir)),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "The receipt holds." in out
    assert f"withdrawn              {[str(sent.receipt_id)]}" in out
    assert "withdrawn_at" in out
    assert "sha256" not in out  # a withdrawal names no file's hash
