"""A supplier signs with a smart card (SoftHSM2 standing in for an e-Cert card or a DSC token):
``tender sign`` and ``tender certificate register`` with ``--pkcs11-module``, run as the real
command. The card's key was made on it and never leaves it; its certificate is the test PKI's.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from sqlalchemy import select

from tender.clock import ManualClock
from tender.opening.models import OpeningResult
from tender.platform import Platform
from tender.signing import Indication, TrustStore, verify_document
from tender.signing.testing import make_pdf
from tender.tenders.models import TenderStatus
from tests.cli.test_submit import said, tender_cli
from tests.conftest import People
from tests.helpers import published_tender, unit_of_work
from tests.pkcs11_fixtures import SmartCard

pytestmark = pytest.mark.integration  # each test runs the real command in a new process


def _subject(card: SmartCard) -> str:
    return x509.load_der_x509_certificate(card.certificate.dump()).subject.rfc4514_string()


def _verified(
    content: bytes, trust: TrustStore, detached_signature: bytes | None = None
) -> tuple[Indication, str | None]:
    report = verify_document(
        io.BytesIO(content),
        detached_signature=None if detached_signature is None else io.BytesIO(detached_signature),
        trust=trust,
        at=datetime.now(UTC),
    )
    return report.indication, report.signer_subject


def test_a_pdf_signed_with_the_card_passes_the_platforms_verification(
    smart_card: SmartCard, platform_trust: TrustStore, tmp_path: Path
) -> None:
    bid = tmp_path / "offer.pdf"
    bid.write_bytes(make_pdf("Our offer: HK$ 980,000"))

    done = tender_cli("", "", "sign", str(bid), *smart_card.flags())

    assert done.returncode == 0, done.stdout + done.stderr
    assert "Signed" in done.stdout
    assert "PAdES signature, inside the PDF" in done.stdout
    signed = (tmp_path / "offer-signed.pdf").read_bytes()
    assert _verified(signed, platform_trust) == (Indication.TOTAL_PASSED, _subject(smart_card))


def test_any_other_file_gets_a_detached_cades_signature_from_the_card(
    smart_card: SmartCard, platform_trust: TrustStore, tmp_path: Path
) -> None:
    prices = tmp_path / "prices.xlsx"
    prices.write_bytes(b"PK\x03\x04 unit prices " * 1000)

    done = tender_cli("", "", "sign", str(prices), *smart_card.flags())

    assert done.returncode == 0, done.stdout + done.stderr
    signature = Path(f"{prices}.p7s").read_bytes()
    assert _verified(prices.read_bytes(), platform_trust, signature) == (
        Indication.TOTAL_PASSED,
        _subject(smart_card),
    )
    changed = prices.read_bytes() + b"!"
    assert _verified(changed, platform_trust, signature)[0] == Indication.TOTAL_FAILED


def test_a_bid_signed_with_the_card_is_registered_submitted_prechecked_and_opened(
    platform: Platform,
    people: People,
    clock: ManualClock,
    smart_card: SmartCard,
    tmp_path: Path,
    url: str,
) -> None:
    alice = people.tokens["Alice"]
    tender = published_tender(platform, people.officer, clock, ref="HK-2026-031")
    bid = tmp_path / "offer.pdf"
    bid.write_bytes(make_pdf("Our offer: HK$ 980,000"))

    registered = tender_cli(url, alice, "certificate", "register", *smart_card.flags())
    signed = tender_cli(url, alice, "sign", str(bid), *smart_card.flags())
    submitted = tender_cli(
        url, alice, "submit", str(tmp_path / "offer-signed.pdf"), "--tender", tender.reference
    )

    assert registered.returncode == 0, registered.stdout + registered.stderr
    assert "for Alpha Ltd" in registered.stdout
    assert "CN=Card Holder" in registered.stdout
    assert signed.returncode == 0, signed.stdout + signed.stderr
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    assert said(submitted.stdout, "Signature pre-check") == "passed"
    clock.set(tender.deadline + timedelta(seconds=1))
    assert platform.opener.open_tender(tender.id).status == TenderStatus.OPENED
    with unit_of_work(platform) as services:
        [result] = services.session.scalars(select(OpeningResult))
    assert result.indication == Indication.TOTAL_PASSED
    assert result.signer_subject == _subject(smart_card)


def test_a_wrong_pin_is_named_and_nothing_is_signed(smart_card: SmartCard, tmp_path: Path) -> None:
    bid = tmp_path / "offer.pdf"
    bid.write_bytes(make_pdf("Our offer"))
    wrong = tmp_path / "wrong-pin"
    wrong.write_text("000000\n")
    flags = [*smart_card.flags()[:-1], str(wrong)]  # --pin-file is the last flag

    done = tender_cli("", "", "sign", str(bid), *flags)

    assert done.returncode == 2
    assert f"the PIN for token '{smart_card.token}' is wrong" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "offer-signed.pdf").exists()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--pkcs11-module", "LIB", "--token", "card"], "--pkcs11-module needs --token LABEL"),
        (["--p12", "x.p12", "--token", "card"], "--token go with --pkcs11-module"),
        (["--p12", "x.p12", "--pkcs11-module", "LIB"], "not allowed with argument"),
    ],
)
def test_a_card_asked_for_wrongly_is_explained(
    flags: list[str], message: str, tmp_path: Path
) -> None:
    bid = tmp_path / "offer.pdf"
    bid.write_bytes(make_pdf("Our offer"))

    done = tender_cli("", "", "sign", str(bid), *flags)

    assert done.returncode == 2
    assert message in done.stderr


def test_a_card_without_the_named_key_says_which_labels_to_check(
    smart_card: SmartCard, tmp_path: Path
) -> None:
    bid = tmp_path / "offer.pdf"
    bid.write_bytes(make_pdf("Our offer"))
    flags = smart_card.flags()
    flags[flags.index("--key") + 1] = "no-such-key"

    done = tender_cli("", "", "sign", str(bid), *flags)

    assert done.returncode == 2
    assert "cannot sign with key 'no-such-key'" in done.stderr
    assert "check --key and --cert against the labels on the card" in done.stderr
