"""The migrations and the models describe the same schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from tender import migrate
from tender.db import make_engine
from tender.models import Base


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
