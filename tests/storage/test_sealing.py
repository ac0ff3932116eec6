"""The sealed stream formats: round trips, tamper detection, key wrapping, memory, known answers.

Most tests run for both formats: version 2 (hybrid ML-KEM-768 + X25519 tender keys, every
tender created now) and version 1 (legacy X25519 tender keys, tenders created before).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
import stat
import struct
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tender.storage.hpke import HybridKeyPair
from tender.storage.sealing import (
    DEFAULT_CHUNK_SIZE,
    HEADER_SIZES,
    TAG_SIZE,
    PlatformKey,
    Sealer,
    SealError,
    TenderKey,
    seal,
    unseal,
)

CHUNK = 64  # small chunks make multi-chunk streams cheap; the format does not care
RECORD = CHUNK + TAG_SIZE


def legacy_key() -> TenderKey:
    return TenderKey(X25519PrivateKey.generate())


def another_key_like(key: TenderKey) -> TenderKey:
    return TenderKey.generate() if key.format_version == 2 else legacy_key()


@pytest.fixture(scope="module")
def keys() -> dict[int, TenderKey]:
    """A tender key of each kind, by the format version it seals."""
    return {2: TenderKey.generate(), 1: legacy_key()}


@pytest.fixture(scope="module", params=[2, 1], ids=["v2-hybrid", "v1-legacy"])
def tender_key(request: pytest.FixtureRequest, keys: dict[int, TenderKey]) -> TenderKey:
    return keys[request.param]


def header_size(key: TenderKey) -> int:
    return HEADER_SIZES[key.format_version]


def pieces(data: bytes, size: int) -> Iterator[bytes]:
    """``data`` cut into pieces of ``size`` bytes, as a network would deliver it."""
    return (data[i : i + size] for i in range(0, len(data), size))


def seal_bytes(plaintext: bytes, key: TenderKey, chunk_size: int = CHUNK) -> bytes:
    return b"".join(seal([plaintext], key.public_key_bytes, chunk_size=chunk_size))


def unseal_bytes(sealed: bytes, key: TenderKey) -> bytes:
    return b"".join(unseal([sealed], key))


def record(index: int, key: TenderKey) -> slice:
    """Where chunk record ``index`` lies in a stream sealed to ``key`` with :data:`CHUNK`."""
    start = header_size(key) + index * RECORD
    return slice(start, start + RECORD)


def flip_bit(data: bytes, offset: int, mask: int = 0x01) -> bytes:
    return data[:offset] + bytes([data[offset] ^ mask]) + data[offset + 1 :]


# --- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK, 7 * CHUNK + 13])
@pytest.mark.parametrize("split", [1, 7, CHUNK + 3, 10_000])
def test_round_trip_with_odd_splits(tender_key: TenderKey, size: int, split: int) -> None:
    plaintext = os.urandom(size)

    sealed = b"".join(seal(pieces(plaintext, split), tender_key.public_key_bytes, chunk_size=CHUNK))
    recovered = b"".join(unseal(pieces(sealed, split + 2), tender_key))

    assert recovered == plaintext
    assert len(sealed) == Sealer.sealed_size(
        size, CHUNK, recipient_public_key=tender_key.public_key_bytes
    )


def test_sealing_twice_gives_different_bytes(tender_key: TenderKey) -> None:
    # A fresh data key, ephemeral key and nonce prefix per file: equal bids look unrelated.
    assert seal_bytes(b"same bid", tender_key) != seal_bytes(b"same bid", tender_key)


def test_sealed_size_counts_one_empty_chunk_for_empty_plaintext(tender_key: TenderKey) -> None:
    public_key, header = tender_key.public_key_bytes, header_size(tender_key)

    assert Sealer.sealed_size(0, recipient_public_key=public_key) == header + TAG_SIZE
    assert Sealer.sealed_size(DEFAULT_CHUNK_SIZE, recipient_public_key=public_key) == (
        header + DEFAULT_CHUNK_SIZE + TAG_SIZE
    )
    assert Sealer.sealed_size(DEFAULT_CHUNK_SIZE + 1, recipient_public_key=public_key) == (
        header + DEFAULT_CHUNK_SIZE + 1 + 2 * TAG_SIZE
    )


def test_the_header_grows_with_the_post_quantum_key_and_nothing_else(
    keys: dict[int, TenderKey],
) -> None:
    sizes = {version: len(seal_bytes(b"bid", key)) for version, key in keys.items()}

    assert sizes == {1: 100 + 3 + TAG_SIZE, 2: 1188 + 3 + TAG_SIZE}


def test_sealer_holds_back_at_most_one_chunk(tender_key: TenderKey) -> None:
    sealer = Sealer(tender_key.public_key_bytes, chunk_size=CHUNK)
    fed = emitted = 0
    for piece in pieces(os.urandom(20 * CHUNK), 37):
        emitted += len(sealer.update(piece))
        fed += len(piece)
        chunks_out = max(0, emitted - header_size(tender_key)) // RECORD
        assert fed - chunks_out * CHUNK <= CHUNK


def test_unsealer_releases_nothing_of_a_chunk_that_fails(tender_key: TenderKey) -> None:
    plaintext = os.urandom(4 * CHUNK)
    sealed = flip_bit(seal_bytes(plaintext, tender_key), record(1, tender_key).stop - 1)  # a tag
    released: list[bytes] = []

    def read_all() -> None:
        for piece in unseal(pieces(sealed, 5), tender_key):
            released.append(piece)

    with pytest.raises(SealError, match="chunk 1 failed authentication"):
        read_all()

    assert b"".join(released) == plaintext[:CHUNK]


def test_a_finalized_sealer_refuses_more_data(tender_key: TenderKey) -> None:
    sealer = Sealer(tender_key.public_key_bytes)
    sealer.finalize()

    with pytest.raises(RuntimeError, match="finalized"):
        sealer.update(b"late")


@pytest.mark.parametrize("chunk_size", [0, 16 * 1024 * 1024 + 1])
def test_chunk_size_out_of_range_is_refused(tender_key: TenderKey, chunk_size: int) -> None:
    with pytest.raises(ValueError, match="chunk size"):
        Sealer(tender_key.public_key_bytes, chunk_size=chunk_size)


@pytest.mark.parametrize("size", [0, 31, 33, 1215, 1217])
def test_a_public_key_of_neither_kind_is_refused(size: int) -> None:
    with pytest.raises(ValueError, match=f"1216 bytes .* or 32 bytes .*, not {size}"):
        Sealer(os.urandom(size))


# --- tampering -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sealed_four_chunks(tender_key: TenderKey) -> tuple[bytes, bytes]:
    """Plaintext of 3.5 chunks (so the final chunk is short) and its sealed form."""
    plaintext = os.urandom(3 * CHUNK + CHUNK // 2)
    return plaintext, seal_bytes(plaintext, tender_key)


@pytest.mark.parametrize(
    ("version", "offset", "detected"),
    [
        *[
            (version, offset, detected)
            for version in (2, 1)
            for offset, detected in [
                (0, "not a sealed stream"),  # magic
                (8, "unsupported sealed stream format version"),  # version
                (9, "chunk size .* out of range"),  # chunk size, top byte
                (12, "does not unwrap"),  # chunk size, low byte: 64 becomes 192, still in range
            ]
        ],
        (2, 15, "does not unwrap"),  # nonce prefix
        (2, 20, "does not unwrap"),  # encapsulated key: ML-KEM-768 ciphertext
        (2, 1120, "does not unwrap"),  # encapsulated key: ephemeral X25519 public key
        (2, 1150, "does not unwrap"),  # sealed data key
        (2, 1187, "does not unwrap"),  # tag of the sealed data key
        (1, 20, "does not unwrap"),  # ephemeral public key
        (1, 47, "does not unwrap"),  # nonce prefix
        (1, 60, "does not unwrap"),  # wrapped data key
        (1, 99, "does not unwrap"),  # tag of the wrapped data key
    ],
)
def test_a_flipped_header_bit_is_detected(
    keys: dict[int, TenderKey], version: int, offset: int, detected: str
) -> None:
    key = keys[version]
    sealed = seal_bytes(os.urandom(3 * CHUNK), key)

    with pytest.raises(SealError, match=detected):
        unseal_bytes(flip_bit(sealed, offset, 0x80), key)


@pytest.mark.parametrize(
    ("chunk", "offset"), [(1, 5), (1, RECORD - 1), (3, 0)], ids=["ciphertext", "tag", "final-chunk"]
)
def test_a_flipped_chunk_bit_is_detected(
    tender_key: TenderKey, sealed_four_chunks: tuple[bytes, bytes], chunk: int, offset: int
) -> None:
    _, sealed = sealed_four_chunks

    with pytest.raises(SealError, match=f"chunk {chunk} failed authentication"):
        unseal_bytes(flip_bit(sealed, record(chunk, tender_key).start + offset), tender_key)


def test_swapped_chunks_are_detected(
    tender_key: TenderKey, sealed_four_chunks: tuple[bytes, bytes]
) -> None:
    _, sealed = sealed_four_chunks
    first, second = sealed[record(0, tender_key)], sealed[record(1, tender_key)]
    header = sealed[: header_size(tender_key)]
    swapped = header + second + first + sealed[record(2, tender_key).start :]

    with pytest.raises(SealError, match="chunk 0 failed authentication"):
        unseal_bytes(swapped, tender_key)


def test_dropped_final_chunk_is_detected(
    tender_key: TenderKey, sealed_four_chunks: tuple[bytes, bytes]
) -> None:
    _, sealed = sealed_four_chunks

    with pytest.raises(SealError, match="truncated: the stream ends after chunk 2"):
        unseal_bytes(sealed[: record(3, tender_key).start], tender_key)


@pytest.mark.parametrize(
    ("cut", "after_header"),
    [(5, False), (-1, True), (0, True), (TAG_SIZE - 1, True)],
    ids=["in-the-magic", "in-the-header", "after-the-header", "in-the-first-chunk"],
)
def test_a_stream_cut_short_is_detected(
    tender_key: TenderKey, sealed_four_chunks: tuple[bytes, bytes], cut: int, after_header: bool
) -> None:
    _, sealed = sealed_four_chunks
    end = header_size(tender_key) + cut if after_header else cut

    with pytest.raises(SealError, match="truncated"):
        unseal_bytes(sealed[:end], tender_key)


@pytest.mark.parametrize(
    ("size", "detected"),
    [
        # A full final chunk ends on a record boundary, so the diagnosis can name it.
        (4 * CHUNK, "extended: chunk 3 is the final chunk, but more data follows it"),
        # A short one does not: the bytes after it shift the boundary, and chunk 3 fails.
        (3 * CHUNK + CHUNK // 2, "chunk 3 failed authentication"),
    ],
)
def test_an_appended_chunk_is_detected(tender_key: TenderKey, size: int, detected: str) -> None:
    sealed = seal_bytes(os.urandom(size), tender_key)

    with pytest.raises(SealError, match=detected):
        unseal_bytes(sealed + sealed[record(1, tender_key)], tender_key)


def test_a_header_from_another_stream_is_detected(tender_key: TenderKey) -> None:
    first = seal_bytes(os.urandom(2 * CHUNK), tender_key)
    second = seal_bytes(os.urandom(2 * CHUNK), tender_key)

    end = header_size(tender_key)

    with pytest.raises(SealError, match="chunk 0 failed authentication"):
        unseal_bytes(second[:end] + first[end:], tender_key)


def test_the_wrong_tender_key_is_detected(
    tender_key: TenderKey, sealed_four_chunks: tuple[bytes, bytes]
) -> None:
    _, sealed = sealed_four_chunks

    with pytest.raises(SealError, match="does not unwrap: the stream was sealed to another"):
        unseal_bytes(sealed, another_key_like(tender_key))


def test_a_tender_key_of_the_other_kind_is_told_apart(keys: dict[int, TenderKey]) -> None:
    sealed = {version: seal_bytes(b"bid", key) for version, key in keys.items()}

    with pytest.raises(SealError, match=r"format version 2, sealed to a hybrid .* legacy X25519"):
        unseal_bytes(sealed[2], keys[1])
    with pytest.raises(SealError, match=r"format version 1, sealed to a legacy .* hybrid"):
        unseal_bytes(sealed[1], keys[2])


# --- keys ------------------------------------------------------------------------------------


def test_tender_key_survives_wrapping(tender_key: TenderKey) -> None:
    platform_key = PlatformKey.generate()
    plaintext = os.urandom(3 * CHUNK)
    sealed = seal_bytes(plaintext, tender_key)

    wrapped = tender_key.wrap(platform_key, context=b"tender-42")
    unwrapped = TenderKey.unwrap(wrapped, platform_key, context=b"tender-42")

    assert unwrapped.public_key_bytes == tender_key.public_key_bytes
    assert unseal_bytes(sealed, unwrapped) == plaintext
    assert tender_key.private_bytes() not in wrapped
    assert wrapped[0] == tender_key.format_version


@pytest.mark.parametrize(
    ("platform_key_of", "context"),
    [("other", b"tender-42"), ("same", b"tender-43"), ("same", b"")],
    ids=["wrong-platform-key", "wrong-context", "empty-context"],
)
def test_tender_key_does_not_unwrap_elsewhere(
    tender_key: TenderKey, platform_key_of: str, context: bytes
) -> None:
    platform_key = PlatformKey.generate()
    wrapped = tender_key.wrap(platform_key, context=b"tender-42")
    key = platform_key if platform_key_of == "same" else PlatformKey.generate()

    with pytest.raises(SealError, match="does not open"):
        TenderKey.unwrap(wrapped, key, context=context)


def test_a_damaged_wrapped_key_is_refused(tender_key: TenderKey) -> None:
    platform_key = PlatformKey.generate()
    wrapped = tender_key.wrap(platform_key, context=b"t")

    with pytest.raises(SealError, match="not a wrapped tender key"):
        TenderKey.unwrap(b"\x09" + wrapped[1:], platform_key, context=b"t")
    with pytest.raises(SealError, match="does not open"):
        TenderKey.unwrap(wrapped[:-1], platform_key, context=b"t")
    with pytest.raises(SealError, match="does not open"):
        TenderKey.unwrap(flip_bit(wrapped, 20), platform_key, context=b"t")


def test_platform_key_file_is_created_private_and_then_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "platform.key"

    created = PlatformKey.load_or_create(path)
    loaded = PlatformKey.load_or_create(path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(base64.b64decode(path.read_text().strip(), validate=True)) == 32
    assert loaded.fingerprint == created.fingerprint
    assert [p.name for p in path.parent.iterdir()] == ["platform.key"]  # no temporary left


def test_an_existing_platform_key_file_is_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "platform.key"
    raw = os.urandom(32)
    path.write_text(base64.b64encode(raw).decode() + "\n")

    assert PlatformKey.load_or_create(path).fingerprint == PlatformKey.from_bytes(raw).fingerprint
    assert base64.b64decode(path.read_text()) == raw


def test_a_damaged_platform_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "platform.key"
    path.write_text("not base64!\n")

    with pytest.raises(ValueError, match="does not hold a base64-encoded 32-byte key"):
        PlatformKey.load_or_create(path)
    assert path.read_text() == "not base64!\n"


def test_keys_do_not_show_secrets_in_repr() -> None:
    raw = os.urandom(32)
    platform_key = PlatformKey.from_bytes(raw)

    assert raw.hex() not in repr(platform_key)
    assert platform_key.fingerprint in repr(platform_key)
    assert len(platform_key.fingerprint) == 16


def test_platform_key_must_be_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        PlatformKey.from_bytes(b"short")


# --- memory ----------------------------------------------------------------------------------

STREAM_SIZE = 64 * 1024 * 1024
PIECE = 100_000
MEMORY_BOUND = 2 * 1024 * 1024  # 1/32 of the stream (measured: about 0.75 MiB)


def test_memory_stays_bounded_by_the_chunk_size(tender_key: TenderKey) -> None:
    digest_in, digest_out = hashlib.sha256(), hashlib.sha256()

    def plaintext() -> Iterator[bytes]:
        for _ in range(STREAM_SIZE // PIECE):
            piece = os.urandom(PIECE)
            digest_in.update(piece)
            yield piece

    tracemalloc.start()
    try:
        for piece in unseal(seal(plaintext(), tender_key.public_key_bytes), tender_key):
            digest_out.update(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert digest_out.hexdigest() == digest_in.hexdigest()
    assert peak < MEMORY_BOUND, f"peak {peak} bytes while streaming {STREAM_SIZE} bytes"


# --- known answer ----------------------------------------------------------------------------

KAT_RECIPIENT_PRIVATE = bytes(range(0x80, 0xA0))
KAT_PLAINTEXT = b"Tender known answer: one bid, three chunks."
KAT_CHUNK_SIZE = 16
KAT_SEALED = bytes.fromhex(
    "544e44525345414c01000000108f40c5adb68f25624ae5b214ea767a6ec94d82"
    "9d3d7b5e1ad1ba6f3e2138285f40414243444546c5f29a8a76f47317c72005cd"
    "9305c2e7a8d676b3d1861a01b6411f917a9ba5190be5ec7065478d254ad91a14"
    "005a64abf2d24cf049755434237804bf9633c8ddcfe7ccb1faf660828dc4739f"
    "2d9d87f1a216ae3b5d42f1e7f9fb841c6f1bc07d0d09c560c40f35a13682c016"
    "8830cb212adb9fe3d39966bedc19071d489b19d0958f6971c16b0ca155a4d2"
)


def kat_random() -> Callable[[int], bytes]:
    """The sealer's randomness, made predictable: ephemeral key, data key, nonce prefix."""
    counter = itertools.count()
    return lambda size: bytes(next(counter) % 256 for _ in range(size))


def test_known_answer_pins_the_format() -> None:
    recipient = TenderKey(X25519PrivateKey.from_private_bytes(KAT_RECIPIENT_PRIVATE))
    sealer = Sealer(recipient.public_key_bytes, chunk_size=KAT_CHUNK_SIZE, _random=kat_random())

    sealed = sealer.update(KAT_PLAINTEXT) + sealer.finalize()

    assert sealed.hex() == KAT_SEALED.hex()
    assert unseal_bytes(sealed, recipient) == KAT_PLAINTEXT


def documented_chunks(
    sealed: bytes, header: bytes, data_key: bytes, prefix: bytes, chunk_size: int
) -> tuple[bytes, int]:
    """The plaintext of the chunk records after ``header``, decrypted as the module docstring
    says (the same for both versions), and how many records there were."""
    records = list(pieces(sealed[len(header) :], chunk_size + 16))
    plaintext = b"".join(
        AESGCM(data_key).decrypt(
            prefix + struct.pack(">IB", index, index == len(records) - 1), chunk, header
        )
        for index, chunk in enumerate(records)
    )
    return plaintext, len(records)


def test_known_answer_follows_the_documented_layout() -> None:
    """Decode the pinned stream with nothing but the module docstring and raw primitives."""
    sealed = KAT_SEALED
    recipient_public = (
        X25519PrivateKey.from_private_bytes(KAT_RECIPIENT_PRIVATE).public_key().public_bytes_raw()
    )
    header = sealed[:100]
    magic, version, chunk_size, ephemeral, prefix = struct.unpack(">8sBI32s7s", header[:52])
    assert (magic, version, chunk_size) == (b"TNDRSEAL", 1, KAT_CHUNK_SIZE)
    expected_ephemeral = X25519PrivateKey.from_private_bytes(bytes(range(32))).public_key()
    assert ephemeral == expected_ephemeral.public_bytes_raw()
    assert prefix == bytes(range(64, 71))

    shared = X25519PrivateKey.from_private_bytes(KAT_RECIPIENT_PRIVATE).exchange(
        X25519PublicKey.from_public_bytes(ephemeral)
    )
    kek = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=ephemeral + recipient_public,
        info=b"tender.storage seal v1 data key",
    ).derive(shared)
    data_key = AESGCM(kek).decrypt(bytes(12), header[52:100], header[:52])
    assert data_key == bytes(range(32, 64))

    assert documented_chunks(sealed, header, data_key, prefix, chunk_size) == (KAT_PLAINTEXT, 3)


def test_format_v2_follows_the_documented_layout() -> None:
    """Decode a version 2 stream with nothing but the module docstring and raw primitives.

    HPKE draws its own ephemeral keys (cryptography takes no ``ikmE``), so unlike version 1 a
    version 2 stream cannot be pinned byte for byte: every field is checked instead. The HPKE
    suite itself is checked against a published vector in test_hpke_vectors.py.
    """
    pair = HybridKeyPair.generate()
    sealer = Sealer(pair.public_key_bytes, chunk_size=KAT_CHUNK_SIZE, _random=kat_random())
    sealed = sealer.update(KAT_PLAINTEXT) + sealer.finalize()

    header = sealed[:1188]
    magic, version, chunk_size, prefix = struct.unpack(">8sBI7s", header[:20])
    assert (magic, version, chunk_size) == (b"TNDRSEAL", 2, KAT_CHUNK_SIZE)
    assert prefix == bytes(range(32, 39))  # drawn after the 32-byte data key
    suite = Suite(KEM.MLKEM768_X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)
    info = b"tender.storage seal v2 data key\x00" + header[:20]
    data_key = suite.decrypt(header[20:], pair.hpke_private_key, info=info)
    assert data_key == bytes(range(32))

    assert documented_chunks(sealed, header, data_key, prefix, chunk_size) == (KAT_PLAINTEXT, 3)


def test_a_tender_key_restored_from_its_private_bytes_opens_what_was_sealed_to_it(
    tender_key: TenderKey,
) -> None:
    sealed = b"".join(seal([b"price: 1 000 000"], tender_key.public_key_bytes))

    restored = TenderKey.from_private_bytes(tender_key.private_bytes())

    assert b"".join(unseal([sealed], restored)) == b"price: 1 000 000"
    with pytest.raises(SealError, match="is 32 bytes"):
        TenderKey.from_private_bytes(tender_key.private_bytes()[:-1])
