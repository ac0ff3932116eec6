"""``tender submit``: a supplier uploads a bid file against a served platform and keeps the
signed receipt; a late upload is explained and exits 1."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tender.clock import ManualClock
from tender.platform import Platform
from tender.signing.testing import P12_PASSPHRASE, TestPKI, signed_pdf
from tender.tenders.models import Tender
from tests.conftest import People
from tests.helpers import published_tender, register_signer

pytestmark = pytest.mark.integration


@pytest.fixture
def tender(platform: Platform, people: People, clock: ManualClock) -> Tender:
    return published_tender(platform, people.officer, clock, ref="HK-2026-017")


def tender_cli(
    url: str, token: str, *arguments: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The real ``tender`` command, as a supplier runs it (not on a terminal)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENDER_")}
    return subprocess.run(
        [sys.executable, "-m", "tender.cli", *arguments],
        env={**env, "TENDER_URL": url, "TENDER_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


def test_a_submitted_file_gets_a_receipt_in_plain_words_saved_beside_it_and_verifiable(
    platform: Platform,
    people: People,
    test_pki: TestPKI,
    tender: Tender,
    tmp_path: Path,
    url: str,
) -> None:
    register_signer(platform, people.alice, test_pki, "supplier-a")
    bid = tmp_path / "offer.pdf"
    bid.write_bytes(signed_pdf(test_pki, "supplier-a", "Our offer: HK$ 1,200,000"))
    digest = hashlib.sha256(bid.read_bytes()).hexdigest()

    done = tender_cli(url, people.tokens["Alice"], "submit", str(bid), "--tender", "hk-2026-017")

    assert done.returncode == 0, done.stdout + done.stderr
    assert said(done.stdout, "Tender") == "HK-2026-017"
    assert said(done.stdout, "File") == "offer.pdf"
    assert said(done.stdout, "SHA-256") == digest
    assert said(done.stdout, "Size") == f"{bid.stat().st_size:,} bytes"
    # The ManualClock's 09:00 UTC is 17:00 in Hong Kong.
    received = "2026-11-27 17:00:00 Hong Kong time (2026-11-27 09:00:00 UTC)"
    assert said(done.stdout, "Received at") == received
    assert said(done.stdout, "On time").startswith("yes")
    assert said(done.stdout, "Signature pre-check") == "passed"
    assert "its platform signature checks out" in done.stdout
    # Not on a terminal: plain progress lines, ending at 100%.
    assert "Uploading offer.pdf: 100% sent" in done.stderr
    (saved,) = tmp_path.glob("offer.pdf.receipt-*.json")
    receipt = json.loads(saved.read_text())
    assert receipt["sha256"] == digest

    checked = receipt_verified(platform, url, test_pki, saved, bid)
    assert checked.returncode == 0, checked.stdout
    assert "The receipt holds." in checked.stdout


def test_a_file_and_its_detached_signature_each_get_a_receipt_in_out(
    platform: Platform,
    people: People,
    test_pki: TestPKI,
    tender: Tender,
    tmp_path: Path,
    url: str,
) -> None:
    register_signer(platform, people.alice, test_pki, "supplier-a")
    bid, signature = signed_detached(url, test_pki, tmp_path, "my-signature.p7s")
    receipts = tmp_path / "receipts"
    receipts.mkdir()

    done = tender_cli(
        url, people.tokens["Alice"], "submit", str(bid), "--tender", "HK-2026-017",
        "--p7s", str(signature), "--out", str(receipts),
    )  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    # The signature is uploaded under the name the platform pairs with the file.
    assert said(done.stdout, "File", 1) == "prices.xlsx.p7s"
    assert said(done.stdout, "Signature pre-check", 1) == "passed"
    assert len(list(receipts.glob("prices.xlsx.receipt-*.json"))) == 1
    assert len(list(receipts.glob("prices.xlsx.p7s.receipt-*.json"))) == 1


def test_a_late_upload_prints_the_platforms_explanation_and_exits_1(
    people: People, clock: ManualClock, tender: Tender, tmp_path: Path, url: str
) -> None:
    bid = tmp_path / "offer.pdf"
    bid.write_bytes(b"%PDF-1.7 late offer")
    clock.advance(timedelta(hours=3))  # the deadline was two hours away

    late = tender_cli(url, people.tokens["Alice"], "submit", str(bid), "--tender", "HK-2026-017")

    assert late.returncode == 1
    assert "What happened: Tender HK-2026-017 closed at" in late.stderr
    assert "Why: Bids count only if the platform has received their last byte" in late.stderr
    assert "What to do: The bid cannot be accepted." in late.stderr
    assert "Traceback" not in late.stderr
    assert not list(tmp_path.glob("*.json"))


def test_a_late_upload_is_explained_in_the_language_chosen(
    people: People, clock: ManualClock, tender: Tender, tmp_path: Path, url: str
) -> None:
    bid = tmp_path / "offer.pdf"
    bid.write_bytes(b"%PDF-1.7 late offer")
    clock.advance(timedelta(hours=3))

    late = tender_cli(
        url,
        people.tokens["Alice"],
        "--lang",
        "zh-HK",
        "submit",
        str(bid),
        "--tender",
        "HK-2026-017",
    )

    assert late.returncode == 1
    assert "發生了甚麼：投標 HK-2026-017 已於" in late.stderr  # noqa: RUF001
    assert "原因：標書須於截標時間前由平台收妥" in late.stderr  # noqa: RUF001
    assert "下一步：此標書不獲接納。" in late.stderr  # noqa: RUF001
    assert "What happened" not in late.stderr


def test_an_unknown_reference_is_explained(
    people: People, tender: Tender, tmp_path: Path, url: str
) -> None:
    bid = tmp_path / "offer.pdf"
    bid.write_bytes(b"%PDF-1.7")

    missing = tender_cli(url, people.tokens["Alice"], "submit", str(bid), "--tender", "NOPE-1")

    assert missing.returncode == 1
    assert "There is no tender 'NOPE-1' that you can see" in missing.stderr


def said(output: str, label: str, occurrence: int = 0) -> str:
    """The value printed on the ``occurrence``-th line labelled ``label``."""
    values = [
        line.split(":", 1)[1].strip()
        for line in output.splitlines()
        if line.strip().startswith(f"{label}:")
    ]
    return values[occurrence]


def receipt_verified(
    platform: Platform, url: str, pki: TestPKI, saved: Path, own_file: Path
) -> subprocess.CompletedProcess[str]:
    """``tender receipt verify`` of the receipt ``saved`` against ``own_file``, offline."""
    key = saved.parent / "platform.pub"
    key.write_text(platform.checkpointer.signer.verifier_key())
    return tender_cli(
        url, "", "receipt", "verify", str(saved), "--key", str(key), "--file", str(own_file),
        "--tsa-trust", str(pki.trust_dir),
    )  # fmt: skip


def signed_detached(url: str, pki: TestPKI, folder: Path, signature_name: str) -> tuple[Path, Path]:
    """A non-PDF bid file in ``folder`` and its detached signature by Supplier A, made with
    ``tender sign``."""
    bid = folder / "prices.xlsx"
    bid.write_bytes(b"unit prices " * 1000)
    signature = folder / signature_name
    signed = tender_cli(
        url, "", "sign", str(bid), "--p12", str(pki.p12_path("supplier-a")),
        "--password-file", str(_password_file(folder)), "--out", str(signature),
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    return bid, signature


def _password_file(folder: Path) -> Path:
    password = folder / "password"
    password.write_bytes(P12_PASSPHRASE)
    return password
