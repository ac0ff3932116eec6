"""The API description: readable without internet, and saying what the API really does."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tender.app import create_app
from tender.platform import Platform


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient[Litestar]]:
    with TestClient(create_app(platform)) as client:
        yield client


def test_the_description_page_loads_nothing_from_outside(client: TestClient[Litestar]) -> None:
    page = client.get("/schema")
    assert page.status_code == 200
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert any(url.endswith(".js") for url in assets)
    assert any(url.endswith(".css") for url in assets)
    for url in assets:
        assert not urlsplit(url).netloc, f"{url} is loaded from another host"
        served = client.get(url)
        assert served.status_code == 200, url
        assert served.content, url
