"""``tender outbox``: what the platform has told people, and what it has still to send."""

from __future__ import annotations

import argparse
import uuid

from sqlalchemy.orm import Session

from tender.cli.common import (
    EXIT_OK,
    CommandError,
    SubParsers,
    add_json_flag,
    print_json,
    settings_of_existing_platform,
)
from tender.clock import format_time
from tender.db import make_engine, make_sessionmaker
from tender.i18n import gettext as _
from tender.notifications.models import OutboxMessage
from tender.notifications.service import latest_messages, state_of


def register(commands: SubParsers) -> None:
    outbox = commands.add_parser(
        "outbox",
        help=_("list the messages queued and sent (or --show one)"),
        description=_(
            "List the platform's messages, newest first: state (queued, retrying, "
            "sent, no address), when, to whom, kind and subject. With the embedded default each "
            "sent message is also an .eml file in the outbox folder (TENDER_OUTBOX_DIR, "
            "var/outbox)."
        ),
    )
    outbox.add_argument("--show", metavar="ID", type=uuid.UUID, help=_("print this message whole"))
    outbox.add_argument("--limit", type=int, default=50, help=_("how many to list (default 50)"))
    add_json_flag(outbox)
    outbox.set_defaults(run=_outbox)


def _outbox(args: argparse.Namespace) -> int:
    if not 1 <= args.limit <= 10_000:
        raise CommandError(_("--limit must be between 1 and 10000."))
    engine = make_engine(settings_of_existing_platform().effective_database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            if args.show is not None:
                _show(session, args.show, as_json=args.json)
            else:
                _list(latest_messages(session, limit=args.limit), as_json=args.json)
    finally:
        engine.dispose()
    return EXIT_OK


def _show(session: Session, message_id: uuid.UUID, *, as_json: bool) -> None:
    message = session.get(OutboxMessage, message_id)
    if message is None:
        raise CommandError(
            _("there is no message {message_id} in the outbox; 'tender outbox' lists them.").format(
                message_id=message_id
            ),
            exit_code=1,
        )
    if as_json:
        print_json({**_summary(message), "body": message.body})
        return
    print(_("Message: {id}").format(id=message.id))
    print(_("State:   {message}").format(message=state_of(message)))
    print(_("Queued:  {created_at}").format(created_at=format_time(message.created_at)))
    if message.sent_at is not None:
        print(_("Sent:    {sent_at}").format(sent_at=format_time(message.sent_at)))
    if message.last_error:
        print(
            _("Failed {attempts} time(s), last: {last_error}").format(
                attempts=message.attempts, last_error=message.last_error
            )
        )
        print(
            _("Next try: {next_attempt_at}").format(
                next_attempt_at=format_time(message.next_attempt_at)
            )
        )
    print(
        _("To:      {address}").format(
            address=message.to_address or _("(no email address on record)")
        )
    )
    print(_("Subject: {subject}").format(subject=message.subject))
    print()
    print(message.body)


def _list(messages: list[OutboxMessage], *, as_json: bool) -> None:
    if as_json:
        print_json([_summary(message) for message in messages])
        return
    if not messages:
        print(_("The outbox is empty."))
        return
    for message in messages:
        when = format_time(message.sent_at or message.created_at)
        print(
            f"{message.id}  {state_of(message):10}  {when}  "
            f"{message.to_address or '-':30}  {message.kind:26}  {message.subject}"
        )


def _summary(message: OutboxMessage) -> dict[str, object]:
    return {
        "id": str(message.id),
        "state": state_of(message),
        "to": message.to_address,
        "language": message.language,
        "kind": message.kind,
        "subject": message.subject,
        "tender_id": None if message.tender_id is None else str(message.tender_id),
        "queued_at": format_time(message.created_at),
        "sent_at": None if message.sent_at is None else format_time(message.sent_at),
        "attempts": message.attempts,
        "last_error": message.last_error,
    }
