"""Revocation as of the submission time, key usage and key size, and time-stamps.

OCSP, CRLs and the TSA are served for real on 127.0.0.1 (:func:`serve_pki`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from pyhanko.sign.timestamps import HTTPTimeStamper

from tender.signing import (
    DocumentReport,
    Indication,
    SubIndication,
    TrustStore,
    TrustStoreError,
    sign_pdf,
    verify_document,
)
from tender.signing.revocation import host_allowed
from tender.signing.testing import (
    REVOCATION_CRL,
    ServedPKI,
    TestPKI,
    make_pdf,
    serve_pki,
    signed_pdf,
)

PASSED = (Indication.TOTAL_PASSED, None)
# ETSI EN 319 102-1: revoked before the time the signature is proven to exist (the
# submission) is INDETERMINATE / REVOKED_NO_POE, as expired-before is OUT_OF_BOUNDS_NO_POE.
REVOKED_BEFORE = (Indication.INDETERMINATE, SubIndication.REVOKED_NO_POE)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedPKI]:
    with serve_pki(tmp_path_factory.mktemp("served-pki")) as served:
        yield served


def _verdict(report: DocumentReport) -> tuple[Indication, SubIndication | None]:
    return report.indication, report.sub_indication


def _verify(data: bytes, trust: TrustStore, at: datetime) -> DocumentReport:
    return verify_document(BytesIO(data), trust=trust, at=at)


def _online(served: ServedPKI) -> TrustStore:
    return TrustStore.from_folder(
        served.pki.trust_dir, fetch_allowed_hosts=frozenset({served.host})
    )


@pytest.mark.parametrize(
    ("days", "verdict", "trusted"), [(1, REVOKED_BEFORE, False), (-1, PASSED, True)]
)
def test_revocation_fetched_by_ocsp_counts_as_of_submission(
    served: ServedPKI,
    days: int,
    verdict: tuple[Indication, SubIndication | None],
    trusted: bool,
) -> None:
    revoked_at = served.pki.revocation_time("revoked-supplier")
    data = signed_pdf(served.pki, "revoked-supplier", "Bid")

    report = _verify(data, _online(served), revoked_at + timedelta(days=days))

    assert _verdict(report) == verdict
    (signature,) = report.signatures
    assert signature.trusted is trusted
    ocsp = [e for e in signature.revocation if e.kind == "OCSP"]
    assert [(e.origin, e.status, e.revoked_at) for e in ocsp] == [
        ("fetched", "revoked", revoked_at)
    ]
    assert ocsp[0].certificate_serial == signature.signer_serial
    assert ocsp[0].issuer == "CN=Tender Test OCSP Responder,O=Tender Test PKI,C=TW"
    assert any(request.startswith("POST /tender-test/ocsp/interm") for request in served.requests)


@pytest.mark.parametrize(
    ("days", "verdict"), [(1, REVOKED_BEFORE), (-1, PASSED)], ids=["before", "after"]
)
def test_revocation_in_an_offline_crl_counts_as_of_submission(
    pki: TestPKI, days: int, verdict: tuple[Indication, SubIndication | None]
) -> None:
    trust = TrustStore.from_folder(pki.trust_dir, revocation_dir=pki.revocation_dir)
    revoked_at = pki.revocation_time("revoked-supplier")

    report = _verify(
        signed_pdf(pki, "revoked-supplier", "Bid"), trust, revoked_at + timedelta(days=days)
    )

    assert _verdict(report) == verdict
    (evidence,) = report.signatures[0].revocation
    assert (evidence.kind, evidence.origin, evidence.status) == ("CRL", "offline", "revoked")
    assert evidence.revoked_at == revoked_at
    assert evidence.issuer == "CN=Tender Test Issuing CA,O=Tender Test PKI,C=TW"
    assert evidence.issued_at <= pki.reference_time
    crl_file = pki.revocation_dir / REVOCATION_CRL
    assert evidence.sha256 == hashlib.sha256(crl_file.read_bytes()).hexdigest()


def test_good_certificate_reports_the_crl_that_cleared_it(pki: TestPKI) -> None:
    trust = TrustStore.from_folder(pki.trust_dir, revocation_dir=pki.revocation_dir)

    report = _verify(signed_pdf(pki, "supplier-a", "Bid"), trust, datetime.now(UTC))

    assert _verdict(report) == PASSED
    (evidence,) = report.signatures[0].revocation
    assert (evidence.kind, evidence.origin, evidence.status, evidence.revoked_at) == (
        "CRL",
        "offline",
        "good",
        None,
    )
    assert report.to_json()["signatures"][0]["revocation"][0]["status"] == "good"  # type: ignore[index]


def test_without_evidence_revocation_is_not_checked(pki: TestPKI, trust: TrustStore) -> None:
    # The documented soft-fail: no CRL or OCSP response at hand, no fetching allowed.
    report = _verify(signed_pdf(pki, "revoked-supplier", "Bid"), trust, datetime.now(UTC))

    assert _verdict(report) == PASSED
    assert report.signatures[0].revocation == ()


@pytest.mark.parametrize(
    "allowed", [frozenset(), frozenset({"127.0.0.1:9"}), frozenset({"localhost"})]
)
def test_nothing_is_fetched_from_hosts_not_allowed(
    tmp_path: Path, served: ServedPKI, allowed: frozenset[str]
) -> None:
    with serve_pki(tmp_path) as elsewhere:
        # The certificate points to `elsewhere`; only other hosts are allowed.
        data = signed_pdf(elsewhere.pki, "revoked-supplier", "Bid")
        trust = TrustStore.from_folder(
            elsewhere.pki.trust_dir, fetch_allowed_hosts=allowed | {served.host}
        )
        before = list(served.requests)

        report = _verify(data, trust, datetime.now(UTC))

        assert elsewhere.requests == []
    assert served.requests == before
    assert _verdict(report) == PASSED  # soft fail: no evidence could be had
    assert report.signatures[0].revocation == ()


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://ocsp.example.com/x", True),
        ("http://OCSP.example.com:8080/x", True),
        ("http://127.0.0.1:8123/x", True),
        ("https://crl.example.org/x", False),
        ("http://127.0.0.1:8124/x", False),
        ("http://ocsp.example.com.evil.test/x", False),
        ("file:///etc/passwd", False),
    ],
)
def test_allow_list_matches_hosts_and_host_ports(url: str, allowed: bool) -> None:
    hosts = frozenset({"ocsp.example.com", "127.0.0.1:8123"})

    assert host_allowed(url, hosts) is allowed


def test_trusted_time_stamp_is_reported(served: ServedPKI, trust: TrustStore) -> None:
    output = BytesIO()
    before = datetime.now(UTC)
    sign_pdf(
        BytesIO(make_pdf("Bid")),
        output,
        served.pki.signer("supplier-a"),
        timestamper=HTTPTimeStamper(served.tsa_url),
    )
    at = datetime.now(UTC) + timedelta(hours=1)

    report = _verify(output.getvalue(), served.pki.trust_store(), at)

    assert _verdict(report) == PASSED
    (signature,) = report.signatures
    assert signature.timestamp_authority == (
        "CN=Tender Test Time-Stamping Authority,O=Tender Test PKI,C=TW"
    )
    assert signature.timestamp_time is not None
    assert before - timedelta(seconds=1) <= signature.timestamp_time <= at
    assert signature.best_signature_time == signature.timestamp_time
    assert "POST /tender-test/tsa/tsa" in served.requests


@pytest.mark.parametrize(
    ("signer", "verdict"),
    [
        ("no-signing-usage", (Indication.INDETERMINATE, SubIndication.CHAIN_CONSTRAINTS_FAILURE)),
        ("rsa1024-supplier", (Indication.INDETERMINATE, SubIndication.CRYPTO_CONSTRAINTS_FAILURE)),
    ],
)
def test_certificate_unfit_for_signing_does_not_pass(
    pki: TestPKI,
    trust: TrustStore,
    signer: str,
    verdict: tuple[Indication, SubIndication | None],
) -> None:
    report = _verify(signed_pdf(pki, signer, "Bid"), trust, datetime.now(UTC))

    assert _verdict(report) == verdict
    assert report.signatures[0].intact is True


def test_unreadable_revocation_file_is_named(pki: TestPKI, tmp_path: Path) -> None:
    (tmp_path / "broken.crl").write_bytes(b"not a CRL")

    with pytest.raises(TrustStoreError, match=r"broken\.crl"):
        TrustStore.from_folder(pki.trust_dir, revocation_dir=tmp_path)
    with pytest.raises(TrustStoreError, match="not a folder"):
        TrustStore.from_folder(pki.trust_dir, revocation_dir=tmp_path / "missing")
