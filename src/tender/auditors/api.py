"""HTTP API of the audit trail: events, proofs, checkpoints, the public key and the export."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Annotated

from asn1crypto import pem
from litestar import Controller, MediaType, get
from litestar.di import NamedDependency, Provide
from litestar.params import Parameter, QueryParameter
from litestar.response import Stream

from tender import text
from tender.accounts.guards import PUBLIC, allow
from tender.accounts.models import Role
from tender.audit.checkpointer import Checkpointer
from tender.audit.service import ConsistencyProof, InclusionProof
from tender.auditors.dependencies import provide_trail_service
from tender.auditors.export import BundleExporter
from tender.auditors.schemas import CheckpointOut, TrailVerificationOut, TreeHeadOut
from tender.auditors.service import TrailService
from tender.config import Settings
from tender.i18n import gettext_noop as N_  # noqa: N812 (the name extractors look for)
from tender.storage.objectstore import ObjectStore
from tender.verifier.formats import ExportedEvent

READERS = (Role.OFFICER, Role.AUDITOR)
MAX_SEQ = 2**31 - 1
"""The largest sequence number (and so tree size) the log's column holds: a larger one in a
query is refused (400), not sent to the database."""
# Proofs reveal only hashes, and suppliers need them to check that their receipt stays in the log.
PROOF_READERS = (Role.OFFICER, Role.AUDITOR, Role.SUPPLIER)


class AuditController(Controller):
    path = "/api/audit"
    tags = ("audit",)
    dependencies = {"trail": Provide(provide_trail_service, sync_to_thread=False)}

    @get(
        "/events",
        guards=allow(*READERS, to=N_("read the audit trail")),
        sync_to_thread=True,
        summary="Audit events in sequence order, a page at a time",
    )
    def events(
        self,
        trail: NamedDependency[TrailService],
        tender_id: Annotated[
            uuid.UUID | None, QueryParameter(description="only this tender's events")
        ] = None,
        after: Annotated[
            int, QueryParameter(ge=0, le=MAX_SEQ, description="events with seq > after")
        ] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=5000)] = 500,
    ) -> list[ExportedEvent]:
        return trail.events(tender_id=tender_id, after=after, limit=limit)

    @get(
        "/verify",
        guards=allow(*READERS, to=N_("verify the audit trail")),
        sync_to_thread=True,
        summary="Check the stored trail against every Object-Locked checkpoint",
    )
    def verify(
        self,
        trail: NamedDependency[TrailService],
        store: NamedDependency[ObjectStore],
        settings: NamedDependency[Settings],
        checkpointer: NamedDependency[Checkpointer],
    ) -> TrailVerificationOut:
        return TrailVerificationOut.of(
            trail.verify(store=store, bucket=settings.bucket, verifier=checkpointer.verifier)
        )

    @get(
        "/tree",
        guards=allow(*READERS, to=N_("read the audit trail")),
        sync_to_thread=True,
        summary="The Merkle tree head (size and root) of the log",
    )
    def tree(
        self,
        trail: NamedDependency[TrailService],
        size: Annotated[
            int | None,
            QueryParameter(
                ge=0,
                le=MAX_SEQ,
                description="default: all",
                # Litestar leaves a bound of 0 out of an optional parameter's schema.
                schema_extra={"minimum": 0},
            ),
        ] = None,
    ) -> TreeHeadOut:
        return TreeHeadOut.of(trail.tree_head(size))

    @get(
        "/proofs/inclusion",
        guards=allow(*PROOF_READERS, to=N_("ask for audit proofs")),
        sync_to_thread=True,
        summary="RFC 9162 inclusion proof of an event in the tree of a given size",
    )
    def inclusion(
        self,
        trail: NamedDependency[TrailService],
        seq: Annotated[
            int, QueryParameter(ge=1, le=MAX_SEQ, description="the event's sequence number")
        ],
        size: Annotated[
            int | None, QueryParameter(ge=1, le=MAX_SEQ, description="default: all")
        ] = None,
    ) -> InclusionProof:
        return trail.inclusion(seq=seq, size=size)

    @get(
        "/proofs/consistency",
        guards=allow(*PROOF_READERS, to=N_("ask for audit proofs")),
        sync_to_thread=True,
        summary="RFC 9162 consistency proof between two tree sizes",
    )
    def consistency(
        self,
        trail: NamedDependency[TrailService],
        old_size: Annotated[int, QueryParameter(ge=1, le=MAX_SEQ)],
        new_size: Annotated[
            int | None, QueryParameter(ge=1, le=MAX_SEQ, description="default: all")
        ] = None,
    ) -> ConsistencyProof:
        return trail.consistency(old_size=old_size, new_size=new_size)

    @get(
        "/public-key",
        opt=PUBLIC,
        media_type=MediaType.TEXT,
        summary="The platform's public key (C2SP verifier key), for offline checks",
    )
    async def public_key(self, checkpointer: NamedDependency[Checkpointer]) -> str:
        return checkpointer.signer.verifier_key()

    @get(
        "/tsa-certificates",
        opt=PUBLIC,
        media_type=MediaType.TEXT,
        summary="The time-stamping authority's CA certificates (PEM), to check receipts offline",
        description=(
            "Save as a file in a folder and pass the folder to 'tender receipt verify "
            "--tsa-trust DIR'. Better still, get them from the authority itself."
        ),
    )
    async def tsa_certificates(self, checkpointer: NamedDependency[Checkpointer]) -> str:
        anchors = checkpointer.timestamp_trust
        return "".join(
            pem.armor("CERTIFICATE", certificate.dump()).decode("ascii")
            for certificate in (*anchors.roots, *anchors.intermediates)
        )

    @get(
        "/checkpoints/latest",
        guards=allow(*PROOF_READERS, to=N_("read checkpoints")),
        sync_to_thread=True,
        summary="The newest signed checkpoint",
    )
    def latest_checkpoint(self, trail: NamedDependency[TrailService]) -> CheckpointOut:
        return CheckpointOut.of(trail.latest_checkpoint())

    @get(
        "/checkpoints/{size:int}",
        guards=allow(*PROOF_READERS, to=N_("read checkpoints")),
        sync_to_thread=True,
        summary="The checkpoint at a tree size",
    )
    def checkpoint(
        self,
        size: Annotated[int, Parameter(ge=1, le=MAX_SEQ)],
        trail: NamedDependency[TrailService],
    ) -> CheckpointOut:
        return CheckpointOut.of(trail.checkpoint(size))

    @get(
        "/export",
        guards=allow(Role.AUDITOR, to=N_("export the audit trail")),
        sync_to_thread=True,
        media_type="application/zip",
        summary="The audit bundle (tender-audit-bundle/1), for offline verification (auditors)",
    )
    def export(
        self,
        exporter: NamedDependency[BundleExporter],
        tender: Annotated[
            str | None,
            QueryParameter(max_length=text.REFERENCE_MAX, description="a tender reference"),
        ] = None,
    ) -> Stream:
        spool = tempfile.NamedTemporaryFile(suffix=".zip")  # noqa: SIM115 - closed by _chunks
        exporter.export(tender_reference=tender, out=Path(spool.name))
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
