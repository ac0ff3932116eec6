"""The reconciler: a lost or early-dropped message never leaves a tender unopened, and a
dead worker never leaves an opening half done (its claims run out, then it is re-sent).

A background job, so it owns its transactions. Each round also runs the platform's other
periodic duties (the sweep that names stored objects no bid was recorded for).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tender.clock import Clock
from tender.committee.service import quorum_waiting
from tender.jobs import Jobs
from tender.opening.models import OpeningClaim
from tender.qualification.models import FinancialOpening
from tender.tenders.service import tenders_due_for_opening

log = logging.getLogger(__name__)


class Reconciler:
    """Every ``interval`` seconds, asks for the opening of each tender past its deadline, and
    runs each of ``duties``."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        clock: Clock,
        jobs: Jobs,
        interval: float,
        duties: Sequence[Callable[[], object]] = (),
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._jobs = jobs
        self._interval = interval
        self._duties = tuple(duties)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> list[uuid.UUID]:
        """Enqueue an opening for every overdue tender no worker is opening now; returns their
        ids.

        A tender some worker holds a live claim on (a document being opened, or the record
        being written) is left alone: re-sending it would only set another worker on the same
        documents. Once its claims run out (the worker died), it is enqueued again. So is a
        committee tender whose committee has not released a quorum of shares: the release
        that completes it asks for the opening (and this asks, if that message was lost). A
        two-envelope tender's financial opening, once requested, is enqueued the same way
        until it has finished.
        """
        now = self._clock.now()
        with self._sessions.begin() as session:
            overdue = tenders_due_for_opening(session, now=now)
            waiting = quorum_waiting(session, overdue)
            overdue = [tender_id for tender_id in overdue if tender_id not in waiting]
            # Two-envelope tenders whose financial opening was requested and has not finished.
            overdue += session.scalars(
                select(FinancialOpening.tender_id).where(FinancialOpening.finished_at.is_(None))
            )
            live = set(
                session.scalars(
                    select(OpeningClaim.tender_id)
                    .where(OpeningClaim.tender_id.in_(overdue), OpeningClaim.claimed_until > now)
                    .distinct()
                )
            )
        due = [tender_id for tender_id in overdue if tender_id not in live]
        for tender_id in live:
            log.debug("reconciler: tender %s is being opened; left alone", tender_id)
        for tender_id in due:
            log.info(
                "reconciler: tender %s is past its deadline and not opened; enqueued", tender_id
            )
            self._jobs.request_opening(tender_id)
        return due

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="tender-reconciler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while True:  # a round at start-up too: tenders may have come due while we were down
            try:
                self.run_once()
                for duty in self._duties:
                    duty()
            except Exception:  # keep reconciling; the next round may succeed
                log.exception("reconciler round failed")
            if self._stop.wait(self._interval):
                return
