"""Fixtures of the command-line tests: the platform served over HTTP, as the commands reach it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tender.platform import Platform
from tender.runtime import serving


@pytest.fixture
def url(platform: Platform) -> Iterator[str]:
    """The base URL of ``platform``, served by uvicorn on a free local port."""
    with serving(platform) as base:
        yield base
