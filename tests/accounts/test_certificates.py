"""Organisations register the certificates they sign with, proving they hold the key.

Mallory Corp cannot register Alpha's certificate: she has a copy of it (it travels in every
signed bid) but not its key, so she cannot sign the challenge with it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import NoEncryption, pkcs12
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from tender.accounts.models import SigningCertificate, User
from tender.clock import ManualClock
from tender.errors import Conflict, Invalid, NotFound
from tender.opening.models import OpeningResult
from tender.platform import Platform
from tender.signing import load_signer_pkcs12
from tender.signing.testing import TestPKI, signed_pdf
from tests.conftest import People
from tests.helpers import (
    audit_kinds,
    certificates,
    published_tender,
    register_signer,
    sign_text,
    unit_of_work,
    upload,
)


def _answer(platform: Platform, who: User, signature_of: object) -> SigningCertificate:
    """Ask for a challenge as ``who`` and answer it with ``signature_of(text)``."""
    with platform.sessions.begin() as session:
        challenge = certificates(platform, session).challenge(actor=who)
    with platform.sessions.begin() as session:
        return certificates(platform, session).register(
            actor=who,
            challenge_id=challenge.id,
            signature=signature_of(challenge.text),  # type: ignore[operator]
        )


def test_a_supplier_registers_the_certificate_whose_key_signed_the_challenge(
    platform: Platform, people: People, test_pki: TestPKI
) -> None:
    registered = register_signer(platform, people.alice, test_pki, "supplier-a")
    other = register_signer(platform, people.alice, test_pki, "supplier-b")

    with unit_of_work(platform) as services:
        binding = services.accounts.signer_binding(people.alice)
        listed = services.accounts.certificates_of(people.alice.organisation_id)
    assert registered.subject.startswith("CN=Supplier A,")
    assert binding.fingerprints == {registered.sha256, other.sha256}
    assert [c.id for c in listed] == [registered.id, other.id]
    assert audit_kinds(platform).count("certificate.registered") == 2


def test_a_copy_of_a_certificate_without_its_key_registers_nothing(
    platform: Platform, people: People, test_pki: TestPKI
) -> None:
    """Mallory (Bob's firm here) holds Alice's signed bid, and so her certificate and a
    signature by her key, but over the bid: it does not answer Mallory's challenge."""
    register_signer(platform, people.alice, test_pki, "supplier-a")
    alice_bid_signature = sign_text("Alpha's bid", test_pki.signer("supplier-a"))

    with pytest.raises(Invalid) as refused:
        _answer(platform, people.bob, lambda _text: alice_bid_signature)

    assert "does not pass" in refused.value.why
    with unit_of_work(platform) as services:
        assert services.accounts.signer_binding(people.bob).fingerprints == frozenset()


def test_a_certificate_registered_to_another_organisation_is_refused(
    platform: Platform, people: People, test_pki: TestPKI
) -> None:
    """Even with the key (a shared .p12, say), a certificate counts for one organisation."""
    register_signer(platform, people.alice, test_pki, "supplier-a")

    with pytest.raises(Conflict, match="registered to another organisation"):
        register_signer(platform, people.bob, test_pki, "supplier-a")


@pytest.mark.parametrize(
    ("signer", "why"),
    [
        ("untrusted-supplier", "INDETERMINATE/NO_CERTIFICATE_CHAIN_FOUND"),
        ("supplier-expired", "OUT_OF_BOUNDS_NO_POE"),
        ("revoked-supplier", "REVOKED"),
        ("no-signing-usage", "CHAIN_CONSTRAINTS_FAILURE"),
    ],
)
def test_an_unusable_certificate_is_refused_with_the_reason(
    platform: Platform, people: People, test_pki: TestPKI, signer: str, why: str
) -> None:
    with pytest.raises(Invalid) as refused:
        register_signer(platform, people.alice, test_pki, signer)
    assert why in refused.value.why
    assert "authority the platform accepts" in refused.value.todo


def test_a_self_signed_certificate_is_refused(
    platform: Platform, people: People, tmp_path: Path
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Mallory Self-Signed")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    p12 = tmp_path / "self-signed.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(b"mallory", key, certificate, None, NoEncryption())
    )
    signer = load_signer_pkcs12(p12, None)

    with pytest.raises(Invalid, match="cannot be registered"):
        _answer(platform, people.bob, lambda text: sign_text(text, signer))


def test_a_challenge_is_good_once_for_its_user_until_it_expires(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI
) -> None:
    with platform.sessions.begin() as session:
        challenge = certificates(platform, session).challenge(actor=people.alice)
    signature = sign_text(challenge.text, test_pki.signer("supplier-a"))

    def answer(who: User, challenge_id: uuid.UUID = challenge.id) -> None:
        with platform.sessions.begin() as session:
            certificates(platform, session).register(
                actor=who, challenge_id=challenge_id, signature=signature
            )

    with pytest.raises(NotFound):
        answer(people.bob)  # not Bob's challenge
    clock.advance(timedelta(hours=1))
    with pytest.raises(Conflict, match="expired"):
        answer(people.alice)
    with pytest.raises(NotFound):
        answer(people.alice, uuid.uuid4())


def test_the_opening_then_refuses_a_bid_signed_with_someone_elses_certificate(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI
) -> None:
    """The attack that worked before: Mallory registered Alice's certificate and submitted
    Alice's signed PDF as her own bid. Now she cannot register it, so it does not count."""
    register_signer(platform, people.alice, test_pki, "supplier-a")
    with pytest.raises(Conflict):
        register_signer(platform, people.bob, test_pki, "supplier-a")
    tender = published_tender(platform, people.officer, clock, hours=1)
    stolen = upload(
        platform, people.bob, tender.id, "bid.pdf", [signed_pdf(test_pki, "supplier-a", "A")]
    )
    clock.set(tender.deadline + timedelta(seconds=1))
    platform.opener.open_tender(tender.id)

    with platform.sessions.begin() as session:
        result = session.get(OpeningResult, stolen.receipt_id)
        registered = session.scalars(select(SigningCertificate)).all()
        assert [c.organisation for c in registered] == ["Alpha Ltd"]
    assert result is not None
    assert (result.indication, result.sub_indication) == ("TOTAL_FAILED", "SIGNER_NOT_REGISTERED")


def test_every_new_account_is_audited(platform: Platform, people: People) -> None:
    assert audit_kinds(platform) == ["organisation.created", "user.created", "token.created"] * 4
