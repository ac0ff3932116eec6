"""HTTP API of bids. There is deliberately no route that returns a bid's content."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath

from tender.accounts.models import User
from tender.bids.schemas import BidSummary, Receipt
from tender.platform import Platform


class BidController(Controller):
    path = "/api/tenders/{tender_id:uuid}/bids"
    tags = ("bids",)

    @put(
        "/{file_name:str}",
        status_code=201,
        # The service enforces TENDER_MAX_BID_BYTES while streaming; Litestar's 10 MB default
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
        platform: NamedDependency[Platform],
    ) -> Receipt:
        return await platform.bids.submit(
            supplier=user, tender_id=tender_id, file_name=file_name, chunks=request.stream()
        )

    @get(
        "/",
        sync_to_thread=True,
        summary="How many documents were received, and your own receipts",
    )
    def summary(
        self,
        tender_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        platform: NamedDependency[Platform],
    ) -> BidSummary:
        return platform.bids.summary(viewer=user, tender_id=tender_id)
