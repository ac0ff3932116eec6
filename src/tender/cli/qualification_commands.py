"""``tender qualify`` and ``tender open-financial``: an officer of a two-envelope tender
records each bid as qualified or not on its technical envelope, then asks for the qualified
bids' financial envelopes to be opened.

Exit codes: 0 done; 1 the platform refused (its explanation is printed: what happened, why,
what to do); 2 the command cannot run as given.
"""

from __future__ import annotations

import argparse

from tender.cli.common import (
    EXIT_OK,
    CommandError,
    SubParsers,
    add_json_flag,
    platform_client,
    print_json,
)
from tender.cli.supplier import add_platform_flags, api_token
from tender.client import (
    find_tender,
    qualification_of,
    qualify_bid,
    request_financial_opening,
)
from tender.i18n import gettext as _

__all__ = ["register"]


def register(commands: SubParsers) -> None:
    """Add ``qualify`` and ``open-financial`` to the ``tender`` command."""
    qualify = commands.add_parser(
        "qualify",
        help=_("record a two-envelope tender's bid as qualified or not (officers)"),
        description=_(
            "After the timed opening has opened a two-envelope tender's technical "
            "envelopes, record each bid (named by its supplier's id, --bid) as qualified or not, "
            "with the reason; it is audited, and can be corrected until the financial opening is "
            "requested. Without --bid, list the opened bids and their verdicts so far. Exit code "
            "0 when done, 1 if the platform refused, 2 if the command cannot run as given."
        ),
    )
    qualify.add_argument("--tender", required=True, metavar="REF", help=_("the tender's reference"))
    qualify.add_argument("--bid", metavar="ID", help=_("the bid: its supplier's id"))
    verdict = qualify.add_mutually_exclusive_group()
    verdict.add_argument("--qualified", action="store_true", help=_("the bid qualifies"))
    verdict.add_argument("--not-qualified", action="store_true", help=_("the bid does not"))
    qualify.add_argument("--reason", metavar="TEXT", help=_("why (kept in the audit log)"))
    add_platform_flags(qualify)
    add_json_flag(qualify)
    qualify.set_defaults(run=_qualify)
    open_financial = commands.add_parser(
        "open-financial",
        help=_("ask for a two-envelope tender's qualified bids' financial envelopes to be opened"),
        description=_(
            "Once every opened bid has a verdict, ask for the financial opening: the "
            "verdicts become final, and the financial envelopes of the qualified bids open by "
            "themselves (for a committee tender, once a quorum of its members has released their "
            "shares of the financial key); the others are never decrypted. Exit code 0 when "
            "requested, 1 if the platform refused, 2 if the command cannot run as given."
        ),
    )
    open_financial.add_argument(
        "--tender", required=True, metavar="REF", help=_("the tender's reference")
    )
    add_platform_flags(open_financial)
    add_json_flag(open_financial)
    open_financial.set_defaults(run=_open_financial)


def _qualify(args: argparse.Namespace) -> int:
    token = api_token(args.token_file)
    verdict_given = args.qualified or args.not_qualified
    if args.bid is None and (verdict_given or args.reason is not None):
        raise CommandError(_("name the bid the verdict is on: --bid ID (its supplier's id)"))
    if args.bid is not None and (not verdict_given or not args.reason):
        raise CommandError(
            _("a verdict needs --qualified or --not-qualified, and --reason TEXT saying why")
        )
    with platform_client(args.url) as client:
        tender = find_tender(client, token, args.tender)
        if args.bid is None:
            standing = qualification_of(client, token, str(tender["id"]))
        else:
            recorded = qualify_bid(
                client,
                token,
                str(tender["id"]),
                supplier_id=args.bid,
                qualified=bool(args.qualified),
                reason=args.reason,
            )
    if args.json:
        print_json(standing if args.bid is None else recorded)
        return EXIT_OK
    if args.bid is not None:
        print(
            _(
                "Recorded: bid {bid} of tender {tender} is {verdict} (audit event {recorded})."
            ).format(
                bid=args.bid,
                tender=args.tender,
                verdict=_("qualified") if recorded["qualified"] else _("not qualified"),
                recorded=recorded["audit_seq"],
            )
        )
        return EXIT_OK
    for bid in standing["bids"]:
        verdict = {True: _("qualified"), False: _("not qualified"), None: _("no verdict yet")}[
            bid["qualified"]
        ]
        reason = f": {bid['reason']}" if bid["reason"] else ""
        print(
            _("  {organisation} (bid {supplier_id}): {verdict}{reason}").format(
                organisation=bid["supplier_organisation"],
                supplier_id=bid["supplier_id"],
                verdict=verdict,
                reason=reason,
            )
        )
    return EXIT_OK


def _open_financial(args: argparse.Namespace) -> int:
    token = api_token(args.token_file)
    with platform_client(args.url) as client:
        tender = find_tender(client, token, args.tender)
        requested = request_financial_opening(client, token, str(tender["id"]))
    if args.json:
        print_json(requested)
    else:
        print(
            _("Financial opening of tender {tender} requested. {requested}").format(
                tender=args.tender, requested=requested["explanation"]
            )
        )
    return EXIT_OK
