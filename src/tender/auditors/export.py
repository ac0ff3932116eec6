"""Writing the auditor's bundle (``tender audit export``, ``GET /api/audit/export``).

The format and its offline verification are :mod:`tender.verifier.bundle`. The exporter reads
the database, the locked storage and every feature's rows, so it sits above the features.
It owns its transactions (see README, "How it is built"): each is a short read, and no
transaction is open while objects are read from storage and the zip is written.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import cms, pem, x509
from sqlalchemy import select, true
from sqlalchemy.orm import Session, sessionmaker

from tender.audit import service as audit
from tender.audit.checkpointer import Checkpointer
from tender.auditors.service import CHECKPOINT_PREFIX
from tender.bids.models import BidDocument, BidFingerprint, BidWithdrawal
from tender.clock import Clock, format_time
from tender.errors import NotFound
from tender.i18n import gettext as _
from tender.opening.models import OpeningRecord
from tender.qualification.models import FinancialOpening
from tender.signing import TrustStore
from tender.storage.objectstore import ObjectStore
from tender.tenders.models import Tender
from tender.verifier.bundle import (
    BUNDLE_FORMAT,
    EVENTS,
    MANIFEST,
    MANIFEST_SIGNATURE,
    checkpoint_name,
    opening_dir,
)
from tender.verifier.envelopes import FINANCIAL_RECORD
from tender.verifier.formats import BundleManifest, CheckpointCopy


@dataclass(frozen=True)
class _Contents:
    """What the bundle will hold, as pointers read from the database before the log."""

    # Each record's name in the bundle (without .json / .pdf), its JSON and its PDF.
    records: list[tuple[str, tuple[str, str], tuple[str, str]]]
    receipts: list[tuple[uuid.UUID, str]]


@dataclass(frozen=True, kw_only=True)
class BundleExporter:
    """Writes audit bundles; built once per platform."""

    sessions: sessionmaker[Session]
    store: ObjectStore
    bucket: str
    clock: Clock
    checkpointer: Checkpointer
    trust: TrustStore  # the anchors bid signatures chain to
    origin: str

    def export(self, *, tender_reference: str | None, out: Path) -> None:
        """Write the audit bundle of ``tender_reference`` (or of every tender, for None) to
        ``out``.

        Raises :class:`~tender.errors.NotFound` for an unknown reference. Reads what later rows
        point at (checkpoints, opening records, receipts) *before* the log, so every event they
        refer to is in the exported log: the log only grows, and no lock is held while
        exporting.
        """
        with self.sessions.begin() as session:
            contents = _contents(session, tender_reference)
        hashes: dict[str, str] = {}
        tokens: list[bytes] = []
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as bundle:

            def put(name: str, chunks: Iterable[bytes]) -> None:
                digest = hashlib.sha256()
                with bundle.open(name, "w", force_zip64=True) as sink:
                    for chunk in chunks:
                        digest.update(chunk)
                        sink.write(chunk)
                hashes[name] = digest.hexdigest()

            # Every locked version, found by listing the bucket: not the ones the database
            # names, which a rewrite could point elsewhere.
            for key, version in self.store.list_versions(self.bucket, CHECKPOINT_PREFIX):
                size = int(key.removeprefix(CHECKPOINT_PREFIX).removesuffix(".json"))
                body = b"".join(self.store.iter_version(self.bucket, key, version))
                copy: CheckpointCopy = json.loads(body)
                tokens.append(base64.b64decode(copy["timestamp_token"]))
                name = checkpoint_name(size)
                versions = sum(1 for n in hashes if n.startswith(name.removesuffix("json")))
                put(name if not versions else name.replace(".json", f".{versions}.json"), [body])
            for stem, (key, version), (pdf_key, pdf_version) in contents.records:
                put(f"{stem}.json", self.store.iter_version(self.bucket, key, version))
                put(f"{stem}.pdf", self.store.iter_version(self.bucket, pdf_key, pdf_version))
            for receipt_id, signed in contents.receipts:
                put(f"receipts/{receipt_id}.jws", [signed.encode("ascii")])
            with self.sessions.begin() as session:
                # Each event's body as stored: the bytes its hashes cover, never re-encoded.
                put(EVENTS, event_lines(audit.iter_bodies(session)))
            timestamp_trust = self.checkpointer.timestamp_trust
            certificates = {
                # The anchors signatures chain to, and those the time-stamping authority
                # chains to.
                "trust": (*self.trust.roots, *timestamp_trust.roots),
                "intermediates": (*self.trust.intermediates, *timestamp_trust.intermediates),
                "tsa": tuple(c for token in tokens for c in _token_certificates(token)),
            }
            for folder, found in certificates.items():
                for certificate in found:
                    name = f"certificates/{folder}/{certificate.sha256.hex()[:16]}.pem"
                    if name not in hashes:
                        put(name, [pem.armor("CERTIFICATE", certificate.dump())])
            manifest: BundleManifest = {
                "format": BUNDLE_FORMAT,
                "exported_at": format_time(self.clock.now()),
                "vkey": self.checkpointer.signer.verifier_key(),
                "origin": self.origin,
                "tender": tender_reference,
                "files": dict(sorted(hashes.items())),
            }
            bundle.writestr(MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
            bundle.writestr(MANIFEST_SIGNATURE, self.checkpointer.sign_json(manifest) + "\n")


def event_lines(bodies: Iterable[bytes], chunk: int = 1 << 20) -> Iterator[bytes]:
    """The lines of ``events.jsonl`` (each body and a line feed), about ``chunk`` bytes at a
    time."""
    lines: list[bytes] = []
    size = 0
    for body in bodies:
        lines.append(body)
        size += len(body) + 1
        if size >= chunk:
            yield b"\n".join(lines) + b"\n"
            lines, size = [], 0
    if lines:
        yield b"\n".join(lines) + b"\n"


def _contents(session: Session, tender_reference: str | None) -> _Contents:
    tender_id: uuid.UUID | None = None
    if tender_reference is not None:
        tender = session.scalar(select(Tender).where(Tender.reference == tender_reference))
        if tender is None:
            raise NotFound(
                _("There is no tender {tender_reference!r} to export.").format(
                    tender_reference=tender_reference
                ),
                _("The bundle is made for one tender reference, or for all."),
                _("Check the reference; GET /api/tenders lists the tenders."),
            )
        tender_id = tender.id
    record_query = select(OpeningRecord, Tender.reference).join(
        Tender, Tender.id == OpeningRecord.tender_id
    )
    # Every receipt the platform signed: of files, fingerprints and withdrawals.
    receipt_queries = [
        select(kind.id, kind.signed_receipt).where(
            kind.signed_receipt.is_not(None),
            true() if tender_id is None else kind.tender_id == tender_id,
        )
        for kind in (BidDocument, BidFingerprint, BidWithdrawal)
    ]
    # Two-envelope tenders: the financial part of the opening record, once written.
    financial_query = select(FinancialOpening, Tender.reference).join(
        Tender, Tender.id == FinancialOpening.tender_id
    )
    if tender_id is not None:
        record_query = record_query.where(OpeningRecord.tender_id == tender_id)
        financial_query = financial_query.where(FinancialOpening.tender_id == tender_id)
    return _Contents(
        records=[
            (
                f"{opening_dir(reference)}/record",
                (r.object_key, r.object_version),
                (r.pdf_object_key, r.pdf_object_version),
            )
            for r, reference in session.execute(record_query)
        ]
        + [
            (
                f"{opening_dir(reference)}/{FINANCIAL_RECORD}",
                (f.object_key, f.object_version),
                (f.pdf_object_key, f.pdf_object_version),
            )
            for f, reference in session.execute(financial_query)
            if f.object_key and f.object_version and f.pdf_object_key and f.pdf_object_version
        ],
        receipts=[
            (receipt_id, signed)
            for receipt_query in receipt_queries
            for receipt_id, signed in session.execute(receipt_query)
            if signed is not None  # the query asks for these only; this tells the type checker
        ],
    )


def _token_certificates(token: bytes) -> list[x509.Certificate]:
    """The certificates an RFC 3161 token carries (the authority's, and maybe its chain)."""
    signed = cms.ContentInfo.load(token)["content"]
    return [c.chosen for c in signed["certificates"] if c.name == "certificate"]
