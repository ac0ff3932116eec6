"""HTTP API of bids. There is deliberately no route that returns a bid's content."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Final

import anyio
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, PathParameter, QueryParameter

from tender.accounts.guards import EVERY_ROLE, allow
from tender.accounts.models import Role, User
from tender.bids.dependencies import provide_bid_service
from tender.bids.intake import MAX_FILE_NAME, BidIntake
from tender.bids.resumable import ResumableUploads
from tender.bids.schemas import (
    PLAINTEXT_SHA256_HEADER,
    BidSummary,
    FingerprintIn,
    FingerprintReceipt,
    OwnReceipt,
    Receipt,
    UploadStart,
    UploadState,
    Withdrawal,
    WithdrawalReceipt,
)
from tender.bids.service import BidService
from tender.clock import Clock
from tender.config import Settings
from tender.errors import RequestTimeout, TooLarge
from tender.i18n import gettext as _
from tender.i18n import gettext_noop as N_  # noqa: N812 (the name extractors look for)

FileName = Annotated[
    str,
    PathParameter(
        description="The file's name: no slashes, control or bidirectional-override characters.",
        # Described, not checked here: the intake refuses a longer name (422) and says why.
        schema_extra={"maxLength": MAX_FILE_NAME},
    ),
]


class BidController(Controller):
    path = "/api/tenders/{tender_id:uuid}/bids"
    tags = ("bids",)
    dependencies = {"bids": Provide(provide_bid_service, sync_to_thread=False)}

    @put(
        "/{file_name:str}",
        guards=allow(Role.SUPPLIER, to=N_("submit bids")),
        status_code=201,
        # TENDER_MAX_BID_BYTES is enforced here on the declared length and by the intake while
        # streaming; Litestar's 10 MB default would refuse ordinary bids.
        request_max_body_size=None,
        summary="Upload one bid document (suppliers); the body is the file's raw bytes",
        description=(
            "Streams the file: it is hashed and sealed chunk by chunk and stored under Object "
            "Lock. Answers with the receipt. Refused with 409 once the deadline has passed, "
            "413 if the declared length is over the platform's limit, 408 if the body stops "
            "arriving. A supplier-sealed tender takes only a stream sealed to its public key "
            "(`tender submit --seal`), with header X-Tender-Plaintext-SHA256 (the plain file's "
            "SHA-256): it is stored as it came, and not pre-checked (the platform cannot read "
            "it; the command pre-checks it locally); anything else is refused with 422. "
            "A two-envelope tender's files go in ?envelope=technical (the default) "
            "or ?envelope=financial; a single-envelope tender refuses a financial one."
        ),
    )
    async def submit(
        self,
        request: Request[Any, Any, Any],
        tender_id: FromPath[uuid.UUID],
        file_name: FileName,
        user: NamedDependency[User],
        bid_intake: NamedDependency[BidIntake],
        settings: NamedDependency[Settings],
        envelope: FromQuery[str | None] = None,
    ) -> Receipt:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > bid_intake.max_bytes:
            # Refused before a byte of the body is read.
            raise TooLarge(
                _("The file is too large."),
                _(
                    "It is {declared:,} bytes; this platform accepts bid files of up to "
                    "{max_bytes:,} bytes."
                ).format(declared=int(declared), max_bytes=bid_intake.max_bytes),
                _("Split the bid into several files, or ask the procuring entity."),
                tender_id=tender_id,
            )
        return await bid_intake.submit(
            supplier=user,
            tender_id=tender_id,
            file_name=file_name,
            declared_size=int(declared) if declared.isdigit() else None,
            declared_sha256=request.headers.get(PLAINTEXT_SHA256_HEADER),
            envelope=envelope,
            chunks=arriving(
                request.stream(), idle_seconds=settings.upload_idle_seconds, tender_id=tender_id
            ),
        )

    @get(
        "/",
        guards=allow(*EVERY_ROLE, to=N_("see what a tender received")),
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


UPLOADING: Final = allow(Role.SUPPLIER, to="submit bids")
Offset = Annotated[
    int,
    QueryParameter(
        ge=0, description="Where this part starts in the file: the bytes received so far."
    ),
]


class UploadController(Controller):
    """A bid file sent in parts, resumed after a broken connection, then completed (see
    :mod:`tender.bids.resumable`)."""

    path = "/api/tenders/{tender_id:uuid}/uploads"
    tags = ("bids",)

    @post(
        "/",
        guards=UPLOADING,
        status_code=201,
        summary="Start a resumable upload of one bid file (suppliers)",
        description=(
            "For a large file or a poor connection: send the file in parts (PUT .../{upload_id}"
            "?offset=N), resume after a break from the offset GET .../{upload_id} gives, then "
            "complete it (POST .../{upload_id}/complete), which submits it exactly as the "
            "streamed PUT .../bids/{file_name} does. Refused as that PUT is: 409 after the "
            "deadline, 413 over your quota, 422 for a bad name or envelope; 422 too for a size "
            "of 0 or over the platform's limit of bid files. An upload in progress lives in one "
            "server process: nothing reaching it for TENDER_RESUMABLE_IDLE_SECONDS, or a "
            "restart, drops it (404 then: start again)."
        ),
    )
    async def start(
        self,
        tender_id: FromPath[uuid.UUID],
        data: JSONBody[UploadStart],
        user: NamedDependency[User],
        uploads: NamedDependency[ResumableUploads],
    ) -> UploadState:
        return await uploads.start(supplier=user, tender_id=tender_id, data=data)

    @get(
        "/{upload_id:uuid}",
        guards=UPLOADING,
        summary="How much of a resumable upload has arrived: the offset of its next part",
    )
    async def state(
        self,
        tender_id: FromPath[uuid.UUID],
        upload_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        uploads: NamedDependency[ResumableUploads],
    ) -> UploadState:
        return await uploads.state(supplier=user, tender_id=tender_id, upload_id=upload_id)

    @put(
        "/{upload_id:uuid}",
        guards=UPLOADING,
        request_max_body_size=None,  # a part may be of any size: it streams
        summary="Send the next part of a resumable upload; the body is its raw bytes",
        description=(
            "The part is sealed as it arrives. It must start at ?offset= the bytes received "
            "so far (else 409, with details.received); a part cut off keeps what arrived of "
            "it. 413 for bytes beyond the size the upload was started with, 408 if the body "
            "stops arriving, 409 once the deadline has passed (the upload is then dropped)."
        ),
    )
    async def append(
        self,
        request: Request[Any, Any, Any],
        tender_id: FromPath[uuid.UUID],
        upload_id: FromPath[uuid.UUID],
        offset: Offset,
        user: NamedDependency[User],
        uploads: NamedDependency[ResumableUploads],
        settings: NamedDependency[Settings],
    ) -> UploadState:
        return await uploads.append(
            supplier=user,
            tender_id=tender_id,
            upload_id=upload_id,
            offset=offset,
            chunks=arriving(
                request.stream(), idle_seconds=settings.upload_idle_seconds, tender_id=tender_id
            ),
        )

    @post(
        "/{upload_id:uuid}/complete",
        guards=UPLOADING,
        status_code=201,
        summary="Submit a resumable upload once all of it has arrived; answers with the receipt",
        description=(
            "The bid is received when this request arrives (the platform's clock decides): "
            "409 after the deadline, or before every byte has arrived (details.received). "
            "Answers as PUT .../bids/{file_name} does: the receipt and the signature pre-check."
        ),
    )
    async def complete(
        self,
        tender_id: FromPath[uuid.UUID],
        upload_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        uploads: NamedDependency[ResumableUploads],
        clock: NamedDependency[Clock],
        arrived_at: NamedDependency[datetime | None],
    ) -> Receipt:
        return await uploads.complete(
            supplier=user,
            tender_id=tender_id,
            upload_id=upload_id,
            arrived_at=arrived_at or clock.now(),
        )

    @delete(
        "/{upload_id:uuid}",
        guards=UPLOADING,
        summary="Cancel a resumable upload: what arrived of it is thrown away",
    )
    async def cancel(
        self,
        tender_id: FromPath[uuid.UUID],
        upload_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        uploads: NamedDependency[ResumableUploads],
    ) -> None:
        await uploads.cancel(supplier=user, tender_id=tender_id, upload_id=upload_id)


class FingerprintController(Controller):
    path = "/api/tenders/{tender_id:uuid}/fingerprints"
    tags = ("bids",)

    @post(
        "/",
        guards=allow(Role.SUPPLIER, to=N_("register bid fingerprints")),
        status_code=201,
        summary="Register a bid file's SHA-256 before the deadline (fingerprint-first tenders)",
        description=(
            "For a tender with a files' grace period: the file's fingerprint, received by the "
            "deadline, lets the file itself be uploaded until the grace period ends; only a file "
            "with this SHA-256 is then received. Answers with a signed receipt. Refused with "
            "409 after the deadline, 400 for a tender that takes files directly."
        ),
    )
    async def register(
        self,
        tender_id: FromPath[uuid.UUID],
        data: JSONBody[FingerprintIn],
        user: NamedDependency[User],
        bid_intake: NamedDependency[BidIntake],
        arrived_at: NamedDependency[datetime | None],
    ) -> FingerprintReceipt:
        return await bid_intake.register_fingerprint(
            supplier=user,
            tender_id=tender_id,
            file_name=data.file_name,
            sha256=data.sha256,
            arrived_at=arrived_at,
        )


class WithdrawalController(Controller):
    path = "/api/tenders/{tender_id:uuid}/withdrawal"
    tags = ("bids",)

    @post(
        "/",
        guards=allow(Role.SUPPLIER, to=N_("withdraw bids")),
        status_code=201,
        summary="Withdraw your bid, or one file of it, before the deadline (suppliers)",
        description=(
            'Body: {"file_name": "price.pdf"} for one file, {} for the whole bid. What is '
            "withdrawn stays sealed and logged but is not opened; answers with a signed "
            "receipt. Refused with 409 after the deadline (the platform's clock decides) or "
            "for a cancelled tender."
        ),
    )
    async def withdraw(
        self,
        tender_id: FromPath[uuid.UUID],
        data: JSONBody[Withdrawal],
        user: NamedDependency[User],
        bid_intake: NamedDependency[BidIntake],
        arrived_at: NamedDependency[datetime | None],
    ) -> WithdrawalReceipt:
        return await bid_intake.withdraw(
            supplier=user,
            tender_id=tender_id,
            file_name=data.file_name,
            arrived_at=arrived_at,
        )


class ReceiptController(Controller):
    path = "/api/receipts"
    tags = ("bids",)
    dependencies = {"bids": Provide(provide_bid_service, sync_to_thread=False)}

    @get(
        "/",
        guards=allow(Role.SUPPLIER, to=N_("list your receipts")),
        sync_to_thread=True,
        summary="Your receipts (of one tender, or all), each saying whether it counts",
        description=(
            "For each file you submitted: its receipt, and whether that version counts for "
            "the opening (the latest received in time of each file name) or was superseded."
        ),
    )
    def own(
        self,
        user: NamedDependency[User],
        bids: NamedDependency[BidService],
        tender_id: FromQuery[uuid.UUID | None] = None,
    ) -> list[OwnReceipt]:
        return bids.own_receipts(supplier=user, tender_id=tender_id)

    @get(
        "/{receipt_id:uuid}/pdf",
        guards=allow(Role.SUPPLIER, to=N_("read receipts")),
        sync_to_thread=True,
        media_type="application/pdf",
        summary="One of your receipts as a PDF to file, with the signed receipt attached",
    )
    def pdf(
        self,
        receipt_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        bids: NamedDependency[BidService],
    ) -> Response[bytes]:
        return Response(
            bids.own_receipt_pdf(supplier=user, receipt_id=receipt_id),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="receipt-{receipt_id}.pdf"'},
        )


async def arriving(
    chunks: AsyncIterator[bytes], *, idle_seconds: float, tender_id: uuid.UUID
) -> AsyncIterator[bytes]:
    """The body's chunks, refused once none has arrived for ``idle_seconds``: a stalled upload
    must not hold its temporary files (closed by the intake as the refusal passes) for ever."""
    while True:
        try:
            with anyio.fail_after(idle_seconds):
                chunk = await anext(chunks)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise RequestTimeout(
                _("The upload stopped."),
                _(
                    "No part of the file arrived for {idle_seconds:g} seconds, so the platform "
                    "gave up on it; nothing was submitted and no receipt was issued."
                ).format(idle_seconds=idle_seconds),
                _("Check your connection and upload the file again."),
                tender_id=tender_id,
            ) from None
        yield chunk
