"""File names are text people type: over HTTP, a name that hides what it is (control or
bidirectional-override characters) is refused, and one name typed two ways is one file."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from litestar.testing import TestClient

from tender.app import create_app
from tender.clock import ManualClock
from tender.platform import Platform
from tests.conftest import People
from tests.helpers import published_tender


def test_a_name_that_reads_as_another_is_refused_and_one_name_typed_two_ways_is_one_file(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock)
    alice = {"Authorization": f"Bearer {people.tokens['Alice']}"}
    url = f"/api/tenders/{tender.id}/bids"
    composed = "Preis\u00e4nderung.pdf"  # as Windows types it (NFC)
    decomposed = unicodedata.normalize("NFD", composed)  # as macOS does
    reversed_extension = "invoice\u202efdp.exe"  # reads as "invoiceexe.pdf"

    with TestClient(create_app(platform)) as client:
        hidden = client.put(f"{url}/{quote(reversed_extension)}", content=b"x", headers=alice)
        first = client.put(f"{url}/{quote(composed)}", content=b"one", headers=alice)
        second = client.put(f"{url}/{quote(decomposed)}", content=b"two", headers=alice)
        summary = client.get(url, headers=alice).json()

    assert hidden.status_code == 422
    assert hidden.json()["details"]["characters"] == ["U+202E"]
    assert first.status_code == second.status_code == 201
    assert second.json()["file_name"] == composed
    assert [r["file_name"] for r in summary["own_receipts"]] == [composed, composed]
