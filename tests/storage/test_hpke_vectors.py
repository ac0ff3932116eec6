"""The hybrid HPKE KEM against the published vector of draft-ietf-hpke-pq (MLKEM768-X25519).

The draft publishes no vector for exactly our suite (KEM 0x647a, HKDF-SHA256, AES-256-GCM);
its MLKEM768-X25519 vector with HKDF-SHA256 uses ChaCha20-Poly1305 (AEAD 0x0003). The KEM and
the KDF — what the hybrid construction and the key schedule are — are ours; only the AEAD
differs. cryptography takes no ``ikmE``, so the sender's side cannot be replayed: these tests
open the vector's ciphertext with the vector's private key (the decapsulation side).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.bindings._rust import openssl as rust_openssl
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

from tender.storage.hpke import PRIVATE_KEY_SIZE, SUITE, HybridKeyPair, hybrid_public_key

VECTORS = Path(__file__).parent.parent / "vectors" / "hpke-pq" / "mlkem768-x25519_hkdf-sha256.json"
VECTOR_SUITE = Suite(KEM.MLKEM768_X25519, KDF.HKDF_SHA256, AEAD.CHACHA20_POLY1305)
# cryptography's public single-shot API fixes aad to empty; the vector's first encryption has
# aad "Count-0". Upstream's own vector tests open such ciphertexts with this test-only hook.
decrypt_with_aad = rust_openssl.hpke._decrypt_with_aad


@pytest.fixture(scope="module")
def vector() -> dict[str, Any]:
    only: dict[str, Any]
    (only,) = json.loads(VECTORS.read_text())
    assert (only["mode"], only["kem_id"], only["kdf_id"], only["aead_id"]) == (0, 0x647A, 1, 3)
    return only


def recipient(vector: dict[str, Any]) -> HybridKeyPair:
    """The vector's private key (the KEM's 32-byte seed), in our 96-byte raw form: the draft
    expands the seed with SHAKE256 into the ML-KEM-768 seed and the X25519 private key."""
    expanded = hashlib.shake_256(bytes.fromhex(vector["skRm"])).digest(PRIVATE_KEY_SIZE)
    return HybridKeyPair.from_private_bytes(expanded)


def test_our_key_pair_gives_the_published_public_key(vector: dict[str, Any]) -> None:
    assert recipient(vector).public_key_bytes.hex() == vector["pkRm"]


def test_the_published_ciphertext_opens_with_the_published_private_key(
    vector: dict[str, Any],
) -> None:
    first = vector["encryptions"][0]
    sealed = bytes.fromhex(vector["enc"] + first["ct"])

    opened = decrypt_with_aad(
        VECTOR_SUITE,
        sealed,
        recipient(vector).hpke_private_key,
        info=bytes.fromhex(vector["info"]),
        aad=bytes.fromhex(first["aad"]),
    )

    assert opened.hex() == first["pt"]


@pytest.mark.parametrize("where", [0, 1087, 1088, 1119, -1], ids=lambda where: f"byte-{where}")
def test_an_altered_published_ciphertext_does_not_open(vector: dict[str, Any], where: int) -> None:
    first = vector["encryptions"][0]
    sealed = bytearray.fromhex(vector["enc"] + first["ct"])
    sealed[where] ^= 0x01  # ML-KEM ciphertext (0..1087), ephemeral X25519 key, AEAD tag

    with pytest.raises(InvalidTag):
        decrypt_with_aad(
            VECTOR_SUITE,
            bytes(sealed),
            recipient(vector).hpke_private_key,
            info=bytes.fromhex(vector["info"]),
            aad=bytes.fromhex(first["aad"]),
        )


def test_our_suite_seals_to_the_published_public_key(vector: dict[str, Any]) -> None:
    sealed = SUITE.encrypt(b"data key", hybrid_public_key(bytes.fromhex(vector["pkRm"])))

    assert len(sealed) == len(bytes.fromhex(vector["enc"])) + len(b"data key") + 16
    assert SUITE.decrypt(sealed, recipient(vector).hpke_private_key) == b"data key"
