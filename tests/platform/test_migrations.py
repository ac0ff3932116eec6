"""The migrations and the models describe the same schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from tender import migrate
from tender.audit import service as audit
from tender.db import make_engine, make_sessionmaker
from tender.models import Base
from tender.verifier.kinds import EventKind


def test_upgrade_head_leaves_nothing_for_autogenerate(empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
        tables = set(inspect(connection).get_table_names())
    engine.dispose()

    assert differences == []
    assert set(Base.metadata.tables) <= tables


@pytest.mark.integration
def test_migrate_works_in_a_fresh_checkout_with_no_var_folder(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENDER_")}
    done = subprocess.run(
        [sys.executable, "-m", "tender.cli", "migrate"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "var" / "tender.db").is_file()


def test_upgrading_a_log_written_before_stored_nodes_gives_the_same_tree(
    empty_database_url: str,
) -> None:
    """0004 derives each event's stored bytes and the Merkle nodes from the columns the chain
    was computed over: a log from before it keeps its tree head and proofs."""
    migrate.upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    sessions = make_sessionmaker(engine)
    at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with sessions.begin() as session:
        for i in range(23):
            audit.append(
                session,
                kind=EventKind.REQUEST_REFUSED,
                actor="system",
                at=at + timedelta(seconds=i),
                payload={"i": i, "name": "標書 ü"},
            )
    with sessions.begin() as session:
        before = [audit.tree_head(session, size).root for size in range(24)]
        bodies = [event.body for event in audit.iter_events(session)]
    engine.dispose()

    command.downgrade(migrate.alembic_config(empty_database_url), "0003")
    migrate.upgrade(empty_database_url)

    engine = make_engine(empty_database_url)
    with make_sessionmaker(engine).begin() as session:
        assert [audit.tree_head(session, size).root for size in range(24)] == before
        assert [event.body for event in audit.iter_events(session)] == bodies
        assert audit.verify_stored_chain(session).ok
    engine.dispose()
