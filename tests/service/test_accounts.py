"""Organisations register the certificates they sign with; refusals say why."""

from __future__ import annotations

import pytest
from asn1crypto import pem

from tender.accounts.service import certificates_of, register_certificate, signer_binding
from tender.clock import ManualClock
from tender.errors import Conflict, Forbidden, Invalid
from tender.platform import Platform
from tender.signing.testing import TestPKI
from tests.conftest import People
from tests.service.helpers import audit_kinds


def test_supplier_registers_a_certificate_in_pem_or_der(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI
) -> None:
    der = test_pki.certificate("supplier-a").dump()
    with platform.sessions.begin() as session:
        registered = register_certificate(session, actor=people.alice, data=der, clock=clock)
        other = register_certificate(
            session,
            actor=people.alice,
            data=pem.armor("CERTIFICATE", test_pki.certificate("supplier-b").dump()),
            clock=clock,
        )
        binding = signer_binding(session, "Alpha Ltd")
        listed = certificates_of(session, "Alpha Ltd")
    assert registered.subject.startswith("CN=Supplier A,")
    assert binding.organisation == "Alpha Ltd"
    assert binding.fingerprints == {registered.sha256, other.sha256}
    assert [c.id for c in listed] == [registered.id, other.id]
    assert audit_kinds(platform).count("certificate.registered") == 2


def test_registration_refusals(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI
) -> None:
    der = test_pki.certificate("supplier-a").dump()
    with platform.sessions.begin() as session:
        register_certificate(session, actor=people.alice, data=der, clock=clock)
    with platform.sessions.begin() as session, pytest.raises(Conflict, match="already registered"):
        register_certificate(session, actor=people.alice, data=der, clock=clock)
    with platform.sessions.begin() as session, pytest.raises(Invalid, match="not a certificate"):
        register_certificate(session, actor=people.alice, data=b"not a cert", clock=clock)
    with platform.sessions.begin() as session, pytest.raises(Forbidden):
        register_certificate(session, actor=people.officer, data=der, clock=clock)


def test_an_organisation_with_no_certificate_binds_no_signer(
    platform: Platform, people: People
) -> None:
    with platform.sessions.begin() as session:
        assert signer_binding(session, "Beta Ltd").fingerprints == frozenset()


def test_every_new_account_is_audited(platform: Platform, people: People) -> None:
    assert audit_kinds(platform) == ["user.created"] * 4
