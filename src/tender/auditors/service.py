"""The audit trail as officers, auditors and suppliers read it: events, proofs, checkpoints."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tender.audit import checkpointer
from tender.audit import service as audit
from tender.audit.models import AuditEvent, CheckpointRecord
from tender.errors import NotFound
from tender.i18n import gettext as _
from tender.storage.objectstore import ObjectStore
from tender.verifier.checks import Check, Checker, collector
from tender.verifier.formats import CheckpointCopy, ExportedEvent
from tender.verifier.logcheck import LogReader, check_chain, check_checkpoints
from tender.verifier.notes import NoteVerifier


@dataclass(frozen=True, kw_only=True)
class TrailService:
    """Reads of the audit trail, in the caller's transaction."""

    session: Session

    def events(self, *, tender_id: uuid.UUID | None, after: int, limit: int) -> list[ExportedEvent]:
        query = select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq)
        if tender_id is not None:
            query = query.where(AuditEvent.tender_id == tender_id)
        return [audit.to_json(e) for e in self.session.scalars(query.limit(limit))]

    def verify(self, *, store: ObjectStore, bucket: str, verifier: NoteVerifier) -> list[Check]:
        """The stored log against every Object-Locked checkpoint: the bodies read as an
        auditor reads the export (every one canonical, here), each row's columns against its
        body, each locked copy signed by the platform and over the tree the bodies give. A
        database rewritten with every hash redone, or cut short, disagrees with the copies."""
        checks: list[Check] = []
        check = collector(checks)
        copies = locked_checkpoints(store, bucket)
        log = LogReader(copies, every_line=True)
        rows = audit.StoredRows()
        check_chain(rows.bodies(self.session), log, check)
        check(
            "stored columns",
            rows.first_problem is None,
            "every event's columns agree with its body"
            if rows.first_problem is None
            else f"event {rows.first_problem[0]}: {rows.first_problem[1]}",
        )
        if not copies:
            check(
                "locked checkpoints", False, "no checkpoint copy is locked: nothing signs the log"
            )
        check_checkpoints(copies, log, verifier, check)
        self._check_stored_tree(log, check)
        return checks

    def _check_stored_tree(self, log: LogReader, check: Checker) -> None:
        """The stored Merkle nodes, which receipts' proofs are made from, are the perfect
        subtrees of the bodies' leaves: a node edited in the database would hand suppliers
        proofs that fail."""
        wrong = audit.first_wrong_node(self.session, log.leaves)
        check(
            "stored Merkle nodes",
            wrong is None,
            f"every stored node is the root of its subtree of the {len(log.leaves)} bodies"
            if wrong is None
            else f"node {wrong[1]} of level {wrong[0]} is not the root of its subtree of "
            "the bodies: proofs made from it would fail",
        )

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
                _("No checkpoint has been issued yet."),
                _("The first is issued with the first receipt, deadline or opening."),
                _("Try again later."),
            )
        return record

    def checkpoint(self, size: int) -> CheckpointRecord:
        return checkpointer.at_size(self.session, size)


CHECKPOINT_PREFIX = "audit/checkpoints/"


def locked_checkpoints(
    store: ObjectStore, bucket: str
) -> dict[int, list[tuple[str, CheckpointCopy]]]:
    """Every locked version of every checkpoint copy, by tree size, found by listing the
    bucket rather than by the versions the database names (which a rewrite could redirect)."""
    found: dict[int, list[tuple[str, CheckpointCopy]]] = {}
    for key, version in store.list_versions(bucket, CHECKPOINT_PREFIX):
        size = int(key.removeprefix(CHECKPOINT_PREFIX).removesuffix(".json"))
        copy: CheckpointCopy = json.loads(b"".join(store.iter_version(bucket, key, version)))
        found.setdefault(size, []).append((f"{key} version {version}", copy))
    return found
