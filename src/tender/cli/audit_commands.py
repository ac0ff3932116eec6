"""``tender audit export|verify|public-key`` and ``tender receipt verify``.

The two ``verify`` commands that take a bundle or a receipt run offline: no settings, no
database, no server; only the file and the platform's public key.
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

from tender.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    CommandError,
    SubParsers,
    add_json_flag,
    print_json,
    report_checks,
    say_to_stderr,
    settings_of_existing_platform,
)
from tender.config import Settings
from tender.db import make_engine, make_sessionmaker
from tender.errors import Refusal
from tender.i18n import gettext as _
from tender.signing import TrustStore, TrustStoreError
from tender.storage.keyfile import load_secret
from tender.verifier.bundle import verify_bundle
from tender.verifier.chain import verify_chain_file
from tender.verifier.checks import Check
from tender.verifier.notes import NoteSigner
from tender.verifier.receipt import SHOWN_FIELDS, read_receipt, signed_payload, verify_receipt


def register(commands: SubParsers) -> None:
    """Add ``audit`` and ``receipt`` to the ``tender`` command."""
    audit = commands.add_parser(
        "audit",
        help=_("export or verify the audit trail"),
        description=_("Export the audit trail, check it, or print the platform's public key."),
    )
    audit_commands = audit.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")
    export = audit_commands.add_parser(
        "export",
        help=_("write the auditor's bundle (-o bundle.zip), or every event as JSON lines"),
        description=_(
            "Write the auditor's bundle (tender-audit-bundle/2) of one tender or of "
            "all, or with --out only the events as JSON lines: each event's stored bytes, one a "
            "line, as in the bundle's events.jsonl."
        ),
    )
    written = export.add_mutually_exclusive_group(required=True)
    written.add_argument("-o", "--output", type=Path, help=_("the bundle to write (a .zip)"))
    written.add_argument("--out", type=Path, help=_("write only the events, as JSON lines"))
    export.add_argument("--tender", help=_("the tender reference (default: every tender)"))
    export.set_defaults(run=_export)
    public_key = audit_commands.add_parser(
        "public-key",
        help=_("print the platform's public key (platform.pub)"),
        description=_(
            "Print the platform's public key (a C2SP verifier key), with which "
            "receipts, checkpoints and bundles are checked offline: read from the platform's "
            "PKCS#11 token when TENDER_PKCS11_MODULE is set, else from its signing key file."
        ),
    )
    add_json_flag(public_key)
    public_key.set_defaults(run=_public_key)
    verify = audit_commands.add_parser(
        "verify",
        help=_("check a bundle offline (BUNDLE --key), or recompute the hash chain"),
        description=_(
            "With BUNDLE and --key: check an audit bundle offline, one PASS/FAIL line "
            "per check. Without: check the database against its locked checkpoints, or with "
            "--file a JSON-lines export (every line in order and canonical; its chain head and "
            "Merkle root)."
        ),
    )
    verify.add_argument("bundle", type=Path, nargs="?", help=_("a bundle.zip to check offline"))
    verify.add_argument("--key", type=Path, help=_("platform.pub, for a bundle"))
    verify.add_argument("--file", type=Path, help=_("a JSON-lines export (default: the database)"))
    add_json_flag(verify)
    verify.set_defaults(run=_verify)

    receipt = commands.add_parser(
        "receipt",
        help=_("check a signed receipt, offline"),
        description=_("Check a signed receipt with nothing but the platform's public key."),
    )
    receipt_commands = receipt.add_subparsers(
        dest="receipt_command", required=True, metavar="COMMAND"
    )
    receipt_verify = receipt_commands.add_parser(
        "verify",
        help=_("check a receipt with the public key"),
        description=_(
            "Check a receipt (its JSON, or the signed JWS alone) offline: the "
            "platform's signature, the checkpoint, the inclusion proof, the time-stamp, on time."
        ),
    )
    receipt_verify.add_argument("receipt", type=Path, help=_("the receipt JSON, or its JWS"))
    receipt_verify.add_argument("--key", type=Path, required=True, help=_("platform.pub"))
    receipt_verify.add_argument(
        "--tsa-trust",
        type=Path,
        metavar="DIR",
        help=_(
            "CA certificates (PEM/DER) of the time-stamping authority; the platform serves "
            "them at /api/audit/tsa-certificates"
        ),
    )
    receipt_verify.add_argument(
        "--file", type=Path, metavar="BID", help=_("your own copy of the bid file, to compare")
    )
    add_json_flag(receipt_verify)
    receipt_verify.set_defaults(run=_receipt_verify)


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else _("it is not text")
        raise CommandError(
            _("cannot read {what} {path}: {reason}; check the path").format(
                what=what, path=path, reason=reason
            )
        ) from None


def _export(args: argparse.Namespace) -> int:
    settings = settings_of_existing_platform()
    if args.output is None:
        return _export_events(settings.effective_database_url, args.out)
    from tender.runtime import running_platform

    with running_platform(
        settings,
        worker=False,
        reconciler=False,
        migrate_schema=False,
        recover=False,
        say=say_to_stderr,
    ) as platform:
        try:
            platform.exporter.export(tender_reference=args.tender, out=args.output)
        except Refusal as refusal:
            raise CommandError(refusal.message, exit_code=EXIT_FAILED) from None
    print(
        _("Wrote the audit bundle of {tender} to {output}").format(
            tender=args.tender or _("every tender"), output=args.output
        )
    )
    return EXIT_OK


def _export_events(database_url: str, out: Path) -> int:
    """``events.jsonl`` as in a bundle: each event's body as stored, one a line."""
    from tender.audit import service as audit

    engine = make_engine(database_url)
    count = 0
    try:
        with make_sessionmaker(engine).begin() as session, out.open("wb") as sink:
            for body in audit.iter_bodies(session):
                sink.write(body + b"\n")
                count += 1
    finally:
        engine.dispose()
    print(_("Wrote {count} events to {out}").format(count=count, out=out))
    return EXIT_OK


def _public_key(args: argparse.Namespace) -> int:
    settings = settings_of_existing_platform()
    if settings.pkcs11_module:
        from tender.runtime import platform_token
        from tender.storage.tokens import TokenEd25519Key, TokenError

        with platform_token(settings) as session:
            try:
                key = TokenEd25519Key(session, settings.pkcs11_signing_key)
            except TokenError as error:
                raise CommandError(
                    _("{error}. 'tender keys init-token' creates it").format(error=error)
                ) from None
            verifier_key = NoteSigner(settings.log_origin, key).verifier_key()
    else:
        verifier_key = _verifier_key_of_file(settings)
    if args.json:
        print_json({"verifier_key": verifier_key, "origin": settings.log_origin})
    else:
        print(verifier_key)
    return EXIT_OK


def _verifier_key_of_file(settings: Settings) -> str:
    path = settings.effective_signing_key_file
    try:
        secret = load_secret(path, 32, what="platform signing key")
    except FileNotFoundError:
        raise CommandError(
            _(
                "the platform's signing key {path} does not exist. Run this where the platform "
                "runs (or set TENDER_DATA_DIR / TENDER_SIGNING_KEY_FILE, or the TENDER_PKCS11_* "
                "settings of its token); a new key would sign nothing the platform signed."
            ).format(path=path)
        ) from None
    except ValueError as error:
        raise CommandError(str(error)) from None
    return NoteSigner.from_private_bytes(settings.log_origin, secret).verifier_key()


def _verify(args: argparse.Namespace) -> int:
    if args.bundle is not None:
        if args.key is None:  # offline: the key is all a bundle is checked with
            raise CommandError(_("a bundle is checked with the platform's key; add --key FILE"))
        key = _read_text(args.key, _("the key file"))
        if not args.bundle.is_file():
            raise CommandError(
                _("cannot read the bundle {bundle}: no such file").format(bundle=args.bundle)
            )
        return report_checks(
            verify_bundle(args.bundle, key),
            as_json=args.json,
            holds=_("The bundle holds: {total} checks passed."),
            does_not_hold=_("The bundle does NOT hold: {failed} of {total} checks failed."),
        )
    if args.file is not None:
        return _verify_export(args.file, as_json=args.json)
    return report_checks(
        _verify_stored(),
        as_json=args.json,
        holds=_("The stored log holds: {total} checks passed against its locked checkpoints."),
        does_not_hold=_("The stored log does NOT hold: {failed} of {total} checks failed."),
    )


def _verify_export(path: Path, *, as_json: bool) -> int:
    """Every line of a JSON-lines export in its place and canonical; its chain head and Merkle
    root, to compare with a signed checkpoint of the same size (a bundle carries those)."""
    try:
        with path.open("rb") as lines:
            result = verify_chain_file(lines, every_line=True)
    except OSError as error:
        reason = error.strerror
        raise CommandError(
            _("cannot read the export {path}: {reason}; check the path").format(
                path=path, reason=reason
            )
        ) from None
    if as_json:
        print_json(result)
    else:
        print(result.describe())
    return EXIT_OK if result.ok else EXIT_FAILED


def _verify_stored() -> list[Check]:
    """The database's log against the Object-Locked checkpoints, where the platform runs."""
    from tender.auditors.service import TrailService
    from tender.runtime import running_platform

    settings = settings_of_existing_platform()
    with (
        running_platform(
            settings,
            worker=False,
            reconciler=False,
            migrate_schema=False,
            recover=False,
            say=say_to_stderr,
        ) as platform,
        platform.sessions.begin() as session,
    ):
        return TrailService(session=session).verify(
            store=platform.store, bucket=settings.bucket, verifier=platform.checkpointer.verifier
        )


def _receipt_verify(args: argparse.Namespace) -> int:
    text = _read_text(args.receipt, _("the receipt"))
    key = _read_text(args.key, _("the key file"))
    try:
        signed, visible = read_receipt(text)
    except ValueError:
        raise CommandError(
            _("{receipt} is neither receipt JSON nor a JWS").format(receipt=args.receipt)
        ) from None
    tsa_trust = None
    if args.tsa_trust is not None:
        try:
            tsa_trust = TrustStore.from_folder(args.tsa_trust)
        except TrustStoreError as error:
            raise CommandError(
                _("{error}; point --tsa-trust at a folder of CA certificates").format(error=error)
            ) from None
    with contextlib.ExitStack() as files:
        own_file = None
        if args.file is not None:
            try:
                own_file = files.enter_context(args.file.open("rb"))
            except OSError as error:
                raise CommandError(
                    _("cannot read {file}: {strerror}").format(
                        file=args.file, strerror=error.strerror
                    )
                ) from None
        checks = verify_receipt(
            signed, key, visible=visible, tsa_trust=tsa_trust, own_file=own_file
        )
    values = signed_payload(signed, key)
    if values is not None and not args.json:
        print(_("The platform signed:"))
        for name in SHOWN_FIELDS:
            if name in values:
                print(f"  {name:22} {values[name]}")
    return report_checks(
        checks,
        as_json=args.json,
        holds=_("The receipt holds."),
        does_not_hold=_("The receipt does NOT hold."),
        extra={"signed": values} if args.json else None,
    )
