"""A certificate signs only if it says it may: in a PDF and beside any other file alike."""

from __future__ import annotations

from datetime import UTC, datetime
from io import BytesIO

import pytest

from tender.signing import Indication, SubIndication, TrustStore, verify_document
from tender.signing.signer import sign_detached
from tender.signing.testing import TestPKI, signed_pdf

CONTENT = b"unit price,quantity\n1000,3\n"


def _detached(pki: TestPKI, signer: str) -> bytes:
    output = BytesIO()
    sign_detached(BytesIO(CONTENT), output, pki.signer(signer))
    return output.getvalue()


@pytest.mark.parametrize("form", ["pdf", "detached"])
def test_a_key_meant_only_for_encryption_makes_no_valid_signature(
    pki: TestPKI, trust: TrustStore, form: str
) -> None:
    if form == "pdf":
        report = verify_document(
            BytesIO(signed_pdf(pki, "no-signing-usage", "Bid")), trust=trust, at=datetime.now(UTC)
        )
    else:
        report = verify_document(
            BytesIO(CONTENT),
            detached_signature=BytesIO(_detached(pki, "no-signing-usage")),
            trust=trust,
            at=datetime.now(UTC),
        )

    assert (report.indication, report.sub_indication) == (
        Indication.INDETERMINATE,
        SubIndication.CHAIN_CONSTRAINTS_FAILURE,
    )
    assert report.signatures[0].intact is True  # the bytes are as signed; the key may not sign


def test_a_signing_key_still_signs_beside_any_file(pki: TestPKI, trust: TrustStore) -> None:
    report = verify_document(
        BytesIO(CONTENT),
        detached_signature=BytesIO(_detached(pki, "supplier-a")),
        trust=trust,
        at=datetime.now(UTC),
    )
    assert report.indication is Indication.TOTAL_PASSED
