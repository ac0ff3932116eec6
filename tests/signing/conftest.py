"""Fixtures shared by the signing tests: one test PKI per session (it is cached anyway)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from io import BytesIO

import pytest

from tender.signing import DocumentReport, TrustStore, verify_document
from tender.signing.testing import TestPKI

Verify = Callable[..., DocumentReport]


@pytest.fixture(scope="session")
def pki(test_pki: TestPKI) -> TestPKI:
    """The shared test PKI (tests/conftest.py), under the short name these tests use."""
    return test_pki


@pytest.fixture
def verify(trust: TrustStore) -> Verify:
    """``verify(data, at=None)``: verify bytes against the test trust store, as of ``at``
    (default: now)."""

    def _verify(data: bytes, at: datetime | None = None) -> DocumentReport:
        return verify_document(BytesIO(data), trust=trust, at=at or datetime.now(UTC))

    return _verify
