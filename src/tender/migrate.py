"""Schema migrations from code: ``tender migrate`` and the tests call these."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

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
    """Bring the database at ``database_url`` to ``revision``."""
    command.upgrade(alembic_config(database_url), revision)
