"""Delivery: the outbox folder, a real SMTP server, and retries that never lose a message."""

from __future__ import annotations

import email
import email.policy
import stat
import uuid
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tender.clock import ManualClock
from tender.config import Settings
from tender.db import make_engine, make_sessionmaker
from tender.notifications.delivery import (
    Courier,
    Delivered,
    SmtpServer,
    Transport,
    transport_for,
)
from tender.notifications.messages import HONG_KONG_CHINESE, MessageKind
from tender.notifications.models import OutboxMessage
from tender.notifications.service import NotificationService, state_of
from tender.runtime import free_port

SENDER = "tender@platform.example"
LINK = "https://tender.example/confirm/abc123"


class Mailbox:
    """What a real SMTP server (aiosmtpd, in a thread) received."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(  # noqa: N802 - the name aiosmtpd calls
        self, server: SMTP, session: SmtpSession, envelope: Envelope
    ) -> str:
        parsed = email.message_from_bytes(
            envelope.original_content or b"", _class=EmailMessage, policy=email.policy.default
        )
        self.received.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"


def _platform_account_only(
    server: SMTP, session: SmtpSession, envelope: Envelope, mechanism: str, data: object
) -> AuthResult:
    return AuthResult(
        success=isinstance(data, LoginPassword)
        and (data.login, data.password) == (b"tender", b"s3cret")
    )


def smtp_server(port: int, mailbox: Mailbox) -> Controller:
    return Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=_platform_account_only,
        auth_require_tls=False,  # a test on the loopback; production uses STARTTLS
    )


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def queue_confirmation(
    sessions: sessionmaker[Session], clock: ManualClock, to: str = "wing@supplier.example"
) -> uuid.UUID:
    with sessions.begin() as session:
        message = NotificationService(session=session, clock=clock).email(
            to,
            HONG_KONG_CHINESE,
            MessageKind.REGISTRATION_CONFIRMATION,
            name="陳大文",
            organisation="大文工程有限公司",
            link=LINK,
            expires_at=clock.now() + timedelta(days=2),
        )
        session.flush()
        return message.id


def courier(sessions: sessionmaker[Session], clock: ManualClock, transport: Transport) -> Courier:
    return Courier(sessions=sessions, clock=clock, transport=transport, sender=SENDER)


def stored(sessions: sessionmaker[Session], message_id: uuid.UUID) -> OutboxMessage:
    with sessions.begin() as session:
        message = session.get(OutboxMessage, message_id)
        assert message is not None
        return message


def test_the_embedded_default_writes_each_message_to_a_private_outbox_folder(
    sessions: sessionmaker[Session], clock: ManualClock, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    message_id = queue_confirmation(sessions, clock)

    delivered = courier(sessions, clock, transport_for(settings)).deliver_pending()

    assert delivered.sent == [message_id]
    outbox = tmp_path / "var" / "outbox"
    file = outbox / f"{message_id}.eml"
    assert stat.S_IMODE(outbox.stat().st_mode) == 0o700
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    written = email.message_from_bytes(
        file.read_bytes(), _class=EmailMessage, policy=email.policy.default
    )
    assert written["To"] == "wing@supplier.example"
    assert written["From"] == SENDER
    assert written["Subject"] == "請確認大文工程有限公司的電郵地址"
    body = written.get_content()
    assert LINK in body
    assert "下一步" in body
    assert state_of(stored(sessions, message_id)) == "sent"
    # Sent is sent: the next round sends nothing again.
    assert courier(sessions, clock, transport_for(settings)).deliver_pending().sent == []


def test_a_configured_smtp_server_gets_the_message_with_the_platform_s_login(
    sessions: sessionmaker[Session], clock: ManualClock, tmp_path: Path
) -> None:
    password_file = tmp_path / "smtp-password"
    password_file.write_text("s3cret\n")
    port = free_port()
    settings = Settings(
        data_dir=tmp_path / "var",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_user="tender",
        smtp_password_file=password_file,
        smtp_starttls=False,
    )
    mailbox = Mailbox()
    server = smtp_server(port, mailbox)
    server.start()
    try:
        message_id = queue_confirmation(sessions, clock)
        delivered = courier(sessions, clock, transport_for(settings)).deliver_pending()
    finally:
        server.stop()

    assert delivered.sent == [message_id]
    [(recipients, received)] = mailbox.received
    assert recipients == ["wing@supplier.example"]
    assert received["Subject"] == "請確認大文工程有限公司的電郵地址"
    assert message_id.hex in received["Message-ID"]
    assert LINK in received.get_content()
    assert not (tmp_path / "var" / "outbox").exists()  # SMTP instead of the folder


def test_a_failed_delivery_is_retried_with_a_growing_pause_until_it_gets_through(
    sessions: sessionmaker[Session], clock: ManualClock
) -> None:
    port = free_port()  # nothing listens there yet: the server is down
    transport = SmtpServer("127.0.0.1", port, starttls=False)
    message_id = queue_confirmation(sessions, clock)

    assert courier(sessions, clock, transport).deliver_pending().failed == [message_id]
    first = stored(sessions, message_id)
    assert (first.attempts, state_of(first)) == (1, "retrying")
    assert "ConnectionRefusedError" in (first.last_error or "")
    assert first.next_attempt_at == clock.now() + timedelta(seconds=30)

    # Not due yet: nothing is tried.
    assert courier(sessions, clock, transport).deliver_pending() == Delivered(sent=[], failed=[])
    clock.advance(timedelta(seconds=30))
    assert courier(sessions, clock, transport).deliver_pending().failed == [message_id]
    assert stored(sessions, message_id).next_attempt_at == clock.now() + timedelta(seconds=60)

    # The server comes back; at the next attempt the message goes, once.
    mailbox = Mailbox()
    server = smtp_server(port, mailbox)
    server.start()
    try:
        clock.advance(timedelta(seconds=60))
        assert courier(sessions, clock, transport).deliver_pending().sent == [message_id]
        assert courier(sessions, clock, transport).deliver_pending().sent == []
    finally:
        server.stop()
    assert len(mailbox.received) == 1
    delivered = stored(sessions, message_id)
    assert (delivered.attempts, delivered.sent_at, delivered.last_error) == (3, clock.now(), None)


def test_a_message_queued_in_a_transaction_that_rolls_back_is_never_sent(
    sessions: sessionmaker[Session], clock: ManualClock, tmp_path: Path
) -> None:
    with sessions() as session:
        NotificationService(session=session, clock=clock).email(
            "wing@supplier.example",
            "en",
            MessageKind.REGISTRATION_CONFIRMATION,
            name="Wing",
            organisation="Wing Ltd",
            link=LINK,
            expires_at=clock.now(),
        )
        session.flush()
        session.rollback()  # what a refusal does to the request's unit of work

    with sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    transport = transport_for(Settings(data_dir=tmp_path))
    assert courier(sessions, clock, transport).deliver_pending().sent == []
