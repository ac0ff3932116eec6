"""The test time-stamping authority: pyHanko's in-process one, with its key loaded once."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from pyhanko.sign.timestamps import DummyTimeStamper, dummy_client
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data

from tender.signing import TrustStore
from tender.signing.testing import KeyLoadedTimeStamper, TestPKI

NOTE_DIGEST = hashlib.sha256(b"checkpoint 42").digest()


def _stampers(pki: TestPKI) -> list[KeyLoadedTimeStamper]:
    made = [pki.timestamper(), TestPKI.load_timestamper(pki.directory)]
    assert all(isinstance(stamper, KeyLoadedTimeStamper) for stamper in made)
    return [stamper for stamper in made if isinstance(stamper, KeyLoadedTimeStamper)]


@pytest.mark.parametrize("made_by", ["timestamper", "load_timestamper"])
def test_tokens_are_byte_for_byte_pyhankos(
    pki: TestPKI, monkeypatch: pytest.MonkeyPatch, made_by: str
) -> None:
    stamper = _stampers(pki)[made_by == "load_timestamper"]
    reference = DummyTimeStamper(tsa_cert=stamper.tsa_cert, tsa_key=stamper.tsa_key)
    # Fix what varies from token to token: the time and the serial number.
    moment = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
    stamper.fixed_dt = reference.fixed_dt = moment
    monkeypatch.setattr(dummy_client, "get_nonce", lambda: 20261127)
    _, request = stamper.request_cms(NOTE_DIGEST, "sha256")

    token = stamper.request_tsa_response(request).dump()

    assert token == reference.request_tsa_response(request).dump()


def test_the_key_is_loaded_once_per_time_stamper(
    pki: TestPKI, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads = []
    load: Callable[..., Any] = serialization.load_der_private_key

    def counting_load(*args: Any, **kwargs: Any) -> Any:
        loads.append(1)
        return load(*args, **kwargs)

    monkeypatch.setattr(serialization, "load_der_private_key", counting_load)
    stamper = pki.timestamper()
    for _ in range(3):
        asyncio.run(stamper.async_timestamp(NOTE_DIGEST, "sha256"))

    assert len(loads) == 1


@pytest.mark.parametrize("made_by", ["timestamper", "load_timestamper"])
def test_tokens_validate_as_the_auditors_validate_them(
    pki: TestPKI, trust: TrustStore, made_by: str
) -> None:
    stamper = _stampers(pki)[made_by == "load_timestamper"]

    token = asyncio.run(stamper.async_timestamp(NOTE_DIGEST, "sha256"))
    status = asyncio.run(
        validate_tst_signed_data(
            token["content"], trust.validation_context(datetime.now(UTC)), lambda _: NOTE_DIGEST
        )
    )

    assert (status["intact"], status["valid"], status["trust_problem_indic"]) == (
        True,
        True,
        None,
    )
    assert status["signing_cert"].dump() == pki.certificate("tsa").dump()


def test_only_an_rsa_key_makes_a_time_stamper(pki: TestPKI, tmp_path: Path) -> None:
    signer = pki.signer("supplier-a")  # an EC P-256 key
    with pytest.raises(ValueError, match="RSA only"):
        KeyLoadedTimeStamper(pki.certificate("supplier-a"), signer.signing_key)  # type: ignore[attr-defined]
