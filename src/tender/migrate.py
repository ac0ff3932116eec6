"""Schema migrations from code: ``tender migrate`` and the tests call these."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

import tender

ALEMBIC_INI = Path(tender.__file__).resolve().parents[2] / "alembic.ini"


def alembic_config(database_url: str) -> Config:
    if not ALEMBIC_INI.is_file():
        raise FileNotFoundError(
            f"{ALEMBIC_INI} is missing; run tender from a checkout of the repository "
            "(pip install -e .), where migrations/ and alembic.ini live."
        )
    config = Config(str(ALEMBIC_INI))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database at ``database_url`` to ``revision`` (by default the one head: a
    second head, from branches not yet joined by a merge revision, is an error).

    A SQLite file that does not exist yet is created readable by its owner only (0600): it
    holds bid metadata and account tokens' hashes. SQLite gives its -wal and -shm files the
    database file's mode.
    """
    create_private_sqlite_file(database_url)
    command.upgrade(alembic_config(database_url), revision)


def create_private_sqlite_file(database_url: str) -> None:
    """Create the (empty) file of a SQLite URL with mode 0600 if it is missing; an existing
    file, an in-memory database or another kind of database is left alone."""
    url = make_url(database_url)
    path = url.database
    if url.get_backend_name() != "sqlite" or not path or path == ":memory:":
        return
    if path.startswith("file:"):  # a URI (?uri=true): SQLite decides where it is
        return
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
