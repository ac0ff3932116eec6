"""The migrations and the models describe the same schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from tender.db import make_engine
from tender.models import Base


def test_upgrade_head_leaves_nothing_for_autogenerate(migrated_url: str) -> None:
    engine = make_engine(migrated_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
        tables = set(inspect(connection).get_table_names())
    engine.dispose()

    assert differences == []
    assert set(Base.metadata.tables) <= tables
