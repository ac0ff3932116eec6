"""Appending to and reading the audit trail. Appends join the caller's transaction.

``audit`` is a leaf of the service: every feature writes to it, and it imports no feature.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, tuple_
from sqlalchemy.orm import Session

from tender.audit.models import AuditEvent, MerkleNode
from tender.clock import format_time
from tender.errors import Invalid
from tender.i18n import gettext as _
from tender.verifier import merkle
from tender.verifier.chain import GENESIS_HASH, ChainVerification, canonical_bytes, verify_chain
from tender.verifier.formats import ExportedEvent
from tender.verifier.kinds import EventKind

SYSTEM_ACTOR = "system"
# How events of an unopened tender name a supplier: not at all; who it was is sealed in the
# event (see audit.sealed) until the opening reveals it.
SEALED_ACTOR = "bidder"
# Any fixed 64-bit number: the PostgreSQL advisory lock that serialises appends.
_APPEND_LOCK_KEY = 0x7E4DE2A0D17


def lock_log(session: Session) -> None:
    """Hold the log still until the transaction ends: appends wait, so what is read is one
    consistent prefix. PostgreSQL: an advisory lock; SQLite: BEGIN IMMEDIATE already did."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK_KEY})


def append(
    session: Session,
    *,
    kind: EventKind,
    actor: str,
    at: datetime,
    tender_id: uuid.UUID | None = None,
    payload: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event in ``session``'s transaction; it commits or rolls back with the change.

    Appends are serialised: on PostgreSQL by a transaction-scoped advisory lock, on SQLite by the
    write lock every transaction takes at BEGIN IMMEDIATE. The event's leaf and every perfect
    subtree it completes are stored as Merkle nodes (one more row per append on average).
    """
    lock_log(session)
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    event = AuditEvent(
        seq=seq,
        at=at,
        actor=actor,
        tender_id=tender_id,
        kind=kind.value,
        payload=payload or {},
        prev_hash=prev_hash,
    )
    event.body = canonical_bytes(_chained_fields(event))
    event.hash = hashlib.sha256(bytes.fromhex(prev_hash) + event.body).hexdigest()
    leaf = merkle.leaf_hash(event.body)
    event.leaf_hash = leaf.hex()
    session.add(event)
    session.add_all(_completed_nodes(session, seq - 1, leaf))
    session.flush()
    return event


def _completed_nodes(session: Session, position: int, leaf: bytes) -> list[MerkleNode]:
    """The node of leaf ``position`` and of each perfect subtree it completes: at each level
    where the new node is a right child, its left sibling is already stored."""
    levels = (~position & (position + 1)).bit_length() - 1  # trailing one bits of position
    siblings = (
        dict(
            session.execute(
                select(MerkleNode.level, MerkleNode.hash).where(
                    tuple_(MerkleNode.level, MerkleNode.index).in_(
                        [(level, (position >> level) - 1) for level in range(levels)]
                    )
                )
            ).all()
        )
        if levels
        else {}
    )
    nodes = [MerkleNode(level=0, index=position, hash=leaf)]
    node = leaf
    for level in range(levels):
        node = merkle.node_hash(siblings[level], node)
        nodes.append(MerkleNode(level=level + 1, index=position >> (level + 1), hash=node))
    return nodes


def _chained_fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": format_time(event.at),
        "actor": event.actor,
        "tender_id": str(event.tender_id) if event.tender_id else None,
        "kind": event.kind,
        "payload": event.payload,
    }


def to_json(event: AuditEvent) -> ExportedEvent:
    """The event as readers see it: the fields of its body, with its hashes.

    Every reader (the opening's ledger, the API, receipts, the export) takes an event from its
    body, the bytes the hashes cover and the checkpoints sign, never from the columns beside it:
    ``seq``, ``tender_id`` and ``kind`` are there to be queried, the others for people reading
    the table. A column changed in the database then changes nothing anyone reads, and the
    checks (:func:`verify_stored_chain`, ``GET /api/audit/verify``) name it as changed.
    """
    fields: dict[str, Any] = json.loads(event.body)
    return {
        "seq": fields["seq"],
        "at": fields["at"],
        "actor": fields["actor"],
        "tender_id": fields["tender_id"],
        "kind": fields["kind"],
        "payload": fields["payload"],
        "prev_hash": event.prev_hash,
        "hash": event.hash,
        "leaf_hash": event.leaf_hash,
    }


def iter_events(
    session: Session, *, tender_id: uuid.UUID | None = None, batch: int = 500
) -> Iterator[AuditEvent]:
    """Events in sequence order, fetched in batches so the trail never sits in memory whole."""
    query = select(AuditEvent).order_by(AuditEvent.seq)
    if tender_id is not None:
        query = query.where(AuditEvent.tender_id == tender_id)
    yield from session.scalars(query.execution_options(yield_per=batch))


def iter_bodies(session: Session, *, batch: int = 5000) -> Iterator[bytes]:
    """Every event's body in sequence order: the lines of the exported log."""
    query = select(AuditEvent.body).order_by(AuditEvent.seq)
    yield from session.scalars(query.execution_options(yield_per=batch))


def tender_events(session: Session, tender_id: uuid.UUID) -> list[ExportedEvent]:
    """Every event of one tender, in sequence order, as exported."""
    return [to_json(event) for event in iter_events(session, tender_id=tender_id)]


class StoredRows:
    """The stored log read for a check: yields each row's body, as the export would, and notes
    the first row whose other columns disagree with its body -- a ``payload``, ``kind`` or
    ``tender_id`` edited in the database, a hash column that is not the hash of the bodies."""

    def __init__(self) -> None:
        self.first_problem: tuple[int, str] | None = None

    def bodies(self, session: Session) -> Iterator[bytes]:
        prev = bytes(32)
        for event in iter_events(session):
            head = hashlib.sha256(prev + event.body).digest()
            if self.first_problem is None and (problem := _disagreement(event, prev, head)):
                self.first_problem = (event.seq, problem)
            prev = head
            yield event.body


def _disagreement(event: AuditEvent, prev: bytes, head: bytes) -> str | None:
    """What in ``event``'s row disagrees with its body (None if nothing does): first the hash
    columns (a changed body), then the columns that repeat the body's fields."""
    hashes = {
        "prev_hash": prev.hex(),
        "hash": head.hex(),
        "leaf_hash": merkle.leaf_hash(event.body).hex(),
    }
    for name, derived in hashes.items():
        if getattr(event, name) != derived:
            return (
                f"its {name} column is {getattr(event, name)}, but the bodies give {derived}: "
                "its body, or that column, was changed after the event was written"
            )
    try:
        fields = json.loads(event.body)
    except ValueError:
        return None  # the check of the lines names a body that is not an event
    if not isinstance(fields, dict):
        return None
    for name, value in _chained_fields(event).items():
        if fields.get(name) != value:
            said = json.dumps(value, ensure_ascii=False, default=str)
            should = json.dumps(fields.get(name), ensure_ascii=False, default=str)
            return (
                f"its {name} column says {_clip(said)}, but its body, the bytes the hashes "
                f"cover, says {_clip(should)}: the column was changed after the event was "
                "written"
            )
    return None


def _clip(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."


def verify_stored_chain(session: Session) -> ChainVerification:
    """The stored log checked as an auditor checks its export -- every body in its place and
    canonical, the chain head and the Merkle root over them -- and every row's columns against
    its body (the first failure of either, whichever event comes first)."""
    rows = StoredRows()
    result = verify_chain(rows.bodies(session), every_line=True)
    if rows.first_problem is not None and (
        result.bad_seq is None or rows.first_problem[0] < result.bad_seq
    ):
        seq, problem = rows.first_problem
        return replace(result, ok=False, problem=problem, bad_seq=seq)
    return result


@dataclass(frozen=True)
class TreeHead:
    """The Merkle tree over the first ``size`` events."""

    size: int
    root: bytes


@dataclass(frozen=True)
class InclusionProof:
    """RFC 9162 proof that event ``seq`` (leaf ``leaf_index``) is in the tree of ``size``."""

    seq: int
    leaf_index: int
    leaf_hash: str
    size: int
    root: str
    proof: list[str]


@dataclass(frozen=True)
class ConsistencyProof:
    """RFC 9162 proof that the tree of ``old_size`` events is a prefix of ``new_size``'s."""

    old_size: int
    new_size: int
    old_root: str
    new_root: str
    proof: list[str]


def log_size(session: Session) -> int:
    # Sequence numbers have no gaps, so the largest is the count, read from the key's index.
    return session.scalar(select(func.max(AuditEvent.seq))) or 0


class StoredTree:
    """Subtree roots of the first ``size`` leaves, from the stored Merkle nodes: each MTH(D[lo:hi])
    a proof needs is a fold of at most log2(n) + 1 nodes, fetched together in one query."""

    def __init__(self, session: Session, size: int) -> None:
        self.session = session
        self.size = size

    def root(self) -> bytes:
        return self._roots([(0, self.size)])[0]

    def inclusion(self, index: int) -> list[bytes]:
        return self._proof(
            lambda subtree_root: merkle.inclusion_path(self.size, index, subtree_root)
        )

    def consistency(self, old_size: int) -> list[bytes]:
        return self._proof(
            lambda subtree_root: merkle.consistency_path(self.size, old_size, subtree_root)
        )

    def _proof(self, build: Callable[[merkle.SubtreeRoot], list[bytes]]) -> list[bytes]:
        # A first pass names the ranges the proof needs; one query fetches all their nodes.
        ranges: list[tuple[int, int]] = []

        def note(lo: int, hi: int) -> bytes:
            ranges.append((lo, hi))
            return merkle.EMPTY_ROOT

        build(note)
        roots = dict(zip(ranges, self._roots(ranges), strict=True))
        return build(lambda lo, hi: roots[(lo, hi)])

    def _roots(self, ranges: list[tuple[int, int]]) -> list[bytes]:
        covers = [merkle.perfect_cover(lo, hi) for lo, hi in ranges]
        wanted = sorted({node for cover in covers for node in cover})
        found: dict[tuple[int, int], bytes] = {}
        for start in range(0, len(wanted), 500):
            found.update(
                ((level, index), node)
                for level, index, node in self.session.execute(
                    select(MerkleNode.level, MerkleNode.index, MerkleNode.hash).where(
                        tuple_(MerkleNode.level, MerkleNode.index).in_(wanted[start : start + 500])
                    )
                ).all()
            )
        return [merkle.fold([found[node] for node in cover]) for cover in covers]


def first_wrong_node(session: Session, leaves: list[bytes]) -> tuple[int, int] | None:
    """The first stored Merkle node (level, index) that is not the root of its perfect subtree
    of ``leaves`` (every leaf hash of the log), or missing; None if all are as they must be."""
    level, hashes = 0, leaves
    while hashes:
        stored = session.execute(
            select(MerkleNode.index, MerkleNode.hash)
            .where(MerkleNode.level == level)
            .order_by(MerkleNode.index)
            .execution_options(yield_per=10_000)
        )
        expected = iter(enumerate(hashes))
        for (index, node), (position, computed) in zip(stored, expected, strict=False):
            if index != position or node != computed:
                return level, position
        if next(expected, None) is not None:
            return level, session.scalar(
                select(func.count()).select_from(MerkleNode).where(MerkleNode.level == level)
            ) or 0
        level += 1
        hashes = [merkle.node_hash(a, b) for a, b in zip(hashes[0::2], hashes[1::2], strict=False)]
    return None


def tree_head(session: Session, size: int | None = None) -> TreeHead:
    """The tree head at ``size`` (default: the whole log)."""
    size = _resolve_size(session, size)
    return TreeHead(size, StoredTree(session, size).root())


def inclusion(session: Session, *, seq: int, size: int | None = None) -> InclusionProof:
    """Proof that event ``seq`` (leaf ``seq - 1``) is in the tree of ``size`` events."""
    size = _resolve_size(session, size)
    if not 1 <= seq <= size:
        raise Invalid(
            _("Event {seq} is not in a tree of {size} events.").format(seq=seq, size=size),
            _("An inclusion proof needs an event the tree already holds."),
            _("Ask for a size at least as large as the event's sequence number."),
        )
    tree = StoredTree(session, size)
    event = session.get(AuditEvent, seq)
    assert event is not None  # seq <= size, and sequence numbers have no gaps
    return InclusionProof(
        seq=seq,
        leaf_index=seq - 1,
        leaf_hash=event.leaf_hash,
        size=size,
        root=tree.root().hex(),
        proof=[node.hex() for node in tree.inclusion(seq - 1)],
    )


def consistency(
    session: Session, *, old_size: int, new_size: int | None = None
) -> ConsistencyProof:
    """Proof that the tree of ``old_size`` events is a prefix of the tree of ``new_size``."""
    new_size = _resolve_size(session, new_size)
    if not 1 <= old_size <= new_size:
        raise Invalid(
            _("No consistency proof from {old_size} to {new_size} events.").format(
                old_size=old_size, new_size=new_size
            ),
            _("The old size must be at least 1 and at most the new size."),
            _("Ask with 1 <= old_size <= new_size."),
        )
    return ConsistencyProof(
        old_size=old_size,
        new_size=new_size,
        old_root=StoredTree(session, old_size).root().hex(),
        new_root=StoredTree(session, new_size).root().hex(),
        proof=[node.hex() for node in StoredTree(session, new_size).consistency(old_size)],
    )


def _resolve_size(session: Session, size: int | None) -> int:
    """``size``, or the whole log's for None; refused if the log has not reached it."""
    current = log_size(session)
    if size is None:
        return current
    if not 0 <= size <= current:
        raise Invalid(
            _("The log has {current} events, not {size}.").format(current=current, size=size),
            _("A tree head can only be given for a size the log has reached."),
            _("Ask for a size between 0 and {current}.").format(current=current),
        )
    return size
