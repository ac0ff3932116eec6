"""The log reader parses only the lines the ledgers need: it must not miss one."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tender.verifier.chain import canonical_bytes
from tender.verifier.checks import Check, collector
from tender.verifier.kinds import EventKind
from tender.verifier.ledger import TenderLedger
from tender.verifier.logcheck import SKIPPED_KINDS, LogReader
from tests.verifier.chains import event

TENDER = "6f1c4c3e-0000-4000-8000-000000000001"
# Every field any ledger rule reads, so that a kind the ledger reads cannot pass unnoticed.
RICH_PAYLOAD = {
    "reference": "T-9",
    "deadline": "2026-12-01T10:00:00.000000Z",
    "receipt_id": "r-1",
    "superseded_by": "r-2",
    "seq": 2,
    "salt": "00",
    "fields": {"receipt_id": "r-1", "supplier_id": "s", "file_name": "f"},
    "problems": ["x"],
    "hash_matches": True,
}


def _ledger() -> TenderLedger:
    return TenderLedger.of(
        [
            event(1, kind="tender.created", payload={"reference": "T-1", "deadline": "x"}),
            event(2, kind="bid.received", payload={"receipt_id": "r-1", "commitment": "c"}),
        ]
    )


@pytest.mark.parametrize("kind", sorted(SKIPPED_KINDS))
def test_an_event_of_a_kind_the_reader_skips_changes_no_ledger(kind: EventKind) -> None:
    ledger = _ledger()
    before = copy.deepcopy(ledger)

    ledger.add(event(3, kind=kind.value, payload=RICH_PAYLOAD))

    assert ledger == before


@pytest.mark.parametrize(
    "kind",
    [EventKind.TENDER_CREATED, EventKind.BID_RECEIVED, EventKind.SEALED_REVEALED],
)
def test_a_kind_the_ledger_reads_changes_it(kind: EventKind) -> None:
    """The test above can fail: a kind the ledger reads does change it."""
    ledger = _ledger()
    before = copy.deepcopy(ledger)

    ledger.add(event(3, kind=kind.value, payload=RICH_PAYLOAD))

    assert ledger != before


def _read(events: list[dict[str, Any]]) -> tuple[LogReader, list[Check]]:
    checks: list[Check] = []
    log = LogReader([len(events)])
    log.read(canonical_bytes(e) for e in events)
    log.finish(collector(checks))
    return log, checks


def test_the_reader_gives_each_tender_its_events_and_a_commitment_of_any_kind() -> None:
    events = [
        event(1, kind="tender.created", tender_id=TENDER, payload={"reference": "T-1"}),
        event(2, kind="request.refused", tender_id=TENDER, payload={"commitment": "c"}),
        event(3, kind="bid.read", tender_id=TENDER, payload={"receipt_id": "r"}),
        event(4, kind="opening.started", tender_id=TENDER, payload={}),
    ]

    log, checks = _read(events)

    assert all(c.ok for c in checks), checks
    ledger = log.tenders[TENDER]
    assert ledger.reference == "T-1"
    assert ledger.sealed == {2: "c"}
    assert ledger.opening_started == (4, events[3]["at"])


def test_an_event_the_ledger_cannot_read_is_named() -> None:
    events = [
        event(1, kind="tender.created", tender_id=TENDER, payload={"reference": "T-1"}),
        event(2, kind="bid.superseded", tender_id=TENDER, payload={"superseded_by": "r"}),
    ]

    _, checks = _read(events)

    failed = {c.name: c.detail for c in checks if not c.ok}
    assert failed.keys() == {"event 2"}
    assert "a bid.superseded event whose payload is not what one holds" in failed["event 2"]
