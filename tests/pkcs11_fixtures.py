"""PKCS#11 tokens for the tests: SoftHSM2, with a token folder of the test session's own.

In CI (CI=true) a test that needs SoftHSM2 fails when it is missing; elsewhere it is skipped
with the reason printed. SoftHSM2 reads its token folder (``SOFTHSM2_CONF``) once, when the
library is first initialised in a process, so every token of the session is made first, here:
the platform's (its keys made as an operator makes them, with ``tender keys init-token`` and
``seal-request``/``seal-certificate``, the test PKI as the authority) and a supplier's smart
card (a signing key made on it, certified by the test PKI, the certificate beside it under the
same label and ID, as card issuers do).
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

import pytest
from asn1crypto import keys, pem, x509
from cryptography import x509 as pyca_x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tender.cli import main
from tender.config import Settings
from tender.signing.testing import TestPKI
from tender.storage.tokens import open_session, request_certificate, store_certificate

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


def _run(environment: dict[str, str], *arguments: str) -> str:
    """``tender ARGUMENTS`` in this process with ``environment``; what it printed."""
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(printed):
        for name, value in environment.items():
            patch.setenv(name, value)
        assert main(list(arguments)) == 0, printed.getvalue()
    return printed.getvalue()


@pytest.fixture(scope="session")
def platform_token(
    softhsm: SoftHSM, test_pki: TestPKI, tmp_path_factory: pytest.TempPathFactory
) -> PlatformToken:
    """The platform's token as an operator prepares it: ``tender keys init-token``, then
    ``tender keys seal-request``, the authority (the test PKI) certifying the request, and
    ``tender keys seal-certificate``."""
    environment = {
        "TENDER_PKCS11_MODULE": softhsm.module,
        "TENDER_PKCS11_TOKEN": PLATFORM_TOKEN,
        "TENDER_PKCS11_PIN_FILE": str(softhsm.pin_file),
        "TENDER_PKCS11_SEAL_KEY": SEAL_KEY,
    }
    init_output = _run(environment, "keys", "init-token")
    folder = tmp_path_factory.mktemp("seal")
    request_file, certificate_file = folder / "seal.csr", folder / "seal.pem"
    subject = "CN=Tender Platform Seal (token),O=Tender Platform,C=HK"
    _run(environment, "keys", "seal-request", "--subject", subject, "--out", str(request_file))
    request = pyca_x509.load_pem_x509_csr(request_file.read_bytes())
    assert request.is_signature_valid  # the key in the token signed it: proof of possession
    certificate = test_pki.certify(
        keys.PublicKeyInfo.load(
            request.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        ),
        organisation="Tender Platform",
        common_name="Tender Platform Seal (token)",
    )
    certificate_file.write_bytes(pem.armor("CERTIFICATE", certificate.dump()))
    _run(environment, "keys", "seal-certificate", str(certificate_file))
    return PlatformToken(softhsm, init_output, certificate)


@pytest.fixture(scope="session")
def smart_card(softhsm: SoftHSM, test_pki: TestPKI) -> SmartCard:
    """A card as its issuer hands it out: a key made on it, certified, the certificate beside."""
    with open_session(softhsm.module, CARD_TOKEN, USER_PIN, write=True) as session:
        request = request_certificate(session, CARD_KEY, x509.Name.build({"common_name": "x"}))
        certificate = test_pki.certify(
            request["certification_request_info"]["subject_pk_info"],
            organisation=CARD_ORGANISATION,
            common_name="Card Holder",
        )
        store_certificate(session, CARD_KEY, certificate)
    return SmartCard(softhsm, CARD_TOKEN, CARD_KEY, certificate)
