"""``tender committee``: a member makes a key file, registers it, and releases their share
after the deadline against a running platform; the private key never leaves the member."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tender.accounts.models import User
from tender.accounts.service import AccountService
from tender.clock import ManualClock
from tender.committee.models import CommitteeShare
from tender.platform import Platform
from tender.storage.committee import KeyFileCost, MemberKey
from tests.conftest import People
from tests.helpers import Member, committee_member, committee_service, committee_tender, own_share

pytestmark = pytest.mark.integration


def _tender_cli(url: str, token: str, *arguments: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENDER_")}
    return subprocess.run(
        [sys.executable, "-m", "tender.cli", "committee", *map(str, arguments)],
        env={**env, "TENDER_URL": url, "TENDER_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _token(platform: Platform, user: User) -> str:
    with platform.sessions.begin() as session:
        return AccountService(session=session, clock=platform.clock).operator_token(
            session.merge(user)
        )


def test_a_member_makes_registers_and_after_the_deadline_releases_with_their_key_file(
    platform: Platform, people: People, clock: ManualClock, tmp_path: Path, url: str
) -> None:
    otto = committee_member(platform, "Otto Observer", "Independent Commission")
    olga = committee_member(platform, "Olga Opener", "Procuring Entity")
    token = _token(platform, otto.user)
    key_file, passphrase = tmp_path / "otto.key", tmp_path / "passphrase"
    passphrase.write_text("a long and private passphrase\n")
    wrong = tmp_path / "wrong"
    wrong.write_text("not it\n")

    created = _tender_cli(url, token, "key", "create", key_file, "--passphrase-file", passphrase)
    again = _tender_cli(url, token, "key", "create", key_file, "--passphrase-file", passphrase)
    registered = _tender_cli(
        url, token, "key", "register", key_file, "--passphrase-file", passphrase
    )
    on_file = Member(otto.user, MemberKey.load(key_file, "a long and private passphrase"))
    tender = committee_tender(platform, people.officer, clock, [olga, on_file], quorum=2)
    early = _tender_cli(
        url, token, "release", "--tender", "C-1", "--key-file", key_file,
        "--passphrase-file", passphrase,
    )  # fmt: skip
    clock.set(tender.deadline + timedelta(seconds=1))
    mistyped = _tender_cli(
        url, token, "release", "--tender", "C-1", "--key-file", key_file,
        "--passphrase-file", wrong,
    )  # fmt: skip
    released = _tender_cli(
        url, token, "release", "--tender", "C-1", "--key-file", key_file,
        "--passphrase-file", passphrase,
    )  # fmt: skip
    status = _tender_cli(url, token, "status", "--tender", "C-1", "--json")

    assert created.returncode == 0, created.stderr
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert again.returncode == 2
    assert "never overwritten" in again.stderr
    assert registered.returncode == 0, registered.stderr
    assert f"Registered committee key {on_file.key.fingerprint[:16]}" in registered.stdout
    assert early.returncode == 1
    assert "too early" in early.stderr
    assert "Traceback" not in early.stderr
    assert mistyped.returncode == 1
    assert "passphrase is not the one" in mistyped.stderr
    assert released.returncode == 0, released.stderr
    assert "Released your share of tender C-1's key." in released.stdout
    assert "Not yet released: Olga Opener" in released.stdout
    members = json.loads(status.stdout)["members"]
    assert [(m["name"], m["released_at"] is not None) for m in members] == [
        ("Olga Opener", False),
        ("Otto Observer", True),
    ]
    with platform.sessions.begin() as session:
        row = session.get(CommitteeShare, (tender.id, "tender", otto.user.id))
        assert row is not None
        assert row.released_at == clock.now()


def test_a_key_file_is_opened_only_with_its_passphrase_before_it_is_registered(
    platform: Platform, tmp_path: Path, url: str
) -> None:
    member = committee_member(platform, "Nina", "Other Department")
    key_file, wrong = tmp_path / "nina.key", tmp_path / "wrong"
    MemberKey.generate().save(key_file, "right", cost=KeyFileCost(1, 64, 1))
    wrong.write_text("wrong")

    refused = _tender_cli(
        url, _token(platform, member.user), "key", "register", key_file, "--passphrase-file", wrong
    )

    assert refused.returncode == 1
    assert "passphrase is not the one" in refused.stderr


def test_a_member_decrypts_the_share_saved_from_the_page_offline_to_paste_it_there(
    platform: Platform, people: People, clock: ManualClock, tmp_path: Path
) -> None:
    otto = committee_member(platform, "Otto Observer", "Independent Commission")
    olga = committee_member(platform, "Olga Opener", "Procuring Entity")
    key_file, passphrase = tmp_path / "otto.key", tmp_path / "passphrase"
    passphrase.write_text("a long and private passphrase\n")
    otto.key.save(key_file, "a long and private passphrase", cost=KeyFileCost(1, 64, 1))
    tender = committee_tender(platform, people.officer, clock, [olga, otto], quorum=2)
    clock.set(tender.deadline + timedelta(seconds=1))
    saved = tmp_path / "committee-share.json"
    with platform.sessions.begin() as session:  # what GET .../committee/share answers
        found = committee_service(platform, session).encrypted_share(
            member=otto.user, tender_id=tender.id
        )
        saved.write_text(
            json.dumps(
                {
                    "tender_id": str(tender.id),
                    "reference": tender.reference,
                    "key": found.row.key_name,
                    "member_id": str(otto.user.id),
                    "index": found.row.share_index,
                    "member_key": found.row.member_key.fingerprint,
                    "share_commitment": found.row.commitment,
                    "encrypted_share": base64.b64encode(found.row.encrypted_share).decode(),
                }
            )
        )
    olga_file = tmp_path / "olga.key"
    olga.key.save(olga_file, "a long and private passphrase", cost=KeyFileCost(1, 64, 1))

    decrypted = _tender_cli(
        "http://unused", "unused", "decrypt", saved, "--key-file", key_file,
        "--passphrase-file", passphrase,
    )  # fmt: skip
    not_hers = _tender_cli(
        "http://unused", "unused", "decrypt", saved, "--key-file", olga_file,
        "--passphrase-file", passphrase,
    )  # fmt: skip

    assert decrypted.returncode == 0, decrypted.stderr
    assert decrypted.stdout.strip() == base64.b64encode(
        own_share(platform, otto, tender.id).to_bytes()
    ).decode("ascii")
    assert not_hers.returncode == 1
    assert "not to the key in this file" in not_hers.stderr + not_hers.stdout
