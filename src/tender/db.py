"""Database engine, sessions and the model base.

Every time column is timezone-aware UTC (``UTCDateTime``); SQLite keeps the embedded default,
PostgreSQL is for production. On SQLite every transaction starts with ``BEGIN IMMEDIATE`` so
writers queue instead of failing, which keeps audit appends serialised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, Engine, Enum, MetaData, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)
_AFTER_COMMIT = "tender.after_commit"
CONNECT_TIMEOUT_SECONDS = 10

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime stored in UTC and always read back timezone-aware.

    Naive datetimes are refused on the way in: a time without a zone is a bug here.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given; use a timezone-aware UTC time")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # SQLite keeps no zone; what we stored was UTC
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def enum_text(enum_type: type[StrEnum], length: int = 20) -> Enum:
    """A column of ``enum_type`` members stored as their values in a plain VARCHAR.

    No database enum type and no CHECK constraint: adding a member needs no migration, and
    the database holds the same text the API and the audit trail show.
    """
    return Enum(
        enum_type,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL and queued writers."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        _configure_sqlite(engine)
        return engine
    # A database host that does not answer at all must not hang requests: they answer 503.
    connect_args = {"connect_timeout": CONNECT_TIMEOUT_SECONDS} if "postgresql" in url else {}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, issue BEGIN (the pysqlite recipe), so it can be IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    sessions = sessionmaker(engine, expire_on_commit=False)
    event.listen(sessions, "after_commit", _run_after_commit)
    event.listen(sessions, "after_rollback", _forget_after_commit)
    return sessions


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once ``session``'s transaction has committed; never if it rolls back.

    For what must not happen before the change is durable, such as sending a message that
    refers to a row (its receiver would not find it yet). A callback that fails is logged, not
    raised: the commit it follows stands, and whatever the callback did must have a fallback.
    """
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


def _run_after_commit(session: Session) -> None:
    for callback in session.info.pop(_AFTER_COMMIT, []):
        try:
            callback()
        except Exception:
            log.exception("an after-commit step failed; the commit stands")


def _forget_after_commit(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)
