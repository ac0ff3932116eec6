"""Hybrid post-quantum key pairs for RFC 9180 HPKE: ML-KEM-768 and X25519.

Both the keys that seal bids (:class:`tender.storage.sealing.TenderKey`) and the keys of
committee members (:class:`tender.storage.committee.MemberKey`) are such pairs, used with one
HPKE suite, :data:`SUITE`: KEM MLKEM768-X25519 (draft-ietf-hpke-pq, KEM id 0x647a), KDF
HKDF-SHA256, AEAD AES-256-GCM, base mode. Something encrypted to one stays confidential as
long as either ML-KEM-768 or X25519 holds: a copy taken today does not open once a quantum
computer breaks X25519.

Raw formats::

    public key  = ML-KEM-768 public key (1184 bytes) || X25519 public key (32 bytes)
                  (1216 bytes, the KEM's pkR)
    private key = ML-KEM-768 seed d || z (64 bytes, FIPS 203) || X25519 private key (32 bytes)
                  (96 bytes)

The private key is kept in the expanded form of the KEM's 32-byte seed (the draft derives both
parts from it with SHAKE256): cryptography builds the pair from the two parts, not from that
seed. The known-answer test (tests/storage/test_hpke_vectors.py) shows the two agree.
"""

from __future__ import annotations

from typing import Self

from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.hpke import (
    AEAD,
    KDF,
    KEM,
    MLKEM768X25519PrivateKey,
    MLKEM768X25519PublicKey,
    Suite,
)

__all__ = [
    "ENCAPSULATED_KEY_SIZE",
    "PRIVATE_KEY_SIZE",
    "PUBLIC_KEY_SIZE",
    "SUITE",
    "HybridKeyPair",
    "hybrid_public_key",
]

SUITE = Suite(KEM.MLKEM768_X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)
"""The one HPKE suite: what :meth:`Suite.encrypt` returns is ``enc || ciphertext || tag``."""

_MLKEM_PUBLIC_SIZE = 1184
_MLKEM_SEED_SIZE = 64
_MLKEM_CIPHERTEXT_SIZE = 1088
_X25519_SIZE = 32

PUBLIC_KEY_SIZE = _MLKEM_PUBLIC_SIZE + _X25519_SIZE
"""Bytes of a raw hybrid public key (1216)."""
PRIVATE_KEY_SIZE = _MLKEM_SEED_SIZE + _X25519_SIZE
"""Bytes of a raw hybrid private key (96)."""
ENCAPSULATED_KEY_SIZE = _MLKEM_CIPHERTEXT_SIZE + _X25519_SIZE
"""Bytes of the KEM's encapsulated key ``enc`` that starts every :data:`SUITE` ciphertext
(1120: the ML-KEM-768 ciphertext and the ephemeral X25519 public key)."""


class HybridKeyPair:
    """An ML-KEM-768 + X25519 key pair for :data:`SUITE`."""

    def __init__(
        self, mlkem_key: mlkem.MLKEM768PrivateKey, x25519_key: x25519.X25519PrivateKey
    ) -> None:
        self._mlkem = mlkem_key
        self._x25519 = x25519_key
        self._private_key = MLKEM768X25519PrivateKey(mlkem_key, x25519_key)

    @classmethod
    def generate(cls) -> Self:
        """A new random key pair."""
        return cls(mlkem.MLKEM768PrivateKey.generate(), x25519.X25519PrivateKey.generate())

    @classmethod
    def from_private_bytes(cls, raw: bytes) -> Self:
        """The key pair whose :meth:`private_bytes` are ``raw``.

        :raises ValueError: if ``raw`` is not :data:`PRIVATE_KEY_SIZE` bytes.
        """
        if len(raw) != PRIVATE_KEY_SIZE:
            raise ValueError(
                f"a hybrid private key is {PRIVATE_KEY_SIZE} bytes (ML-KEM-768 seed and X25519), "
                f"not {len(raw)}"
            )
        return cls(
            mlkem.MLKEM768PrivateKey.from_seed_bytes(raw[:_MLKEM_SEED_SIZE]),
            x25519.X25519PrivateKey.from_private_bytes(raw[_MLKEM_SEED_SIZE:]),
        )

    def private_bytes(self) -> bytes:
        """The ML-KEM seed and the X25519 key (:data:`PRIVATE_KEY_SIZE` bytes): secret."""
        return self._mlkem.private_bytes_raw() + self._x25519.private_bytes_raw()

    @property
    def public_key_bytes(self) -> bytes:
        """ML-KEM-768 public key || X25519 public key (:data:`PUBLIC_KEY_SIZE` bytes)."""
        return (
            self._mlkem.public_key().public_bytes_raw()
            + self._x25519.public_key().public_bytes_raw()
        )

    @property
    def hpke_private_key(self) -> MLKEM768X25519PrivateKey:
        """The private key as :data:`SUITE`'s ``decrypt`` takes it."""
        return self._private_key


def hybrid_public_key(raw: bytes) -> MLKEM768X25519PublicKey:
    """The public key in ``raw`` (:attr:`HybridKeyPair.public_key_bytes`), as :data:`SUITE`'s
    ``encrypt`` takes it.

    :raises ValueError: if ``raw`` is not a hybrid public key; the message says why.
    """
    if len(raw) != PUBLIC_KEY_SIZE:
        raise ValueError(
            f"a hybrid public key is {PUBLIC_KEY_SIZE} bytes (ML-KEM-768 and X25519), "
            f"not {len(raw)}"
        )
    try:
        return MLKEM768X25519PublicKey(
            mlkem.MLKEM768PublicKey.from_public_bytes(raw[:_MLKEM_PUBLIC_SIZE]),
            x25519.X25519PublicKey.from_public_bytes(raw[_MLKEM_PUBLIC_SIZE:]),
        )
    except ValueError as exc:
        raise ValueError(f"not a hybrid public key: {exc}") from None
