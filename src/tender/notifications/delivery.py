"""Delivering the outbox: to an SMTP server, or (the embedded default) to a folder of .eml
files. A message is marked sent only once the server (or the disk) has it; a failure is kept
with the message and retried with a growing pause, for as long as it takes.

The courier is a background job, so it owns its transactions: it claims a few due messages
(moving their next attempt past a lease, so another courier leaves them alone), sends them with
no transaction open, and records each outcome. If it dies in between, the lease runs out and
the message is sent again: a message may come twice, never not at all.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tender.clock import Clock
from tender.config import Settings
from tender.notifications.models import OutboxMessage

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # longer than any one SMTP conversation takes
FIRST_RETRY = timedelta(seconds=30)
LONGEST_PAUSE = timedelta(hours=1)
BATCH = 50
SMTP_TIMEOUT_SECONDS = 30


class Transport(Protocol):
    """Where messages go; raises if this one did not get there."""

    def send(self, message: EmailMessage) -> None: ...


class OutboxFolder:
    """The embedded default: each message as ``<id>.eml`` in a folder only the platform's user
    can read (mail holds confirmation links)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: EmailMessage) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = f"{message['X-Tender-Message-Id']}.eml"
        partial = self.folder / f".{name}.partial"
        # Written whole, then renamed: a reader never sees half a message, and a message sent
        # again (after a crash) replaces its earlier copy.
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(message.as_bytes())
            file.flush()
            os.fsync(file.fileno())
        partial.replace(self.folder / name)


@dataclass(frozen=True)
class SmtpServer:
    """An SMTP server (``smtplib``): STARTTLS unless turned off, and a login if a user is set."""

    host: str
    port: int
    user: str = ""
    password: str = ""
    starttls: bool = True
    tls: ssl.SSLContext | None = None  # None: the system's trusted authorities

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
            if self.starttls:
                smtp.starttls(context=self.tls or ssl.create_default_context())
            if self.user:
                smtp.login(self.user, self.password)
            smtp.send_message(message)


def transport_for(settings: Settings) -> Transport:
    """SMTP if ``TENDER_SMTP_HOST`` is set, else the outbox folder under the data folder."""
    if not settings.smtp_host:
        return OutboxFolder(settings.effective_outbox_dir)
    password_file = settings.smtp_password_file
    return SmtpServer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        user=settings.smtp_user,
        password=password_file.read_text().strip() if password_file else "",
        starttls=settings.smtp_starttls,
    )


@dataclass(frozen=True)
class Delivered:
    """What one round of delivery did."""

    sent: list[uuid.UUID]
    failed: list[uuid.UUID]


def pause_after(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failure: doubling, up to an hour."""
    doubled: timedelta = FIRST_RETRY * 2 ** min(attempts - 1, 16)
    return min(doubled, LONGEST_PAUSE)


class Courier:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        clock: Clock,
        transport: Transport,
        sender: str,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.transport = transport
        self.sender = sender

    def deliver_pending(self) -> Delivered:
        """Send every message that is due, a batch at a time; returns what was sent and what
        failed (to be retried later)."""
        sent: list[uuid.UUID] = []
        failed: list[uuid.UUID] = []
        while batch := self._claim():
            for message in batch:
                error = self._send(message)
                self._record(message.id, error)
                (failed if error else sent).append(message.id)
        return Delivered(sent=sent, failed=failed)

    def _claim(self) -> list[OutboxMessage]:
        now = self.clock.now()
        with self.sessions.begin() as session:
            due = list(
                session.scalars(
                    select(OutboxMessage)
                    .where(
                        OutboxMessage.sent_at.is_(None),
                        OutboxMessage.to_address != "",
                        OutboxMessage.next_attempt_at <= now,
                    )
                    .order_by(OutboxMessage.created_at)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True)
                )
            )
            for message in due:
                message.next_attempt_at = now + LEASE
        return due

    def _send(self, message: OutboxMessage) -> str | None:
        try:
            self.transport.send(self._email(message))
        except Exception as error:  # whatever the server or the disk said, kept for retrying
            log.warning("message %s (%s) not delivered: %s", message.id, message.kind, error)
            return f"{type(error).__name__}: {error}"[:2000]
        return None

    def _record(self, message_id: uuid.UUID, error: str | None) -> None:
        now = self.clock.now()
        with self.sessions.begin() as session:
            message = session.get(OutboxMessage, message_id)
            assert message is not None  # messages are never deleted
            message.attempts += 1
            if error is None:
                message.sent_at = now
                message.last_error = None
            else:
                message.last_error = error
                message.next_attempt_at = now + pause_after(message.attempts)

    def _email(self, message: OutboxMessage) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.to_address
        email["Subject"] = message.subject
        email["Date"] = format_datetime(message.created_at)
        # The same id every time it is sent, so a message sent twice can be recognised.
        email["Message-ID"] = f"<{message.id.hex}@{self.sender.rpartition('@')[2] or 'tender'}>"
        email["Content-Language"] = message.language
        email["X-Tender-Message-Id"] = str(message.id)
        email.set_content(message.body)
        return email
