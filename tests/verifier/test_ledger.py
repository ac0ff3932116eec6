"""The rule the opening and the verifier share: what the log says is due to be opened."""

from __future__ import annotations

import secrets
from typing import Any

from tender.verifier.bundle import check_complete
from tender.verifier.checks import Check, collector
from tender.verifier.commitments import commitment
from tender.verifier.kinds import EventKind
from tender.verifier.ledger import TenderLedger

DEADLINE = "2026-11-27T10:00:00.000000Z"


class Log:
    """Events of one tender, written by hand as the platform writes them."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.add(EventKind.TENDER_CREATED, {"reference": "T-1", "deadline": DEADLINE})

    def add(
        self, kind: EventKind, payload: dict[str, Any], at: str = "2026-11-27T09:00:00Z"
    ) -> int:
        seq = len(self.events) + 1
        self.events.append({"seq": seq, "at": at, "kind": kind.value, "payload": payload})
        return seq

    def sealed_bid(
        self,
        receipt: str,
        supplier: str,
        name: str,
        at: str,
        *,
        sha256: str = "aa" * 32,
        kind: EventKind = EventKind.BID_RECEIVED,
    ) -> tuple[int, dict[str, Any], str]:
        fields = {
            "receipt_id": receipt,
            "supplier_id": supplier,
            "file_name": name,
            "sha256": sha256,
        }
        salt = secrets.token_bytes(32)
        seq = self.add(
            kind,
            {"receipt_id": receipt, "commitment": commitment(salt, fields), "sealed": "…"},
            at,
        )
        return seq, fields, salt.hex()

    def reveal(self, seq: int, fields: dict[str, Any], salt: str) -> None:
        self.add(EventKind.SEALED_REVEALED, {"seq": seq, "salt": salt, "fields": fields})


def test_the_latest_on_time_receipt_per_supplier_and_file_is_due() -> None:
    log = Log()
    first = log.sealed_bid("r1", "alice", "bid.pdf", "2026-11-27T09:00:00Z")
    second = log.sealed_bid("r2", "alice", "bid.pdf", "2026-11-27T09:30:00Z")
    bob = log.sealed_bid("r3", "bob", "bid.pdf", "2026-11-27T09:40:00Z")
    late = log.sealed_bid("r4", "carol", "bid.pdf", "2026-11-27T10:00:01Z")
    for seq, fields, salt in (first, second, bob, late):
        log.reveal(seq, fields, salt)

    ledger = TenderLedger.of(log.events)

    assert [bid.receipt_id for bid in ledger.to_open()] == ["r2", "r3"]
    assert [bid.receipt_id for bid in ledger.late()] == ["r4"]
    assert ledger.unrevealed() == []


def test_before_the_reveal_nothing_is_known_to_be_due() -> None:
    log = Log()
    log.sealed_bid("r1", "alice", "bid.pdf", "2026-11-27T09:00:00Z")

    ledger = TenderLedger.of(log.events)

    assert ledger.to_open() == []
    assert ledger.unrevealed() == [2]


def test_a_reveal_that_does_not_open_its_commitment_decides_nothing() -> None:
    log = Log()
    seq, fields, salt = log.sealed_bid("r1", "alice", "bid.pdf", "2026-11-27T09:00:00Z")
    log.reveal(seq, {**fields, "supplier_id": "mallory"}, salt)

    ledger = TenderLedger.of(log.events)

    assert ledger.to_open() == []
    assert ledger.unrevealed() == [seq]


def test_the_verifier_fails_a_result_without_a_receipt_and_a_receipt_without_a_result() -> None:
    log = Log()
    seq, fields, salt = log.sealed_bid("r1", "alice", "bid.pdf", "2026-11-27T09:00:00Z")
    log.reveal(seq, fields, salt)
    log.add(EventKind.BID_OPENED, {"receipt_id": "r-invented", "hash_matches": True})
    checks: list[Check] = []

    check_complete(TenderLedger.of(log.events), "T-1", collector(checks))

    [check] = checks
    assert not check.ok
    assert check.detail == (
        "on-time receipt r1 has no opening result; "
        "opening result r-invented has no receipt in the log"
    )


def test_fingerprint_first_counts_a_late_file_only_with_the_fingerprint_sent_in_time() -> None:
    log = Log()
    log.add(EventKind.TENDER_PUBLISHED, {"deadline": DEADLINE, "file_grace_seconds": 3600})
    fingerprint, file_ = "ab" * 32, "cd" * 32
    events = [
        log.sealed_bid("f1", "alice", "bid.pdf", "2026-11-27T09:59:00Z", sha256="00" * 32,
                       kind=EventKind.BID_FINGERPRINTED),
        log.sealed_bid("f2", "alice", "bid.pdf", "2026-11-27T09:59:30Z", sha256=fingerprint,
                       kind=EventKind.BID_FINGERPRINTED),
        log.sealed_bid("f3", "bob", "bid.pdf", "2026-11-27T09:59:40Z", sha256=file_,
                       kind=EventKind.BID_FINGERPRINTED),
        log.sealed_bid("f4", "dave", "bid.pdf", "2026-11-27T10:00:01Z", sha256=file_,
                       kind=EventKind.BID_FINGERPRINTED),  # a fingerprint too late
        log.sealed_bid("r1", "alice", "bid.pdf", "2026-11-27T10:30:00Z", sha256=fingerprint),
        log.sealed_bid("r2", "bob", "bid.pdf", "2026-11-27T10:20:00Z", sha256="ee" * 32),
        log.sealed_bid("r3", "carol", "bid.pdf", "2026-11-27T10:10:00Z", sha256=file_),
        log.sealed_bid("r4", "dave", "bid.pdf", "2026-11-27T10:10:00Z", sha256=file_),
        log.sealed_bid("r5", "erin", "bid.pdf", "2026-11-27T11:00:01Z", sha256=file_),
    ]  # fmt: skip
    sealed_only = TenderLedger.of(log.events)
    # While sealed, only what came after the files' grace is known to be late.
    assert [bid.receipt_id for bid in sealed_only.late()] == ["r5"]
    for seq, fields, salt in events:
        log.reveal(seq, fields, salt)

    ledger = TenderLedger.of(log.events)

    assert ledger.files_until == "2026-11-27T11:00:00Z"
    assert [bid.receipt_id for bid in ledger.to_open()] == ["r1"]
    # Bob's file is not his fingerprint's; Carol sent none; Dave's came after the deadline.
    assert [bid.receipt_id for bid in ledger.late()] == ["r2", "r3", "r4", "r5"]
    assert [f.receipt_id for f in ledger.unfulfilled()] == ["f3"]
