"""Organisations register the certificates they sign with; refusals say why."""

from __future__ import annotations

import pytest
from asn1crypto import pem

from tender.errors import Conflict, Invalid
from tender.platform import Platform
from tender.signing.testing import TestPKI
from tests.conftest import People
from tests.helpers import audit_kinds, unit_of_work


def test_supplier_registers_a_certificate_in_pem_or_der(
    platform: Platform, people: People, test_pki: TestPKI
) -> None:
    der = test_pki.certificate("supplier-a").dump()
    with unit_of_work(platform) as services:
        registered = services.accounts.register_certificate(actor=people.alice, data=der)
        other = services.accounts.register_certificate(
            actor=people.alice,
            data=pem.armor("CERTIFICATE", test_pki.certificate("supplier-b").dump()),
        )
        binding = services.accounts.signer_binding("Alpha Ltd")
        listed = services.accounts.certificates_of("Alpha Ltd")
    assert registered.subject.startswith("CN=Supplier A,")
    assert binding.organisation == "Alpha Ltd"
    assert binding.fingerprints == {registered.sha256, other.sha256}
    assert [c.id for c in listed] == [registered.id, other.id]
    assert audit_kinds(platform).count("certificate.registered") == 2


def test_registration_refusals(platform: Platform, people: People, test_pki: TestPKI) -> None:
    der = test_pki.certificate("supplier-a").dump()
    with unit_of_work(platform) as services:
        services.accounts.register_certificate(actor=people.alice, data=der)
    with unit_of_work(platform) as services, pytest.raises(Conflict, match="already registered"):
        services.accounts.register_certificate(actor=people.alice, data=der)
    with unit_of_work(platform) as services, pytest.raises(Invalid, match="not a certificate"):
        services.accounts.register_certificate(actor=people.alice, data=b"not a cert")


def test_an_organisation_with_no_certificate_binds_no_signer(
    platform: Platform, people: People
) -> None:
    with unit_of_work(platform) as services:
        assert services.accounts.signer_binding("Beta Ltd").fingerprints == frozenset()


def test_every_new_account_is_audited(platform: Platform, people: People) -> None:
    assert audit_kinds(platform) == ["user.created"] * 4
