"""Queue messages in the caller's transaction; the courier delivers them after it commits.

A service that wants somebody told builds ``NotificationService(session=..., clock=...)`` on
its own session and calls :meth:`NotificationService.tell` (users) or
:meth:`NotificationService.email` (an address that belongs to nobody yet). Nothing is sent
here: if the transaction rolls back, the message was never queued, and once it commits the
message is in the outbox for the courier, however often delivery then fails.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Protocol

from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from tender.clock import Clock
from tender.notifications.messages import ENGLISH, MessageKind, language_of, render
from tender.notifications.models import OutboxMessage

_QUEUED = "tender.notifications.queued"
log = logging.getLogger(__name__)


class Recipient(Protocol):
    """Who a message is for: a user (``tender.accounts.models.User``). Their ``email`` and
    ``language`` are read if the user has them."""

    @property
    def id(self) -> uuid.UUID: ...


class AboutTender(Protocol):
    """The tender a message is about (``tender.tenders.models.Tender``)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def reference(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def deadline(self) -> datetime: ...


class NotificationService:
    def __init__(self, *, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    def tell(
        self,
        recipients: Iterable[Recipient],
        message: MessageKind,
        *,
        tender: AboutTender | None,
        **params: object,
    ) -> list[OutboxMessage]:
        """Queue ``message`` for each of ``recipients``, in each one's language.

        ``tender`` fills in ``reference``, ``title`` and ``deadline``; ``params`` the rest
        (datetimes are shown in Hong Kong time and UTC). Each recipient gets a message of
        their own: none names the others.
        """
        about = {} if tender is None else _tender_params(tender)
        return [
            self._queue(
                to_address=getattr(recipient, "email", None) or "",
                language=getattr(recipient, "language", None) or ENGLISH,
                message=message,
                params={**about, **params},
                recipient_user_id=recipient.id,
                tender_id=None if tender is None else tender.id,
            )
            for recipient in recipients
        ]

    def email(
        self, to_address: str, language: str, message: MessageKind, **params: object
    ) -> OutboxMessage:
        """Queue ``message`` for an address that is no user's yet (a registration's
        confirmation)."""
        return self._queue(
            to_address=to_address,
            language=language,
            message=message,
            params=params,
            recipient_user_id=None,
            tender_id=None,
        )

    def _queue(
        self,
        *,
        to_address: str,
        language: str,
        message: MessageKind,
        params: dict[str, object],
        recipient_user_id: uuid.UUID | None,
        tender_id: uuid.UUID | None,
    ) -> OutboxMessage:
        language = language_of(language)
        rendered = render(message, language, params)
        now = self.clock.now()
        queued = OutboxMessage(
            recipient_user_id=recipient_user_id,
            to_address=to_address,
            language=language,
            kind=message.value,
            subject=rendered.subject,
            body=rendered.body,
            tender_id=tender_id,
            created_at=now,
            attempts=0,
            next_attempt_at=now,
        )
        self.session.add(queued)
        self.session.info[_QUEUED] = True
        return queued


def latest_messages(session: Session, *, limit: int) -> list[OutboxMessage]:
    """The ``limit`` messages queued last, newest first."""
    return list(
        session.scalars(
            select(OutboxMessage)
            .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id)
            .limit(limit)
        )
    )


def state_of(message: OutboxMessage) -> str:
    """Where a message stands, in a word or two."""
    if message.sent_at is not None:
        return "sent"
    if not message.to_address:
        return "no address"
    return "retrying" if message.attempts else "queued"


def _tender_params(tender: AboutTender) -> dict[str, object]:
    return {"reference": tender.reference, "title": tender.title, "deadline": tender.deadline}


def wake_after_commit(sessions: sessionmaker[Session], wake: Callable[[], None]) -> None:
    """Call ``wake`` after each commit of a session from ``sessions`` that queued a message
    (the platform asks the courier to deliver then, instead of at its next round)."""

    def committed(session: Session) -> None:
        if session.info.pop(_QUEUED, False):
            try:
                wake()
            except Exception:  # the commit stands; the courier's next round delivers
                log.exception("could not ask for the outbox to be delivered")

    def rolled_back(session: Session) -> None:
        session.info.pop(_QUEUED, None)

    event.listen(sessions, "after_commit", committed)
    event.listen(sessions, "after_rollback", rolled_back)
