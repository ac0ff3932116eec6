"""Faults answer clearly: a part that is down is a 503 that says which, never where.

Each fault is performed on real parts: the PostgreSQL database stops accepting connections in
the middle of a test (and is started again to see what was written), the object store and the
broker are reached at a port where nothing listens, and a real HTTP server (uvicorn, in this
process) is sent an upload that stalls or that declares too large a length. After each: the
answer is the refusal body with ``Retry-After``, no endpoint, port or object key is in it, and
nothing is half-written.
"""

from __future__ import annotations

import dataclasses
import http.client
import logging
import socket
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from json import loads
from typing import IO, Any
from urllib.parse import urlsplit

import psycopg
import pytest
from litestar import Litestar, get
from litestar.params import FromPath
from litestar.testing import TestClient
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy import func, select

from tender.accounts.guards import PUBLIC
from tender.accounts.models import Organisation, OrganisationKind, Role, User
from tender.app import create_app
from tender.audit import service as audit
from tender.audit.models import AuditEvent
from tender.bids.models import BidDocument, StorageIntent
from tender.clock import ManualClock
from tender.db import make_engine, make_sessionmaker
from tender.errors import Conflict
from tender.jobs import OPENING_QUEUE, declare_jobs, make_broker
from tender.platform import Platform
from tender.runtime import free_port, serving
from tender.storage.objectstore import ObjectStore
from tender.tenders.models import Tender, TenderStatus
from tender.verifier.kinds import EventKind
from tender.web import refusal_handlers
from tests.conftest import POSTGRES_ADMIN_URL, People
from tests.helpers import audit_kinds, published_tender

POSTGRESQL = pytest.param("postgresql", marks=pytest.mark.postgres)
on_postgresql = pytest.mark.parametrize("database_url", [POSTGRESQL], indirect=True)
# Where the database is makes no difference to these; one kind is enough.
on_sqlite = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
_NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
BROKER_URLS = ["redis://127.0.0.1:{port}/0", "amqp://guest:guest@127.0.0.1:{port}/%2F"]


def _as(people: People, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {people.tokens[name]}"}


def assert_unavailable(status: int, headers: Any, body: bytes, part: str, *hidden: str) -> None:
    """A 503 refusal that names ``part`` and none of ``hidden`` (endpoints, ports, keys)."""
    assert status == 503, body
    assert headers["retry-after"].isdigit()
    text = body.decode()
    for secret in hidden:
        assert secret not in text
    assert "127.0.0.1" not in text
    assert "localhost" not in text
    refusal = loads(text)
    assert refusal["error"] == "unavailable"
    assert part in refusal["why"]
    assert refusal["what"]
    assert "again" in refusal["what_to_do"]  # what to do: send it again


# -- the database ---------------------------------------------------------------------------


def _database_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


def stop_database(url: str) -> None:
    """The database refuses every new connection, and every open one is closed."""
    name = _database_name(url)
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name]
        )


def start_database(url: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{_database_name(url)}" ALLOW_CONNECTIONS true')


@contextmanager
def database_stopped(url: str) -> Iterator[None]:
    stop_database(url)
    try:
        yield
    finally:
        start_database(url)


def _count(platform: Platform, model: type[Any], tender_id: uuid.UUID) -> int:
    with platform.sessions.begin() as session:
        return (
            session.scalar(
                select(func.count()).select_from(model).where(model.tender_id == tender_id)
            )
            or 0
        )


@on_postgresql
def test_with_the_database_stopped_every_call_answers_503_and_nothing_is_written(
    platform: Platform,
    people: People,
    clock: ManualClock,
    database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tender = published_tender(platform, people.officer, clock)
    events_before = audit_kinds(platform)
    caplog.set_level(logging.INFO)
    with TestClient(create_app(platform)) as client:
        assert client.get("/api/tenders", headers=_as(people, "Olivia")).status_code == 200
        with database_stopped(database_url):
            answers = [
                client.get("/api/tenders", headers=_as(people, "Alice")),
                client.post(
                    "/api/tenders",
                    json={
                        "reference": "T-2",
                        "title": "Bridges",
                        "description": "",
                        "deadline": (clock.now() + timedelta(hours=3)).isoformat(),
                        "opening": "automatic",
                    },
                    headers=_as(people, "Olivia"),
                ),
                client.put(
                    f"/api/tenders/{tender.id}/bids/bid.pdf",
                    content=b"%PDF-1.7 a bid",
                    headers=_as(people, "Alice"),
                ),
            ]
            assert client.get("/health").status_code == 200  # alive, and needs no database
        assert client.get("/api/tenders", headers=_as(people, "Olivia")).status_code == 200

    name = _database_name(database_url)
    for answer in answers:
        assert_unavailable(
            answer.status_code, answer.headers, answer.content, "database", name, "5432"
        )
    # Nothing of it was kept: no tender, no bid, no intent, not one event.
    with platform.sessions.begin() as session:
        assert session.scalar(select(Tender).where(Tender.reference == "T-2")) is None
    assert _count(platform, BidDocument, tender.id) == 0
    assert _count(platform, StorageIntent, tender.id) == 0
    assert audit_kinds(platform) == events_before
    # The operators are told what the driver said.
    assert any(name in r.getMessage() for r in caplog.records if r.name == "tender.web")


@on_sqlite
def test_a_database_at_a_port_where_nothing_listens_answers_503(
    platform: Platform, people: People
) -> None:
    port = free_port()
    engine = make_engine(f"postgresql+psycopg://tender@127.0.0.1:{port}/t")
    down = dataclasses.replace(platform, sessions=make_sessionmaker(engine))
    try:
        with TestClient(create_app(down)) as client:
            answer = client.get("/api/tenders", headers=_as(people, "Olivia"))
            anonymous = client.get("/api/tenders")
    finally:
        engine.dispose()

    assert_unavailable(answer.status_code, answer.headers, answer.content, "database", str(port))
    assert anonymous.status_code == 401  # who may call is still said, without a database


def test_a_refusal_is_answered_when_the_database_cannot_record_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The refusal handler needs no database: the refusal stands, and the operational log
    keeps a line that names neither the caller nor the path."""
    engine = make_engine(f"postgresql+psycopg://tender@127.0.0.1:{free_port()}/t")
    alpha = Organisation(name_en="Alpha Ltd", kind=OrganisationKind.SUPPLIER)
    user = User(id=uuid.uuid4(), name="Alice", org=alpha, role=Role.SUPPLIER)

    def signed_in(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            scope["user"] = user
            await app(scope, receive, send)

        return middleware

    @get("/things/{name:str}", opt=PUBLIC, sync_to_thread=False)
    def refuse(name: FromPath[str]) -> None:
        raise Conflict("It clashes.", "Another thing is there.", "Choose another name.")

    app = Litestar(
        route_handlers=[refuse],
        middleware=[signed_in],
        exception_handlers=refusal_handlers(make_sessionmaker(engine), ManualClock(_NOW)),
        logging_config=None,  # leave the test's log capture alone
    )
    caplog.set_level(logging.WARNING, logger="tender.web")
    try:
        with TestClient(app) as client:
            answer = client.get("/things/secret-file.pdf")
    finally:
        engine.dispose()

    assert answer.status_code == 409
    assert answer.json()["what_to_do"] == "Choose another name."
    unaudited = [r.getMessage() for r in caplog.records if "not audited" in r.getMessage()]
    assert len(unaudited) == 1
    assert "GET /things/{name} answered 409 conflict" in unaudited[0]
    assert "secret-file" not in unaudited[0]
    assert "Alice" not in unaudited[0]


# -- HTTP on a real server: uploads that stall, stop or declare too much ----------------------


@dataclasses.dataclass
class TempFiles:
    """Every temporary file opened while the test runs (the upload's spools among them)."""

    opened: list[IO[bytes]]

    def all_closed(self) -> bool:
        return all(f.closed for f in self.opened)


@pytest.fixture
def temp_files(monkeypatch: pytest.MonkeyPatch) -> TempFiles:
    seen = TempFiles([])
    original: Callable[..., IO[bytes]] = tempfile.TemporaryFile

    def recorded(*args: Any, **kwargs: Any) -> IO[bytes]:
        opened = original(*args, **kwargs)
        seen.opened.append(opened)
        return opened

    monkeypatch.setattr(tempfile, "TemporaryFile", recorded)
    return seen


@contextmanager
def raw_request(
    base: str, path: str, headers: dict[str, str], *, method: str = "PUT"
) -> Iterator[socket.socket]:
    """A connection that has sent a request line and headers, and nothing of the body: the
    test sends the body (or does not) as the fault needs."""
    where = urlsplit(base)
    with socket.create_connection((where.hostname, where.port), timeout=120) as sock:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {where.netloc}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        yield sock


def read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    response = http.client.HTTPResponse(sock, method="PUT")
    response.begin()
    body = response.read()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Wait until ``condition`` holds (a step of the fault, not a measurement)."""
    deadline = time.monotonic() + 60
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.02)


def _bid_path(tender: Tender, name: str = "bid.pdf") -> str:
    return f"/api/tenders/{tender.id}/bids/{name}"


@on_postgresql
def test_the_database_stops_while_a_bid_streams_in(
    platform: Platform,
    people: People,
    clock: ManualClock,
    database_url: str,
    temp_files: TempFiles,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tender = published_tender(platform, people.officer, clock)
    half = b"%PDF-1.7 " + b"x" * 20_000
    caplog.set_level(logging.WARNING, logger="tender.web")
    with serving(platform) as base:
        headers = {**_as(people, "Alice"), "Content-Length": str(2 * len(half))}
        with raw_request(base, _bid_path(tender), headers) as sock:
            sock.sendall(half)
            # Sealing has begun, so the window was checked with the database up.
            wait_for(lambda: len(temp_files.opened) >= 1, "the upload's spool was opened")
            with database_stopped(database_url):
                sock.sendall(half)
                status, answer_headers, body = read_answer(sock)

    assert_unavailable(
        status, answer_headers, body, "database", _database_name(database_url), "5432"
    )
    # Nothing half-written: no bid, no intent, nothing stored; the spools are closed.
    assert _count(platform, BidDocument, tender.id) == 0
    assert _count(platform, StorageIntent, tender.id) == 0
    assert platform.store.list_versions(platform.settings.bucket, f"tenders/{tender.id}/") == []
    assert temp_files.all_closed()
    # The refusal could not be audited; the operational log says so without naming who or what.
    unaudited = [r.getMessage() for r in caplog.records if "not audited" in r.getMessage()]
    assert unaudited
    assert all(str(tender.id) not in line and "bid.pdf" not in line for line in unaudited)


@on_sqlite
def test_an_upload_whose_body_stalls_is_refused_and_its_files_closed(
    platform: Platform, people: People, clock: ManualClock, temp_files: TempFiles
) -> None:
    impatient = dataclasses.replace(
        platform, settings=platform.settings.with_overrides(upload_idle_seconds=0.5)
    )
    tender = published_tender(platform, people.officer, clock)
    with serving(impatient) as base:
        headers = {**_as(people, "Alice"), "Content-Length": "100000"}
        with raw_request(base, _bid_path(tender), headers) as sock:
            sock.sendall(b"%PDF-1.7 the first part, and then nothing more")
            status, answer_headers, body = read_answer(sock)

    assert status == 408, body
    assert answer_headers["connection"] == "close"
    refusal = http_json(body)
    assert refusal["error"] == "request_timeout"
    assert "upload the file again" in refusal["what_to_do"]
    assert temp_files.opened  # the spools were open while the body streamed
    assert temp_files.all_closed()
    assert _count(platform, BidDocument, tender.id) == 0
    assert _count(platform, StorageIntent, tender.id) == 0
    # Audited, and sealed like every refusal of a supplier before the opening.
    with platform.sessions.begin() as session:
        last = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.tender_id == tender.id)
            .order_by(AuditEvent.seq.desc())
            .limit(1)
        ).one()
    assert last.kind == EventKind.REQUEST_REFUSED
    assert last.actor == audit.SEALED_ACTOR


def test_a_small_request_whose_body_stalls_is_refused(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    """Small bodies are read at once to stamp their arrival; one that stops is refused too,
    rather than holding a connection for ever."""
    impatient = dataclasses.replace(
        platform, settings=platform.settings.with_overrides(upload_idle_seconds=0.5)
    )
    tender = published_tender(platform, people.officer, clock)
    with serving(impatient) as base:
        headers = {**_as(people, "Alice"), "Content-Length": "200"}
        path = f"/api/tenders/{tender.id}/fingerprints"
        with raw_request(base, path, headers, method="POST") as sock:
            sock.sendall(b'{"file_name": "offer.pdf", "sha')
            status, answer_headers, body = read_answer(sock)

    assert status == 408, body
    assert answer_headers["connection"] == "close"
    assert "send it again" in http_json(body)["what_to_do"]


@on_sqlite
def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read(
    platform: Platform, people: People, clock: ManualClock, temp_files: TempFiles
) -> None:
    tender = published_tender(platform, people.officer, clock)
    too_many = platform.settings.max_bid_bytes + 1
    with serving(platform) as base:
        headers = {**_as(people, "Alice"), "Content-Length": str(too_many)}
        with raw_request(base, _bid_path(tender), headers) as sock:
            status, _, body = read_answer(sock)  # not one byte of the body was sent

    assert status == 413, body
    refusal = http_json(body)
    assert refusal["error"] == "too_large"
    assert f"{platform.settings.max_bid_bytes:,}" in refusal["why"]
    assert temp_files.opened == []  # nothing was spooled
    assert _count(platform, StorageIntent, tender.id) == 0


def http_json(body: bytes) -> dict[str, Any]:
    value: dict[str, Any] = loads(body)
    return value


# -- the object store -----------------------------------------------------------------------


def _store_down(platform: Platform) -> tuple[Platform, int]:
    """The platform with its object store at a port where nothing listens."""
    port = free_port()
    config = dataclasses.replace(platform.store.config, endpoint=f"127.0.0.1:{port}")
    dead = ObjectStore(config)
    return (
        dataclasses.replace(
            platform,
            store=dead,
            intake=dataclasses.replace(platform.intake, store=dead),
        ),
        port,
    )


@on_sqlite
def test_a_bid_that_cannot_be_stored_is_503_and_nothing_is_half_written(
    platform: Platform, people: People, clock: ManualClock, temp_files: TempFiles
) -> None:
    tender = published_tender(platform, people.officer, clock)
    down, port = _store_down(platform)
    with TestClient(create_app(down)) as client:
        answer = client.put(
            _bid_path(tender), content=b"%PDF-1.7 a bid", headers=_as(people, "Alice")
        )

    assert_unavailable(
        answer.status_code, answer.headers, answer.content, "storage", str(port), "tenders/"
    )
    assert ".sealed" not in answer.text
    assert "NOT submitted" in answer.json()["what"]
    assert temp_files.all_closed()
    assert _count(platform, BidDocument, tender.id) == 0
    with platform.sessions.begin() as session:
        intents = list(
            session.scalars(select(StorageIntent).where(StorageIntent.tender_id == tender.id))
        )
    assert all(intent.resolved_at is not None for intent in intents)  # the opening need not wait
    kinds = audit_kinds(platform, tender.id)
    assert EventKind.BID_RECEIVED not in kinds
    assert EventKind.BID_REFUSED in kinds
    # Once the storage is back, the sweep names no orphan: nothing was stored.
    assert platform.sweep_orphans() == []
    assert EventKind.STORAGE_ORPHANED not in audit_kinds(platform, tender.id)


@on_sqlite
def test_reading_the_opening_record_with_the_storage_down_is_503(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=1)
    clock.set(tender.deadline + timedelta(seconds=1))
    platform.opener.open_tender(tender.id)
    down, port = _store_down(platform)
    with TestClient(create_app(down)) as client:
        answer = client.get(f"/api/tenders/{tender.id}/opening", headers=_as(people, "Olivia"))

    assert_unavailable(
        answer.status_code, answer.headers, answer.content, "storage", str(port), "tenders/"
    )
    assert platform.settings.bucket not in answer.text
    with TestClient(create_app(platform)) as client:  # and back up, it answers again
        again = client.get(f"/api/tenders/{tender.id}/opening", headers=_as(people, "Olivia"))
    assert again.status_code == 200


# -- the broker -----------------------------------------------------------------------------


@on_sqlite
@pytest.mark.parametrize("broker_url", BROKER_URLS)
def test_publishing_while_the_broker_is_down_publishes_and_the_reconciler_opens_it(
    platform: Platform,
    people: People,
    clock: ManualClock,
    broker_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    down_broker = make_broker(broker_url.format(port=free_port()), namespace="unreachable")
    down = dataclasses.replace(
        platform, jobs=declare_jobs(down_broker, lambda _: None, deliver_outbox=lambda: None)
    )
    caplog.set_level(logging.ERROR, logger="tender.tenders.service")
    with TestClient(create_app(down)) as client:
        created = client.post(
            "/api/tenders",
            json={
                "reference": "T-9",
                "title": "Ferries",
                "description": "",
                "deadline": (clock.now() + timedelta(hours=1)).isoformat(),
                "opening": "automatic",
            },
            headers=_as(people, "Olivia"),
        )
        published = client.post(
            f"/api/tenders/{created.json()['id']}/publish", headers=_as(people, "Olivia")
        )

    assert published.status_code == 200, published.text
    assert published.json()["status"] == "published"
    tender_id = uuid.UUID(published.json()["id"])
    assert _status(platform, tender_id) == TenderStatus.PUBLISHED
    assert EventKind.TENDER_PUBLISHED in audit_kinds(platform, tender_id)
    assert any("reconciler opens it" in r.getMessage() for r in caplog.records)

    # After the deadline the reconciler asks for the opening (on a broker that works) ...
    clock.set(clock.now() + timedelta(hours=1, seconds=1))
    assert platform.reconciler().run_once() == [tender_id]
    worker = platform.jobs.worker()
    worker.start()
    try:
        platform.jobs.broker.join(OPENING_QUEUE, timeout=60_000)
        worker.join()
    finally:
        worker.stop()
    # ... and the tender is opened.
    assert _status(platform, tender_id) == TenderStatus.OPENED


def _status(platform: Platform, tender_id: uuid.UUID) -> TenderStatus | None:
    with platform.sessions.begin() as session:
        tender = session.get(Tender, tender_id)
        return tender.status if tender else None


@pytest.mark.parametrize("broker_url", BROKER_URLS)
def test_a_request_that_cannot_reach_the_broker_is_503(broker_url: str) -> None:
    port = free_port()
    broker = make_broker(broker_url.format(port=port), namespace="unreachable")
    jobs = declare_jobs(broker, lambda _: None, deliver_outbox=lambda: None)

    @get("/open-now", opt=PUBLIC, sync_to_thread=True)
    def open_now() -> None:
        jobs.request_opening(uuid.uuid4())

    # The refusal handler's database is unreachable too: an anonymous refusal needs none.
    engine = make_engine(f"postgresql+psycopg://tender@127.0.0.1:{free_port()}/t")
    app = Litestar(
        route_handlers=[open_now],
        exception_handlers=refusal_handlers(make_sessionmaker(engine), ManualClock(_NOW)),
        logging_config=None,  # leave the test's log capture alone
    )
    try:
        with TestClient(app) as client:
            answer = client.get("/open-now")
    finally:
        engine.dispose()
        broker.close()

    assert_unavailable(answer.status_code, answer.headers, answer.content, "job queue", str(port))
