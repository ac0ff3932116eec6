"""The platform's parts, built once from settings and passed to whatever needs them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import dramatiq
from pyhanko.sign.signers import Signer
from pyhanko.sign.timestamps import TimeStamper
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tender.audit.checkpoint import NoteSigner
from tender.audit.checkpoints import Checkpointer
from tender.bids.precheck import PreChecker
from tender.bids.service import BidService
from tender.clock import Clock, SystemClock
from tender.config import Settings
from tender.db import make_engine, make_sessionmaker
from tender.jobs import Jobs, declare_jobs
from tender.opening.reconciler import Reconciler
from tender.opening.service import OpeningService
from tender.signing import TrustStore
from tender.storage.keyfile import load_or_create_secret
from tender.storage.objectstore import ObjectStore, S3Config
from tender.storage.sealing import PlatformKey


@dataclass
class Platform:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    store: ObjectStore
    platform_key: PlatformKey
    trust: TrustStore
    clock: Clock
    bids: BidService
    opening: OpeningService
    checkpoints: Checkpointer
    jobs: Jobs

    def reconciler(self) -> Reconciler:
        return Reconciler(
            sessions=self.sessions,
            clock=self.clock,
            jobs=self.jobs,
            checkpoints=self.checkpoints,
            interval=self.settings.reconcile_interval_seconds,
            checkpoint_interval=timedelta(seconds=self.settings.checkpoint_interval_seconds),
        )

    def close(self) -> None:
        self.engine.dispose()


def build_platform(
    settings: Settings,
    *,
    s3: S3Config,
    trust: TrustStore,
    timestamper: TimeStamper,
    timestamp_trust: TrustStore,
    seal: Signer,
    broker: dramatiq.Broker,
    clock: Clock | None = None,
) -> Platform:
    """Wire the parts together. The bucket is created (with Object Lock) if missing."""
    clock = clock or SystemClock()
    engine = make_engine(settings.effective_database_url)
    sessions = make_sessionmaker(engine)
    store = ObjectStore(s3)
    store.ensure_bucket(settings.bucket)
    platform_key = PlatformKey.load_or_create(settings.effective_platform_key_file)
    retention = timedelta(days=settings.retention_days)
    signer = NoteSigner.from_private_bytes(
        settings.log_origin,
        load_or_create_secret(settings.effective_signing_key_file, 32, what="platform signing key"),
    )
    checkpoints = Checkpointer(
        sessions=sessions,
        store=store,
        bucket=settings.bucket,
        signer=signer,
        timestamper=timestamper,
        timestamp_trust=timestamp_trust,
        clock=clock,
        retention=retention,
    )
    bids = BidService(
        sessions=sessions,
        store=store,
        bucket=settings.bucket,
        clock=clock,
        retention=retention,
        chunk_size=settings.chunk_size,
        max_bytes=settings.max_bid_bytes,
        prechecker=PreChecker(trust=trust, max_bytes=settings.precheck_max_bytes),
        checkpoints=checkpoints,
    )
    opening = OpeningService(
        sessions=sessions,
        store=store,
        bucket=settings.bucket,
        platform_key=platform_key,
        trust=trust,
        clock=clock,
        retention=retention,
        checkpoints=checkpoints,
        seal=seal,
    )
    jobs = declare_jobs(broker, lambda tender_id: opening.open_tender(tender_id).not_due_for)
    return Platform(
        settings=settings,
        engine=engine,
        sessions=sessions,
        store=store,
        platform_key=platform_key,
        trust=trust,
        clock=clock,
        bids=bids,
        opening=opening,
        checkpoints=checkpoints,
        jobs=jobs,
    )
