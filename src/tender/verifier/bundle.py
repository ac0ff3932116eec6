"""The auditor's bundle, verified offline: ``tender audit verify bundle.zip --key platform.pub``.

:func:`verify_bundle` needs no database, no server and no network, and trusts only the
platform's verifier key. The bundle is written by the platform (``tender audit export``,
:mod:`tender.auditors.export`); docs/audit-bundle.md describes it for anyone writing their own
verifier. Format ``tender-audit-bundle/2``::

    manifest.json                 format, exported_at, vkey, origin, tender, SHA-256 of each file
    manifest.jws                  the manifest, signed by the platform (compact JWS, EdDSA)
    events.jsonl                  the WHOLE audit log: line n is event n's body, the exact bytes
                                  its hashes cover (commitments and hashes, never bid bytes)
    checkpoints/<size>.json       the Object-Locked copy of every signed checkpoint
    receipts/<receipt id>.jws     every receipt the platform signed (of the tender): files,
                                  fingerprints and withdrawals
    opening/<tender>/record.json  the opening record, from locked storage
    opening/<tender>/record.pdf   the same record as a sealed PDF, from locked storage
    certificates/trust/*.pem      the platform's trust anchors
    certificates/intermediates/*.pem, certificates/tsa/*.pem
                                  helper certificates, and those of the time-stamp authority

The log is exported whole because every checkpoint signs a tree over every event before it.
Each line is hashed as it is (leaf ``SHA-256(0x00 || line)``, chain ``SHA-256(prev || line)``,
see :mod:`.chain`), so a line written with other bytes -- even with the same JSON meaning --
gives another tree than the one signed. Only what is checked is parsed: each line's sequence
number, and the events a tender's ledger needs, which must be canonical RFC 8785 JSON.
``tender-audit-bundle/1`` lines were JSON objects with ``prev_hash``, ``hash`` and
``leaf_hash`` beside the event, which the verifier had to re-encode: it is refused, with a
sentence saying to export the bundle again.
Checkpoints come from the locked copies (read by the version the database names), not from the
database, so a database rewritten afterwards disagrees with them. ``<size>`` is zero-padded to
12 digits and ``<tender>`` is the reference, percent-encoded, so names sort and never nest.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from asn1crypto import x509
from pyhanko.keys import load_certs_from_pemder_data

from tender.signing import TrustStore, TrustStoreError
from tender.verifier import jws, merkle
from tender.verifier.chain import canonical_bytes
from tender.verifier.checks import Check, Checker, collector
from tender.verifier.committee import check_committee, check_unwraps
from tender.verifier.envelopes import FINANCIAL_RECORD, check_envelopes
from tender.verifier.kinds import EventKind
from tender.verifier.ledger import FINANCIAL, TECHNICAL, TenderLedger, parse_time
from tender.verifier.logcheck import LogReader, check_checkpoints
from tender.verifier.notes import CheckpointError, NoteVerifier
from tender.verifier.receipt import receipt_seq, verify_receipt
from tender.verifier.timestamps import check_timestamp

BUNDLE_FORMAT = "tender-audit-bundle/2"
_OLD_FORMATS = {
    "tender-audit-bundle/1": "its events.jsonl holds re-encoded events with their hashes, not "
    "the bytes the platform hashed; export the bundle again with this version of tender",
}
MANIFEST = "manifest.json"
MANIFEST_SIGNATURE = "manifest.jws"
EVENTS = "events.jsonl"


def checkpoint_name(size: int) -> str:
    return f"checkpoints/{size:012d}.json"


def opening_dir(reference: str) -> str:
    return f"opening/{quote(reference, safe='')}"


# --- verification ------------------------------------------------------------------------------


class _UnreadableError(ValueError):
    """A bundle file that cannot be read as what it should be."""


def verify_bundle(path: Path, verifier_key: str) -> list[Check]:
    """Check an audit bundle offline, trusting only ``verifier_key`` (``platform.pub``).

    Returns one :class:`Check` per finding, in the order a reader wants them; the bundle holds
    only if every check passes.
    """
    checks: list[Check] = []
    check = collector(checks)
    try:
        verifier = NoteVerifier.parse(verifier_key.strip())
    except CheckpointError as exc:
        check("platform key", False, f"{verifier_key.strip()!r} is not a verifier key: {exc}")
        return checks
    try:
        bundle = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        check("bundle", False, f"{path} is not a readable zip file: {exc}")
        return checks
    with bundle:
        manifest = _check_manifest(bundle, verifier, check)
        if manifest is None:
            return checks
        names = set(bundle.namelist())
        checkpoints = _read_checkpoints(bundle, names, check)
        receipts = {
            name.removeprefix("receipts/").removesuffix(".jws"): bundle.read(name).decode().strip()
            for name in sorted(names)
            if name.startswith("receipts/") and name.endswith(".jws")
        }
        receipt_seqs = {receipt_seq(signed) for signed in receipts.values()}
        log = LogReader(checkpoints, {seq for seq in receipt_seqs if seq is not None and seq > 0})
        if not _check_log(bundle, log, check):
            return checks
        check_checkpoints(checkpoints, log, verifier, check)
        trust = _bundle_trust(bundle, names)
        _check_timestamps(checkpoints, trust, check)
        for receipt_id, signed in receipts.items():
            _check_receipt(receipt_id, signed, verifier_key, trust, log, check)
        _check_tenders(bundle, names, manifest.get("tender"), log, check)
    return checks


def _check_manifest(
    bundle: zipfile.ZipFile, verifier: NoteVerifier, check: Checker
) -> dict[str, Any] | None:
    """The manifest, if it is the platform's and every file matches it (else None)."""
    try:
        manifest: dict[str, Any] = json.loads(bundle.read(MANIFEST))
        signed = bundle.read(MANIFEST_SIGNATURE).decode().strip()
    except (KeyError, ValueError) as exc:
        check("manifest", False, f"no readable {MANIFEST} and {MANIFEST_SIGNATURE}: {exc}")
        return None
    found = manifest.get("format")
    if not check(
        "bundle format",
        found == BUNDLE_FORMAT,
        f"format {found!r}, this verifier reads {BUNDLE_FORMAT!r}"
        + (f": {_OLD_FORMATS[found]}" if found in _OLD_FORMATS else ""),
    ):
        return None
    try:
        same = json.loads(jws.verify(signed, verifier.public_key)) == manifest
        check(
            "manifest signature",
            same,
            f"{MANIFEST} is signed by {verifier.label}"
            if same
            else f"{MANIFEST_SIGNATURE} is the platform's signature over another manifest",
        )
    except (jws.JWSError, ValueError) as exc:
        check("manifest signature", False, f"{MANIFEST_SIGNATURE}: {exc}")
    check(
        "platform key",
        manifest.get("vkey") == verifier.verifier_key() and manifest.get("origin") == verifier.name,
        f"the bundle names key {manifest.get('vkey')} and log {manifest.get('origin')!r}; "
        f"checking with {verifier.verifier_key()}",
    )
    listed: dict[str, str] = manifest.get("files", {})
    present = set(bundle.namelist()) - {MANIFEST, MANIFEST_SIGNATURE}
    problems = [f"{name} is missing" for name in sorted(set(listed) - present)]
    problems += [f"{name} is not in the manifest" for name in sorted(present - set(listed))]
    for name in sorted(present & set(listed)):
        digest = hashlib.sha256()
        with bundle.open(name) as source:
            for chunk in iter(lambda: source.read(1 << 20), b""):
                digest.update(chunk)
        if digest.hexdigest() != listed[name]:
            problems.append(f"{name} has SHA-256 {digest.hexdigest()}, manifest {listed[name]}")
    check(
        "file hashes",
        not problems,
        "; ".join(problems) if problems else f"all {len(listed)} files match the manifest",
    )
    return manifest


def _read_checkpoints(
    bundle: zipfile.ZipFile, names: set[str], check: Checker
) -> dict[int, list[tuple[str, Mapping[str, Any]]]]:
    """The locked checkpoint copies by the size their file is named for (``<size>.json``, and
    ``<size>.<n>.json`` for further versions of the same object)."""
    found: dict[int, list[tuple[str, Mapping[str, Any]]]] = {}
    for name in sorted(n for n in names if n.startswith("checkpoints/")):
        stem = name.removeprefix("checkpoints/").removesuffix(".json").split(".")[0]
        try:
            found.setdefault(int(stem), []).append((name, json.loads(bundle.read(name))))
        except ValueError as exc:
            check(f"checkpoint {stem}", False, f"{name} is not a checkpoint copy: {exc}")
    if not found:
        check("checkpoints", False, "the bundle holds no checkpoint: nothing signs the log")
    return found


def _check_log(bundle: zipfile.ZipFile, log: LogReader, check: Checker) -> bool:
    """Hash every line of ``events.jsonl`` (the whole log) as it is, into the chain and the
    tree, and read what the ledgers need; False if it cannot be read at all."""
    try:
        with bundle.open(EVENTS) as raw:
            log.read_file(raw)
    except (KeyError, OSError, zipfile.BadZipFile) as exc:
        return check("hash chain", False, f"{EVENTS} cannot be read: {exc}")
    # A broken chain still has leaves: the checkpoints say which signed trees they break.
    log.finish(check)
    return True


def _bundle_trust(bundle: zipfile.ZipFile, names: set[str]) -> TrustStore | None:
    """The anchors the bundle carries for the time-stamping authority (None if none)."""

    def certificates(folder: str) -> list[x509.Certificate]:
        return [
            c
            for n in sorted(names)
            if n.startswith(f"certificates/{folder}/")
            for c in load_certs_from_pemder_data(bundle.read(n))
        ]

    try:
        return TrustStore.from_certificates(
            certificates("trust"), [*certificates("intermediates"), *certificates("tsa")]
        )
    except TrustStoreError:
        return None


def _check_timestamps(
    checkpoints: dict[int, list[tuple[str, Mapping[str, Any]]]],
    trust: TrustStore | None,
    check: Checker,
) -> None:
    """Each checkpoint's RFC 3161 token: about this note, signed intact, by a trusted TSA."""
    if trust is None:
        check(
            "time-stamps", False, "the bundle has no certificates/trust anchor to judge the TSA by"
        )
        return
    for size, found in sorted(checkpoints.items()):
        for where, copy in found:
            token, note = copy.get("timestamp_token", ""), copy.get("note", "")
            ok, detail = check_timestamp(token, note, trust)
            check(f"time-stamp {size}", ok, f"{where}: {detail}")


def _check_receipt(
    receipt_id: str,
    signed: str,
    verifier_key: str,
    trust: TrustStore | None,
    log: LogReader,
    check: Checker,
) -> None:
    """A receipt holds on its own (:func:`verify_receipt`) and records the event of the log."""
    failed = [c for c in verify_receipt(signed, verifier_key, tsa_trust=trust) if not c.ok]
    if failed:
        check(
            f"receipt {receipt_id}",
            False,
            f"receipts/{receipt_id}.jws: " + "; ".join(f"{c.name}: {c.detail}" for c in failed),
        )
        return
    seq = receipt_seq(signed)
    payload = json.loads(jws.b64url_decode(signed.split(".")[1]))
    event = payload["audit_event"]
    # The receipt's event is the log's event seq if it has the same body (the same leaf) and
    # the same chain hashes: the log's line is the canonical form of the event received.
    same = (
        seq is not None
        and 0 < seq <= len(log.leaves)
        and log.leaves[seq - 1] == merkle.leaf_hash(canonical_bytes(event))
        and event.get("prev_hash") == log.chain_hash(seq - 1)
        and event.get("hash") == payload.get("audit_hash") == log.chain_hash(seq)
    )
    check(
        f"receipt {receipt_id}",
        same,
        f"signed by the platform, in the signed tree, and the same as event {seq} of the log"
        if same
        else f"receipts/{receipt_id}.jws records an event {seq} that is not event {seq} of the log",
    )


def _check_tenders(
    bundle: zipfile.ZipFile,
    names: set[str],
    reference: str | None,
    log: LogReader,
    check: Checker,
) -> None:
    """Per tender: bids on time, commitments opened, every bid due opened and nothing else,
    opened intact, opening after the deadline, record hashes."""
    tenders = [
        ledger
        for ledger in log.tenders.values()
        if reference is None or ledger.reference == reference
    ]
    if reference is not None and not tenders:
        check(f"tender {reference}", False, f"no tender.created event names {reference!r}")
    for ledger in tenders:
        ref = ledger.reference or "(unnamed)"
        late = {bid.receipt_id for bid in ledger.late()}
        for bid in ledger.bids.values():
            fingerprint = ledger.fingerprint_fulfilled(bid)
            check(
                f"bid {bid.receipt_id} on time",
                bid.deadline is not None and bid.receipt_id not in late,
                (
                    f"event {bid.seq}: received {bid.at}, deadline {bid.deadline}"
                    + (
                        f", files' grace to {ledger.files_until}, matching fingerprint "
                        f"{fingerprint.receipt_id} (event {fingerprint.seq})"
                        if fingerprint is not None and not bid.on_time
                        else ""
                    )
                )
                if bid.deadline is not None
                else f"event {bid.seq}: no tender.created, tender.published or tender.amended "
                f"event before it gives tender {ref}'s deadline",
            )
        if ledger.opening_started is not None:
            seq, started = ledger.opening_started
            due = ledger.files_until
            after = due is not None and parse_time(started) >= parse_time(due)
            check(
                f"opening {ref} after deadline",
                after,
                f"event {seq}: opening started {started}, deadline {ledger.deadline}"
                + (f", files' grace to {due}" if due != ledger.deadline else ""),
            )
        if ledger.halted is not None and ledger.opening_finished is None:
            seq, payload = ledger.halted
            check(
                f"opening {ref} halted",
                False,
                f"event {seq}: the opening stopped because the tables disagree with the log: "
                + "; ".join(map(str, payload.get("problems", []))),
            )
        check_committee(ledger, ref, check)
        check_unwraps(ledger, ref, check)
        check_envelopes(ledger, ref, check)
        if ledger.opening_finished is not None:
            check_commitments(ledger, ref, check)
            check_complete(ledger, ref, check)
        for receipt_id, (seq, payload) in ledger.opened.items():
            check(f"bid {receipt_id} opened intact", *_opened_intact(seq, payload))
        _check_record(bundle, names, ref, "record", ledger.opening_finished, check)
        _check_record(
            bundle,
            names,
            ref,
            FINANCIAL_RECORD,
            ledger.financial_finished,
            check,
            part="financial ",
        )


def _opened_intact(seq: int, payload: Mapping[str, Any]) -> tuple[bool, str]:
    """Whether the platform opened a bid as it received it. A supplier-sealed file whose
    sealed bytes are those received but whose content is not what its supplier declared was
    kept intact: the opening record names the supplier's mismatch; this check holds."""
    if payload.get("hash_matches") is True:
        return True, f"event {seq}: the unsealed file's SHA-256 is the receipt's"
    if payload.get("declared_sha256_differs") is True:
        return True, (
            f"event {seq}: {payload.get('file_name')}'s sealed bytes are those received, but "
            f"its supplier declared SHA-256 {payload.get('receipt_sha256')} for a file whose "
            f"SHA-256 is {payload.get('computed_sha256')}: the supplier's mismatch, recorded"
        )
    return False, (
        f"event {seq}: {payload.get('file_name')} opened with SHA-256 "
        f"{payload.get('computed_sha256')}, the receipt says "
        f"{payload.get('receipt_sha256')} ({payload.get('sub_indication')})"
    )


def check_commitments(ledger: TenderLedger, reference: str, check: Checker) -> None:
    """After the opening, every sealed event of the tender is revealed, and each reveal opens
    exactly what the event committed to."""
    unrevealed = ledger.unrevealed()
    check(
        f"commitments {reference}",
        not unrevealed,
        f"all {len(ledger.sealed)} sealed events were revealed, each as committed"
        if not unrevealed
        else f"events {', '.join(map(str, unrevealed))} were never revealed, or their reveal "
        "does not open their commitment: what they recorded is unknown",
    )


def check_complete(ledger: TenderLedger, reference: str, check: Checker) -> None:
    """The opening opened exactly what the log says was due: the latest on-time receipt per
    supplier and file name, unless withdrawn; no receipt went missing and nothing else was
    opened."""
    due = {bid.receipt_id for bid in ledger.to_open(TECHNICAL)}
    # A two-envelope tender's financial envelopes: those of qualified bids, once requested
    # (whether each was opened is envelopes.check_envelopes's to say).
    financial = {bid.receipt_id for bid in ledger.to_open(FINANCIAL)}
    qualified = {bid.receipt_id for bid in ledger.financial_due()}
    opened = set(ledger.opened)
    missing = sorted(due - opened)
    unknown = sorted(opened - set(ledger.bids))
    not_due = sorted((opened & set(ledger.bids)) - due - qualified)
    problems = [f"on-time receipt {r} has no opening result" for r in missing]
    problems += [f"opening result {r} has no receipt in the log" for r in unknown]
    problems += [
        f"receipt {r} was opened but was "
        + (
            "a financial envelope of a bid not qualified, or opened before the financial "
            "opening was requested"
            if r in financial
            else "withdrawn by the deadline"
            if r in ledger.withdrawn
            else "superseded or late"
        )
        for r in not_due
    ]
    check(
        f"opening {reference} complete",
        not problems,
        f"the {len(due)} receipts due were opened, and nothing else"
        if not problems
        else "; ".join(problems),
    )


def _check_record(
    bundle: zipfile.ZipFile,
    names: set[str],
    reference: str,
    stem: str,
    finished: tuple[int, dict[str, Any]] | None,
    check: Checker,
    *,
    part: str = "",
) -> None:
    event = EventKind.FINANCIAL_OPENING_FINISHED if part else EventKind.OPENING_FINISHED
    """The opening record's JSON and PDF (``stem`` in the tender's folder: the record, or a
    two-envelope tender's financial part) hash to what its ``finished`` event recorded
    (``opening.finished``, ``financial_opening.finished``); ``part`` names the financial
    part in the checks' names."""
    folder = opening_dir(reference)
    files = {"JSON": f"{folder}/{stem}.json", "PDF": f"{folder}/{stem}.pdf"}
    if finished is None:
        for what, name in files.items():
            if name in names:
                check(
                    f"{part}opening record {what} {reference}",
                    False,
                    f"{name} is in the bundle but no {event} event records its hash",
                )
        return
    seq, payload = finished
    fields = {"JSON": "record_sha256", "PDF": "record_pdf_sha256"}
    for what, name in files.items():
        expected = payload.get(fields[what])
        if expected is None and what == "PDF" and name not in names:
            continue  # opened before records had a PDF
        if name not in names:
            check(f"{part}opening record {what} {reference}", False, f"{name} is not in the bundle")
            continue
        actual = hashlib.sha256(bundle.read(name)).hexdigest()
        check(
            f"{part}opening record {what} {reference}",
            actual == expected,
            f"{name} has the SHA-256 that {event} (event {seq}) recorded"
            if actual == expected
            else f"{name} has SHA-256 {actual}, but {event} (event {seq}) recorded {expected}",
        )


__all__ = ["BUNDLE_FORMAT", "EVENTS", "MANIFEST", "MANIFEST_SIGNATURE", "verify_bundle"]
