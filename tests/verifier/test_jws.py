"""Receipt signatures: compact JWS with EdDSA, checked against RFC 8037's published example."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tender.verifier import jws

# RFC 8037, Appendix A.1 (the Ed25519 private key) and A.4 (signing "Example of Ed25519 signing").
RFC8037_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC8037_TOKEN = (
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
)


def test_rfc8037_example_signs_and_verifies() -> None:
    key = Ed25519PrivateKey.from_private_bytes(jws.b64url_decode(RFC8037_D))
    assert jws.sign(b"Example of Ed25519 signing", key) == RFC8037_TOKEN
    assert jws.verify(RFC8037_TOKEN, key.public_key()) == b"Example of Ed25519 signing"


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda t: t.replace("RXhh", "RXhi"), "does not verify"),
        (lambda t: t[:-2] + "AA", "does not verify"),
        (lambda t: "eyJhbGciOiJIUzI1NiJ9" + t[t.index(".") :], "not EdDSA"),
        (lambda t: t.rsplit(".", 1)[0], "3 parts"),
    ],
    ids=["payload", "signature", "algorithm", "truncated"],
)
def test_tampered_tokens_are_refused(tamper: Callable[[str], str], message: str) -> None:
    key = Ed25519PrivateKey.from_private_bytes(jws.b64url_decode(RFC8037_D))
    with pytest.raises(jws.JWSError, match=message):
        jws.verify(tamper(RFC8037_TOKEN), key.public_key())


def test_another_key_is_refused() -> None:
    token = jws.sign(b"receipt", Ed25519PrivateKey.generate(), kid="abcd")
    with pytest.raises(jws.JWSError, match="does not verify"):
        jws.verify(token, Ed25519PrivateKey.generate().public_key())
