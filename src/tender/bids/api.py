"""HTTP API of bids. There is deliberately no route that returns a bid's content."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from tender.accounts.guards import EVERY_ROLE, allow
from tender.accounts.models import Role, User
from tender.bids.dependencies import provide_bid_service
from tender.bids.intake import BidIntake
from tender.bids.schemas import BidSummary, Receipt
from tender.bids.service import BidService


class BidController(Controller):
    path = "/api/tenders/{tender_id:uuid}/bids"
    tags = ("bids",)
    dependencies = {"bids": Provide(provide_bid_service, sync_to_thread=False)}

    @put(
        "/{file_name:str}",
        guards=allow(Role.SUPPLIER, to="submit bids"),
        status_code=201,
        # The intake enforces TENDER_MAX_BID_BYTES while streaming; Litestar's 10 MB default
        # would refuse ordinary bids.
        request_max_body_size=None,
        summary="Upload one bid document (suppliers); the body is the file's raw bytes",
        description=(
            "Streams the file: it is hashed and sealed chunk by chunk and stored under Object "
            "Lock. Answers with the receipt. Refused with 409 once the deadline has passed."
        ),
    )
    async def submit(
        self,
        request: Request[Any, Any, Any],
        tender_id: FromPath[uuid.UUID],
        file_name: FromPath[str],
        user: NamedDependency[User],
        bid_intake: NamedDependency[BidIntake],
    ) -> Receipt:
        return await bid_intake.submit(
            supplier=user, tender_id=tender_id, file_name=file_name, chunks=request.stream()
        )

    @get(
        "/",
        guards=allow(*EVERY_ROLE, to="see what a tender received"),
        sync_to_thread=True,
        summary="How many documents were received, and your own receipts",
    )
    def summary(
        self,
        tender_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        bids: NamedDependency[BidService],
    ) -> BidSummary:
        return bids.summary(viewer=user, tender_id=tender_id)
