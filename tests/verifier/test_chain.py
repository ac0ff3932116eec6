"""The hash chain over exported events: what it detects."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tender.verifier.chain import verify_chain
from tests.verifier.chains import exported_chain


def test_intact_chain_verifies() -> None:
    result = verify_chain(exported_chain(5))
    assert result.ok
    assert result.events == 5
    assert result.head == exported_chain(5)[-1]["hash"]


@pytest.mark.parametrize(
    ("tamper", "bad_seq", "problem"),
    [
        (lambda e: e[2]["payload"].update(n=99), 3, "does not match its hash"),
        (lambda e: e.pop(2), 4, "expected sequence number 3"),
        (lambda e: e.insert(1, e.pop(3)), 4, "expected sequence number 2"),
        (lambda e: e[4].update(prev_hash="11" * 32), 5, "prev_hash"),
        (lambda e: e[1].update(leaf_hash="22" * 32), 2, "leaf_hash"),
    ],
    ids=["changed", "removed", "reordered", "relinked", "leaf-swapped"],
)
def test_tampering_is_detected(tamper: Any, bad_seq: int, problem: str) -> None:
    events = copy.deepcopy(exported_chain(5))
    tamper(events)
    result = verify_chain(events)
    assert not result.ok
    assert problem in (result.problem or "")
    assert result.bad_seq == bad_seq
