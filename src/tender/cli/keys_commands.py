"""``tender keys init-token``: create the platform's keys in its PKCS#11 token, once."""

from __future__ import annotations

import argparse

from tender.cli.common import EXIT_OK, CommandError, SubParsers
from tender.config import Settings, SettingsError


def register(commands: SubParsers) -> None:
    """Add ``keys`` to the ``tender`` command."""
    keys = commands.add_parser(
        "keys",
        help="create the platform's keys in a PKCS#11 token",
        description="The platform's own keys: the key that wraps automatic tenders' keys, "
        "the key that signs checkpoints and receipts, and the opening record's seal.",
    )
    keys_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")
    keys_commands.add_parser(
        "init-token",
        help="create the wrapping and signing keys in TENDER_PKCS11_TOKEN (once)",
        description="Create, in the token that TENDER_PKCS11_MODULE, TENDER_PKCS11_TOKEN and "
        "TENDER_PKCS11_PIN_FILE name, an AES-256 key (label TENDER_PKCS11_WRAP_KEY) that "
        "wraps automatic tenders' keys and an Ed25519 key pair (label "
        "TENDER_PKCS11_SIGNING_KEY) that signs checkpoints and receipts. Both are sensitive "
        "and never extractable: they are used inside the token and cannot be copied out, so "
        "back the token up as its maker says (an HSM's backup or cloning). A label in use is "
        "never replaced. Run it once, before the platform starts, and publish the public key "
        "it prints. The seal's key and certificate are put on the token with the token's own "
        "tools: see README, 'Keys in a PKCS#11 token'.",
    ).set_defaults(run=_init_token)


def _init_token(args: argparse.Namespace) -> int:
    from tender.runtime import platform_token
    from tender.storage.tokens import (
        TokenEd25519Key,
        TokenError,
        TokenKeyWrapper,
        create_platform_keys,
    )
    from tender.verifier.notes import NoteSigner

    settings = Settings.from_env()
    if not settings.pkcs11_module:
        raise SettingsError(
            "TENDER_PKCS11_MODULE is not set: set it to the token's PKCS#11 library, with "
            "TENDER_PKCS11_TOKEN (its label) and TENDER_PKCS11_PIN_FILE (its user PIN)."
        )
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
        f"Created in token {settings.pkcs11_token!r}, sensitive and never extractable:\n"
        f"  wrapping key {settings.pkcs11_wrap_key!r} (AES-256), fingerprint "
        f"{wrapper.fingerprint}\n"
        f"  signing key {settings.pkcs11_signing_key!r} (Ed25519); its public key, with which "
        "auditors and suppliers check checkpoints and receipts:\n"
        f"{signer.verifier_key()}"
    )
    return EXIT_OK
