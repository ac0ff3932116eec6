"""``tender sign`` and ``tender verify``, run as the real command on files of the test PKI."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from asn1crypto import cms, pem, tsp
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign.timestamps import DummyTimeStamper

from tender.signing import SignerBinding, TrustStore, read_certificate, verify_document
from tender.signing.testing import P12_PASSPHRASE, TestPKI, make_pdf, signed_pdf

pytestmark = pytest.mark.integration  # each test runs the real command in a new process

PLATFORM_TRUST_VARIABLES = frozenset(
    {"TENDER_TRUST_DIR", "TENDER_REVOCATION_DIR", "TENDER_REVOCATION_FETCH_HOSTS"}
)


def tender(
    *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``tender ARGS`` in a fresh interpreter, without any trust or revocation settings
    of ours."""
    environment = {k: v for k, v in os.environ.items() if k not in PLATFORM_TRUST_VARIABLES}
    return subprocess.run(
        [sys.executable, "-m", "tender.cli", *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=environment | (env or {}),
        timeout=120,
        check=False,
    )


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "password.txt"
    path.write_bytes(P12_PASSPHRASE + b"\n")  # as an editor saves it: with a newline
    return path


@pytest.fixture
def bid_pdf(tmp_path: Path) -> Path:
    path = tmp_path / "bid.pdf"
    path.write_bytes(make_pdf("Bid of Supplier A\nTotal: 1,000,000 TWD"))
    return path


def rsa_time_stamper() -> DummyTimeStamper:
    """pyHanko's in-process TSA, with a self-signed RSA time-stamping certificate: it signs
    with RSA only, and the test PKI's keys are EC."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tender Test TSA")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(key, hashes.SHA256())
    )
    return DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER)),
        tsa_key=asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
        ),
    )


@pytest.fixture
def tsa_url() -> Iterator[str]:
    """An RFC 3161 time-stamp server over real HTTP on 127.0.0.1."""
    stamper = rsa_time_stamper()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            request = tsp.TimeStampReq.load(self.rfile.read(int(self.headers["Content-Length"])))
            body = asyncio.run(stamper.async_request_tsa_response(request)).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Keep the test output clean."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/tsa"
    server.shutdown()
    server.server_close()
    thread.join()


def sign(
    test_pki: TestPKI, file: Path, password_file: Path, signer: str = "supplier-a", *extra: str
) -> subprocess.CompletedProcess[str]:
    return tender(
        "sign", file, "--p12", test_pki.p12_path(signer), "--password-file", password_file, *extra
    )


def test_signed_pdf_verifies_with_verdict_signer_and_both_sentences(
    test_pki: TestPKI, bid_pdf: Path, password_file: Path
) -> None:
    signing = sign(test_pki, bid_pdf, password_file)
    assert signing.returncode == 0, signing.stderr
    signed = bid_pdf.with_name("bid-signed.pdf")
    assert signed.read_bytes().startswith(bid_pdf.read_bytes())  # the original is kept

    checked = tender("verify", signed, "--trust", test_pki.trust_dir)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("Verdict (PAdES): TOTAL_PASSED\n")
    assert "Signer:  CN=Supplier A," in checked.stdout
    assert "The signature is valid" in checked.stdout
    assert "簽署有效" in checked.stdout


def test_untrusted_signer_exits_1_with_the_reason(test_pki: TestPKI, tmp_path: Path) -> None:
    bid = tmp_path / "bid.pdf"
    bid.write_bytes(signed_pdf(test_pki, "untrusted-supplier", "Bid"))

    checked = tender("verify", bid, "--trust", test_pki.trust_dir)

    assert checked.returncode == 1
    assert "INDETERMINATE / NO_CERTIFICATE_CHAIN_FOUND" in checked.stdout
    assert "Signer:  CN=Untrusted Supplier," in checked.stdout
    assert "accepted authority" in checked.stdout  # what the supplier can do about it


def test_json_report_parses_and_names_the_signer(test_pki: TestPKI, tmp_path: Path) -> None:
    bid = tmp_path / "bid.pdf"
    bid.write_bytes(signed_pdf(test_pki, "supplier-b", "Bid"))

    checked = tender("verify", bid, "--json", env={"TENDER_TRUST_DIR": str(test_pki.trust_dir)})

    assert checked.returncode == 0, checked.stderr
    report = json.loads(checked.stdout)
    assert report["indication"] == "TOTAL_PASSED"
    (signature,) = report["signatures"]
    assert signature["signer"]["subject"].startswith("CN=Supplier B,")
    assert signature["field_name"] == "Signature1"


def test_validation_time_before_the_certificate_was_issued_fails(
    test_pki: TestPKI, tmp_path: Path
) -> None:
    bid = tmp_path / "bid.pdf"
    bid.write_bytes(signed_pdf(test_pki, "supplier-a", "Bid"))
    # supplier-a is valid from 365 days before the PKI's reference time.
    before = (test_pki.reference_time - timedelta(days=400)).isoformat()

    checked = tender("verify", bid, "--trust", test_pki.trust_dir, "--at", before, "--json")

    assert checked.returncode == 1
    report = json.loads(checked.stdout)
    assert (report["indication"], report["sub_indication"]) == ("TOTAL_FAILED", "NOT_YET_VALID")


def test_co_signed_visible_pdf_keeps_both_signatures(
    test_pki: TestPKI, bid_pdf: Path, password_file: Path
) -> None:
    first, second = bid_pdf.with_name("first.pdf"), bid_pdf.with_name("both.pdf")
    assert sign(test_pki, bid_pdf, password_file, "supplier-a", "--out", str(first)).returncode == 0
    cosigning = sign(
        test_pki, first, password_file, "supplier-c", "--out", str(second), "--visible"
    )
    assert cosigning.returncode == 0, cosigning.stderr

    checked = tender("verify", second, "--trust", test_pki.trust_dir, "--json")

    assert checked.returncode == 0, checked.stdout
    signatures = json.loads(checked.stdout)["signatures"]
    assert [s["field_name"] for s in signatures] == ["Signature1", "Signature2"]
    assert [s["signer"]["subject"].split(",")[0] for s in signatures] == [
        "CN=Supplier A",
        "CN=Supplier C",
    ]


def test_other_files_get_a_detached_cades_signature(
    test_pki: TestPKI, tmp_path: Path, password_file: Path
) -> None:
    prices = tmp_path / "prices.csv"
    prices.write_bytes(b"item,price\nasphalt,1000\n")

    signing = sign(test_pki, prices, password_file)

    assert signing.returncode == 0, signing.stderr
    assert "detached CAdES signature, written to" in signing.stdout
    content_info = cms.ContentInfo.load(tmp_path.joinpath("prices.csv.p7s").read_bytes())
    assert content_info["content_type"].native == "signed_data"
    assert content_info["content"]["encap_content_info"]["content"].native is None


def test_tsa_time_stamp_is_embedded_in_the_detached_signature(
    test_pki: TestPKI, tmp_path: Path, password_file: Path, tsa_url: str
) -> None:
    drawings = tmp_path / "drawings.zip"
    drawings.write_bytes(b"PK\x05\x06" + bytes(18))

    signing = sign(test_pki, drawings, password_file, "supplier-a", "--tsa", tsa_url)

    assert signing.returncode == 0, signing.stderr
    signed_data = cms.ContentInfo.load(tmp_path.joinpath("drawings.zip.p7s").read_bytes())
    (signer_info,) = signed_data["content"]["signer_infos"]
    assert [a["type"].native for a in signer_info["unsigned_attrs"]] == [
        "signature_time_stamp_token"
    ]


def test_unreachable_tsa_exits_1_and_writes_nothing(
    test_pki: TestPKI, bid_pdf: Path, password_file: Path
) -> None:
    closed = "http://127.0.0.1:9/tsa"  # the discard port: nothing listens, connection refused

    signing = sign(test_pki, bid_pdf, password_file, "supplier-a", "--tsa", closed)

    assert signing.returncode == 1
    assert f"the time-stamp server {closed} did not answer" in signing.stderr
    assert not bid_pdf.with_name("bid-signed.pdf").exists()


def test_detached_signature_verifies_and_catches_changed_content(
    test_pki: TestPKI, tmp_path: Path, password_file: Path
) -> None:
    prices = tmp_path / "prices.csv"
    prices.write_bytes(b"item,price\nasphalt,1000\n")
    assert sign(test_pki, prices, password_file).returncode == 0

    found_beside = tender("verify", prices, "--trust", test_pki.trust_dir)
    prices.with_name("changed.csv").write_bytes(b"item,price\nasphalt,9000\n")
    changed = tender(
        "verify",
        prices.with_name("changed.csv"),
        "--p7s",
        f"{prices}.p7s",
        "--trust",
        test_pki.trust_dir,
        "--json",
    )

    assert found_beside.returncode == 0, found_beside.stdout
    assert found_beside.stdout.startswith("Verdict (CAdES): TOTAL_PASSED\n")
    assert changed.returncode == 1
    assert json.loads(changed.stdout)["sub_indication"] == "HASH_FAILURE"


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("wrong password", "wrong passphrase or not a PKCS#12 file"),
        ("not a PKCS#12", "wrong passphrase or not a PKCS#12 file"),
        ("missing p12", "does not exist"),
        ("missing file", "cannot read file"),
        ("visible non-PDF", "--visible works only for PDFs"),
    ],
)
def test_sign_usage_errors_exit_2_with_a_clear_message(
    test_pki: TestPKI, tmp_path: Path, password_file: Path, bid_pdf: Path, case: str, message: str
) -> None:
    p12, file, extra = test_pki.p12_path("supplier-a"), bid_pdf, []
    if case == "wrong password":
        password_file.write_text("guess\n")
    elif case == "not a PKCS#12":
        p12 = bid_pdf
    elif case == "missing p12":
        p12 = tmp_path / "nope.p12"
    elif case == "missing file":
        file = tmp_path / "nope.pdf"
    else:
        file = tmp_path / "prices.csv"
        file.write_text("a,b\n")
        extra = ["--visible"]

    result = tender("sign", file, "--p12", p12, "--password-file", password_file, *extra)

    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    # Nothing half-written is left behind: no output, no temporary file.
    outputs = ("-signed.pdf", ".p7s")
    assert [
        p.name for p in tmp_path.iterdir() if p.name.endswith(outputs) or p.name[0] == "."
    ] == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "a trust folder is needed"),
        (["--trust", "{tmp}/missing"], "does not exist or is not a folder"),
        (["--trust", "{trust}", "--at", "2026-11-27T09:00:00"], "has no time zone"),
        (["--trust", "{trust}", "--at", "yesterday"], "is not an ISO 8601 time"),
        (["--trust", "{trust}", "--revocation", "{tmp}/missing"], "is not a folder"),
        (["--trust", "{trust}", "--organisation-certificate", "{tmp}/a.pem"], "cannot read"),
        (
            ["--trust", "{trust}", "--organisation-certificate", "{trust}/../supplier-a.p12"],
            "not a readable X.509 certificate",
        ),
    ],
)
def test_verify_usage_errors_exit_2_with_a_clear_message(
    test_pki: TestPKI, bid_pdf: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    args = [a.format(tmp=tmp_path, trust=test_pki.trust_dir) for a in extra]

    result = tender("verify", bid_pdf, *args)

    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def _certificate_file(test_pki: TestPKI, name: str, path: Path, *, as_pem: bool = True) -> Path:
    der = test_pki.certificate(name).dump()
    path.write_bytes(pem.armor("CERTIFICATE", der) if as_pem else der)
    return path


def test_revocation_is_judged_with_the_evidence_the_opening_has(
    test_pki: TestPKI, tmp_path: Path
) -> None:
    bid = tmp_path / "bid.pdf"
    bid.write_bytes(signed_pdf(test_pki, "revoked-supplier", "Bid"))
    submitted = test_pki.revocation_time("revoked-supplier") + timedelta(days=1)
    # What the opening says: verify_document with the platform's trust store (trust folder
    # and revocation folder, as tender.runtime.load_trust builds it).
    platform = TrustStore.from_folder(test_pki.trust_dir, revocation_dir=test_pki.revocation_dir)
    with bid.open("rb") as content:
        expected = verify_document(content, trust=platform, at=submitted).to_json()
    at = ["--at", submitted.isoformat(), "--json"]

    without = tender("verify", bid, "--trust", test_pki.trust_dir, *at)
    by_option = tender(
        "verify", bid, "--trust", test_pki.trust_dir, "--revocation", test_pki.revocation_dir, *at
    )
    by_variable = tender(
        "verify",
        bid,
        "--trust",
        test_pki.trust_dir,
        *at,
        env={"TENDER_REVOCATION_DIR": str(test_pki.revocation_dir)},
    )

    assert (expected["indication"], expected["sub_indication"]) == (
        "INDETERMINATE",
        "REVOKED_NO_POE",
    )
    # Without the platform's evidence nothing is known about revocation (soft fail): the
    # command would pass a bid the opening refuses.
    assert without.returncode == 0, without.stdout
    for checked in (by_option, by_variable):
        assert checked.returncode == 1, checked.stdout + checked.stderr
        report = json.loads(checked.stdout)
        assert (report["indication"], report["sub_indication"]) == (
            expected["indication"],
            expected["sub_indication"],
        )
        assert report["signatures"][0]["revocation"] == expected["signatures"][0]["revocation"]  # type: ignore[index]
        assert report["message_en"] == expected["message_en"]


def test_a_certificate_the_organisation_did_not_register_is_refused_as_at_the_opening(
    test_pki: TestPKI, tmp_path: Path
) -> None:
    bid = tmp_path / "bid.pdf"
    bid.write_bytes(signed_pdf(test_pki, "supplier-a", "Bid"))
    other = _certificate_file(test_pki, "supplier-b", tmp_path / "supplier-b.pem")
    own = _certificate_file(test_pki, "supplier-a", tmp_path / "supplier-a.der", as_pem=False)
    registered = SignerBinding(
        "Supplier B Co., Ltd.", frozenset({read_certificate(other.read_bytes()).sha256})
    )
    with bid.open("rb") as content:
        expected = verify_document(
            content, trust=test_pki.trust_store(), at=datetime.now(UTC), expected_signers=registered
        )
    trust: list[str | Path] = ["--trust", test_pki.trust_dir]

    refused = tender("verify", bid, *trust, "--organisation-certificate", other, "--json")
    accepted = tender(
        "verify",
        bid,
        *trust,
        "--organisation-certificate",
        other,
        "--organisation-certificate",
        own,
    )
    unchecked = tender("verify", bid, *trust)

    assert refused.returncode == 1
    report = json.loads(refused.stdout)
    assert (report["indication"], report["sub_indication"]) == (
        "TOTAL_FAILED",
        "SIGNER_NOT_REGISTERED",
    )
    assert (report["indication"], report["sub_indication"]) == (
        expected.indication.value,
        expected.sub_indication,
    )
    assert report["message_en"] == expected.message_en
    assert "not registered to Supplier B Co., Ltd." in report["message_en"]
    assert accepted.returncode == 0, accepted.stdout
    assert accepted.stdout.startswith("Verdict (PAdES): TOTAL_PASSED\n")
    assert "registered" not in accepted.stdout
    assert unchecked.returncode == 0
    assert "the opening also checks that the signing certificate is one your organisation " in (
        unchecked.stdout.replace("\n", " ")
    )
