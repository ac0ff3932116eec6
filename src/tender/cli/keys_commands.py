"""``tender keys``: create the platform's keys in its PKCS#11 token, once, and put the seal's
certificate beside its key."""

from __future__ import annotations

import argparse
from pathlib import Path

from tender.cli.common import EXIT_OK, CommandError, SubParsers
from tender.config import Settings, SettingsError
from tender.i18n import gettext as _


def register(commands: SubParsers) -> None:
    """Add ``keys`` to the ``tender`` command."""
    keys = commands.add_parser(
        "keys",
        help=_("create the platform's keys in a PKCS#11 token"),
        description=_(
            "The platform's own keys: the key that wraps automatic tenders' keys, "
            "the key that signs checkpoints and receipts, and the opening record's seal."
        ),
    )
    keys_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")
    keys_commands.add_parser(
        "init-token",
        help=_("create the wrapping and signing keys in TENDER_PKCS11_TOKEN (once)"),
        description=_(
            "Create, in the token that TENDER_PKCS11_MODULE, TENDER_PKCS11_TOKEN and "
            "TENDER_PKCS11_PIN_FILE name, an AES-256 key (label TENDER_PKCS11_WRAP_KEY) that "
            "wraps automatic tenders' keys and an Ed25519 key pair (label "
            "TENDER_PKCS11_SIGNING_KEY) that signs checkpoints and receipts. Both are sensitive "
            "and never extractable: they are used inside the token and cannot be copied out, so "
            "back the token up as its maker says (an HSM's backup or cloning). A label in use is "
            "never replaced. Run it once, before the platform starts, and publish the public key "
            "it prints."
        ),
    ).set_defaults(run=_init_token)
    request = keys_commands.add_parser(
        "seal-request",
        help=_("make the seal's key in the token and a certificate request for it"),
        description=_(
            "Make an EC P-256 key pair labelled TENDER_PKCS11_SEAL_KEY in the "
            "platform's token (sensitive, never extractable) and write a PKCS#10 certificate "
            "request for its name, signed with it in the token, for your certificate authority. "
            "Then store the certificate it issues with 'tender keys seal-certificate'."
        ),
    )
    request.add_argument(
        "--subject",
        required=True,
        help=_("the seal's name, RFC 4514, e.g. 'CN=Example Procurement Seal,O=Example Ltd,C=HK'"),
    )
    request.add_argument("--out", type=Path, default=Path("seal.csr"), help=_("default: seal.csr"))
    request.set_defaults(run=_seal_request)
    certificate = keys_commands.add_parser(
        "seal-certificate",
        help=_("store the seal's certificate beside its key in the token"),
        description=_(
            "Store CERT (PEM or DER), the certificate the authority issued for the "
            "request of 'tender keys seal-request', in the platform's token under the label "
            "TENDER_PKCS11_SEAL_KEY, beside its key; a certificate of another key is refused. "
            "Opening records are sealed with it from the next start."
        ),
    )
    certificate.add_argument("certificate", type=Path, metavar="CERT")
    certificate.set_defaults(run=_seal_certificate)


def _token_settings(*, seal: bool = False) -> Settings:
    settings = Settings.from_env()
    if not settings.pkcs11_module:
        raise SettingsError(
            _(
                "TENDER_PKCS11_MODULE is not set: set it to the token's PKCS#11 library, with "
                "TENDER_PKCS11_TOKEN (its label) and TENDER_PKCS11_PIN_FILE (its user PIN)."
            )
        )
    if seal and not settings.pkcs11_seal_key:
        raise SettingsError(
            _(
                "TENDER_PKCS11_SEAL_KEY is not set: set it to the label of the seal's key and "
                "certificate in the token, e.g. tender-seal."
            )
        )
    return settings


def _init_token(args: argparse.Namespace) -> int:
    from tender.runtime import platform_token
    from tender.storage.tokens import (
        TokenEd25519Key,
        TokenError,
        TokenKeyWrapper,
        create_platform_keys,
    )
    from tender.verifier.notes import NoteSigner

    settings = _token_settings()
    with platform_token(settings, write=True) as session:
        try:
            create_platform_keys(
                session,
                wrap_label=settings.pkcs11_wrap_key,
                signing_label=settings.pkcs11_signing_key,
            )
        except TokenError as error:
            raise CommandError(f"{error}.") from None
        wrapper = TokenKeyWrapper(session, settings.pkcs11_wrap_key)
        signer = NoteSigner(
            settings.log_origin, TokenEd25519Key(session, settings.pkcs11_signing_key)
        )
    print(
        _(
            "Created in token {pkcs11_token!r}, sensitive and never extractable:\n"
            "  wrapping key {pkcs11_wrap_key!r} (AES-256), fingerprint "
            "{fingerprint}\n"
            "  signing key {pkcs11_signing_key!r} (Ed25519); its public key, with which "
            "auditors and suppliers check checkpoints and receipts:\n"
            "{verifier_key}"
        ).format(
            pkcs11_token=settings.pkcs11_token,
            pkcs11_wrap_key=settings.pkcs11_wrap_key,
            fingerprint=wrapper.fingerprint,
            pkcs11_signing_key=settings.pkcs11_signing_key,
            verifier_key=signer.verifier_key(),
        )
    )
    return EXIT_OK


def _seal_request(args: argparse.Namespace) -> int:
    from asn1crypto import pem
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509

    from tender.runtime import platform_token
    from tender.storage.tokens import TokenError, request_certificate

    settings = _token_settings(seal=True)
    try:
        subject = asn1_x509.Name.load(x509.Name.from_rfc4514_string(args.subject).public_bytes())
    except ValueError as error:
        raise CommandError(
            _(
                "--subject {subject!r} is not an RFC 4514 name ({error}); write e.g. "
                '"CN=Example Procurement Seal,O=Example Ltd,C=HK"'
            ).format(subject=args.subject, error=error)
        ) from None
    with platform_token(settings, write=True) as session:
        try:
            request = request_certificate(session, settings.pkcs11_seal_key, subject)
        except TokenError as error:
            raise CommandError(f"{error}.") from None
    args.out.write_bytes(pem.armor("CERTIFICATE REQUEST", request.dump()))
    print(
        _(
            "Made the seal's key {pkcs11_seal_key!r} in token {pkcs11_token!r} "
            "(EC P-256, never extractable) and wrote its certificate request to {out}. Send "
            "it to your certificate authority; store what it issues with 'tender keys "
            "seal-certificate CERT'."
        ).format(
            pkcs11_seal_key=settings.pkcs11_seal_key,
            pkcs11_token=settings.pkcs11_token,
            out=args.out,
        )
    )
    return EXIT_OK


def _seal_certificate(args: argparse.Namespace) -> int:
    from asn1crypto import x509 as asn1_x509

    from tender.runtime import platform_token
    from tender.signing import read_certificate
    from tender.storage.tokens import TokenError, store_certificate

    settings = _token_settings(seal=True)
    try:
        certificate = asn1_x509.Certificate.load(
            read_certificate(args.certificate.read_bytes()).der
        )
    except OSError as error:
        raise CommandError(
            _("cannot read {certificate}: {strerror}").format(
                certificate=args.certificate, strerror=error.strerror
            )
        ) from None
    except ValueError as error:
        raise CommandError(f"{args.certificate}: {error}") from None
    with platform_token(settings, write=True) as session:
        try:
            store_certificate(session, settings.pkcs11_seal_key, certificate)
        except TokenError as error:
            raise CommandError(f"{error}.") from None
    print(
        _(
            "Stored {human_friendly} beside the seal's key "
            "{pkcs11_seal_key!r} in token {pkcs11_token!r}: opening records "
            "are sealed with it from the next start."
        ).format(
            human_friendly=certificate.subject.human_friendly,
            pkcs11_seal_key=settings.pkcs11_seal_key,
            pkcs11_token=settings.pkcs11_token,
        )
    )
    return EXIT_OK
