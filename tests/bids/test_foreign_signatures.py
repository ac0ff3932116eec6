"""Bids signed by a tool we did not write — the ``pyhanko`` command line — through the platform's
upload and opening, on real storage and both databases."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tender.clock import ManualClock
from tender.opening.models import OpeningResult
from tender.platform import Platform
from tender.signing.testing import P12_PASSPHRASE, TestPKI, make_pdf
from tests.conftest import People
from tests.helpers import (
    published_tender,
    register_signer,
    registered_before_its_authority_was_dropped,
    upload,
)

PYHANKO = Path(sys.executable).with_name("pyhanko")


def pyhanko_sign(test_pki: TestPKI, signer: str, source: Path, out: Path, *options: str) -> bytes:
    """Sign ``source`` into ``out`` with the pyhanko CLI and ``signer``'s PKCS#12 file."""
    passfile = out.with_name("passphrase")
    passfile.write_bytes(P12_PASSPHRASE)
    command = [PYHANKO, "sign", "addsig", *options, "pkcs12", "--passfile", passfile]
    subprocess.run(
        [*map(str, command), source, out, test_pki.p12_path(signer)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out.read_bytes()


def in_parts(data: bytes, size: int = 1000) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize(
    ("options", "subfilter"),
    [
        ([], b"/adbe.pkcs7.detached"),  # the CLI's default: a plain PKCS#7 PDF signature
        (["--use-pades"], b"/ETSI.CAdES.detached"),
    ],
    ids=["pkcs7-default", "pades"],
)
def test_pdfs_signed_with_the_pyhanko_cli_pass_only_for_a_trusted_signer(
    platform: Platform,
    people: People,
    clock: ManualClock,
    test_pki: TestPKI,
    tmp_path: Path,
    options: list[str],
    subfilter: bytes,
) -> None:
    source = tmp_path / "bid.pdf"
    source.write_bytes(make_pdf("Bid signed with the pyhanko command line"))
    field = ["--field", "Sig1"]
    trusted = pyhanko_sign(test_pki, "supplier-a", source, tmp_path / "a.pdf", *options, *field)
    untrusted = pyhanko_sign(
        test_pki, "untrusted-supplier", source, tmp_path / "u.pdf", *options, *field
    )
    assert subfilter in trusted  # the parameter really changes what the tool writes
    register_signer(platform, people.alice, test_pki, "supplier-a")
    registered_before_its_authority_was_dropped(
        platform, people.bob, test_pki, "untrusted-supplier"
    )
    tender = published_tender(platform, people.officer, clock, hours=1)
    good = upload(platform, people.alice, tender.id, "bid.pdf", in_parts(trusted))
    bad = upload(platform, people.bob, tender.id, "bid.pdf", in_parts(untrusted))
    clock.set(tender.deadline + timedelta(seconds=1))

    platform.opener.open_tender(tender.id)

    with platform.sessions.begin() as session:
        results = {r.document_id: r for r in session.scalars(select(OpeningResult))}
    assert results[good.receipt_id].hash_matches
    assert (results[good.receipt_id].indication, results[good.receipt_id].sub_indication) == (
        "TOTAL_PASSED",
        None,
    )
    assert (results[good.receipt_id].signer_subject or "").startswith("CN=Supplier A,")
    assert (results[bad.receipt_id].indication, results[bad.receipt_id].sub_indication) == (
        "INDETERMINATE",
        "NO_CERTIFICATE_CHAIN_FOUND",
    )
    assert (results[bad.receipt_id].signer_subject or "").startswith("CN=Untrusted Supplier,")


def test_spreadsheet_with_a_pyhanko_cli_detached_signature_passes(
    platform: Platform,
    people: People,
    clock: ManualClock,
    test_pki: TestPKI,
    tmp_path: Path,
) -> None:
    prices = tmp_path / "prices.csv"
    prices.write_bytes(b"item,quantity,price\nasphalt,120,1000\n" * 100)
    p7s = pyhanko_sign(test_pki, "supplier-a", prices, tmp_path / "prices.csv.p7s", "--detach")
    register_signer(platform, people.alice, test_pki, "supplier-a")
    tender = published_tender(platform, people.officer, clock, hours=1)
    content = upload(platform, people.alice, tender.id, "prices.csv", in_parts(prices.read_bytes()))
    signature = upload(platform, people.alice, tender.id, "prices.csv.p7s", [p7s])
    clock.set(tender.deadline + timedelta(seconds=1))

    platform.opener.open_tender(tender.id)

    with platform.sessions.begin() as session:
        results = {r.document_id: r for r in session.scalars(select(OpeningResult))}
    for receipt in (content, signature):  # each of the pair gets the pair's verdict
        assert results[receipt.receipt_id].indication == "TOTAL_PASSED"
        assert (results[receipt.receipt_id].signer_subject or "").startswith("CN=Supplier A,")
