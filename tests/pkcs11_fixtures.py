"""PKCS#11 tokens for the tests: SoftHSM2, with a token folder of the test session's own.

In CI (CI=true) a test that needs SoftHSM2 fails when it is missing; elsewhere it is skipped
with the reason printed. SoftHSM2 reads its token folder (``SOFTHSM2_CONF``) once, when the
library is first initialised in a process, so every token of the session is made first, here:
the platform's (keys made as an operator makes them, with ``tender keys init-token``, and
a seal key certified by the test PKI) and a supplier's smart card (a signing key certified by
the test PKI, its certificate beside it under the same label and ID, as card issuers do).
``tender`` processes the tests start inherit ``SOFTHSM2_CONF`` and see the same tokens.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pkcs11
import pytest
from asn1crypto import keys, x509
from pkcs11 import Attribute, KeyType, Mechanism
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters
from pkcs11.util.x509 import decode_x509_certificate

from tender.cli import main
from tender.config import Settings
from tender.signing.testing import TestPKI
from tender.storage.tokens import open_session

SOFTHSM2_MODULE = os.environ.get("TENDER_TEST_PKCS11_MODULE", "/usr/lib/softhsm/libsofthsm2.so")
PLATFORM_TOKEN = "tender-platform"
CARD_TOKEN = "supplier-card"
SEAL_KEY = "tender-seal"
CARD_KEY = "e-cert-signing"
USER_PIN = "271828"
SO_PIN = "31415926"
CARD_ORGANISATION = "Card Holder Co., Ltd."


@dataclass(frozen=True)
class SoftHSM:
    """SoftHSM2 with this session's tokens; every token has the user PIN in ``pin_file``."""

    module: str
    pin_file: Path


@dataclass(frozen=True)
class PlatformToken:
    """The platform's token: what ``tender keys init-token`` printed, and the seal's
    certificate (made in the token, certified by the test PKI)."""

    softhsm: SoftHSM
    init_output: str
    seal_certificate: x509.Certificate

    def settings_of(self, settings: Settings) -> Settings:
        """``settings`` with the platform's keys in this token, and no key files allowed."""
        return settings.with_overrides(
            pkcs11_module=self.softhsm.module,
            pkcs11_token=PLATFORM_TOKEN,
            pkcs11_pin_file=self.softhsm.pin_file,
            pkcs11_seal_key=SEAL_KEY,
            allow_key_files=False,
        )


@dataclass(frozen=True)
class SmartCard:
    """A supplier's smart card: its signing key and certificate, both labelled ``key``."""

    softhsm: SoftHSM
    token: str
    key: str
    certificate: x509.Certificate

    def flags(self) -> list[str]:
        """The flags of ``tender sign`` and ``tender certificate register`` that use it."""
        return [
            "--pkcs11-module", self.softhsm.module, "--token", self.token, "--key", self.key,
            "--pin-file", str(self.softhsm.pin_file),
        ]  # fmt: skip


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHSM]:
    from tests.conftest import IN_CI

    util = shutil.which("softhsm2-util")
    if util is None or not Path(SOFTHSM2_MODULE).is_file():
        reason = (
            f"SoftHSM2 is not installed (softhsm2-util: {util or 'missing'}, module "
            f"{SOFTHSM2_MODULE}: {'present' if Path(SOFTHSM2_MODULE).is_file() else 'missing'}); "
            "apt-get install softhsm2"
        )
        if IN_CI:
            pytest.fail(f"{reason}; CI must run this test", pytrace=False)
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("softhsm2")
    (folder / "tokens").mkdir()
    config = folder / "softhsm2.conf"
    config.write_text(
        f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\n"
        "log.level = ERROR\n"
    )
    pin_file = folder / "pin"
    pin_file.write_text(USER_PIN + "\n")
    pin_file.chmod(0o600)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOFTHSM2_CONF", str(config))
        for label in (PLATFORM_TOKEN, CARD_TOKEN):
            subprocess.run(
                [util, "--init-token", "--free", "--label", label, "--so-pin", SO_PIN,
                 "--pin", USER_PIN],
                check=True, capture_output=True,
            )  # fmt: skip
        yield SoftHSM(SOFTHSM2_MODULE, pin_file)


def certified_key_in_token(
    session: pkcs11.Session, pki: TestPKI, label: str, *, organisation: str, common_name: str
) -> x509.Certificate:
    """An EC P-256 key pair made in the token (sensitive, never extractable), certified by
    the test PKI; the certificate is stored beside the key with the same label and ID."""
    parameters = session.create_domain_parameters(
        KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True
    )
    public, _ = parameters.generate_keypair(
        mechanism=Mechanism.EC_KEY_PAIR_GEN,
        store=True,
        label=label,
        id=label.encode(),
        private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False},
    )
    certificate = pki.certify(
        keys.PublicKeyInfo.load(encode_ec_public_key(public)),
        organisation=organisation,
        common_name=common_name,
    )
    session.create_object(
        {
            **decode_x509_certificate(certificate.dump()),
            Attribute.TOKEN: True,
            Attribute.LABEL: label,
            Attribute.ID: label.encode(),
        }
    )
    return certificate


@pytest.fixture(scope="session")
def platform_token(softhsm: SoftHSM, test_pki: TestPKI) -> PlatformToken:
    environment = {
        "TENDER_PKCS11_MODULE": softhsm.module,
        "TENDER_PKCS11_TOKEN": PLATFORM_TOKEN,
        "TENDER_PKCS11_PIN_FILE": str(softhsm.pin_file),
    }
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(printed):
        for name, value in environment.items():
            patch.setenv(name, value)
        assert main(["keys", "init-token"]) == 0
    with open_session(softhsm.module, PLATFORM_TOKEN, USER_PIN, write=True) as session:
        seal = certified_key_in_token(
            session,
            test_pki,
            SEAL_KEY,
            organisation="Tender Platform",
            common_name="Tender Platform Seal (token)",
        )
    return PlatformToken(softhsm, printed.getvalue(), seal)


@pytest.fixture(scope="session")
def smart_card(softhsm: SoftHSM, test_pki: TestPKI) -> SmartCard:
    with open_session(softhsm.module, CARD_TOKEN, USER_PIN, write=True) as session:
        certificate = certified_key_in_token(
            session, test_pki, CARD_KEY, organisation=CARD_ORGANISATION, common_name="Card Holder"
        )
    return SmartCard(softhsm, CARD_TOKEN, CARD_KEY, certificate)
