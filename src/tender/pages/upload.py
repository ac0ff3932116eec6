"""The supplier's bid upload page: choose files, watch them arrive, keep the receipts.

The files go to the resumable upload API (``/api/tenders/{id}/uploads``) in parts, from the
page's script (``static/upload.js``): with a progress bar, and resumed where the bytes
stopped when the connection breaks. Uploading needs JavaScript: a plain form can send a file
only as one multipart body, which can neither resume nor carry the session's CSRF token
without the platform reading the whole body first; without it, the page says so and names
``tender submit``, which streams a file with a progress bar. Once the files are in, the script
comes back here with their receipts, which the page shows in plain words (the receipt's own
words: :func:`tender.bids.receipts.in_words`), with the signature pre-check and what to do.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Final

from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from tender.accounts.guards import allow
from tender.accounts.models import Role, User
from tender.accounts.signin import Caller
from tender.bids.dependencies import provide_bid_service
from tender.bids.receipts import in_words
from tender.bids.resumable import PART_SIZE
from tender.bids.service import BidService
from tender.errors import TenderClosed
from tender.pages.errors import PAGE, failure_page
from tender.pages.session import VIEWER
from tender.tenders.dependencies import provide_tender_service
from tender.tenders.service import TenderService

MAX_RECEIPTS_SHOWN: Final = 50  # the files of one upload; bounds the query parameter


class UploadPages(Controller):
    """The bid upload page of one tender, for suppliers."""

    opt = {PAGE: True}
    include_in_schema = False
    exception_handlers = {500: failure_page}
    dependencies = {
        **VIEWER,
        "tenders": Provide(provide_tender_service, sync_to_thread=False),
        "bids": Provide(provide_bid_service, sync_to_thread=False),
    }

    @get(
        "/supplier/tenders/{tender_id:uuid}/upload",
        guards=allow(Role.SUPPLIER, to="submit bids"),
        sync_to_thread=True,
    )
    def upload_page(
        self,
        tender_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        viewer: NamedDependency[Caller | None],
        tenders: NamedDependency[TenderService],
        bids: NamedDependency[BidService],
        receipt: Annotated[
            list[uuid.UUID] | None, QueryParameter(max_items=MAX_RECEIPTS_SHOWN)
        ] = None,
    ) -> Template:
        tender = tenders.get(tender_id, viewer=user)
        now = tenders.clock.now()
        closed = _refusal_now(bids, user, tender.id, now)
        own = bids.own_receipts(supplier=user, tender_id=tender.id)
        wanted = set(receipt or ())
        return Template(
            "upload.html",
            context={
                "viewer": viewer,
                "tender": tender,
                "closed": closed,
                "seconds_left": max(0, int((tender.deadline - now).total_seconds())),
                "part_size": PART_SIZE,
                "received": [
                    _grouped(in_words(asdict(mine.receipt)))
                    for mine in own
                    if mine.receipt.receipt_id in wanted
                ],
                "receipts": own,
            },
        )


def _refusal_now(
    bids: BidService, supplier: User, tender_id: uuid.UUID, now: datetime
) -> TenderClosed | None:
    """The refusal a file arriving now would meet (the service's own rule, told before
    anything is sent), or None while some file may still come: any, by the deadline; after
    it, on a fingerprint-first tender, one whose fingerprint was registered in time."""
    fingerprinted = bids.summary(viewer=supplier, tender_id=tender_id).own_fingerprints
    refusal = None
    for name in ["", *(fingerprint.file_name for fingerprint in fingerprinted)]:
        try:
            bids.refuse_unless_open(supplier=supplier, tender_id=tender_id, file_name=name, at=now)
        except TenderClosed as refused:
            refusal = refusal or refused
        else:
            return None
    return refusal


def _grouped(rows: list[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    """A receipt's lines under their labels: a line without one goes on the line above it
    (the pre-check's message in each language), so that each term has its descriptions."""
    groups: list[tuple[str, list[str]]] = []
    for label, value in rows:
        if label or not groups:
            groups.append((label, [value]))
        else:
            groups[-1][1].append(value)
    return groups
