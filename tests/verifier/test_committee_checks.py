"""What the offline verifier checks of a committee from the log alone: each release is a
member's own share after the deadline, a quorum came before the opening, and no unwrap of the
key came before the deadline."""

from __future__ import annotations

from typing import Any

from tender.verifier.checks import Check, collector
from tender.verifier.committee import check_committee, check_unwraps
from tender.verifier.kinds import EventKind
from tender.verifier.ledger import TenderLedger

DEADLINE = "2026-11-27T10:00:00.000000Z"
BEFORE, AFTER, LATER = (
    "2026-11-27T09:59:59.000000Z",
    "2026-11-27T10:00:01.000000Z",
    "2026-11-27T10:05:00.000000Z",
)
MEMBERS = {"m-1": ("Olga", "c1"), "m-2": ("Otto", "c2"), "m-3": ("Audrey", "c3")}


def _events(*more: tuple[str, str, dict[str, Any]]) -> list[dict[str, Any]]:
    """A committee tender (2 of 3) and then ``more`` (kind, at, payload)."""
    formed = {
        "key": "tender",
        "quorum": 2,
        "public_key": "ab" * 32,
        "members": [
            {
                "member_id": member_id,
                "name": name,
                "organisation": "Org",
                "index": index,
                "member_key": "f" * 64,
                "share_commitment": committed,
            }
            for index, (member_id, (name, committed)) in enumerate(MEMBERS.items(), start=1)
        ],
    }
    head = [
        (
            EventKind.TENDER_CREATED,
            BEFORE,
            {"reference": "C-1", "deadline": DEADLINE, "opening": "committee"},
        ),
        (EventKind.COMMITTEE_FORMED, BEFORE, formed),
    ]
    return [
        {"seq": seq, "at": at, "kind": str(kind), "payload": payload}
        for seq, (kind, at, payload) in enumerate([*head, *more], start=1)
    ]


def _release(
    member_id: str, at: str = AFTER, committed: str | None = None
) -> tuple[str, str, dict[str, Any]]:
    return (
        EventKind.COMMITTEE_SHARE_RELEASED,
        at,
        {
            "key": "tender",
            "member_id": member_id,
            "member": MEMBERS.get(member_id, ("?", ""))[0],
            "index": 1,
            "share_commitment": committed or MEMBERS[member_id][1],
        },
    )


OPENING = (EventKind.OPENING_STARTED, LATER, {"deadline": DEADLINE})
UNWRAP = (EventKind.TENDER_KEY_UNWRAPPED, LATER, {"key": "tender", "purpose": "opening"})


def _checks(events: list[dict[str, Any]]) -> dict[str, Check]:
    ledger = TenderLedger.of(events)
    found: list[Check] = []
    check_committee(ledger, "C-1", collector(found))
    check_unwraps(ledger, "C-1", collector(found))
    return {check.name: check for check in found}


def test_a_quorum_of_members_own_shares_after_the_deadline_holds() -> None:
    checks = _checks(_events(_release("m-3"), _release("m-1", LATER), OPENING, UNWRAP))

    assert all(check.ok for check in checks.values()), checks
    assert set(checks) == {
        "committee C-1 releases",
        "committee C-1 quorum",
        "tender key C-1 unwrapped after deadline",
    }
    assert "Audrey, Olga" in checks["committee C-1 quorum"].detail


def test_a_release_of_another_share_is_named_and_does_not_count() -> None:
    checks = _checks(_events(_release("m-3"), _release("m-2", committed="c1"), OPENING))

    assert not checks["committee C-1 releases"].ok
    assert "Otto's released share is not the share dealt to them" in (
        checks["committee C-1 releases"].detail
    )
    assert not checks["committee C-1 quorum"].ok
    assert checks["committee C-1 quorum"].detail.startswith("1 of the 3 members")


def test_a_release_before_the_deadline_fails_and_does_not_count() -> None:
    checks = _checks(_events(_release("m-1", BEFORE), _release("m-2"), OPENING))

    assert "Olga released at 2026-11-27T09:59:59" in checks["committee C-1 releases"].detail
    assert not checks["committee C-1 quorum"].ok


def test_an_opening_before_the_quorum_fails_however_many_release_after_it() -> None:
    checks = _checks(_events(_release("m-1"), OPENING, _release("m-2", LATER)))

    assert checks["committee C-1 releases"].ok
    assert not checks["committee C-1 quorum"].ok


def test_releases_by_strangers_and_twice_by_one_member_fail() -> None:
    stranger = _release("m-1")
    stranger[2]["member_id"] = "m-9"
    checks = _checks(_events(stranger, _release("m-2"), _release("m-2", LATER)))

    detail = checks["committee C-1 releases"].detail
    assert "member m-9 is not on the committee" in detail
    assert "Otto released a share again" in detail


def test_an_unwrap_before_the_deadline_fails() -> None:
    early = (EventKind.TENDER_KEY_UNWRAPPED, BEFORE, {"key": "tender", "purpose": "opening"})
    checks = _checks(_events(early))

    assert not checks["tender key C-1 unwrapped after deadline"].ok
    assert (
        "event 3 at 2026-11-27T09:59:59" in checks["tender key C-1 unwrapped after deadline"].detail
    )


def test_a_committee_tender_whose_committee_is_not_in_the_log_fails() -> None:
    events = [event for event in _events() if event["kind"] != EventKind.COMMITTEE_FORMED]

    assert not _checks(events)["committee C-1"].ok


def test_an_automatic_tender_has_no_committee_checks() -> None:
    events = _events(UNWRAP)
    events[0]["payload"]["opening"] = "automatic"
    del events[1]

    assert set(_checks(events)) == {"tender key C-1 unwrapped after deadline"}
