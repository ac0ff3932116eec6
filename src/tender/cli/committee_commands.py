"""``tender committee``: a member of an opening committee makes and registers their key, and
releases their share of a tender's key after its deadline.

The member's private key stays in their key file, encrypted under their passphrase; the
platform is given the public half, and after the deadline the one share the member decrypts
here. Exit codes: 0 done; 1 the platform refused (its explanation is printed) or the share
does not open or match; 2 the command cannot run as given.
"""

from __future__ import annotations

import argparse
import base64
import getpass
import json
from pathlib import Path

from tender.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    CommandError,
    SubParsers,
    add_json_flag,
    platform_client,
    print_json,
    read_secret,
)
from tender.cli.supplier import add_platform_flags, api_token
from tender.client import (
    committee_of,
    decrypted_share,
    find_tender,
    register_committee_key,
    release_committee_share,
)
from tender.i18n import gettext as _
from tender.i18n import gettext_noop as N_  # noqa: N812 (the name extractors look for)
from tender.storage.committee import KeyFileError, MemberKey, ShareError
from tender.verifier.committee import FINANCIAL_KEY, TENDER_KEY

__all__ = ["register"]

_KEY_FILE_HELP = N_("your committee key file (`tender committee key create` makes it)")
_TRUST = N_(
    "Keep the key file and its passphrase apart and safe: they are the only way to your "
    "shares. Lost, your shares of tenders already created are lost with them (the tender "
    "still opens if enough other members release theirs); copied with the passphrase, "
    "whoever has them holds your share."
)


def register(commands: SubParsers) -> None:
    """Add ``committee`` to the ``tender`` command."""
    committee = commands.add_parser(
        "committee",
        help=_("opening committee members: your key, and releasing your share after the deadline"),
        description=_(
            "A committee tender's key is split among its opening committee's members; any "
            "quorum of them, releasing their shares after the deadline, opens it, and fewer "
            "cannot."
        )
        + " "
        + _(_TRUST),
    )
    actions = committee.add_subparsers(dest="committee_command", required=True, metavar="COMMAND")
    key = actions.add_parser("key", help=_("make and register your committee key"))
    key_actions = key.add_subparsers(dest="key_command", required=True, metavar="COMMAND")
    create = key_actions.add_parser(
        "create",
        help=_("make a committee key pair in a file encrypted under your passphrase"),
        description=_(
            "Make a committee key pair (ML-KEM-768 + X25519) and write it to FILE, the private "
            "half encrypted under your passphrase (Argon2id, AES-256-GCM). Nothing is sent "
            "anywhere; register it with `tender committee key register`."
        )
        + " "
        + _(_TRUST),
    )
    create.add_argument("out", type=Path, metavar="FILE", help=_("where to write the key file"))
    _passphrase_flag(create)
    create.set_defaults(run=_create)
    registration = key_actions.add_parser(
        "register",
        help=_("register your committee key's public half with the platform"),
        description=_(
            "Open FILE with your passphrase (so a file you cannot open is never "
            "registered) and register its public key as yours: shares of tenders created from "
            "now on are encrypted to it. Exit code 0 when registered, 1 if refused."
        ),
    )
    registration.add_argument("key_file", type=Path, metavar="FILE", help=_(_KEY_FILE_HELP))
    _passphrase_flag(registration)
    add_platform_flags(registration)
    add_json_flag(registration)
    registration.set_defaults(run=_register)
    release = actions.add_parser(
        "release",
        help=_("release your share of a tender's key, after its deadline"),
        description=_(
            "Fetch your share of the tender's key (encrypted to your committee key), "
            "decrypt it here with your key file and passphrase, check it against the commitment "
            "the audit log holds, and release it. Before the deadline the platform refuses, and "
            "records the attempt. Once the quorum has released, the tender opens by itself. Exit "
            "code 0 when released, 1 if refused or the share does not open or match."
        ),
    )
    release.add_argument("--tender", required=True, metavar="REF", help=_("the tender's reference"))
    release.add_argument(
        "--key-file", type=Path, required=True, metavar="FILE", help=_(_KEY_FILE_HELP)
    )
    release.add_argument(
        "--key",
        default=TENDER_KEY,
        metavar="NAME",
        choices=(TENDER_KEY, FINANCIAL_KEY),
        help=_(
            "which of the tender's keys (default: {tender_key}; {financial_key}: a "
            "two-envelope tender's financial envelopes, released once the officer has asked for "
            "the financial opening)"
        ).format(tender_key=TENDER_KEY, financial_key=FINANCIAL_KEY),
    )
    _passphrase_flag(release)
    add_platform_flags(release)
    add_json_flag(release)
    release.set_defaults(run=_release)
    decrypt = actions.add_parser(
        "decrypt",
        help="decrypt your share saved from the committee page, to paste it there",
        description="Decrypt the encrypted share you saved from the tender's committee page "
        "(after the deadline), here on your computer with your key file and passphrase, "
        "check it against the commitment the audit log holds, and print it, to paste into "
        "the page's release form. Nothing is sent anywhere. Exit code 0 when printed, 1 if "
        "the share does not open or match.",
    )
    decrypt.add_argument(
        "share_file", type=Path, metavar="SHARE", help="the encrypted share saved from the page"
    )
    decrypt.add_argument(
        "--key-file", type=Path, required=True, metavar="FILE", help=_KEY_FILE_HELP
    )
    _passphrase_flag(decrypt)
    decrypt.set_defaults(run=_decrypt)
    status = actions.add_parser(
        "status",
        help=_("who on a tender's committee has released a share, and who has not"),
        description=_(
            "Show the tender's opening committee, its quorum, and who has released "
            "a share and when (the tender's officers and auditors, and its members)."
        ),
    )
    status.add_argument("--tender", required=True, metavar="REF", help=_("the tender's reference"))
    add_platform_flags(status)
    add_json_flag(status)
    status.set_defaults(run=_status)


def _passphrase_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--passphrase-file",
        type=Path,
        metavar="F",
        help=_("file holding the key file's passphrase (default: ask on the terminal)"),
    )


def _passphrase(args: argparse.Namespace, *, confirm: bool = False) -> str:
    typed = read_secret(
        args.passphrase_file, _("passphrase of the committee key file"), "--passphrase-file"
    )
    # A typo in a new key file's passphrase would lock its owner out of their shares.
    if (
        confirm
        and args.passphrase_file is None
        and getpass.getpass(_("The same passphrase again: ")) != typed
    ):
        raise CommandError(_("the two passphrases differ; nothing was written, try again"))
    return typed


def _load(args: argparse.Namespace, path: Path) -> MemberKey:
    if not path.is_file():
        raise CommandError(
            _("key file {path} does not exist; give the file `key create` wrote").format(path=path)
        )
    try:
        return MemberKey.load(path, _passphrase(args))
    except KeyFileError as error:
        raise CommandError(f"{path}: {error}", exit_code=EXIT_FAILED) from None


def _create(args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.exists():
        raise CommandError(
            _(
                "{out} exists; a key file is never overwritten (the shares dealt to it would be "
                "lost). Choose another name"
            ).format(out=out)
        )
    passphrase = _passphrase(args, confirm=True)
    key = MemberKey.generate()
    try:
        key.save(out, passphrase)
    except KeyFileError as error:
        raise CommandError(str(error)) from None
    print(
        _("Wrote committee key {fingerprint} to {out} (readable by you only).").format(
            fingerprint=key.fingerprint[:16], out=out
        )
    )
    print(_("Next: tender committee key register {out}").format(out=out))
    print(_(_TRUST))
    return EXIT_OK


def _register(args: argparse.Namespace) -> int:
    token = api_token(args.token_file)
    key = _load(args, args.key_file)
    with platform_client(args.url) as client:
        registered = register_committee_key(client, token, key)
    if args.json:
        print_json(registered)
    else:
        print(
            _(
                "Registered committee key {fingerprint} for {name} ({organisation}): shares of "
                "tenders created from now on are encrypted to it."
            ).format(
                fingerprint=registered["fingerprint"][:16],
                name=registered["name"],
                organisation=registered["organisation"],
            )
        )
    return EXIT_OK


def _release(args: argparse.Namespace) -> int:
    token = api_token(args.token_file)
    key = _load(args, args.key_file)
    try:
        with platform_client(args.url) as client:
            tender = find_tender(client, token, args.tender)
            committee = release_committee_share(
                client, token, str(tender["id"]), key, key_name=args.key
            )
    except ShareError as error:
        raise CommandError(
            _("your share does not open with {key_file}: {error}").format(
                key_file=args.key_file, error=error
            ),
            exit_code=EXIT_FAILED,
        ) from None
    if args.json:
        print_json(committee)
    else:
        print(
            _("Released your share of tender {committee}'s key.").format(
                committee=committee["reference"]
            )
        )
        print(committee["summary"])
    return EXIT_OK


def _decrypt(args: argparse.Namespace) -> int:
    try:
        share = json.loads(args.share_file.read_bytes())
    except (OSError, ValueError) as error:
        raise CommandError(
            f"cannot read the share {args.share_file} ({error}); give the file saved from the "
            "committee page"
        ) from None
    key = _load(args, args.key_file)
    try:
        held = decrypted_share(share, key)
    except (ShareError, KeyError, TypeError, ValueError) as error:
        raise CommandError(
            f"your share does not open with {args.key_file}: {error}", exit_code=EXIT_FAILED
        ) from None
    print(base64.b64encode(held.to_bytes()).decode("ascii"))
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    token = api_token(args.token_file)
    with platform_client(args.url) as client:
        committee = committee_of(client, token, str(find_tender(client, token, args.tender)["id"]))
    if args.json:
        print_json(committee)
        return EXIT_OK
    print(
        _("Tender {reference}: {summary}").format(
            reference=committee["reference"], summary=committee["summary"]
        )
    )
    for member in committee["members"]:
        released = member["released_at"]
        print(
            (
                _("  {name} ({organisation}), key {key}: released {released}")
                if released
                else _("  {name} ({organisation}), key {key}: not released")
            ).format(
                name=member["name"],
                organisation=member["organisation"],
                key=member["key"],
                released=released,
            )
        )
    return EXIT_OK
