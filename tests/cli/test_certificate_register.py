"""``tender certificate register``: a supplier registers the certificate of a .p12 against a
running platform, proving it holds the key, which never leaves the supplier's computer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tender.platform import Platform
from tender.signing.testing import P12_PASSPHRASE, TestPKI
from tests.conftest import People
from tests.helpers import unit_of_work

pytestmark = pytest.mark.integration


def _register(
    test_pki: TestPKI, tmp_path: Path, url: str, token: str, signer: str
) -> subprocess.CompletedProcess[str]:
    password = tmp_path / "password"
    password.write_bytes(P12_PASSPHRASE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENDER_")}
    p12 = str(test_pki.p12_path(signer))
    command = ["certificate", "register", "--p12", p12, "--password-file", str(password)]
    return subprocess.run(
        [sys.executable, "-m", "tender.cli", *command],
        env={**env, "TENDER_URL": url, "TENDER_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_supplier_registers_its_certificate_from_its_p12(
    platform: Platform, people: People, test_pki: TestPKI, tmp_path: Path, url: str
) -> None:
    done = _register(test_pki, tmp_path, url, people.tokens["Alice"], "supplier-a")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "Registered CN=Supplier A," in done.stdout
    assert "for Alpha Ltd" in done.stdout
    with unit_of_work(platform) as services:
        assert len(services.accounts.certificates_of(people.alice.organisation_id)) == 1


def test_a_refused_certificate_says_why_and_exits_1(
    people: People, test_pki: TestPKI, tmp_path: Path, url: str
) -> None:
    refused = _register(test_pki, tmp_path, url, people.tokens["Bob"], "untrusted-supplier")

    assert refused.returncode == 1
    assert "cannot be registered" in refused.stderr
    assert "not issued by an authority this platform trusts" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_without_a_token_it_says_how_to_give_one(
    test_pki: TestPKI, tmp_path: Path, url: str
) -> None:
    refused = _register(test_pki, tmp_path, url, "", "supplier-a")

    assert refused.returncode == 2
    assert "set TENDER_TOKEN or pass --token-file" in refused.stderr
