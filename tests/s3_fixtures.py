"""Pytest plugin: a real SeaweedFS S3 server per test session, and a fresh locked bucket per test.

Load it from the root conftest with ``pytest_plugins = ["tests.s3_fixtures"]``. Under
pytest-xdist every worker runs its own server on its own ports.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tender.storage.embedded import EmbeddedS3
from tender.storage.objectstore import ObjectStore, S3Config


@pytest.fixture(scope="session")
def s3_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Config]:
    """Connection settings of a SeaweedFS server that lives for the whole session."""
    server = EmbeddedS3(
        tmp_path_factory.mktemp("seaweedfs"),
        access_key="tender-test",
        secret_key="tender-test-secret",
        startup_timeout=90.0,  # generous: CI shares two cores among several test workers
        stop_timeout=2.0,  # its data is thrown away; after heavy use it can take 10 s to stop
    )
    with server:
        yield server.config


@pytest.fixture
def object_store(s3_config: S3Config) -> tuple[ObjectStore, str]:
    """An :class:`ObjectStore` on the session's server and the name of a new locked bucket."""
    store = ObjectStore(s3_config)
    bucket = f"test-{uuid.uuid4().hex}"
    store.ensure_bucket(bucket)
    return store, bucket
