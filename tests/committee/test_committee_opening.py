"""Committee opening on real storage and both databases: the key dealt out k of n and kept
nowhere whole, shares released after the deadline and checked against their commitments, the
opening once the quorum is in, and a quorum that never comes."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from tender.accounts.models import Language, User
from tender.accounts.service import AccountService
from tender.app import create_app
from tender.audit import service as audit
from tender.audit.models import AuditEvent
from tender.clock import ManualClock
from tender.committee.models import TENDER_KEY, CommitteeKey, CommitteeShare
from tender.committee.service import member_context, unlock_tender_key
from tender.errors import Conflict
from tender.notifications.messages import MessageKind
from tender.notifications.models import OutboxMessage
from tender.opening.run import AWAITING_COMMITTEE
from tender.platform import Platform
from tender.signing.testing import TestPKI, signed_pdf
from tender.storage.committee import (
    HeldShare,
    MemberKey,
    ShareError,
    combine_shares,
    decrypt_share,
)
from tender.storage.sealing import TenderKey
from tender.tenders.models import Tender, TenderStatus
from tender.tenders.service import get_tender
from tender.verifier.kinds import EventKind
from tests.conftest import People
from tests.helpers import (
    Member,
    audit_kinds,
    committee_member,
    committee_tender,
    opened_with_one_valid_bid,
    own_share,
    published_tender,
    register_signer,
    release_share,
    three_members,
    unit_of_work,
    upload,
)


@pytest.fixture
def members(platform: Platform, people: People) -> list[Member]:
    """Two officers of two organisations (the buyer, and an independent one) and an auditor."""
    return three_members(platform)


@pytest.fixture
def client(platform: Platform, members: list[Member]) -> Iterator[TestClient[Litestar]]:
    with TestClient(create_app(platform)) as client:
        yield client


def _tokens(platform: Platform, *users: User) -> list[dict[str, str]]:
    """An operator-made (second-factor) token for each of ``users``."""
    with platform.sessions.begin() as session:
        accounts = AccountService(session=session, clock=platform.clock)
        return [
            {"Authorization": f"Bearer {accounts.operator_token(session.merge(user))}"}
            for user in users
        ]


def _logged(platform: Platform, tender_id: uuid.UUID, kind: EventKind) -> list[dict[str, Any]]:
    with platform.sessions.begin() as session:
        return [
            dict(audit.to_json(event))
            for event in session.scalars(
                select(AuditEvent)
                .where(AuditEvent.tender_id == tender_id, AuditEvent.kind == kind.value)
                .order_by(AuditEvent.seq)
            )
        ]


def _stored_shares(platform: Platform, tender: Tender) -> dict[uuid.UUID, CommitteeShare]:
    with platform.sessions.begin() as session:
        rows = list(
            session.scalars(select(CommitteeShare).where(CommitteeShare.tender_id == tender.id))
        )
        session.expunge_all()
        return {row.member_id: row for row in rows}


def _decrypted(member: Member, row: CommitteeShare, tender: Tender) -> HeldShare:
    return decrypt_share(
        row.encrypted_share,
        member.key,
        context=member_context(tender.id, TENDER_KEY, member.user.id),
    )


def test_a_committee_tender_keeps_no_whole_key_and_each_member_opens_only_their_share(
    platform: Platform, people: People, clock: ManualClock, members: list[Member]
) -> None:
    tender = committee_tender(platform, people.officer, clock, members, quorum=2)
    rows = _stored_shares(platform, tender)
    shares = [_decrypted(member, rows[member.user.id], tender) for member in members]
    (formed,) = _logged(platform, tender.id, EventKind.COMMITTEE_FORMED)

    assert tender.wrapped_private_key is None
    assert tender.quorum == 2
    assert [share.index for share in shares] == [1, 2, 3]
    assert formed["payload"]["quorum"] == 2
    assert formed["payload"]["public_key"] == tender.public_key.hex()
    assert [m["share_commitment"] for m in formed["payload"]["members"]] == [
        share.commitment(member_context(tender.id, TENDER_KEY, member.user.id))
        for share, member in zip(shares, members, strict=True)
    ]
    assert [m["member_key"] for m in formed["payload"]["members"]] == [
        member.key.fingerprint for member in members
    ]
    for pair in ([0, 1], [0, 2], [2, 1]):
        key = TenderKey.from_private_bytes(combine_shares([shares[i] for i in pair]))
        assert key.public_key_bytes == tender.public_key
    with pytest.raises(ShareError):
        _decrypted(members[1], rows[members[0].user.id], tender)
    with pytest.raises((ShareError, ValueError)):  # one share alone gives no key
        TenderKey.from_private_bytes(combine_shares(shares[:1]))


def test_the_tender_opens_once_a_quorum_has_released_and_the_record_names_who_and_when(
    platform: Platform,
    people: People,
    clock: ManualClock,
    members: list[Member],
    test_pki: TestPKI,
) -> None:
    tender = committee_tender(platform, people.officer, clock, members, quorum=2, hours=1)
    register_signer(platform, people.alice, test_pki, "supplier-a")
    upload(platform, people.alice, tender.id, "bid.pdf", [signed_pdf(test_pki, "supplier-a", "A")])
    queues = platform.jobs.broker.queues  # the StubBroker's
    clock.set(tender.deadline + timedelta(seconds=1))

    at_deadline = platform.opener.open_tender(tender.id)
    clock.advance(timedelta(minutes=5))
    release_share(platform, members[2], tender.id)
    after_one = platform.opener.open_tender(tender.id)
    sent_before = sum(q.qsize() for q in queues.values())
    clock.advance(timedelta(minutes=5))
    release_share(platform, members[0], tender.id)
    sent_after = sum(q.qsize() for q in queues.values())
    opened = platform.opener.open_tender(tender.id)

    with unit_of_work(platform) as services:
        record = services.opening.stored_record(reader=people.officer, tender_id=tender.id)
        status = get_tender(services.session, tender.id).status
    (key_released,) = _logged(platform, tender.id, EventKind.TENDER_KEY_RELEASED)
    assert at_deadline.status == after_one.status == AWAITING_COMMITTEE
    assert sent_after == sent_before + 1  # the release that completed the quorum asked for it
    assert opened.status == TenderStatus.OPENED
    assert status == TenderStatus.OPENED
    assert [bid["indication"] for bid in record["bids"]] == ["TOTAL_PASSED"]
    assert record["key_release"] == {
        "opening": "committee",
        "quorum": 2,
        "members": 3,
        "released": [
            {
                "member": "Audrey Auditor",
                "organisation": "Audit Commission",
                "released_at": "2026-11-27T10:05:01.000000Z",
            },
            {
                "member": "Olga Opener",
                "organisation": "Procuring Entity",
                "released_at": "2026-11-27T10:10:01.000000Z",
            },
        ],
    }
    assert [r["member"] for r in key_released["payload"]["released_by"]] == [
        "Audrey Auditor",
        "Olga Opener",
    ]
    unwraps = _logged(platform, tender.id, EventKind.TENDER_KEY_UNWRAPPED)
    assert unwraps
    assert {u["payload"]["purpose"] for u in unwraps} == {"opening"}
    assert unwraps[0]["payload"]["released_by"] == [
        str(members[2].user.id),
        str(members[0].user.id),
    ]


def test_a_quorum_never_reached_leaves_the_tender_closed_and_tells_who_has_not_released(
    platform: Platform,
    people: People,
    clock: ManualClock,
    members: list[Member],
    client: TestClient[Litestar],
) -> None:
    with platform.sessions.begin() as session:
        session.get(User, members[1].user.id).language = Language.ZH_HANT_HK  # type: ignore[union-attr]
    tender = committee_tender(platform, people.officer, clock, members, quorum=2, hours=1)
    clock.set(tender.deadline + timedelta(seconds=1))
    release_share(platform, members[0], tender.id)

    outcomes = [platform.opener.open_tender(tender.id) for _ in range(2)]
    platform.remind_committees()  # the reconciler's duty: nobody is told twice
    enqueued = platform.reconciler().run_once()
    clock.advance(timedelta(days=3))
    later = platform.opener.open_tender(tender.id)
    with platform.sessions.begin() as session:
        shown = get_tender(session, tender.id).status_at(clock.now())
        told = {
            message.recipient_user_id: message
            for message in session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.kind == MessageKind.COMMITTEE_RELEASE_DUE.value
                )
            )
        }
        told_count = len(
            session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.kind == MessageKind.COMMITTEE_RELEASE_DUE.value
                )
            ).all()
        )
    (officer,) = _tokens(platform, people.officer)
    status = client.get(f"/api/tenders/{tender.id}/committee", headers=officer).json()

    assert [o.status for o in [*outcomes, later]] == [AWAITING_COMMITTEE] * 3
    assert shown == TenderStatus.CLOSED
    assert enqueued == []
    assert "opening.started" not in audit_kinds(platform, tender.id)
    assert set(told) == {members[1].user.id, members[2].user.id}
    assert told_count == 2
    assert "tender committee release --tender C-1" in told[members[2].user.id].body
    assert "1 have so far" in told[members[2].user.id].body
    assert told[members[1].user.id].subject == "請釋出密鑰份額：投標 C-1"  # noqa: RUF001
    assert status["released"] == 1
    assert "Not yet released: Otto Observer, Audrey Auditor" in status["summary"]
    assert [m["released_at"] is not None for m in status["members"]] == [True, False, False]


def test_a_release_before_the_deadline_is_refused_and_recorded(
    platform: Platform,
    people: People,
    clock: ManualClock,
    members: list[Member],
    client: TestClient[Litestar],
) -> None:
    tender = committee_tender(platform, people.officer, clock, members, quorum=2)
    share = _decrypted(members[0], _stored_shares(platform, tender)[members[0].user.id], tender)
    (olga,) = _tokens(platform, members[0].user)
    url = f"/api/tenders/{tender.id}/committee"

    fetch = client.get(f"{url}/share", headers=olga)
    release = client.post(
        f"{url}/releases",
        json={"share": base64.b64encode(share.to_bytes()).decode()},
        headers=olga,
    )

    assert fetch.status_code == 409
    assert release.status_code == 409
    assert "too early" in release.json()["what"]
    refused = _logged(platform, tender.id, EventKind.COMMITTEE_SHARE_REFUSED)
    assert [(e["actor"], e["payload"]["action"]) for e in refused] == [
        (members[0].user.actor, "fetch"),
        (members[0].user.actor, "release"),
    ]
    assert _logged(platform, tender.id, EventKind.COMMITTEE_SHARE_RELEASED) == []
    assert _stored_shares(platform, tender)[members[0].user.id].released_at is None


def test_a_wrong_share_is_refused_and_names_the_member_who_released_it(
    platform: Platform,
    people: People,
    clock: ManualClock,
    members: list[Member],
    client: TestClient[Litestar],
) -> None:
    tender = committee_tender(platform, people.officer, clock, members, quorum=2)
    clock.set(tender.deadline + timedelta(seconds=1))
    olga_share = own_share(platform, members[0], tender.id)
    flipped = bytearray(own_share(platform, members[1], tender.id).to_bytes())
    flipped[-1] ^= 1
    (otto,) = _tokens(platform, members[1].user)
    url = f"/api/tenders/{tender.id}/committee/releases"

    def post(raw: bytes) -> Any:
        return client.post(url, json={"share": base64.b64encode(raw).decode()}, headers=otto)

    someone_elses = post(olga_share.to_bytes())
    altered = post(bytes(flipped))
    garbage = post(b"not a share")
    not_base64 = client.post(url, json={"share": "%%%"}, headers=otto)

    assert [a.status_code for a in (someone_elses, altered, garbage, not_base64)] == [422] * 4
    assert "Otto Observer (Independent Commission)" in someone_elses.json()["what"]
    refused = _logged(platform, tender.id, EventKind.COMMITTEE_SHARE_REFUSED)
    assert len(refused) == 3
    assert {e["actor"] for e in refused} == {members[1].user.actor}
    assert {e["payload"]["member"] for e in refused} == {"Otto Observer"}
    assert (
        refused[0]["payload"]["released_share_commitment"]
        != (refused[0]["payload"]["expected_share_commitment"])
    )
    assert _stored_shares(platform, tender)[members[1].user.id].released_at is None
    assert _logged(platform, tender.id, EventKind.COMMITTEE_SHARE_RELEASED) == []


def test_the_committee_is_read_by_its_overseers_and_members_and_shares_only_by_their_holder(
    platform: Platform,
    people: People,
    clock: ManualClock,
    members: list[Member],
    client: TestClient[Litestar],
) -> None:
    tender = committee_tender(platform, people.officer, clock, members, quorum=2)
    clock.set(tender.deadline + timedelta(seconds=1))
    outsider = committee_member(platform, "Nina Nobody", "Other Department")
    olivia, otto, nina = _tokens(platform, people.officer, members[1].user, outsider.user)
    url = f"/api/tenders/{tender.id}/committee"

    assert client.get(url, headers=olivia).status_code == 200
    assert client.get(url, headers=otto).status_code == 200
    assert client.get(url, headers=nina).status_code == 403
    assert client.get(f"{url}/share", headers=olivia).status_code == 403
    share = client.get(f"{url}/share", headers=otto).json()
    assert share["index"] == 2
    assert share["member_key"] == members[1].key.fingerprint
    opened = decrypt_share(
        base64.b64decode(share["encrypted_share"]),
        members[1].key,
        context=member_context(tender.id, TENDER_KEY, members[1].user.id),
    )
    assert (
        opened.commitment(member_context(tender.id, TENDER_KEY, members[1].user.id))
        == (share["share_commitment"])
    )


def test_a_committee_is_refused_unless_it_can_open_the_tender(
    platform: Platform,
    people: People,
    clock: ManualClock,
    members: list[Member],
    client: TestClient[Litestar],
) -> None:
    (olivia,) = _tokens(platform, people.officer)
    deadline = (clock.now() + timedelta(days=1)).isoformat()

    def create(**fields: Any) -> Any:
        body = {"reference": "C-9", "title": "Piers", "deadline": deadline, **fields}
        return client.post("/api/tenders", json=body, headers=olivia)

    ids = [str(member.user.id) for member in members]
    by_default = create()
    of_one = create(committee=ids, quorum=1)
    too_few = create(committee=ids[:2], quorum=3)
    with_a_supplier = create(committee=[*ids[:2], str(people.alice.id)], quorum=2)
    keyless_officer = create(committee=[*ids[:2], str(people.officer.id)], quorum=2)
    automatic_with_members = create(opening="automatic", committee=ids, quorum=2)
    automatic = create(opening="automatic", reference="A-1")
    committee = create(committee=ids, quorum=2, reference="C-2")

    for refused in (by_default, of_one, too_few, with_a_supplier, keyless_officer):
        assert refused.status_code == 422, refused.text
    assert automatic_with_members.status_code == 422
    assert '"opening": "automatic"' in by_default.json()["what_to_do"]
    assert "Alice (Alpha Ltd) is a supplier." in with_a_supplier.json()["what"]
    assert "Olivia (Procuring Entity) has no committee key." in keyless_officer.json()["what"]
    assert automatic.status_code == committee.status_code == 201
    assert automatic.json()["opening"] == "automatic"
    assert "platform key" in automatic.json()["opening_trust"]
    assert committee.json()["opening"] == "committee"
    assert committee.json()["quorum"] == 2
    assert "once 2 members have released" in committee.json()["opening_trust"]


def test_a_member_registers_a_key_that_replaces_their_last_for_new_tenders(
    platform: Platform, people: People, members: list[Member], client: TestClient[Litestar]
) -> None:
    (otto,) = _tokens(platform, members[1].user)
    new = MemberKey.generate()

    bad = client.post("/api/committee/keys", json={"public_key": "AAAA"}, headers=otto)
    good = client.post(
        "/api/committee/keys",
        json={"public_key": base64.b64encode(new.public_key_bytes).decode()},
        headers=otto,
    )
    listed = client.get("/api/committee/keys", headers=otto).json()

    assert bad.status_code == 422
    assert good.status_code == 201, good.text
    assert good.json()["fingerprint"] == new.fingerprint
    assert {(k["name"], k["fingerprint"]) for k in listed} == {
        ("Olga Opener", members[0].key.fingerprint),
        ("Otto Observer", new.fingerprint),
        ("Audrey Auditor", members[2].key.fingerprint),
    }
    registered = _logged_without_tender(platform, EventKind.COMMITTEE_KEY_REGISTERED)
    assert registered[-1]["payload"]["fingerprint"] == new.fingerprint


def _logged_without_tender(platform: Platform, kind: EventKind) -> list[dict[str, Any]]:
    with platform.sessions.begin() as session:
        return [
            dict(audit.to_json(event))
            for event in session.scalars(
                select(AuditEvent).where(AuditEvent.kind == kind.value).order_by(AuditEvent.seq)
            )
        ]


def test_a_key_row_changed_in_the_database_is_not_dealt_a_share(
    platform: Platform, people: People, clock: ManualClock, members: list[Member]
) -> None:
    insider = MemberKey.generate()
    with platform.sessions.begin() as session:
        row = session.scalars(
            select(CommitteeKey).where(CommitteeKey.user_id == members[2].user.id)
        ).one()
        row.public_key = insider.public_key_bytes  # the log still names Audrey's own key

    with pytest.raises(Conflict, match="not the one the audit log says"):
        committee_tender(platform, people.officer, clock, members, quorum=2)


def test_every_unwrap_of_an_automatic_tenders_key_is_recorded_and_none_before_the_logged_deadline(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI
) -> None:
    opened = opened_with_one_valid_bid(platform, people, clock, test_pki)
    with unit_of_work(platform) as services:
        (result,) = services.opening.stored_record(reader=people.officer, tender_id=opened.id)[
            "bids"
        ]
        services.opening.document_for_evaluation(
            reader=people.officer,
            tender_id=opened.id,
            receipt_id=uuid.UUID(result["receipt_id"]),
            as_received=True,
        )
    unwraps = _logged(platform, opened.id, EventKind.TENDER_KEY_UNWRAPPED)

    # An insider moves a later tender's deadline and status in the tables: the log decides.
    later = published_tender(platform, people.officer, clock, hours=5, ref="T-2")
    with platform.sessions.begin() as session:
        row = get_tender(session, later.id)
        row.deadline = clock.now() - timedelta(hours=1)
        row.status = TenderStatus.OPENED
        with pytest.raises(Conflict) as refused:
            unlock_tender_key(
                session,
                row,
                platform_key=platform.platform_key,
                clock=clock,
                actor=people.officer.actor,
                purpose="evaluation copy",
            )

    assert {u["payload"]["purpose"] for u in unwraps} == {"opening", "evaluation copy"}
    assert unwraps[-1]["actor"] == people.officer.actor
    assert unwraps[0]["payload"]["platform_key"] == platform.platform_key.fingerprint
    assert refused.value.audit_kind == EventKind.TENDER_KEY_REFUSED
    assert "deadline the audit log records" in refused.value.why
    assert json.dumps(refused.value.details["deadline_in_log"]).startswith('"2026-11-27T')
