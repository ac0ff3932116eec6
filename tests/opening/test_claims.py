"""Several workers open one tender together: each document is claimed before it is unsealed, so
none is unsealed or verified twice; a dead worker's claims run out and are taken over; the
record is written once; the reconciler leaves a live opening alone.

The counts come from the opening's own instrumentation hook (``Opener.observe``), told each
time a document is unsealed or verified; nothing of the opening is replaced.
"""

from __future__ import annotations

import dataclasses
import io
import threading
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from tender.bids.schemas import Receipt
from tender.clock import ManualClock
from tender.opening import run
from tender.opening.models import OpeningClaim, OpeningResult
from tender.opening.run import HELP_AGAIN, IN_WORK_HERE, OPENING_LEASE, Opener, OpeningOutcome
from tender.platform import Platform
from tender.signing.signer import sign_detached
from tender.signing.testing import TestPKI, signed_pdf
from tender.tenders.models import Tender, TenderStatus
from tests.conftest import People
from tests.helpers import audit_kinds, published_tender, register_signer, upload


class Tally:
    """What the openers did to each document, from ``Opener.observe`` (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.unsealed: Counter[uuid.UUID] = Counter()
        self.verified: Counter[uuid.UUID] = Counter()

    def __call__(self, what: str, document_id: uuid.UUID) -> None:
        with self._lock:
            (self.unsealed if what == "unsealed" else self.verified)[document_id] += 1


def _many_bids(
    platform: Platform, people: People, clock: ManualClock, pki: TestPKI, count: int
) -> tuple[Tender, list[Receipt]]:
    """A tender with ``count`` signed PDFs (Alice's and Bob's, by turns) and one detached
    signature with its file (Alice's), past its deadline."""
    tender = published_tender(platform, people.officer, clock, hours=1)
    register_signer(platform, people.alice, pki, "supplier-a")
    register_signer(platform, people.bob, pki, "supplier-b")
    receipts = []
    for number in range(count):
        supplier, signer = (
            (people.alice, "supplier-a") if number % 2 else (people.bob, "supplier-b")
        )
        pdf = signed_pdf(pki, signer, f"Bid part {number}")
        receipts.append(upload(platform, supplier, tender.id, f"part-{number}.pdf", [pdf]))
    prices = b"item,price\nasphalt,1200\n" * 100
    p7s = io.BytesIO()
    sign_detached(io.BytesIO(prices), p7s, pki.signer("supplier-a"))
    receipts.append(upload(platform, people.alice, tender.id, "prices.csv", [prices]))
    receipts.append(upload(platform, people.alice, tender.id, "prices.csv.p7s", [p7s.getvalue()]))
    clock.set(tender.deadline + timedelta(seconds=1))
    return tender, receipts


def _results(platform: Platform) -> dict[uuid.UUID, OpeningResult]:
    with platform.sessions.begin() as session:
        return {r.document_id: r for r in session.scalars(select(OpeningResult))}


def test_two_openers_at_once_unseal_and_verify_every_document_exactly_once(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI
) -> None:
    """Two workers (each its own opener, as in two processes) open one tender at once."""
    tender, receipts = _many_bids(platform, people, clock, test_pki, count=16)
    tally = Tally()
    openers = [dataclasses.replace(platform.opener, observe=tally) for _ in range(2)]
    start = threading.Barrier(2)
    outcomes: list[OpeningOutcome] = []
    errors: list[BaseException] = []

    def open_it(opener: Opener) -> None:
        start.wait()
        try:
            outcomes.append(opener.open_tender(tender.id))
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    workers = [threading.Thread(target=open_it, args=(opener,)) for opener in openers]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert errors == []
    ids = {receipt.receipt_id for receipt in receipts}
    assert tally.unsealed == Counter(dict.fromkeys(ids, 1))
    assert tally.verified == Counter(dict.fromkeys(ids, 1))
    assert sum(outcome.documents_opened_now for outcome in outcomes) == len(ids)
    assert set(_results(platform)) == ids
    kinds = audit_kinds(platform, tender.id)
    assert kinds.count("bid.opened") == len(ids)
    assert kinds.count("opening.started") == 1
    assert kinds.count("opening.finished") == 1  # the record, written once
    assert {outcome.status for outcome in outcomes} <= {TenderStatus.OPENING, TenderStatus.OPENED}
    with platform.sessions.begin() as session:
        opened = session.get(Tender, tender.id)
        assert opened is not None
        assert opened.status == TenderStatus.OPENED
        # Who opened what: every document was claimed, and nothing is held any more.
        claims = list(session.scalars(select(OpeningClaim)))
    assert {claim.document_id for claim in claims} == ids
    assert all(claim.claimed_until <= clock.now() for claim in claims)


def test_the_work_is_spread_over_both_openers(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI
) -> None:
    """The second opener does not wait for the first to finish: it takes documents the first
    has not claimed (here, the first is held up on its first document until the second has
    opened one)."""
    tender, receipts = _many_bids(platform, people, clock, test_pki, count=6)
    second_opened_one = threading.Event()
    first_started = threading.Event()
    tally = Tally()

    def first_observes(what: str, document_id: uuid.UUID) -> None:
        tally(what, document_id)
        if not first_started.is_set():
            first_started.set()
            assert second_opened_one.wait(60), "the second opener never opened a document"

    def second_observes(what: str, document_id: uuid.UUID) -> None:
        tally(what, document_id)
        if what == "verified":
            second_opened_one.set()

    first = dataclasses.replace(platform.opener, observe=first_observes)
    second = dataclasses.replace(platform.opener, observe=second_observes)
    outcomes: dict[str, OpeningOutcome] = {}
    thread = threading.Thread(target=lambda: outcomes.update(first=first.open_tender(tender.id)))
    thread.start()
    assert first_started.wait(60)
    outcomes["second"] = second.open_tender(tender.id)
    thread.join()

    ids = {receipt.receipt_id for receipt in receipts}
    assert tally.unsealed == Counter(dict.fromkeys(ids, 1))
    assert outcomes["second"].documents_opened_now >= 1
    assert outcomes["first"].documents_opened_now >= 1
    assert outcomes["first"].documents_opened_now + outcomes["second"].documents_opened_now == 8
    assert audit_kinds(platform, tender.id).count("opening.finished") == 1


def test_a_second_thread_of_the_same_process_leaves_the_tender_to_the_first(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI
) -> None:
    """Within one process one thread opens a tender (a second would only compete for the
    interpreter); a message for it that reaches another thread asks to come back later, to
    find a process that can help, while documents are left unclaimed."""
    tender, receipts = _many_bids(platform, people, clock, test_pki, count=3)
    opener = platform.opener
    first_busy, second_done = threading.Event(), threading.Event()
    asked: list[OpeningOutcome] = []

    def observe(what: str, document_id: uuid.UUID) -> None:
        if not first_busy.is_set():
            first_busy.set()
            asked.append(opener.open_tender(tender.id))  # as another thread would, meanwhile
            second_done.set()

    object.__setattr__(opener, "observe", observe)
    try:
        outcome = opener.open_tender(tender.id)
    finally:
        object.__setattr__(opener, "observe", None)

    assert second_done.is_set()
    (second,) = asked
    assert (second.status, second.documents_opened_now) == (IN_WORK_HERE, 0)
    assert second.not_due_for == HELP_AGAIN
    assert outcome.status == TenderStatus.OPENED
    assert outcome.documents_opened_now == len(receipts)
    # Once nothing is left to claim, such a message just ends.
    assert opener.open_tender(tender.id).status == TenderStatus.OPENED


def test_a_dead_workers_documents_are_taken_over_when_its_lease_runs_out(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI
) -> None:
    tender, receipts = _many_bids(platform, people, clock, test_pki, count=4)
    # A worker starts the opening, claims two documents and dies (kill -9): its claims stay.
    dead = [receipts[0].receipt_id, receipts[1].receipt_id]
    tally = Tally()
    opener = dataclasses.replace(platform.opener, observe=tally)

    class DiesHoldingTwo(Opener):
        """Claims like any opener, then stops dead before opening anything (no clean-up)."""

        def _work(self, tender_id: uuid.UUID, *args: object, **kwargs: object) -> int:
            with self.sessions.begin() as session:
                for document_id in dead:
                    session.add(
                        OpeningClaim(
                            document_id=document_id,
                            tender_id=tender_id,
                            worker="gone:1:dead",
                            claimed_until=self.clock.now() + OPENING_LEASE,
                        )
                    )
            raise _Killed

    parts = {f.name: getattr(opener, f.name) for f in dataclasses.fields(Opener) if f.init}
    with pytest.raises(_Killed):
        DiesHoldingTwo(**parts).open_tender(tender.id)
    reconciler = platform.reconciler()

    outcome = opener.open_tender(tender.id)  # e.g. a helper, or the message re-delivered

    assert outcome.status == TenderStatus.OPENING  # two documents are still someone's
    assert outcome.documents_opened_now == len(receipts) - 2
    assert set(tally.unsealed) == {r.receipt_id for r in receipts} - set(dead)
    assert reconciler.run_once() == []  # the claims are live: left alone
    assert "opening.finished" not in audit_kinds(platform, tender.id)

    clock.advance(OPENING_LEASE)
    assert reconciler.run_once() == [tender.id]  # they ran out: sent again
    again = opener.open_tender(tender.id)

    assert again.status == TenderStatus.OPENED
    assert again.documents_opened_now == 2
    assert tally.unsealed == Counter({r.receipt_id: 1 for r in receipts})
    assert set(_results(platform)) == {r.receipt_id for r in receipts}
    assert audit_kinds(platform, tender.id).count("opening.finished") == 1
    assert reconciler.run_once() == []


def test_a_claim_is_renewed_while_its_document_takes_longer_than_a_lease(
    platform: Platform,
    people: People,
    clock: ManualClock,
    test_pki: TestPKI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(run, "LEASE_RENEWAL_SECONDS", 0.05)
    tender, _ = _many_bids(platform, people, clock, test_pki, count=1)
    seen: list[tuple[datetime, list[uuid.UUID]]] = []

    def renewed(document_id: uuid.UUID) -> datetime:
        """Wait for the background renewal to push the claim to a full lease from now."""
        give_up = time.monotonic() + 30
        while time.monotonic() < give_up:
            with platform.sessions.begin() as session:
                claim = session.get(OpeningClaim, document_id)
            assert claim is not None
            if claim.claimed_until == clock.now() + OPENING_LEASE:
                return claim.claimed_until
            time.sleep(0.02)
        raise AssertionError("the claim was not renewed")

    def slow(what: str, document_id: uuid.UUID) -> None:
        if what != "unsealed" or seen:
            return
        claimed_at = clock.now()
        for _ in range(3):  # this file takes longer than two leases
            clock.advance(OPENING_LEASE * 3 / 4)
            seen.append((renewed(document_id), platform.reconciler().run_once()))
        assert clock.now() - claimed_at > OPENING_LEASE * 2

    outcome = dataclasses.replace(platform.opener, observe=slow).open_tender(tender.id)

    assert len(seen) == 3
    assert all(reconciled == [] for _, reconciled in seen)  # live: nobody else is sent to it
    assert outcome.status == TenderStatus.OPENED


def test_a_worker_that_fails_gives_its_claims_back(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI
) -> None:
    """An exception (storage gone, say) is not a death: the claims are released at once, so
    the retry of the message does not wait for the lease."""
    tender, receipts = _many_bids(platform, people, clock, test_pki, count=2)

    unsealed: list[uuid.UUID] = []

    def fails_on_the_second(what: str, document_id: uuid.UUID) -> None:
        if what == "unsealed":
            unsealed.append(document_id)
            if len(unsealed) == 2:
                raise ConnectionError("object store went away")

    with pytest.raises(ConnectionError):
        dataclasses.replace(platform.opener, observe=fails_on_the_second).open_tender(tender.id)
    with platform.sessions.begin() as session:
        live = session.scalars(
            select(OpeningClaim).where(OpeningClaim.claimed_until > clock.now())
        ).all()
    assert live == []
    assert platform.reconciler().run_once() == [tender.id]

    outcome = platform.opener.open_tender(tender.id)  # the retry, at the same moment

    assert outcome.status == TenderStatus.OPENED
    assert set(_results(platform)) == {r.receipt_id for r in receipts}


def test_the_record_is_written_by_one_worker_only(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI
) -> None:
    """All results are in, but another worker holds the claim on writing the record: this one
    leaves it to that one (and takes it over if its lease runs out)."""
    tender, receipts = _many_bids(platform, people, clock, test_pki, count=1)
    opener = platform.opener

    class StopsBeforeTheRecord(Opener):
        def _missing_results(self, *args: object) -> set[uuid.UUID]:
            return {uuid.uuid4()}  # as if another worker were still at work

    parts = {f.name: getattr(opener, f.name) for f in dataclasses.fields(Opener) if f.init}
    first = StopsBeforeTheRecord(**parts).open_tender(tender.id)
    assert first.status == TenderStatus.OPENING
    assert first.documents_opened_now == len(receipts)
    # Another worker claimed the record (a lease on the claim of the first due document, one
    # of these) and is writing it.
    with platform.sessions.begin() as session:
        session.execute(
            update(OpeningClaim)
            .where(OpeningClaim.tender_id == tender.id)
            .values(worker="record:elsewhere:2:abcd", claimed_until=clock.now() + OPENING_LEASE)
        )

    assert opener.open_tender(tender.id).status == TenderStatus.OPENING
    assert "opening.finished" not in audit_kinds(platform, tender.id)

    clock.advance(OPENING_LEASE)  # that worker died while writing it
    assert opener.open_tender(tender.id).status == TenderStatus.OPENED
    assert audit_kinds(platform, tender.id).count("opening.finished") == 1


class _Killed(BaseException):
    """Stands for kill -9: nothing after it runs in that worker."""
