"""What the bids controllers are given: the bid service on the request's session.

Uploads use the platform's :class:`~tender.bids.intake.BidIntake` (the ``bid_intake``
dependency), which owns its short transactions because an upload streams for minutes.
"""

from __future__ import annotations

from litestar.di import NamedDependency
from sqlalchemy.orm import Session

from tender.bids.service import BidService
from tender.clock import Clock


def provide_bid_service(
    db_session: NamedDependency[Session], clock: NamedDependency[Clock]
) -> BidService:
    return BidService(session=db_session, clock=clock)
