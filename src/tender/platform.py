"""The composition root: the platform's long-lived parts, built once from settings.

Only the top of the program (``app``, ``runtime``, ``cli``, ``demo``) sees :class:`Platform`;
controllers are given the parts they use by dependency injection, and services are built per
unit of work around a session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import dramatiq
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pyhanko.sign.signers import Signer
from pyhanko.sign.timestamps import TimeStamper
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tender.audit.checkpointer import Checkpointer, CheckpointSchedule
from tender.auditors.export import BundleExporter
from tender.bids.intake import BidIntake
from tender.bids.precheck import PreChecker
from tender.bids.resumable import ResumableUploads
from tender.bids.service import Quota
from tender.clock import Clock, SystemClock
from tender.committee.service import remind_committees
from tender.config import Settings
from tender.db import make_engine, make_sessionmaker
from tender.jobs import Jobs, declare_jobs
from tender.notifications.delivery import Courier, transport_for
from tender.notifications.service import wake_after_commit
from tender.opening.notices import remind_of_deadlines
from tender.opening.reconciler import Reconciler
from tender.opening.record import RecordWriter
from tender.opening.run import Opener
from tender.signing import TrustStore
from tender.storage.keyfile import load_or_create_secret
from tender.storage.objectstore import ObjectStore, S3Config
from tender.storage.sealing import KeyWrapper, PlatformKey
from tender.verifier.notes import Ed25519Key, NoteSigner


@dataclass(frozen=True)
class PlatformKeys:
    """The platform's own keys: they are in a PKCS#11 token, or (the embedded default) in files.

    ``wrapper`` wraps the private keys of automatic-opening tenders; ``signing_key`` signs the
    audit log's checkpoints and the receipts; ``seal`` signs the opening records (PAdES).
    """

    wrapper: KeyWrapper
    signing_key: Ed25519Key
    seal: Signer

    @classmethod
    def in_files(cls, settings: Settings, *, seal: Signer) -> PlatformKeys:
        """The platform key and signing key in their files under the data folder, created
        (0600) if missing; see :func:`tender.storage.keyfile.load_or_create_secret`."""
        secret = load_or_create_secret(
            settings.effective_signing_key_file, 32, what="platform signing key"
        )
        return cls(
            wrapper=PlatformKey.load_or_create(settings.effective_platform_key_file),
            signing_key=Ed25519PrivateKey.from_private_bytes(secret),
            seal=seal,
        )


@dataclass
class Platform:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    store: ObjectStore
    platform_key: KeyWrapper
    trust: TrustStore
    clock: Clock
    checkpointer: Checkpointer
    schedule: CheckpointSchedule
    intake: BidIntake
    uploads: ResumableUploads  # resumable uploads in progress, in this process
    opener: Opener
    exporter: BundleExporter
    jobs: Jobs
    courier: Courier

    def reconciler(self) -> Reconciler:
        return Reconciler(
            sessions=self.sessions,
            clock=self.clock,
            jobs=self.jobs,
            interval=self.settings.reconcile_interval_seconds,
            # Delivering the outbox here too retries what failed, and what was queued while
            # the broker could not be reached.
            duties=[
                self.sweep_orphans,
                self.remind_of_deadlines,
                self.remind_committees,
                self.courier.deliver_pending,
            ],
        )

    def sweep_orphans(self) -> list[str]:
        return self.intake.sweep_orphans(
            older_than=timedelta(seconds=self.settings.orphan_sweep_after_seconds)
        )

    def remind_of_deadlines(self) -> int:
        """Queue the deadline reminders that are due; returns how many."""
        with self.sessions.begin() as session:
            return len(
                remind_of_deadlines(
                    session,
                    clock=self.clock,
                    ahead=timedelta(hours=self.settings.deadline_reminder_hours),
                )
            )

    def remind_committees(self) -> int:
        """Tell the committee members whose shares a closed tender waits for (once each);
        returns how many were told."""
        with self.sessions.begin() as session:
            return len(remind_committees(session, clock=self.clock))

    def recover(self) -> None:
        """What start-up does before serving: name orphaned objects, and sign every receipt a
        crash left unsigned (against a checkpoint that covers it)."""
        self.sweep_orphans()
        self.intake.complete_receipts(self.checkpointer.issue("recovery"))

    def close(self) -> None:
        self.uploads.close()
        self.engine.dispose()


def build_platform(
    settings: Settings,
    *,
    s3: S3Config,
    trust: TrustStore,
    timestamper: TimeStamper,
    timestamp_trust: TrustStore,
    keys: PlatformKeys,
    broker: dramatiq.Broker,
    clock: Clock | None = None,
) -> Platform:
    """Wire the parts together. The bucket is created (with Object Lock) if missing.

    ``keys`` stay the caller's: it closes their token session after :meth:`Platform.close`.
    """
    clock = clock or SystemClock()
    engine = make_engine(settings.effective_database_url)
    sessions = make_sessionmaker(engine)
    store = ObjectStore(s3)
    store.ensure_bucket(settings.bucket)
    retention = timedelta(days=settings.retention_days)
    signer = NoteSigner(settings.log_origin, keys.signing_key)
    checkpointer = Checkpointer(
        sessions=sessions,
        store=store,
        bucket=settings.bucket,
        signer=signer,
        timestamper=timestamper,
        timestamp_trust=timestamp_trust,
        clock=clock,
        retention=retention,
    )
    schedule = CheckpointSchedule(checkpointer, interval=settings.checkpoint_interval_seconds)
    intake = BidIntake(
        sessions=sessions,
        store=store,
        bucket=settings.bucket,
        clock=clock,
        retention=retention,
        chunk_size=settings.chunk_size,
        max_bytes=settings.max_bid_bytes,
        prechecker=PreChecker(trust=trust, max_bytes=settings.precheck_max_bytes),
        checkpointer=checkpointer,
        schedule=schedule,
        quota=Quota(files=settings.max_files_per_bid, bytes=settings.max_bytes_per_bid),
    )
    schedule.on_issued = intake.complete_receipts
    opener = Opener(
        sessions=sessions,
        store=store,
        bucket=settings.bucket,
        platform_key=keys.wrapper,
        trust=trust,
        clock=clock,
        retention=retention,
        checkpointer=checkpointer,
        recording_grace=timedelta(seconds=settings.recording_grace_seconds),
        # Helpers for a large opening: more messages for the same tender, to other workers.
        # (`jobs` is declared below, around the opener; it exists by the time this is called.)
        request_help=lambda tender_id: jobs.request_opening(tender_id),
        records=RecordWriter(
            store=store,
            bucket=settings.bucket,
            seal=keys.seal,
            timestamper=timestamper,
            # The seal's chain, and the chain of the time-stamps over it.
            seal_trust=trust.with_anchors_of(timestamp_trust),
        ),
    )
    exporter = BundleExporter(
        sessions=sessions,
        store=store,
        bucket=settings.bucket,
        clock=clock,
        checkpointer=checkpointer,
        trust=trust,
        origin=settings.log_origin,
    )
    courier = Courier(
        sessions=sessions, clock=clock, transport=transport_for(settings), sender=settings.smtp_from
    )
    jobs = declare_jobs(
        broker,
        lambda tender_id: opener.open_tender(tender_id).not_due_for,
        deliver_outbox=courier.deliver_pending,
    )
    wake_after_commit(sessions, jobs.request_delivery)
    return Platform(
        settings=settings,
        engine=engine,
        sessions=sessions,
        store=store,
        platform_key=keys.wrapper,
        trust=trust,
        clock=clock,
        checkpointer=checkpointer,
        schedule=schedule,
        intake=intake,
        uploads=ResumableUploads(
            intake,
            idle=timedelta(seconds=settings.resumable_idle_seconds),
            capacity=settings.resumable_uploads,
        ),
        opener=opener,
        exporter=exporter,
        jobs=jobs,
        courier=courier,
    )
