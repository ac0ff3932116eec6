"""Resumable uploads: a bid file sent in parts, each at the offset where the last one ended,
so that a large file survives a flaky connection; then completed by one request, which is
when the bid is received.

Each part is sealed as it arrives, into the spool a streamed upload uses
(:meth:`BidIntake.begin`), and completing runs the streamed upload's own path
(:meth:`BidIntake.deliver`): the same deadline rule, by the server's clock when the completing
request's last byte arrived, the same pre-check, storage and receipt. Until then nothing is
stored or recorded, and the supplier may still change their mind (or cancel).

Uploads in progress live in this server process: memory holds at most one sealing chunk of
each (the rest is on disk, sealed, with the plain copy the pre-check needs under the same
rule as a streamed upload), their number is bounded, and one that nothing reaches for a while
is dropped. A restart ends them all (the client starts again), and every part of one upload
must reach the same process (one process, or sticky sessions).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

import anyio
import anyio.to_thread

from tender.accounts.models import User
from tender.bids.intake import ArrivingBid, BidIntake, empty_file, too_large
from tender.bids.schemas import Receipt, UploadStart, UploadState
from tender.errors import Conflict, NotFound, TenderClosed, TooLarge, Unavailable
from tender.i18n import gettext as _
from tender.tenders.access import require_visible
from tender.tenders.service import get_tender

PART_SIZE: Final = 1024 * 1024
"""The size of part clients are asked to send: small enough to resend cheaply."""
PER_SUPPLIER: Final = 5
"""Uploads one supplier may have in progress at once (the page sends one file at a time)."""


@dataclass(eq=False)
class _Upload:
    id: uuid.UUID
    bid: ArrivingBid
    size: int
    touched_at: datetime
    busy: anyio.Lock = field(default_factory=anyio.Lock)

    @property
    def received(self) -> int:
        return self.bid.spool.size


class ResumableUploads:
    """The uploads in progress in this process (see the module); built once per platform."""

    def __init__(self, intake: BidIntake, *, idle: timedelta, capacity: int) -> None:
        self.intake = intake
        self.idle = idle
        self.capacity = capacity
        self._uploads: dict[uuid.UUID, _Upload] = {}

    async def start(
        self, *, supplier: User, tender_id: uuid.UUID, data: UploadStart
    ) -> UploadState:
        """Refuse an upload the tender would not take now (as a streamed one is refused before
        its first byte), else keep a place for its parts."""
        self._expire()
        bid = await self.intake.begin(
            supplier=supplier,
            tender_id=tender_id,
            file_name=data.file_name,
            declared_size=data.size,
            declared_sha256=data.plaintext_sha256,
            envelope=data.envelope,
        )
        try:
            self._refuse_unless_room(supplier, tender_id, data.size)
        except BaseException:
            bid.spool.close()
            raise
        upload = _Upload(uuid.uuid4(), bid, data.size, self.intake.clock.now())
        self._uploads[upload.id] = upload
        return self._state(upload)

    async def state(
        self, *, supplier: User, tender_id: uuid.UUID, upload_id: uuid.UUID
    ) -> UploadState:
        return self._state(await self._find(supplier, tender_id, upload_id))

    async def append(
        self,
        *,
        supplier: User,
        tender_id: uuid.UUID,
        upload_id: uuid.UUID,
        offset: int,
        chunks: AsyncIterator[bytes],
    ) -> UploadState:
        """Seal a part that starts at ``offset``, which must be where the upload stands (else
        409, saying where it stands). A part cut short keeps what arrived of it: ask where the
        upload stands, and go on from there."""
        upload = await self._find(supplier, tender_id, upload_id)
        self._refuse_while_busy(upload)
        async with upload.busy:
            if self._uploads.get(upload.id) is not upload:  # completed or cancelled meanwhile
                raise self._gone(tender_id, upload_id)
            if offset != upload.received:
                raise Conflict(
                    _(
                        "This part starts at byte {offset:,}, but the upload stands at byte "
                        "{received:,}."
                    ).format(offset=offset, received=upload.received),
                    _("Each part must start where what has arrived ends."),
                    _("Send the file from byte {received:,} on.").format(received=upload.received),
                    tender_id=tender_id,
                    details=_where(upload),
                )
            try:
                await self.intake.refuse_if_late(upload.bid, at=self.intake.clock.now())
            except TenderClosed:
                self._drop(upload)
                raise
            async for chunk in chunks:
                if upload.received + len(chunk) > upload.size:
                    raise TooLarge(
                        _("This part goes beyond the end of the file."),
                        _("The upload was started for {size:,} bytes.").format(size=upload.size),
                        _(
                            "Send only the rest of the file, or cancel this upload and start "
                            "again with the file's size."
                        ),
                        tender_id=tender_id,
                        details=_where(upload),
                    )
                try:
                    upload.bid.spool.write(chunk)
                except BaseException:  # the spool refused it, or broke: it cannot go on
                    self._drop(upload)
                    raise
                upload.touched_at = self.intake.clock.now()
        return self._state(upload)

    async def complete(
        self, *, supplier: User, tender_id: uuid.UUID, upload_id: uuid.UUID, arrived_at: datetime
    ) -> Receipt:
        """Submit the file once every byte has arrived: received at ``arrived_at`` (when the
        completing request's last byte arrived), or refused, as a streamed upload would be."""
        upload = await self._find(supplier, tender_id, upload_id)
        self._refuse_while_busy(upload)
        if upload.received != upload.size:
            raise Conflict(
                _("Only {received:,} of the file's {size:,} bytes have arrived.").format(
                    received=upload.received, size=upload.size
                ),
                _("A file is submitted only once all of it has arrived."),
                _("Send the file from byte {received:,} on, then complete the upload.").format(
                    received=upload.received
                ),
                tender_id=tender_id,
                details=_where(upload),
            )
        del self._uploads[upload.id]
        try:
            spool = upload.bid.spool.finish()
        except BaseException:
            upload.bid.spool.close()
            raise
        return await self.intake.deliver(upload.bid, spool, arrived_at=arrived_at)

    async def cancel(self, *, supplier: User, tender_id: uuid.UUID, upload_id: uuid.UUID) -> None:
        """Throw away what arrived of an upload: nothing was submitted."""
        upload = await self._find(supplier, tender_id, upload_id)
        self._refuse_while_busy(upload)
        self._drop(upload)

    def close(self) -> None:
        """Throw away every upload in progress (the server stops)."""
        for upload in list(self._uploads.values()):
            self._drop(upload)

    def _refuse_unless_room(self, supplier: User, tender_id: uuid.UUID, size: int) -> None:
        if size <= 0:
            raise empty_file(tender_id)
        if size > self.intake.max_bytes:
            raise too_large(self.intake.max_bytes, tender_id)
        if sum(u.bid.supplier.id == supplier.id for u in self._uploads.values()) >= PER_SUPPLIER:
            raise Conflict(
                _("You already have {count} uploads in progress.").format(count=PER_SUPPLIER),
                _("Each upload in progress holds space on the platform until it is finished."),
                _("Finish or cancel one of them, then start this one."),
                tender_id=tender_id,
            )
        if len(self._uploads) >= self.capacity:
            raise Unavailable(
                _("The platform is receiving as many uploads as it can just now."),
                _("Each upload in progress holds space on the platform until it is finished."),
                _("Try again in a minute or two; the upload of one file at once still works."),
                tender_id=tender_id,
            )

    def _refuse_while_busy(self, upload: _Upload) -> None:
        if upload.busy.locked():
            raise Conflict(
                _("Another part of this upload is still arriving."),
                _("Parts of one upload are taken one at a time, in order."),
                _(
                    "Wait for it to end (or a minute, if it was cut off), then ask where the "
                    "upload stands."
                ),
                tender_id=upload.bid.tender_id,
                details=_where(upload),
            )

    async def _find(self, supplier: User, tender_id: uuid.UUID, upload_id: uuid.UUID) -> _Upload:
        self._expire()
        upload = self._uploads.get(upload_id)
        if upload is not None and (upload.bid.supplier.id, upload.bid.tender_id) == (
            supplier.id,
            tender_id,
        ):
            upload.touched_at = self.intake.clock.now()
            return upload
        # A tender the supplier may not see is not there, whatever the upload.
        await anyio.to_thread.run_sync(self._require_visible, supplier, tender_id)
        raise self._gone(tender_id, upload_id)

    def _gone(self, tender_id: uuid.UUID, upload_id: uuid.UUID) -> NotFound:
        return NotFound(
            _("There is no upload {upload_id} of yours to this tender.").format(
                upload_id=upload_id
            ),
            _(
                "It was completed or cancelled, or it was dropped: after {minutes:g} minutes "
                "without a part arriving, or when the platform restarted."
            ).format(minutes=self.idle.total_seconds() / 60),
            _("Start the upload of the file again."),
            tender_id=tender_id,
        )

    def _require_visible(self, supplier: User, tender_id: uuid.UUID) -> None:
        with self.intake.sessions.begin() as session:
            require_visible(session, supplier, get_tender(session, tender_id))

    def _expire(self) -> None:
        stale = self.intake.clock.now() - self.idle
        for upload in list(self._uploads.values()):
            if upload.touched_at < stale and not upload.busy.locked():
                self._drop(upload)

    def _drop(self, upload: _Upload) -> None:
        self._uploads.pop(upload.id, None)
        upload.bid.spool.close()

    def _state(self, upload: _Upload) -> UploadState:
        return UploadState(
            upload_id=upload.id,
            tender_id=upload.bid.tender_id,
            file_name=upload.bid.file_name,
            size=upload.size,
            received=upload.received,
            part_size=PART_SIZE,
            expires_at=upload.touched_at + self.idle,
        )


def _where(upload: _Upload) -> dict[str, int]:
    """Where an upload stands, for the client that resumes it."""
    return {"received": upload.received, "size": upload.size}
