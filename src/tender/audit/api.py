"""HTTP API of the audit trail (officers and auditors)."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import IO, Annotated, Any

from litestar import Controller, MediaType, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Stream
from sqlalchemy import select

from tender.accounts.models import Role, User
from tender.accounts.service import require_role
from tender.audit import checkpoints, service
from tender.audit.bundle import export_bundle
from tender.audit.models import AuditEvent
from tender.errors import NotFound
from tender.platform import Platform

READERS = [Role.OFFICER, Role.AUDITOR]
# Proofs reveal only hashes, and suppliers need them to check that their receipt stays in the log.
PROOF_READERS = [Role.OFFICER, Role.AUDITOR, Role.SUPPLIER]


class AuditController(Controller):
    path = "/api/audit"
    tags = ("audit",)

    @get("/events", sync_to_thread=True, summary="Audit events in sequence order, a page at a time")
    def events(
        self,
        user: NamedDependency[User],
        platform: NamedDependency[Platform],
        tender_id: Annotated[
            uuid.UUID | None, QueryParameter(description="only this tender's events")
        ] = None,
        after: Annotated[int, QueryParameter(ge=0, description="events with seq > after")] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=5000)] = 500,
    ) -> list[dict[str, Any]]:
        require_role(user, READERS, "read the audit trail")
        query = select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq)
        if tender_id is not None:
            query = query.where(AuditEvent.tender_id == tender_id)
        with platform.sessions.begin() as session:
            return [service.to_json(e) for e in session.scalars(query.limit(limit))]

    @get("/verify", sync_to_thread=True, summary="Recompute the hash chain over the whole trail")
    def verify(
        self, user: NamedDependency[User], platform: NamedDependency[Platform]
    ) -> dict[str, Any]:
        require_role(user, READERS, "verify the audit trail")
        with platform.sessions.begin() as session:
            return asdict(service.verify_stored_chain(session))

    @get("/tree", sync_to_thread=True, summary="The Merkle tree head (size and root) of the log")
    def tree(
        self,
        user: NamedDependency[User],
        platform: NamedDependency[Platform],
        size: Annotated[int | None, QueryParameter(ge=0, description="default: all")] = None,
    ) -> dict[str, Any]:
        require_role(user, READERS, "read the audit trail")
        with platform.sessions.begin() as session:
            return service.tree_head(session, size).to_json()

    @get(
        "/proofs/inclusion",
        sync_to_thread=True,
        summary="RFC 9162 inclusion proof of an event in the tree of a given size",
    )
    def inclusion(
        self,
        user: NamedDependency[User],
        platform: NamedDependency[Platform],
        seq: Annotated[int, QueryParameter(ge=1, description="the event's sequence number")],
        size: Annotated[int | None, QueryParameter(ge=1, description="default: all")] = None,
    ) -> dict[str, Any]:
        require_role(user, PROOF_READERS, "ask for audit proofs")
        with platform.sessions.begin() as session:
            return service.inclusion(session, seq=seq, size=size)

    @get(
        "/proofs/consistency",
        sync_to_thread=True,
        summary="RFC 9162 consistency proof between two tree sizes",
    )
    def consistency(
        self,
        user: NamedDependency[User],
        platform: NamedDependency[Platform],
        old_size: Annotated[int, QueryParameter(ge=1)],
        new_size: Annotated[int | None, QueryParameter(ge=1, description="default: all")] = None,
    ) -> dict[str, Any]:
        require_role(user, PROOF_READERS, "ask for audit proofs")
        with platform.sessions.begin() as session:
            return service.consistency(session, old_size=old_size, new_size=new_size)

    @get(
        "/public-key",
        media_type=MediaType.TEXT,
        summary="The platform's public key (C2SP verifier key), for offline checks",
    )
    async def public_key(self, platform: NamedDependency[Platform]) -> str:
        return platform.checkpoints.signer.verifier_key()

    @get("/checkpoints/latest", sync_to_thread=True, summary="The newest signed checkpoint")
    def latest_checkpoint(
        self, user: NamedDependency[User], platform: NamedDependency[Platform]
    ) -> dict[str, Any]:
        require_role(user, PROOF_READERS, "read checkpoints")
        with platform.sessions.begin() as session:
            record = checkpoints.latest(session)
            if record is None:
                raise NotFound(
                    "No checkpoint has been issued yet.",
                    "The first is issued with the first receipt, deadline or opening.",
                    "Try again later.",
                )
            return record.to_json()

    @get("/checkpoints/{size:int}", sync_to_thread=True, summary="The checkpoint at a tree size")
    def checkpoint(
        self,
        size: FromPath[int],
        user: NamedDependency[User],
        platform: NamedDependency[Platform],
    ) -> dict[str, Any]:
        require_role(user, PROOF_READERS, "read checkpoints")
        with platform.sessions.begin() as session:
            return checkpoints.at_size(session, size).to_json()

    @get(
        "/export",
        sync_to_thread=True,
        media_type="application/zip",
        summary="The audit bundle (tender-audit-bundle/1), for offline verification (auditors)",
    )
    def export(
        self,
        user: NamedDependency[User],
        platform: NamedDependency[Platform],
        tender: Annotated[str | None, QueryParameter(description="a tender reference")] = None,
    ) -> Stream:
        require_role(user, [Role.AUDITOR], "export the audit trail")
        spool = tempfile.NamedTemporaryFile(suffix=".zip")  # noqa: SIM115 - closed by _chunks
        export_bundle(platform, tender_reference=tender, out=Path(spool.name))
        return Stream(
            _chunks(spool),
            media_type="application/zip",
            headers={"Content-Disposition": 'attachment; filename="audit-bundle.zip"'},
        )


def _chunks(spool: IO[bytes], size: int = 1024 * 1024) -> Iterator[bytes]:
    """Stream a temporary file, then close (and so delete) it."""
    with spool:
        spool.seek(0)
        while chunk := spool.read(size):
            yield chunk
