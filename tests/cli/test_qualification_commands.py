"""``tender submit --envelope``, ``tender qualify`` and ``tender open-financial`` against a
served platform: a two-envelope tender run from the command line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tender.accounts.models import User
from tender.accounts.service import AccountService
from tender.clock import ManualClock
from tender.platform import Platform
from tender.signing.testing import TestPKI, signed_pdf
from tender.verifier.kinds import EventKind
from tests.cli.test_submit import said, tender_cli
from tests.conftest import People
from tests.helpers import audit_kinds, register_signer, two_envelope_tender

pytestmark = pytest.mark.integration


def _operator_token(platform: Platform, user: User) -> str:
    with platform.sessions.begin() as session:
        return AccountService(session=session, clock=platform.clock).operator_token(
            session.merge(user)
        )


def test_an_officer_qualifies_bids_and_opens_the_financial_envelopes_from_the_command_line(
    platform: Platform,
    people: People,
    clock: ManualClock,
    test_pki: TestPKI,
    tmp_path: Path,
    url: str,
) -> None:
    tender = two_envelope_tender(platform, people.officer, clock, ref="TE-9")
    files = {}
    for supplier, signer in ((people.alice, "supplier-a"), (people.bob, "supplier-b")):
        register_signer(platform, supplier, test_pki, signer)
        for name in ("method", "prices"):
            files[supplier.name, name] = tmp_path / f"{supplier.name}-{name}.pdf"
            files[supplier.name, name].write_bytes(signed_pdf(test_pki, signer, name))
    submitted = [
        tender_cli(
            url,
            people.tokens[supplier],
            "submit",
            str(files[supplier, name]),
            "--tender",
            "TE-9",
            *(["--envelope", "financial"] if name == "prices" else []),
        )
        for supplier in ("Alice", "Bob")
        for name in ("method", "prices")
    ]
    clock.set(tender.deadline + timedelta(seconds=1))
    platform.opener.open_tender(tender.id)
    officer = _operator_token(platform, people.officer)

    listed = tender_cli(url, officer, "qualify", "--tender", "TE-9")
    no_reason = tender_cli(
        url, officer, "qualify", "--tender", "TE-9", "--bid", str(people.alice.id), "--qualified"
    )
    alice = tender_cli(
        url, officer, "qualify", "--tender", "TE-9", "--bid", str(people.alice.id),
        "--qualified", "--reason", "Complete method statement.",
    )  # fmt: skip
    too_soon = tender_cli(url, officer, "open-financial", "--tender", "TE-9")
    bob = tender_cli(
        url, officer, "qualify", "--tender", "TE-9", "--bid", str(people.bob.id),
        "--not-qualified", "--reason", "No safety plan.",
    )  # fmt: skip
    requested = tender_cli(url, officer, "open-financial", "--tender", "TE-9")
    platform.opener.open_tender(tender.id)

    assert [s.returncode for s in submitted] == [0, 0, 0, 0], [s.stderr for s in submitted]
    assert said(submitted[1].stdout, "Envelope").startswith("financial")
    assert said(submitted[0].stdout, "Envelope").startswith("technical")
    assert listed.returncode == 0, listed.stderr
    assert "Alpha Ltd" in listed.stdout
    assert "no verdict yet" in listed.stdout
    assert no_reason.returncode == 2
    assert "--reason" in no_reason.stderr
    assert alice.returncode == 0, alice.stderr
    assert "is qualified" in alice.stdout
    assert too_soon.returncode == 1
    assert "Beta Ltd" in too_soon.stderr
    assert bob.returncode == 0, bob.stderr
    assert requested.returncode == 0, requested.stderr
    assert "never decrypted" in requested.stdout
    assert audit_kinds(platform, tender.id).count(EventKind.BID_QUALIFICATION) == 2
    assert EventKind.FINANCIAL_OPENING_FINISHED in audit_kinds(platform, tender.id)
