"""The platform's own keys in a PKCS#11 token (SoftHSM2): made there, used there, never out.

The keys are made as an operator makes them (``tender keys init-token``; the seal's key made
in the token and certified by the test PKI), and the platform runs as ``tender up`` starts it
(``running_platform``) with nothing but the token settings: tender keys are wrapped in the
token, checkpoints and receipts signed there, the opening record sealed there, and what they
sign is checked by the same verifiers an auditor and a supplier use.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import pkcs11
import pytest
from cryptography import x509
from pkcs11 import Attribute, KeyType, ObjectClass
from pkcs11.exceptions import AttributeSensitive
from sqlalchemy import select

from tender.cli import main
from tender.clock import ManualClock
from tender.config import Settings, SettingsError
from tender.opening.models import OpeningResult
from tender.platform import Platform
from tender.runtime import platform_keys, running_platform
from tender.signing import Indication, verify_document
from tender.signing.testing import P12_PASSPHRASE, TestPKI, signed_pdf
from tender.storage.sealing import PlatformKey, SealError, TenderKey
from tender.storage.tokens import TokenKeyWrapper, open_session
from tender.tenders.models import TenderStatus
from tender.verifier.bundle import verify_bundle
from tender.verifier.receipt import verify_receipt
from tests.conftest import People
from tests.helpers import published_tender, register_signer, unit_of_work, upload
from tests.pkcs11_fixtures import PLATFORM_TOKEN, USER_PIN, PlatformToken, SoftHSM

WRAP_KEY, SIGNING_KEY = Settings.pkcs11_wrap_key, Settings.pkcs11_signing_key


@pytest.fixture
def token_session(platform_token: PlatformToken) -> Iterator[pkcs11.Session]:
    with open_session(platform_token.softhsm.module, PLATFORM_TOKEN, USER_PIN) as session:
        yield session


def test_init_token_makes_keys_that_never_leave_the_token(
    platform_token: PlatformToken, token_session: pkcs11.Session
) -> None:
    made = {
        (ObjectClass.SECRET_KEY, KeyType.AES, WRAP_KEY),
        (ObjectClass.PRIVATE_KEY, KeyType.EC_EDWARDS, SIGNING_KEY),
    }
    for kind, key_type, label in made:
        [key] = token_session.get_objects(
            {Attribute.CLASS: kind, Attribute.KEY_TYPE: key_type, Attribute.LABEL: label}
        )
        assert key[Attribute.SENSITIVE]
        assert key[Attribute.ALWAYS_SENSITIVE]
        assert not key[Attribute.EXTRACTABLE]
        assert key[Attribute.NEVER_EXTRACTABLE]
        with pytest.raises(AttributeSensitive):
            key[Attribute.VALUE]
    wrapper = TokenKeyWrapper(token_session, WRAP_KEY)
    assert f"fingerprint {wrapper.fingerprint}" in platform_token.init_output
    assert platform_token.init_output.rstrip().splitlines()[-1].startswith("tender.invalid/")


@pytest.fixture
def token_environment(platform_token: PlatformToken, monkeypatch: pytest.MonkeyPatch) -> None:
    """What ``tender keys`` reads: the platform's token."""
    monkeypatch.setenv("TENDER_PKCS11_MODULE", platform_token.softhsm.module)
    monkeypatch.setenv("TENDER_PKCS11_TOKEN", PLATFORM_TOKEN)
    monkeypatch.setenv("TENDER_PKCS11_PIN_FILE", str(platform_token.softhsm.pin_file))


@pytest.mark.usefixtures("token_environment")
def test_init_token_never_replaces_a_key(
    platform_token: PlatformToken, capsys: pytest.CaptureFixture[str]
) -> None:

    assert main(["keys", "init-token"]) == 2

    said = capsys.readouterr().err
    assert f"already holds 1 object(s) labelled '{WRAP_KEY}'; keys are never replaced" in said
    with open_session(platform_token.softhsm.module, PLATFORM_TOKEN, USER_PIN) as session:
        assert len(list(session.get_objects({Attribute.LABEL: WRAP_KEY}))) == 1
        fingerprint = TokenKeyWrapper(session, WRAP_KEY).fingerprint
    assert f"fingerprint {fingerprint}" in platform_token.init_output  # the same key


@pytest.mark.usefixtures("token_environment")
def test_the_seal_takes_only_the_certificate_of_its_own_key(
    test_pki: TestPKI,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TENDER_PKCS11_SEAL_KEY", "renewed-seal")
    request = tmp_path / "renewed.csr"
    someone_else = tmp_path / "supplier-a.der"
    someone_else.write_bytes(test_pki.certificate("supplier-a").dump())

    made = main(["keys", "seal-request", "--subject", "CN=Renewed Seal", "--out", str(request)])
    again = main(["keys", "seal-request", "--subject", "CN=Renewed Seal", "--out", str(request)])
    stored = main(["keys", "seal-certificate", str(someone_else)])

    assert (made, again, stored) == (0, 2, 2)
    said = capsys.readouterr().err
    assert "already holds 2 object(s) labelled 'renewed-seal'; keys are never replaced" in said
    assert (
        "'Common Name: Supplier A; Organization: Supplier A Co., Ltd.; Country: TW' is not "
        "for the key labelled 'renewed-seal'" in said
    )


def test_tender_keys_wrapped_in_the_token_open_only_there_and_in_their_context(
    platform_token: PlatformToken, token_session: pkcs11.Session
) -> None:
    wrapper = TokenKeyWrapper(token_session, WRAP_KEY)
    tender_key = TenderKey.generate()
    context = uuid.uuid4().bytes

    wrapped = tender_key.wrap(wrapper, context=context)

    opened = TenderKey.unwrap(wrapped, wrapper, context=context)
    assert opened.private_bytes() == tender_key.private_bytes()
    assert tender_key.private_bytes() not in wrapped
    with pytest.raises(SealError, match="does not open"):
        TenderKey.unwrap(wrapped, wrapper, context=uuid.uuid4().bytes)
    altered = wrapped[:-1] + bytes([wrapped[-1] ^ 1])
    with pytest.raises(SealError, match="does not open"):
        TenderKey.unwrap(altered, wrapper, context=context)
    with pytest.raises(SealError):
        TenderKey.unwrap(wrapped, PlatformKey.generate(), context=context)
    # The fingerprint names the key, not the session: the same in every session.
    assert wrapper.fingerprint == TokenKeyWrapper(token_session, WRAP_KEY).fingerprint
    assert wrapper.fingerprint != PlatformKey.generate().fingerprint


@pytest.fixture
def token_settings(
    settings: Settings, platform_token: PlatformToken, test_pki: TestPKI
) -> Settings:
    """A platform outside the embedded default (its own database and S3) whose keys are all
    in the token, and which may not keep keys in files."""
    return platform_token.settings_of(
        settings.with_overrides(
            trust_dir=test_pki.trust_dir, revocation_dir=test_pki.revocation_dir
        )
    )


@pytest.fixture
def said() -> list[str]:
    return []


@pytest.fixture
def token_platform(
    token_settings: Settings, clock: ManualClock, said: list[str]
) -> Iterator[Platform]:
    with running_platform(
        token_settings, clock=clock, worker=False, reconciler=False, recover=False, say=said.append
    ) as platform:
        yield platform


def test_a_platform_with_its_keys_in_the_token_opens_seals_and_signs_what_auditors_check(
    token_platform: Platform,
    platform_token: PlatformToken,
    said: list[str],
    clock: ManualClock,
    test_pki: TestPKI,
    tmp_path: Path,
) -> None:
    platform = token_platform
    people = People(platform)
    tender = published_tender(platform, people.officer, clock, hours=1)
    register_signer(platform, people.alice, test_pki, "supplier-a")
    receipt = upload(
        platform, people.alice, tender.id, "bid.pdf", [signed_pdf(test_pki, "supplier-a", "A")]
    )
    clock.set(tender.deadline + timedelta(seconds=1))

    outcome = platform.opener.open_tender(tender.id)

    # The tender key was wrapped and unwrapped by the token's key: the bid opened.
    assert outcome.status == TenderStatus.OPENED
    assert outcome.documents_opened_now == 1
    with unit_of_work(platform) as services:
        [result] = services.session.scalars(select(OpeningResult))
        sealed = b"".join(
            services.opening.stored_record_pdf(reader=people.officer, tender_id=tender.id)
        )
    assert (result.indication, result.hash_matches) == (Indication.TOTAL_PASSED, True)
    # The public key `tender keys init-token` printed is the one receipts and checkpoints
    # hold under, offline.
    vkey = platform.checkpointer.signer.verifier_key()
    assert platform_token.init_output.rstrip().endswith(vkey)
    assert receipt.signed_receipt is not None
    checks = verify_receipt(receipt.signed_receipt, vkey, tsa_trust=test_pki.trust_store())
    assert [c.name for c in checks if not c.ok] == []
    bundle = tmp_path / "bundle.zip"
    platform.exporter.export(tender_reference=tender.reference, out=bundle)
    failed = {c.name: c.detail for c in verify_bundle(bundle, vkey) if not c.ok}
    assert failed == {}
    # The opening record is sealed with the token's seal key, and verifies as the platform.
    report = verify_document(BytesIO(sealed), trust=test_pki.trust_store(), at=clock.now())
    assert report.indication == Indication.TOTAL_PASSED
    seal = x509.load_der_x509_certificate(platform_token.seal_certificate.dump())
    assert report.signer_subject == seal.subject.rfc4514_string()
    # Nothing of the platform's keys is in a file, and start-up said where they are.
    data_dir = platform.settings.data_dir
    assert not (data_dir / "platform.key").exists()
    assert not (data_dir / "signing.key").exists()
    assert any(f"in PKCS#11 token '{PLATFORM_TOKEN}'" in line for line in said)


def _sealing_with_the_test_pki(tmp_path: Path, test_pki: TestPKI) -> Settings:
    password = tmp_path / "p12-password"
    password.write_bytes(P12_PASSPHRASE)
    return Settings(
        data_dir=tmp_path / "var",
        platform_p12=test_pki.p12_path("platform"),
        platform_p12_password_file=password,
    )


def test_outside_the_embedded_default_key_files_are_refused_unless_allowed(
    tmp_path: Path, test_pki: TestPKI
) -> None:
    production = _sealing_with_the_test_pki(tmp_path, test_pki).with_overrides(
        database_url="postgresql+psycopg://db/x"
    )
    with (
        pytest.raises(SettingsError, match="TENDER_PKCS11_MODULE is not set") as refused,
        platform_keys(production, print),
    ):
        pass
    assert "TENDER_ALLOW_KEY_FILES=true" in str(refused.value)
    assert not (production.data_dir / "platform.key").exists()
    said: list[str] = []
    with platform_keys(production.with_overrides(allow_key_files=True), said.append) as keys:
        assert isinstance(keys.wrapper, PlatformKey)
    assert (production.data_dir / "platform.key").is_file()
    assert any("Platform keys: in FILES" in line for line in said)


def test_the_embedded_default_keeps_its_keys_in_files_and_says_so(
    tmp_path: Path, test_pki: TestPKI
) -> None:
    settings = _sealing_with_the_test_pki(tmp_path, test_pki)
    assert settings.embedded
    said: list[str] = []

    with platform_keys(settings, said.append) as keys:
        assert isinstance(keys.wrapper, PlatformKey)

    assert (settings.data_dir / "signing.key").is_file()
    assert any("Whoever can read them can open tenders early" in line for line in said)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pkcs11_token": "no-such-token"}, "no token carries the label 'no-such-token'"),
        ({"pkcs11_signing_key": "nope"}, "holds no Ed25519 private key labelled 'nope'"),
        ({"pkcs11_seal_key": "no-seal"}, "cannot sign with key 'no-seal'"),
        ({"pkcs11_module": "/nonexistent/pkcs11.so"}, "cannot load the PKCS#11 module"),
    ],
)
def test_a_token_that_cannot_serve_stops_the_start_and_says_what_to_fix(
    platform_token: PlatformToken,
    tmp_path: Path,
    change: dict[str, str],
    message: str,
) -> None:
    settings = platform_token.settings_of(Settings(data_dir=tmp_path)).with_overrides(**change)

    with pytest.raises(SettingsError, match=message), platform_keys(settings, print):
        pass


def test_a_wrong_pin_stops_the_start(
    platform_token: PlatformToken, softhsm: SoftHSM, tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong-pin"
    wrong.write_text("000000\n")
    settings = platform_token.settings_of(Settings(data_dir=tmp_path))

    with (
        pytest.raises(SettingsError, match="the PIN for token 'tender-platform' is wrong"),
        platform_keys(settings.with_overrides(pkcs11_pin_file=wrong), print),
    ):
        pass
    with platform_keys(settings, print) as keys:  # the right PIN still opens it
        assert isinstance(keys.wrapper, TokenKeyWrapper)
