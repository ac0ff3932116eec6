"""Numbers in audit queries have upper bounds: a number past what the log can hold is refused
as a bad request, never sent to the database (2**63 once made a 500)."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

from tender.app import create_app
from tender.platform import Platform
from tests.conftest import People

HUGE = str(2**63)


@pytest.mark.parametrize(
    "path",
    [
        f"/api/audit/events?after={HUGE}",
        f"/api/audit/tree?size={HUGE}",
        f"/api/audit/proofs/inclusion?seq={HUGE}",
        f"/api/audit/proofs/inclusion?seq=1&size={HUGE}",
        f"/api/audit/proofs/consistency?old_size={HUGE}",
        f"/api/audit/proofs/consistency?old_size=1&new_size={HUGE}",
        f"/api/audit/checkpoints/{HUGE}",
        f"/api/audit/export?tender={'R' * 81}",
    ],
)
def test_a_number_past_the_log_is_a_bad_request(
    platform: Platform, people: People, path: str
) -> None:
    with TestClient(create_app(platform)) as client:
        answer = client.get(path, headers={"Authorization": f"Bearer {people.tokens['Aaron']}"})
    assert answer.status_code == 400, answer.text
