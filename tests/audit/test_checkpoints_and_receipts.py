"""Signed checkpoints and signed receipts: what a supplier and an auditor check offline."""

from __future__ import annotations

import base64
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import anyio
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from minio import Minio
from sqlalchemy import select

from tender.audit import checkpointer
from tender.audit.checkpointer import CheckpointSchedule
from tender.audit.models import CheckpointRecord
from tender.clock import ManualClock
from tender.platform import Platform
from tender.signing.testing import TestPKI, signed_pdf
from tender.storage.objectstore import S3Config
from tender.verifier import jws
from tender.verifier.notes import NoteVerifier, verify_checkpoint
from tender.verifier.receipt import verify_receipt
from tests.conftest import People
from tests.helpers import (
    chunks_of,
    opened_with_one_valid_bid,
    published_tender,
    register_signer,
    unit_of_work,
    upload,
)


def _verifier(platform: Platform) -> NoteVerifier:
    return NoteVerifier.parse(platform.checkpointer.signer.verifier_key())


def test_a_checkpoint_is_signed_time_stamped_and_locked(
    platform: Platform, people: People, clock: ManualClock, s3_config: S3Config
) -> None:
    record = platform.checkpointer.issue("test")
    again = platform.checkpointer.issue("test")

    # the four accounts made by `people`: each with its organisation and token
    assert again.size == record.size == 12
    checkpoint = verify_checkpoint(
        _verifier(platform), record.note, origin=platform.settings.log_origin
    )
    with platform.sessions.begin() as session:
        assert checkpoint.root.hex() == record.root == session.get(type(record), record.size).root  # type: ignore[union-attr]
    raw = Minio(s3_config.endpoint, s3_config.access_key, s3_config.secret_key, secure=False)
    locked = raw.get_object(
        platform.settings.bucket, record.object_key, version_id=record.object_version
    )
    stored = json.loads(locked.read())
    locked.close()
    assert stored["note"] == record.note
    assert base64.b64decode(stored["timestamp_token"]) == record.timestamp_token
    mode, _ = platform.store.get_retention(
        platform.settings.bucket, record.object_key, record.object_version
    )
    assert mode == "COMPLIANCE"


def test_scheduled_checkpoints_only_when_the_log_grew(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    first = platform.schedule.run_once()
    assert first is not None
    assert first.reason == "schedule"
    assert platform.schedule.run_once() is None  # nothing new
    with platform.sessions.begin() as session:
        assert (latest := checkpointer.latest(session)) is not None
        assert latest.size == first.size


def test_a_waiting_receipt_gets_the_next_checkpoint_at_once_not_after_the_interval(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock)
    # An interval of an hour: were the receipt to wait for it, this test would hang.
    schedule = CheckpointSchedule(platform.checkpointer, interval=3600)
    schedule.start()
    try:
        busy = dataclasses.replace(platform.intake, schedule=schedule)
        receipts = [
            anyio.run(
                lambda name=name: busy.submit(  # type: ignore[misc]
                    supplier=people.alice,
                    tender_id=tender.id,
                    file_name=name,
                    chunks=chunks_of([b"prices"]),
                )
            )
            for name in ("a.xlsx", "b.xlsx")
        ]
    finally:
        schedule.stop()

    for receipt in receipts:
        assert receipt.signed_receipt is not None
        assert receipt.checkpoint is not None
        with platform.sessions.begin() as session:
            issued = checkpointer.at_size(session, receipt.checkpoint["size"])
            assert issued.reason == "schedule"  # not the intake's own fallback


def test_the_signed_receipt_holds_offline_and_any_change_breaks_it(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI, tmp_path: Path
) -> None:
    tender = published_tender(platform, people.officer, clock)
    register_signer(platform, people.alice, test_pki, "supplier-a")
    bid = signed_pdf(test_pki, "supplier-a", "A")
    receipt = upload(platform, people.alice, tender.id, "bid.pdf", [bid])
    assert receipt.signed_receipt is not None
    assert receipt.checkpoint is not None
    vkey = platform.checkpointer.signer.verifier_key()
    anchors = test_pki.trust_store()

    checks = verify_receipt(receipt.signed_receipt, vkey, tsa_trust=anchors)
    assert [c.name for c in checks if not c.ok] == []
    assert {c.name for c in checks} >= {
        "platform signature",
        "audit event",
        "on time",
        "checkpoint signature",
        "inclusion",
        "time-stamp",
    }
    # Without the time-stamping authority's anchors, who time-stamped it cannot be judged.
    unjudged = verify_receipt(receipt.signed_receipt, vkey)
    assert [c.name for c in unjudged if not c.ok] == ["time-stamp"]

    # A receipt re-signed by anyone but the platform is refused.
    _, payload, _ = receipt.signed_receipt.split(".")
    forged_payload = json.loads(jws.b64url_decode(payload))
    forged_payload["sha256"] = "0" * 64
    forged = jws.sign(json.dumps(forged_payload).encode(), Ed25519PrivateKey.generate())
    assert not all(c.ok for c in verify_receipt(forged, vkey, tsa_trust=anchors))

    # The command line says the same, with nothing but the receipt, the public key, the
    # authority's certificates and the supplier's own file; it prints what was signed.
    key_file = tmp_path / "platform.pub"
    key_file.write_text(vkey + "\n")
    visible = {
        "receipt_id": str(receipt.receipt_id),
        "file_name": receipt.file_name,
        "size": receipt.size,
        "sha256": receipt.sha256,
        "signed_receipt": receipt.signed_receipt,
    }
    good = tmp_path / "receipt.json"
    good.write_text(json.dumps(visible))
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps({**visible, "size": receipt.size + 1}))
    bad = tmp_path / "forged.json"
    bad.write_text(json.dumps({"signed_receipt": forged}))
    own_copy = tmp_path / "bid.pdf"
    own_copy.write_bytes(bid)
    other_copy = tmp_path / "other.pdf"
    other_copy.write_bytes(bid + b"%changed")
    command = [sys.executable, "-m", "tender.cli", "receipt", "verify"]
    options = ["--key", str(key_file), "--tsa-trust", str(test_pki.trust_dir)]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*command, *args, *options], capture_output=True, text=True)

    held = run(str(good), "--file", str(own_copy))
    assert held.returncode == 0, held.stdout + held.stderr
    assert "The receipt holds." in held.stdout
    assert f"sha256                 {receipt.sha256}" in held.stdout
    assert "PASS  your file: your file is the one received" in held.stdout
    assert "PASS  time-stamp: time-stamped at" in held.stdout
    shown_wrong = run(str(edited))
    assert shown_wrong.returncode == 1
    assert f"FAIL  shown values: size shows {receipt.size + 1}" in shown_wrong.stdout
    not_mine = run(str(good), "--file", str(other_copy))
    assert not_mine.returncode == 1
    assert "FAIL  your file" in not_mine.stdout
    broken = run(str(bad))
    assert broken.returncode == 1
    assert "FAIL  platform signature" in broken.stdout


def test_the_opening_issues_deadline_and_opening_checkpoints_and_records_one(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI
) -> None:
    tender = opened_with_one_valid_bid(platform, people, clock, test_pki)
    with unit_of_work(platform) as services:
        record = services.opening.stored_record(reader=people.officer, tender_id=tender.id)
        reasons = [
            c.reason
            for c in services.session.scalars(
                select(CheckpointRecord).order_by(CheckpointRecord.size)
            )
        ]
    assert reasons[-2:] == ["deadline", "opening"]
    opened = verify_checkpoint(
        _verifier(platform), record["checkpoint"]["note"], origin=platform.settings.log_origin
    )
    assert opened.size == record["checkpoint"]["size"]
