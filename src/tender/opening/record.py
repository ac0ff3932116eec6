"""The opening record: built from the results, sealed as a PDF, both locked in storage.

The JSON record (format ``tender-opening-record/1``, :class:`OpeningRecordDocument`) is the
authoritative one; the PDF (:mod:`tender.opening.record_pdf`) shows the same facts to people
and carries the platform's seal. Sealing (a time-stamp request) and the writes to storage
take time, so :class:`RecordWriter` runs with no transaction open and no lock held.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from pyhanko.sign.signers import Signer
from pyhanko.sign.timestamps import TimeStamper
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from tender.accounts.models import User
from tender.audit.models import AuditEvent
from tender.bids.models import BidDocument, BidFingerprint
from tender.clock import format_time
from tender.committee.models import FINANCIAL_KEY, TENDER_KEY, CommitteeShare
from tender.committee.service import releases_of
from tender.opening.models import OpeningResult
from tender.opening.record_pdf import render_record_pdf, seal_record_pdf
from tender.signing import TrustStore
from tender.storage.objectstore import ObjectStore
from tender.tenders.models import OpeningMethod, Tender
from tender.verifier.formats import (
    CheckpointSummary,
    OpeningRecordDocument,
    RecordFingerprint,
    RecordKeyRelease,
    RecordNotOpened,
    RecordVerdict,
)
from tender.verifier.ledger import FINANCIAL, TECHNICAL

RECORD_FORMAT = "tender-opening-record/1"


def build_record(
    session: Session, tender: Tender, *, opened_at: datetime, checkpoint: CheckpointSummary
) -> OpeningRecordDocument:
    """The opening record: the tender, every opened document and its verdict, the audit head
    and the opening's checkpoint. For a two-envelope tender, its first part: the technical
    envelopes (the financial part is :func:`build_financial_record`)."""
    assert tender.opening_started_at is not None  # the opening started before any result
    record = _record(
        session,
        tender,
        started_at=tender.opening_started_at,
        opened_at=opened_at,
        checkpoint=checkpoint,
        key_name=TENDER_KEY,
    )
    record["not_opened"] = _not_opened(session, tender)
    if tender.two_envelopes:
        record["envelope"] = TECHNICAL
    if tender.file_grace_seconds is not None:
        record["tender"]["files_until"] = format_time(tender.files_until)
        record["fingerprints_without_file"] = _fingerprints_without_file(session, tender)
    return record


def build_financial_record(
    session: Session,
    tender: Tender,
    *,
    started_at: datetime,
    opened_at: datetime,
    checkpoint: CheckpointSummary,
    verdicts: list[RecordVerdict],
    technical_record_sha256: str,
) -> OpeningRecordDocument:
    """The second part of a two-envelope tender's opening record, a record of its own: the
    qualification verdicts, the financial envelopes opened (those of qualified bids; the
    others were never decrypted) and who released the financial key; it names the first
    part by its SHA-256."""
    record = _record(
        session,
        tender,
        started_at=started_at,
        opened_at=opened_at,
        checkpoint=checkpoint,
        key_name=FINANCIAL_KEY,
    )
    record["envelope"] = FINANCIAL
    record["qualification"] = verdicts
    record["technical_record_sha256"] = technical_record_sha256
    return record


def _record(
    session: Session,
    tender: Tender,
    *,
    started_at: datetime,
    opened_at: datetime,
    checkpoint: CheckpointSummary,
    key_name: str,
) -> OpeningRecordDocument:
    """What every part of an opening record holds: the tender, the documents opened with the
    key named ``key_name`` and their verdicts, who released that key, the audit head."""
    envelope = FINANCIAL if key_name == FINANCIAL_KEY else TECHNICAL
    rows = session.execute(
        select(BidDocument, OpeningResult, User)
        .join(OpeningResult, OpeningResult.document_id == BidDocument.id)
        .join(User, User.id == BidDocument.supplier_id)
        .where(BidDocument.tender_id == tender.id)
        .order_by(BidDocument.received_at)
    ).all()
    opened = [row for row in rows if (row[0].envelope or TECHNICAL) == envelope]
    head = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).one()
    record: OpeningRecordDocument = {
        "format": RECORD_FORMAT,
        "tender": {
            "id": str(tender.id),
            "reference": tender.reference,
            "title": tender.title,
            "deadline": format_time(tender.deadline),
            "opening_started_at": format_time(started_at),
            "opened_at": format_time(opened_at),
        },
        "bids": [
            {
                "receipt_id": str(document.id),
                "supplier": supplier.name,
                "supplier_organisation": supplier.organisation,
                "file_name": document.file_name,
                "size": document.size,
                "received_at": format_time(document.received_at),
                "receipt_sha256": document.sha256,
                "computed_sha256": result.computed_sha256,
                "hash_matches": result.hash_matches,
                "indication": result.indication.value,
                "sub_indication": result.sub_indication.value if result.sub_indication else None,
                "signer_subject": result.signer_subject,
                "reason": result.reason,
                "signature_report": result.report,
            }
            for document, result, supplier in opened
        ],
        "audit_head": {"seq": head.seq, "hash": head.hash},
        "checkpoint": checkpoint,
        "key_release": _key_release(session, tender, key_name),
    }
    for bid, (document, _, _) in zip(record["bids"], opened, strict=True):
        if document.sealed_sha256 is not None:
            bid["sealed_sha256"] = document.sealed_sha256
    return record


def _key_release(session: Session, tender: Tender, key_name: str) -> RecordKeyRelease:
    """Who released the tender's key named ``key_name``: the platform, or the committee
    members who released their shares (in order, with when)."""
    if tender.opening is not OpeningMethod.COMMITTEE:
        return {"opening": tender.opening.value}
    assert tender.quorum is not None  # a committee tender has one
    members = session.scalar(
        select(func.count()).where(
            CommitteeShare.tender_id == tender.id, CommitteeShare.key_name == key_name
        )
    )
    return {
        "opening": tender.opening.value,
        "quorum": tender.quorum,
        "members": members or 0,
        "released": [
            {
                "member": member.name,
                "organisation": member.organisation,
                "released_at": format_time(share.released_at),
            }
            for share, member in releases_of(session, tender.id, key_name)
            if share.released_at is not None
        ],
    }


def _not_opened(session: Session, tender: Tender) -> list[RecordNotOpened]:
    """Every version received but not opened, and why: superseded by a later one of the same
    file (the opened one), or withdrawn."""
    rows = session.execute(
        select(BidDocument, User)
        .join(User, User.id == BidDocument.supplier_id)
        .where(
            BidDocument.tender_id == tender.id,
            or_(BidDocument.superseded_at.is_not(None), BidDocument.withdrawn_at.is_not(None)),
        )
        .order_by(BidDocument.received_at)
    ).all()
    not_opened: list[RecordNotOpened] = []
    for document, supplier in rows:
        at = document.withdrawn_at or document.superseded_at
        assert at is not None  # the query asks for one of them
        not_opened.append(
            {
                "receipt_id": str(document.id),
                "supplier_organisation": supplier.organisation,
                "file_name": document.file_name,
                "sha256": document.sha256,
                "received_at": format_time(document.received_at),
                "why": "withdrawn" if document.withdrawn_at is not None else "superseded",
                "at": format_time(at),
            }
        )
    return not_opened


def _fingerprints_without_file(session: Session, tender: Tender) -> list[RecordFingerprint]:
    """The last fingerprint of each supplier and file name, where no file was received in
    time for it: neither one matching it in the grace period, nor one by the deadline."""
    documents = session.scalars(
        select(BidDocument).where(
            BidDocument.tender_id == tender.id,
            BidDocument.superseded_at.is_(None),
            BidDocument.withdrawn_at.is_(None),
        )
    ).all()
    fulfilled = {d.fingerprint_id for d in documents if d.fingerprint_id is not None}
    in_time = {(d.supplier_id, d.file_name) for d in documents if d.received_at <= tender.deadline}
    rows = session.execute(
        select(BidFingerprint, User)
        .join(User, User.id == BidFingerprint.supplier_id)
        .where(
            BidFingerprint.tender_id == tender.id,
            BidFingerprint.superseded_at.is_(None),
            BidFingerprint.withdrawn_at.is_(None),
        )
        .order_by(BidFingerprint.received_at)
    ).all()
    return [
        {
            "receipt_id": str(fingerprint.id),
            "supplier_organisation": supplier.organisation,
            "file_name": fingerprint.file_name,
            "sha256": fingerprint.sha256,
            "received_at": format_time(fingerprint.received_at),
        }
        for fingerprint, supplier in rows
        if fingerprint.id not in fulfilled
        and (fingerprint.supplier_id, fingerprint.file_name) not in in_time
    ]


@dataclass(frozen=True)
class LockedCopy:
    """One object written under Object Lock, and the SHA-256 of its bytes."""

    key: str
    version_id: str
    sha256: str


@dataclass(frozen=True)
class StoredRecord:
    json: LockedCopy
    pdf: LockedCopy

    def logged(self) -> dict[str, str]:
        """What the event that finishes an opening says of its record: the hashes and
        versions of both copies."""
        return {
            "record_sha256": self.json.sha256,
            "record_object_version": self.json.version_id,
            "record_pdf_sha256": self.pdf.sha256,
            "record_pdf_object_version": self.pdf.version_id,
        }


@dataclass(frozen=True, kw_only=True)
class RecordWriter:
    """Writes opening records: the JSON, and the PDF sealed with the platform's seal."""

    store: ObjectStore
    bucket: str
    seal: Signer  # the platform's organisation seal
    timestamper: TimeStamper
    # The seal's chain is validated against this, and its revocation data put in the PDF with a
    # document time-stamp (PAdES B-LTA), so the seal stays verifiable after it expires.
    seal_trust: TrustStore | None = None

    def write(
        self,
        record: OpeningRecordDocument,
        *,
        tender_id: uuid.UUID,
        retain_until: datetime,
        name: str = "opening-record",
    ) -> StoredRecord:
        body = json.dumps(record, sort_keys=True, indent=2, ensure_ascii=False).encode()
        rendered, sealed = io.BytesIO(), io.BytesIO()
        render_record_pdf(record, rendered)
        rendered.seek(0)
        seal_record_pdf(
            rendered,
            sealed,
            self.seal,
            timestamper=self.timestamper,
            validation_trust=self.seal_trust,
        )
        prefix = f"tenders/{tender_id}/{name}"
        return StoredRecord(
            json=self._lock(f"{prefix}.json", body, retain_until),
            pdf=self._lock(f"{prefix}.pdf", sealed.getvalue(), retain_until),
        )

    def _lock(self, key: str, body: bytes, retain_until: datetime) -> LockedCopy:
        stored = self.store.put_locked(
            self.bucket, key, io.BytesIO(body), length=len(body), retain_until=retain_until
        )
        return LockedCopy(key, stored.version_id, hashlib.sha256(body).hexdigest())
