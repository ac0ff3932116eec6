"""``tender orgs add``, ``tender users add`` and ``tender users token``: organisations and
accounts made by the platform's operator, on the server (the first admin, scripts).

Tokens printed here are made by the operator, so they count as made with a second factor
(see :mod:`tender.accounts.signin`); each is shown once.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.orm import Session

from tender.accounts.models import (
    Language,
    Organisation,
    OrganisationKind,
    OrganisationStatus,
    Role,
    User,
)
from tender.accounts.service import AccountService
from tender.cli.common import (
    EXIT_OK,
    CommandError,
    SubParsers,
    add_json_flag,
    print_json,
    settings_of_existing_platform,
)
from tender.clock import SystemClock
from tender.db import make_engine, make_sessionmaker
from tender.errors import Refusal
from tender.i18n import gettext as _


def register(commands: SubParsers) -> None:
    orgs = commands.add_parser(
        "orgs", help=_("organisations: add"), description=_("Organisations on this platform.")
    ).add_subparsers(dest="orgs_command", required=True, metavar="COMMAND")
    add_org = orgs.add_parser(
        "add",
        help=_("add an organisation (active)"),
        description=_("Add a buying department, a supplier company, or the platform's own."),
    )
    add_org.add_argument("--kind", required=True, choices=[k.value for k in OrganisationKind])
    add_org.add_argument("--name-en", required=True, help=_("the name in English (unique)"))
    add_org.add_argument("--name-zh", help=_("the name in Chinese"))
    add_org.add_argument("--br", help=_("business registration number (unique)"))
    add_org.add_argument("--email", help=_("contact email"))
    add_org.add_argument("--phone", help=_("contact phone"))
    add_json_flag(add_org)
    add_org.set_defaults(run=_add_org)

    users = commands.add_parser(
        "users", help=_("users: add, token"), description=_("Accounts on this platform.")
    ).add_subparsers(dest="users_command", required=True, metavar="COMMAND")
    add_user = users.add_parser(
        "add",
        help=_("add a user and print their API token"),
        description=_(
            "Add a user to an organisation (by its English name; made if new) and "
            "print their API token, shown only once. With --email they can also set a password "
            "with it (PUT /api/account/password) and sign in."
        ),
    )
    add_user.add_argument("--org", required=True, help=_("the organisation's English name"))
    add_user.add_argument("--role", required=True, choices=[r.value for r in Role])
    add_user.add_argument("--name", required=True)
    add_user.add_argument("--email")
    add_user.add_argument(
        "--covers",
        action="append",
        default=[],
        metavar="ORG",
        help=_(
            "auditors: an organisation (English name) the appointment covers; repeat for "
            "more; without it, every organisation"
        ),
    )
    add_user.add_argument(
        "--language", default=Language.EN.value, choices=[lang.value for lang in Language]
    )
    add_json_flag(add_user)
    add_user.set_defaults(run=_add_user)
    token = users.add_parser(
        "token",
        help=_("make a new API token for a user"),
        description=_("Make a new API token for the user with this email (shown only once)."),
    )
    token.add_argument("--email", required=True)
    add_json_flag(token)
    token.set_defaults(run=_token)


@contextmanager
def _transaction() -> Iterator[AccountService]:
    """The operator's accounts, in one transaction on the platform of this folder."""
    engine = make_engine(settings_of_existing_platform().effective_database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            yield AccountService(session=session, clock=SystemClock())
    except Refusal as refusal:
        raise CommandError(f"{refusal.what} {refusal.why} {refusal.todo}") from None
    finally:
        engine.dispose()


def _add_org(args: argparse.Namespace) -> int:
    with _transaction() as accounts:
        org = accounts.add_organisation(
            kind=OrganisationKind(args.kind),
            name_en=args.name_en,
            name_zh=args.name_zh,
            br_number=args.br,
            contact_email=args.email,
            contact_phone=args.phone,
            status=OrganisationStatus.ACTIVE,
        )
        shown = {"id": str(org.id), "kind": org.kind.value, "name_en": org.name_en}
    _print(args, shown, f"Added {shown['name_en']} ({shown['kind']}), id {shown['id']}.")
    return EXIT_OK


def _add_user(args: argparse.Namespace) -> int:
    with _transaction() as accounts:
        if args.covers and args.role != Role.AUDITOR.value:
            raise CommandError(
                _("--covers is for auditors: it names what their appointment covers.")
            )
        user, token = accounts.create_user(
            name=args.name,
            organisation=args.org,
            role=Role(args.role),
            email=args.email,
            covers=[_organisation(accounts.session, name) for name in args.covers],
        )
        user.language = Language(args.language)
        shown = _shown(user, token)
    _print(
        args,
        shown,
        _("Added {name} ({organisation}) as {role}. API token (shown only now):").format(
            name=shown["name"], organisation=shown["organisation"], role=shown["role"]
        )
        + f"\n{token}",
    )
    return EXIT_OK


def _token(args: argparse.Namespace) -> int:
    with _transaction() as accounts:
        user = _found(accounts.session, args.email)
        shown = _shown(user, accounts.operator_token(user))
    _print(
        args,
        shown,
        _("New API token for {name} (shown only now):").format(name=shown["name"])
        + f"\n{shown['token']}",
    )
    return EXIT_OK


def _organisation(session: Session, name_en: str) -> Organisation:
    org = session.scalar(select(Organisation).where(Organisation.name_en == name_en))
    if org is None:
        raise CommandError(
            _("there is no organisation {name_en!r}; 'tender orgs add' adds one.").format(
                name_en=name_en
            )
        )
    return org


def _found(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().casefold()))
    if user is None:
        raise CommandError(
            _("there is no user with the email {email}; 'tender users add' adds one.").format(
                email=email
            )
        )
    return user


def _shown(user: User, token: str) -> dict[str, str | None]:
    return {
        "id": str(user.id),
        "name": user.name,
        "organisation": user.organisation,
        "role": user.role.value,
        "email": user.email,
        "token": token,
    }


def _print(args: argparse.Namespace, shown: Mapping[str, str | None], text: str) -> None:
    if args.json:
        print_json(shown)
    else:
        print(text)
