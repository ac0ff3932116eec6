"""The audit trail as officers, auditors and suppliers read it: events, proofs, checkpoints."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tender.audit import checkpointer
from tender.audit import service as audit
from tender.audit.models import AuditEvent, CheckpointRecord
from tender.errors import NotFound
from tender.verifier.chain import ChainVerification
from tender.verifier.formats import ExportedEvent


@dataclass(frozen=True, kw_only=True)
class TrailService:
    """Reads of the audit trail, in the caller's transaction."""

    session: Session

    def events(self, *, tender_id: uuid.UUID | None, after: int, limit: int) -> list[ExportedEvent]:
        query = select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq)
        if tender_id is not None:
            query = query.where(AuditEvent.tender_id == tender_id)
        return [audit.to_json(e) for e in self.session.scalars(query.limit(limit))]

    def verify(self) -> ChainVerification:
        return audit.verify_stored_chain(self.session)

    def tree_head(self, size: int | None) -> audit.TreeHead:
        return audit.tree_head(self.session, size)

    def inclusion(self, *, seq: int, size: int | None) -> audit.InclusionProof:
        return audit.inclusion(self.session, seq=seq, size=size)

    def consistency(self, *, old_size: int, new_size: int | None) -> audit.ConsistencyProof:
        return audit.consistency(self.session, old_size=old_size, new_size=new_size)

    def latest_checkpoint(self) -> CheckpointRecord:
        record = checkpointer.latest(self.session)
        if record is None:
            raise NotFound(
                "No checkpoint has been issued yet.",
                "The first is issued with the first receipt, deadline or opening.",
                "Try again later.",
            )
        return record

    def checkpoint(self, size: int) -> CheckpointRecord:
        return checkpointer.at_size(self.session, size)
