"""Resumable uploads over HTTP on the real app (real storage, both databases): parts at the
right offset only, a broken connection resumed, completion that receipts the file as a
streamed upload does, and a completion after the deadline refused and audited."""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from tender.app import create_app
from tender.bids.models import BidDocument
from tender.bids.resumable import PER_SUPPLIER
from tender.clock import ManualClock
from tender.platform import Platform
from tender.runtime import serving
from tender.signing.testing import TestPKI, signed_pdf
from tender.tenders.models import Tender
from tests.conftest import People
from tests.helpers import audit_kinds, published_tender, register_signer


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient[Litestar]]:
    with TestClient(create_app(platform)) as client:
        yield client


def alice(people: People) -> dict[str, str]:
    return {"Authorization": f"Bearer {people.tokens['Alice']}"}


def start(
    client: TestClient[Litestar] | httpx.Client,
    tender: Tender,
    people: People,
    name: str,
    size: int,
) -> str:
    started = client.post(
        f"/api/tenders/{tender.id}/uploads",
        json={"file_name": name, "size": size},
        headers=alice(people),
    )
    assert started.status_code == 201, started.text
    assert started.json()["received"] == 0
    upload_id: str = started.json()["upload_id"]
    return upload_id


def test_parts_at_the_right_offsets_make_a_receipt_of_the_whole_file(
    client: TestClient[Litestar],
    platform: Platform,
    people: People,
    clock: ManualClock,
    test_pki: TestPKI,
) -> None:
    register_signer(platform, people.alice, test_pki, "supplier-a")
    tender = published_tender(platform, people.officer, clock)
    body = signed_pdf(test_pki, "supplier-a", "Alpha's price " * 2000)
    upload = (
        f"/api/tenders/{tender.id}/uploads/{start(client, tender, people, 'offer.pdf', len(body))}"
    )
    half = len(body) // 2

    first = client.put(upload, params={"offset": 0}, content=body[:half], headers=alice(people))
    again = client.put(upload, params={"offset": 0}, content=body[:half], headers=alice(people))
    early = client.post(f"{upload}/complete", headers=alice(people))
    where = client.get(upload, headers=alice(people))
    rest = client.put(upload, params={"offset": half}, content=body[half:], headers=alice(people))
    receipt = client.post(f"{upload}/complete", headers=alice(people))

    assert first.status_code == 200
    assert first.json()["received"] == half
    assert again.status_code == 409
    assert again.json()["details"] == {"received": half, "size": len(body)}
    assert early.status_code == 409
    assert early.json()["details"]["received"] == half
    assert where.json()["received"] == half
    assert rest.json()["received"] == len(body)
    assert receipt.status_code == 201, receipt.text
    assert receipt.json()["sha256"] == hashlib.sha256(body).hexdigest()
    assert receipt.json()["size"] == len(body)
    assert receipt.json()["signature_precheck"]["indication"] == "TOTAL_PASSED"
    assert receipt.json()["signed_receipt"]
    assert client.get(upload, headers=alice(people)).status_code == 404  # done with
    assert audit_kinds(platform, tender.id).count("bid.received") == 1


def test_an_upload_is_its_suppliers_own(
    client: TestClient[Litestar], platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock)
    upload = f"/api/tenders/{tender.id}/uploads/{start(client, tender, people, 'a.pdf', 10)}"
    bob = {"Authorization": f"Bearer {people.tokens['Bob']}"}

    peeked = client.get(upload, headers=bob)
    pushed = client.put(upload, params={"offset": 0}, content=b"x" * 10, headers=bob)

    assert peeked.status_code == pushed.status_code == 404
    assert client.get(upload, headers=alice(people)).json()["received"] == 0


def test_a_connection_broken_in_the_middle_of_a_part_resumes_where_the_bytes_stopped(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock)
    body = bytes(range(256)) * 4096  # 1 MiB
    with serving(platform) as url, httpx.Client(base_url=url) as client:
        upload_id = start(client, tender, people, "drawings.pdf", len(body))
        upload = f"/api/tenders/{tender.id}/uploads/{upload_id}"
        host = urlsplit(url)
        cut = 300_000
        with socket.create_connection((host.hostname, host.port)) as connection:
            connection.sendall(
                f"PUT {upload}?offset=0 HTTP/1.1\r\nHost: {host.netloc}\r\n"
                f"Authorization: Bearer {people.tokens['Alice']}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body[:cut]
            )
            time.sleep(0.5)  # the bytes reach the server; then the line drops
        received = 0
        for _ in range(100):
            answer = client.get(upload, headers=alice(people))
            if answer.status_code == 200 and (received := answer.json()["received"]) == cut:
                break
            time.sleep(0.1)
        resumed = client.put(
            upload, params={"offset": received}, content=body[received:], headers=alice(people)
        )
        receipt = client.post(f"{upload}/complete", headers=alice(people))

    assert received == cut
    assert resumed.status_code == 200, resumed.text
    assert receipt.status_code == 201, receipt.text
    assert receipt.json()["sha256"] == hashlib.sha256(body).hexdigest()


def test_a_completion_after_the_deadline_is_refused_and_audited(
    client: TestClient[Litestar], platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=0.1)
    body = b"%PDF-1.7 a bid that is in before the deadline"
    upload = (
        f"/api/tenders/{tender.id}/uploads/{start(client, tender, people, 'bid.pdf', len(body))}"
    )
    sent = client.put(upload, params={"offset": 0}, content=body, headers=alice(people))
    clock.set(tender.deadline + timedelta(seconds=1))

    late = client.post(f"{upload}/complete", headers=alice(people))

    assert sent.status_code == 200
    assert late.status_code == 409
    assert late.json()["error"] == "tender_closed"
    assert "closed at" in late.json()["what"]
    assert audit_kinds(platform, tender.id)[-1] == "bid.refused"
    with platform.sessions.begin() as session:
        assert session.scalars(select(BidDocument)).all() == []


def test_a_part_after_the_deadline_is_refused_and_the_upload_dropped(
    client: TestClient[Litestar], platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=0.1)
    upload = f"/api/tenders/{tender.id}/uploads/{start(client, tender, people, 'bid.pdf', 20)}"
    clock.set(tender.deadline + timedelta(seconds=1))

    late = client.put(upload, params={"offset": 0}, content=b"x" * 20, headers=alice(people))

    assert late.status_code == 409
    assert late.json()["error"] == "tender_closed"
    assert audit_kinds(platform, tender.id)[-1] == "bid.refused"
    assert client.get(upload, headers=alice(people)).status_code == 404


def test_an_upload_nothing_reaches_for_the_idle_time_is_dropped(
    client: TestClient[Litestar], platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock)
    upload = f"/api/tenders/{tender.id}/uploads/{start(client, tender, people, 'bid.pdf', 20)}"
    clock.advance(timedelta(seconds=platform.settings.resumable_idle_seconds + 1))

    gone = client.get(upload, headers=alice(people))

    assert gone.status_code == 404
    assert "Start the upload" in gone.json()["what_to_do"]


def test_bytes_beyond_the_declared_size_are_refused_and_nothing_of_them_kept(
    client: TestClient[Litestar], platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock)
    upload = f"/api/tenders/{tender.id}/uploads/{start(client, tender, people, 'bid.pdf', 10)}"

    over = client.put(upload, params={"offset": 0}, content=b"x" * 11, headers=alice(people))

    assert over.status_code == 413
    assert client.get(upload, headers=alice(people)).json()["received"] == 0


def test_a_supplier_has_a_few_uploads_in_progress_at_most_and_may_cancel_one(
    client: TestClient[Litestar], platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock)
    started = [start(client, tender, people, f"part-{n}.pdf", 10) for n in range(PER_SUPPLIER)]

    refused = client.post(
        f"/api/tenders/{tender.id}/uploads",
        json={"file_name": "one-more.pdf", "size": 10},
        headers=alice(people),
    )
    cancelled = client.delete(
        f"/api/tenders/{tender.id}/uploads/{started[0]}", headers=alice(people)
    )
    bob = client.post(
        f"/api/tenders/{tender.id}/uploads",
        json={"file_name": "bobs.pdf", "size": 10},
        headers={"Authorization": f"Bearer {people.tokens['Bob']}"},
    )

    assert refused.status_code == 409
    assert "uploads in progress" in refused.json()["what"]
    assert cancelled.status_code == 204
    assert start(client, tender, people, "one-more.pdf", 10)
    assert bob.status_code == 201  # the limit is each supplier's own


def test_a_part_at_a_wrong_offset_is_refused_in_the_readers_language(
    client: TestClient[Litestar], platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock)
    upload = f"/api/tenders/{tender.id}/uploads/{start(client, tender, people, 'bid.pdf', 10)}"

    wrong = client.put(
        upload,
        params={"offset": 4},
        content=b"xxxxxx",
        headers={**alice(people), "Accept-Language": "zh-HK"},
    )

    assert wrong.status_code == 409
    assert wrong.json()["what"] == "這部分由第 4 字節開始，但上載只到第 0 字節。"  # noqa: RUF001
    assert wrong.json()["details"] == {"received": 0, "size": 10}
