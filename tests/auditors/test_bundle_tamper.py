"""The auditor's bundle, and the tamper suite: every kind of tampering is caught, precisely.

Each test runs a real opening (SeaweedFS with Object Lock, SQLite and PostgreSQL), tampers with
one thing the way an attacker with that access could, exports the bundle and checks it offline
with nothing but the platform's public key.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update

from tender.audit import service as audit
from tender.audit.models import AuditEvent, CheckpointRecord, MerkleNode
from tender.auditors.service import TrailService
from tender.bids.models import BidDocument
from tender.clock import ManualClock
from tender.opening.models import OpeningResult
from tender.platform import Platform
from tender.signing.testing import P12_PASSPHRASE, TestPKI, signed_pdf
from tender.storage.sealing import seal
from tender.tenders.models import Tender
from tender.verifier import jws, merkle
from tender.verifier.bundle import verify_bundle
from tender.verifier.chain import GENESIS_HASH, canonical_bytes, chain_hash, leaf_hash
from tender.verifier.checks import Check
from tender.verifier.logcheck import SKIPPED_KINDS
from tender.verifier.notes import Checkpoint, NoteSigner, sign_checkpoint
from tests.conftest import People
from tests.e2e.conftest import settings_env
from tests.helpers import published_tender, register_signer, upload


def _opened_tender(platform: Platform, people: People, clock: ManualClock, pki: TestPKI) -> Tender:
    """A tender with two signed bids, opened one second after its deadline."""
    tender = published_tender(platform, people.officer, clock, hours=1)
    register_signer(platform, people.alice, pki, "supplier-a")
    register_signer(platform, people.bob, pki, "supplier-b")
    upload(platform, people.alice, tender.id, "bid.pdf", [signed_pdf(pki, "supplier-a", "A")])
    clock.advance(timedelta(minutes=5))
    upload(platform, people.bob, tender.id, "offer.pdf", [signed_pdf(pki, "supplier-b", "B")])
    clock.set(tender.deadline + timedelta(seconds=1))
    platform.opener.open_tender(tender.id)
    return tender


def _verify(platform: Platform, tmp_path: Path, ref: str = "T-1") -> list[Check]:
    bundle = tmp_path / "bundle.zip"
    platform.exporter.export(tender_reference=ref, out=bundle)
    return verify_bundle(bundle, platform.checkpointer.signer.verifier_key())


def test_an_untampered_bundle_passes_every_check(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI, tmp_path: Path
) -> None:
    _opened_tender(platform, people, clock, test_pki)
    checks = _verify(platform, tmp_path)

    assert _failures(checks) == {}
    names = [c.name for c in checks]
    assert {"manifest signature", "file hashes", "hash chain"} <= set(names)
    assert {
        "opening T-1 after deadline",
        "opening record JSON T-1",
        "opening record PDF T-1",
    } <= set(names)
    for kind in ("checkpoint", "time-stamp", "consistency", "receipt", "bid"):
        assert any(n.startswith(kind) for n in names), kind


def _failures(checks: list[Check]) -> dict[str, str]:
    return {c.name: c.detail for c in checks if not c.ok}


def _rewrite(bundle: Path, name: str, change: Callable[[bytes], bytes]) -> Path:
    """A copy of ``bundle`` with the file ``name`` changed (the manifest left as it was)."""
    tampered = bundle.with_name("tampered.zip")
    with zipfile.ZipFile(bundle) as source, zipfile.ZipFile(tampered, "w") as sink:
        for item in source.infolist():
            body = source.read(item)
            sink.writestr(item, change(body) if item.filename == name else body)
    return tampered


def _event(platform: Platform, kind: str) -> AuditEvent:
    with platform.sessions.begin() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.seq)
        ).first()
        assert event is not None
        session.expunge(event)
        return event


def _last_checkpoint(platform: Platform) -> int:
    with platform.sessions.begin() as session:
        size: int | None = session.scalar(select(func.max(CheckpointRecord.size)))
    assert size is not None
    return size


def test_an_edited_payload_column_changes_nothing_read_and_the_stored_check_names_it(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI, tmp_path: Path
) -> None:
    """Readers and the export take each event from its body, the bytes its hashes cover: a
    column edited beside it changes neither, and the platform's own check names it."""
    _opened_tender(platform, people, clock, test_pki)
    bid = _event(platform, "bid.received")
    with platform.sessions.begin() as session:
        session.execute(
            update(AuditEvent)
            .where(AuditEvent.seq == bid.seq)
            .values(payload={**bid.payload, "receipt_id": "forged"})
        )

    assert _failures(_verify(platform, tmp_path)) == {}  # the log itself is intact
    stored = _verify_stored(platform)
    assert stored.keys() == {"stored columns"}
    assert stored["stored columns"].startswith(f"event {bid.seq}: its payload column says")
    assert "the column was changed after the event was written" in stored["stored columns"]


def test_an_edited_merkle_node_is_named_before_a_supplier_gets_a_proof_that_fails(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI
) -> None:
    _opened_tender(platform, people, clock, test_pki)
    with platform.sessions.begin() as session:
        session.execute(
            update(MerkleNode)
            .where(MerkleNode.level == 1, MerkleNode.index == 0)
            .values(hash=b"\x00" * 32)
        )

    stored = _verify_stored(platform)
    assert stored.keys() == {"stored Merkle nodes"}
    assert stored["stored Merkle nodes"].startswith("node 0 of level 1 is not the root")


def test_an_edited_body_disagrees_with_every_signed_tree_after_it(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI, tmp_path: Path
) -> None:
    _opened_tender(platform, people, clock, test_pki)
    bid = _event(platform, "bid.received")
    with platform.sessions.begin() as session:
        event = session.get_one(AuditEvent, bid.seq)
        fields: dict[str, Any] = dict(audit.to_json(event))
        fields["payload"] = event.payload = {**event.payload, "receipt_id": "forged"}
        event.body = canonical_bytes(fields)  # the hash columns left as they were

    failed = _failures(_verify(platform, tmp_path))

    assert "hash chain" not in failed  # the lines are in order and canonical...
    for size in (s for s in _checkpoint_sizes(platform) if s >= bid.seq):  # ...but not signed
        assert "the log was rewritten" in failed[f"checkpoint {size} root"]
    # Alice's receipt is for this event; Bob's chains on its old hash.
    assert any(f"records an event {bid.seq} that is not" in d for d in failed.values())
    assert _verify_stored(platform)["stored columns"].startswith(
        f"event {bid.seq}: its hash column is {bid.hash}, but the bodies give"
    )


def _rewrite_event(event: AuditEvent, prev: str, **changed: object) -> str:
    """Give ``event`` a body with ``changed`` in its payload (and the same payload column),
    chained on ``prev`` with every hash redone; returns its new hash."""
    fields: dict[str, Any] = dict(audit.to_json(event))
    fields["payload"] = event.payload = {**fields["payload"], **changed}
    event.body = canonical_bytes(fields)
    event.prev_hash = prev
    event.hash, event.leaf_hash = chain_hash(prev, fields), leaf_hash(fields)
    return event.hash


def test_a_deleted_event_leaves_a_gap(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI, tmp_path: Path
) -> None:
    _opened_tender(platform, people, clock, test_pki)
    seq = _event(platform, "opening.started").seq
    with platform.sessions.begin() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.seq == seq))

    failed = _failures(_verify(platform, tmp_path))

    assert f"expected sequence number {seq}, found {seq + 1}" in failed["hash chain"]


def test_two_swapped_events_break_the_chain_where_they_were(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI, tmp_path: Path
) -> None:
    _opened_tender(platform, people, clock, test_pki)
    first = _event(platform, "bid.received").seq  # Alice's bid, then Bob's
    with platform.sessions.begin() as session:  # renumbered through -1: seq is the key
        for old, new in ((first, -1), (first + 1, first), (-1, first + 1)):
            session.execute(update(AuditEvent).where(AuditEvent.seq == old).values(seq=new))

    failed = _failures(_verify(platform, tmp_path))

    expected = f"FAILED at event {first + 1}: expected sequence number {first}, found {first + 1}"
    assert expected in failed["hash chain"]


def test_a_truncated_log_is_shorter_than_a_locked_checkpoint(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI, tmp_path: Path
) -> None:
    _opened_tender(platform, people, clock, test_pki)
    size = _last_checkpoint(platform)
    with platform.sessions.begin() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.seq > size - 2))

    checks = _verify(platform, tmp_path)
    failed = _failures(checks)

    assert "hash chain" not in failed  # what is left chains perfectly...
    assert (  # ...but the platform signed more than is left
        f"the platform signed a tree of {size} events, but the log has only {size - 2}"
        in failed[f"checkpoint {size} root"]
    )
    assert "no opening.finished event" in failed["opening record JSON T-1"]


def test_a_consistently_rehashed_log_disagrees_with_the_locked_checkpoints(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI, tmp_path: Path
) -> None:
    """An insider with the database AND the platform key rewrites an event, re-hashes every
    event after it and re-signs the checkpoints in the database: the locked copies remain."""
    _opened_tender(platform, people, clock, test_pki)
    bid = _event(platform, "bid.received")
    signer = platform.checkpointer.signer
    with platform.sessions.begin() as session:
        prev, leaves = GENESIS_HASH, []
        for event in session.scalars(select(AuditEvent).order_by(AuditEvent.seq)):
            prev = _rewrite_event(
                event, prev, **({"sha256": "0" * 64} if event.seq == bid.seq else {})
            )
            leaves.append(bytes.fromhex(event.leaf_hash))
        session.flush()
        for record in session.scalars(select(CheckpointRecord)):
            root = merkle.root(leaves[: record.size])
            record.root = root.hex()
            record.note = sign_checkpoint(
                signer, Checkpoint(origin=signer.name, size=record.size, root=root)
            )
    with platform.sessions.begin() as session:
        assert audit.verify_stored_chain(session).ok  # the database alone looks perfect

    failed = _failures(_verify(platform, tmp_path))

    assert "hash chain" not in failed
    for size in (s for s in _checkpoint_sizes(platform) if s >= bid.seq):
        assert "the log was rewritten" in failed[f"checkpoint {size} root"]


def _checkpoint_sizes(platform: Platform) -> list[int]:
    with platform.sessions.begin() as session:
        return list(session.scalars(select(CheckpointRecord.size)))


def test_a_checkpoint_forged_with_another_key_is_refused(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI, tmp_path: Path
) -> None:
    _opened_tender(platform, people, clock, test_pki)
    size = _last_checkpoint(platform)
    bundle = tmp_path / "bundle.zip"
    platform.exporter.export(tender_reference="T-1", out=bundle)
    impostor = NoteSigner.generate(platform.checkpointer.signer.name)

    def forge(body: bytes) -> bytes:
        copy = json.loads(body)
        text = copy["note"].split("\n\n")[0] + "\n"
        copy["note"] = sign_checkpoint(impostor, Checkpoint.parse(text))
        return json.dumps(copy).encode()

    tampered = _rewrite(bundle, f"checkpoints/{size:012d}.json", forge)
    failed = _failures(verify_bundle(tampered, platform.checkpointer.signer.verifier_key()))

    assert "no signature from key" in failed[f"checkpoint {size} signature"]
    assert f"checkpoints/{size:012d}.json has SHA-256" in failed["file hashes"]


def test_a_replaced_bid_object_is_never_opened_and_the_opening_says_why(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI, tmp_path: Path
) -> None:
    """Someone with bucket access writes a new version of a bid (sealed to the tender's public
    key, so it would unseal) and points the document row at it. The log names the version
    received, Object Lock kept it, and the opening stops rather than open anything else."""
    tender = published_tender(platform, people.officer, clock, hours=1)
    register_signer(platform, people.alice, test_pki, "supplier-a")
    receipt = upload(
        platform, people.alice, tender.id, "bid.pdf", [signed_pdf(test_pki, "supplier-a", "A")]
    )
    bucket = platform.settings.bucket
    with platform.sessions.begin() as session:
        document = session.get(BidDocument, receipt.receipt_id)
        assert document is not None
        other = b"".join(seal([signed_pdf(test_pki, "supplier-a", "cheaper")], tender.public_key))
        replaced = platform.store.put_locked(
            bucket,
            document.object_key,
            io.BytesIO(other),
            length=len(other),
            retain_until=document.retain_until,
        )
        document.object_version = replaced.version_id
    clock.set(tender.deadline + timedelta(seconds=1))

    outcome = platform.opener.open_tender(tender.id)

    assert outcome.halted
    with platform.sessions.begin() as session:
        assert session.get(OpeningResult, receipt.receipt_id) is None
    halted = _event(platform, "opening.halted")
    assert halted.payload["problems"] == [
        f"receipt {receipt.receipt_id}: bid_documents says object_version "
        f"{replaced.version_id!r}, the log {receipt.sealed_object_version!r}"
    ]
    original = b"".join(
        platform.store.iter_version(bucket, document.object_key, receipt.sealed_object_version)
    )
    assert original != other  # the bytes received are still there, untouched
    failed = _failures(_verify(platform, tmp_path))
    assert "bid_documents says object_version" in failed["opening T-1 halted"]


def test_an_altered_opening_record_pdf_in_the_bundle_is_caught(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI, tmp_path: Path
) -> None:
    _opened_tender(platform, people, clock, test_pki)
    bundle = tmp_path / "bundle.zip"
    platform.exporter.export(tender_reference="T-1", out=bundle)

    tampered = _rewrite(bundle, "opening/T-1/record.pdf", lambda pdf: pdf + b"%altered\n")
    failed = _failures(verify_bundle(tampered, platform.checkpointer.signer.verifier_key()))

    assert "opening/T-1/record.pdf has SHA-256" in failed["opening record PDF T-1"]
    assert "but opening.finished (event" in failed["opening record PDF T-1"]


def test_an_altered_receipt_in_the_bundle_is_caught(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI, tmp_path: Path
) -> None:
    _opened_tender(platform, people, clock, test_pki)
    bundle = tmp_path / "bundle.zip"
    platform.exporter.export(tender_reference="T-1", out=bundle)
    name = next(n for n in zipfile.ZipFile(bundle).namelist() if n.startswith("receipts/"))

    def alter(token: bytes) -> bytes:
        header, payload, signature = token.decode().strip().split(".")
        receipt = json.loads(jws.b64url_decode(payload))
        receipt["sha256"] = "0" * 64
        return f"{header}.{jws.b64url(json.dumps(receipt).encode())}.{signature}".encode()

    tampered = _rewrite(bundle, name, alter)
    failed = _failures(verify_bundle(tampered, platform.checkpointer.signer.verifier_key()))

    receipt_id = name.removeprefix("receipts/").removesuffix(".jws")
    assert "platform signature: the signature does not verify" in failed[f"receipt {receipt_id}"]


def _same_meaning_other_order(line: bytes) -> bytes:
    """``line`` with its payload's keys in reverse order: the same JSON, other bytes."""
    payload = json.loads(line)["payload"]
    in_order, in_reverse = (
        json.dumps(keys, ensure_ascii=False, separators=(",", ":")).encode()
        for keys in (dict(sorted(payload.items())), dict(sorted(payload.items(), reverse=True)))
    )
    return line.replace(in_order, in_reverse, 1)


def test_events_jsonl_changed_in_the_bundle_is_caught(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI, tmp_path: Path
) -> None:
    """Every line is hashed as it is: an edited, reordered, cut or re-encoded line gives
    another tree than the locked checkpoints sign, even a line the verifier never parses."""
    _opened_tender(platform, people, clock, test_pki)
    bundle = tmp_path / "bundle.zip"
    platform.exporter.export(tender_reference="T-1", out=bundle)
    key = platform.checkpointer.signer.verifier_key()
    with zipfile.ZipFile(bundle) as opened:
        lines = opened.read("events.jsonl").split(b"\n")
    assert lines.pop() == b""
    kinds = [json.loads(line)["kind"] for line in lines]
    bid = kinds.index("bid.received")
    skipped = next(
        n
        for n, line in enumerate(lines)
        if kinds[n] in SKIPPED_KINDS and len(json.loads(line)["payload"]) >= 2
    )
    signed = max(_checkpoint_sizes(platform))

    def failures(change: Callable[[list[bytes]], object]) -> dict[str, str]:
        changed = list(lines)
        change(changed)
        jsonl = b"".join(line + b"\n" for line in changed)
        return _failures(verify_bundle(_rewrite(bundle, "events.jsonl", lambda _: jsonl), key))

    def edit(changed: list[bytes]) -> None:
        event = json.loads(changed[bid])
        event["payload"]["receipt_id"] = "forged"
        changed[bid] = canonical_bytes(event)

    def reencode(changed: list[bytes]) -> None:
        changed[skipped] = _same_meaning_other_order(changed[skipped])
        assert json.loads(changed[skipped]) == json.loads(lines[skipped])
        assert changed[skipped] != lines[skipped]

    def respace(changed: list[bytes]) -> None:
        spaced = json.dumps(json.loads(changed[bid]), ensure_ascii=False, sort_keys=True)
        changed[bid] = spaced.encode()

    edited = failures(edit)
    assert "hash chain" not in edited
    assert "the log was rewritten" in edited[f"checkpoint {signed} root"]
    assert "events.jsonl has SHA-256" in edited["file hashes"]

    reordered = failures(lambda changed: changed.insert(bid, changed.pop(bid + 1)))
    assert f"expected sequence number {bid + 1}, found {bid + 2}" in reordered["hash chain"]

    cut = failures(lambda changed: changed.__delitem__(slice(signed - 2, None)))
    assert (
        f"the platform signed a tree of {signed} events, but the log has only {signed - 2}"
        in (cut[f"checkpoint {signed} root"])
    )

    reencoded = failures(reencode)  # a line the verifier does not parse: only its bytes count
    assert "hash chain" not in reencoded
    for size in (s for s in _checkpoint_sizes(platform) if s > skipped):
        assert "the log was rewritten" in reencoded[f"checkpoint {size} root"]

    respaced = failures(respace)  # a line it parses: named, and its tree is not the one signed
    assert (
        f"FAILED at event {bid + 1}: line {bid + 1} is not the canonical JSON of an event"
        in (respaced["hash chain"])
    )
    assert "not in RFC 8785 canonical form" in respaced["hash chain"]
    assert "the log was rewritten" in respaced[f"checkpoint {signed} root"]


def test_the_command_line_prints_a_line_per_check_and_fails_on_any(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI, tmp_path: Path
) -> None:
    _opened_tender(platform, people, clock, test_pki)
    bundle = tmp_path / "bundle.zip"
    platform.exporter.export(tender_reference="T-1", out=bundle)
    key = tmp_path / "platform.pub"
    key.write_text(platform.checkpointer.signer.verifier_key() + "\n")
    command = [sys.executable, "-m", "tender.cli", "audit", "verify"]

    held = subprocess.run(
        [*command, str(bundle), "--key", str(key)], capture_output=True, text=True
    )
    tampered = _rewrite(bundle, "opening/T-1/record.pdf", lambda pdf: pdf + b"%altered\n")
    broken = subprocess.run(
        [*command, str(tampered), "--key", str(key)], capture_output=True, text=True
    )

    assert held.returncode == 0, held.stdout + held.stderr
    assert "PASS  hash chain: OK" in held.stdout
    assert "The bundle holds" in held.stdout
    assert broken.returncode == 1
    assert "FAIL  opening record PDF T-1: opening/T-1/record.pdf has SHA-256" in broken.stdout
    assert "The bundle does NOT hold" in broken.stdout


def _rehash_with_a_changed_event(platform: Platform) -> int:
    """Change the first bid.received event and redo every hash after it in the database."""
    bid = _event(platform, "bid.received")
    with platform.sessions.begin() as session:
        prev = GENESIS_HASH
        for event in session.scalars(select(AuditEvent).order_by(AuditEvent.seq)):
            forged = {"receipt_id": "forged"} if event.seq == bid.seq else {}
            prev = _rewrite_event(event, prev, **forged)
    return bid.seq


def _verify_stored(platform: Platform) -> dict[str, str]:
    with platform.sessions.begin() as session:
        checks = TrailService(session=session).verify(
            store=platform.store,
            bucket=platform.settings.bucket,
            verifier=platform.checkpointer.verifier,
        )
    return _failures(checks)


def test_the_stored_log_is_checked_against_the_locked_checkpoints(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI, tmp_path: Path
) -> None:
    """tender audit verify and GET /api/audit/verify on the database itself: a rewrite with
    every hash redone, or a cut-off tail, no longer reads as OK."""
    _opened_tender(platform, people, clock, test_pki)
    assert _verify_stored(platform) == {}
    seq = _rehash_with_a_changed_event(platform)

    rewritten = _verify_stored(platform)

    assert "hash chain" not in rewritten  # the database alone chains perfectly
    assert "the log was rewritten" in rewritten[f"checkpoint {_last_checkpoint(platform)} root"]
    # The Merkle nodes were left as they were: they disagree with the new bodies too.
    assert "stored Merkle nodes" in rewritten
    del rewritten["stored Merkle nodes"]
    assert all(int(name.split()[1]) >= seq for name in rewritten)  # from the change on
    with platform.sessions.begin() as session:  # the tail cut off, too
        session.execute(delete(AuditEvent).where(AuditEvent.seq >= seq))
    assert any("events were removed from its end" in d for d in _verify_stored(platform).values())


def test_the_command_line_checks_the_stored_log_and_names_the_first_cause(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI, tmp_path: Path
) -> None:
    _opened_tender(platform, people, clock, test_pki)
    _rehash_with_a_changed_event(platform)
    password = tmp_path / "p12-password"
    password.write_bytes(P12_PASSPHRASE)
    env = {
        **settings_env(platform.settings),
        "TENDER_TRUST_DIR": str(test_pki.trust_dir),
        "TENDER_PLATFORM_P12": str(test_pki.p12_path("platform")),
        "TENDER_PLATFORM_P12_PASSWORD_FILE": str(password),
    }

    done = subprocess.run(
        [sys.executable, "-m", "tender.cli", "audit", "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "PASS  hash chain: OK" in done.stdout
    roots = next(line for line in lines if line.startswith("FAIL  checkpoint roots:"))
    assert "the first, checkpoint" in roots
    assert lines[-1].startswith("First cause: checkpoint ")
    assert len(lines) < 15  # one line per kind of check, not one per checkpoint


def test_one_altered_event_gives_one_first_cause_and_a_count(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI, tmp_path: Path
) -> None:
    _opened_tender(platform, people, clock, test_pki)
    bid = _event(platform, "bid.received")
    with platform.sessions.begin() as session:
        event = session.get_one(AuditEvent, bid.seq)
        _rewrite_event(event, event.prev_hash, receipt_id="forged")
    first_signed = min(s for s in _checkpoint_sizes(platform) if s >= bid.seq)
    bundle = tmp_path / "bundle.zip"
    platform.exporter.export(tender_reference="T-1", out=bundle)
    key = tmp_path / "platform.pub"
    key.write_text(platform.checkpointer.signer.verifier_key() + "\n")

    done = subprocess.run(
        [sys.executable, "-m", "tender.cli", "audit", "verify", str(bundle), "--key", str(key)],
        capture_output=True,
        text=True,
        check=False,
    )

    lines = done.stdout.splitlines()
    assert done.returncode == 1
    assert lines[-1].startswith(f"First cause: checkpoint {first_signed} root: the platform signed")
    assert lines[-1].endswith("the log was rewritten")
    assert any(line.startswith("FAIL  checkpoint roots: ") and " of " in line for line in lines)
    assert len(lines) < 25  # a line per kind of check: not one per checkpoint and receipt
