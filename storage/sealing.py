"""Streaming envelope encryption for files sealed to a tender.

A bid is sealed on arrival to the public key of its tender and can only be unsealed with the
tender's private key, which the platform releases at the deadline. Sealing and unsealing are
incremental: memory use is bounded by the chunk size, whatever the size of the file.

A fresh random data key per file is wrapped to the tender's public key, then the file is
encrypted with it in the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár, *Online
Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance*, 2015; the same nonce layout
as Tink's streaming AEAD): AES-256-GCM over fixed-size chunks whose nonce carries the chunk
counter and a last-chunk flag. Any change to the sealed bytes — a flipped bit, swapped or
dropped chunks, a cut-off or extended stream, a header taken from another file — makes
unsealing fail with :class:`SealError` before any plaintext of the affected chunk is released.

Two formats differ only in how the data key is wrapped, and the byte after the magic tells
them apart:

- **version 2** (every tender created now): RFC 9180 HPKE, base mode, with the hybrid
  post-quantum KEM ML-KEM-768 + X25519 (:mod:`tender.storage.hpke`). Bids are kept sealed for
  years; a copy taken today stays closed as long as either ML-KEM-768 or X25519 holds.
- **version 1** (tenders created before): ECIES-style X25519 + HKDF-SHA256 + AES-256-GCM.
  Still read, and still written for a tender whose key is a legacy X25519 key, so that every
  bid of one tender has the same format.

:class:`Sealer` writes the version the recipient public key's length calls for (32 bytes: 1;
1216 bytes: 2); :class:`Unsealer` reads the version from the stream and refuses one that the
tender key's kind does not match.

Sealed stream format, version 2
-------------------------------

All integers are unsigned big-endian. A sealed stream is a 1188-byte header followed by one
or more chunk records, exactly as in version 1.

Header (``HEADER_SIZES[2]`` = 1188 bytes)::

    offset  size  field
         0     8  magic, the ASCII bytes "TNDRSEAL"
         8     1  format version, 0x02
         9     4  chunk size C: plaintext bytes per chunk, 1 <= C <= MAX_CHUNK_SIZE
        13     7  nonce prefix P (random)
        20  1120  HPKE encapsulated key enc: ML-KEM-768 ciphertext (1088) || X25519 ephemeral
                  public key (32)
      1140    48  HPKE-sealed data key: AES-256-GCM ciphertext (32 bytes) || tag (16 bytes)

The data key K is 32 random bytes, fresh for every file. It is sealed to the tender's hybrid
public key pkR (ML-KEM-768 public key || X25519 public key, 1216 bytes) with HPKE's
single-shot base-mode encryption, suite KEM MLKEM768-X25519 (0x647a), KDF HKDF-SHA256
(0x0001), AEAD AES-256-GCM (0x0002)::

    enc, ct = HPKE.SealBase(pkR, info="tender.storage seal v2 data key" || 0x00 || header[0:20],
                            aad="", pt=K)
    header  = header[0:20] || enc || ct

The header's first 20 bytes are bound as HPKE ``info``, not ``aad``: info enters the key
schedule, which is what RFC 9180 section 8.1 advises for single-shot use (and all that
cryptography's single-shot API takes). A change to the version, chunk size or nonce prefix
therefore makes the data key fail to open, like a change to enc or ct.

Sealed stream format, version 1
-------------------------------

All integers are unsigned big-endian. A sealed stream is a 100-byte header followed by one or
more chunk records.

Header (``HEADER_SIZES[1]`` = 100 bytes)::

    offset  size  field
         0     8  magic, the ASCII bytes "TNDRSEAL"
         8     1  format version, 0x01
         9     4  chunk size C: plaintext bytes per chunk, 1 <= C <= MAX_CHUNK_SIZE
        13    32  ephemeral X25519 public key E (raw)
        45     7  nonce prefix P (random)
        52    48  wrapped data key: AES-256-GCM ciphertext (32 bytes) || tag (16 bytes)

The data key K is 32 random bytes, fresh for every file. It is wrapped to the recipient's
X25519 public key R with a fresh ephemeral key pair (e, E)::

    shared = X25519(e, R)
    KEK    = HKDF-SHA256(ikm=shared, salt=E || R,
                         info="tender.storage seal v1 data key", length=32)
    wrapped data key = AES-256-GCM(key=KEK, nonce=12 zero bytes,
                                   plaintext=K, associated data=header[0:52])

The all-zero nonce is safe because every KEK encrypts exactly one message: it is derived
from a fresh ephemeral key. The associated data binds the version, chunk size and nonce
prefix to the data key.

Chunk records (both versions)
-----------------------------

Chunk records follow the header. The plaintext is cut into chunks of exactly C bytes; the
last chunk holds the remaining 1..C bytes, or 0 bytes if the whole plaintext is empty, so
there is always at least one chunk and exactly one final chunk. Chunk number i (counting
from 0) is::

    nonce_i  = P || uint32(i) || flag      (7 + 4 + 1 = 12 bytes;
                                            flag is 0x01 for the final chunk, else 0x00)
    record_i = AES-256-GCM(key=K, nonce=nonce_i, plaintext=chunk_i,
                           associated data=the whole header, 100 or 1188 bytes)
             = ciphertext (len(chunk_i) bytes) || tag (16 bytes)

Every record but the last is therefore exactly C + 16 bytes long; the last is 16..C + 16
bytes. A stream holds at most 2**32 chunks. What each check detects:

- the counter in the nonce: reordered, duplicated or removed chunks;
- the final flag: a stream cut off at a chunk boundary (its new last chunk is not marked
  final), and data appended after the final chunk;
- the header as associated data of every chunk: a header swapped in from another file;
- the tag of the wrapped data key: a wrong tender key or an altered header.

The header is read before anything in it is authenticated, so nothing in it may make the
unsealer hold much: its length is fixed by the version byte (no length field), and the chunk
size is refused above :data:`MAX_CHUNK_SIZE` before any key work.

Tender keys (:class:`TenderKey`) are hybrid ML-KEM-768 + X25519 key pairs, or legacy X25519
key pairs for tenders created before. For automatic opening their private half is stored
wrapped by the platform's symmetric key (:class:`PlatformKey`); see :meth:`TenderKey.wrap`
for that format.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tender.storage.hpke import (
    ENCAPSULATED_KEY_SIZE,
    PRIVATE_KEY_SIZE,
    PUBLIC_KEY_SIZE,
    SUITE,
    HybridKeyPair,
    hybrid_public_key,
)
from tender.storage.keyfile import load_or_create_secret

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "HEADER_SIZES",
    "MAX_CHUNK_SIZE",
    "SEALED_PREFIX_SIZE",
    "TAG_SIZE",
    "KeyWrapper",
    "PlatformKey",
    "SealError",
    "Sealer",
    "TenderKey",
    "Unsealer",
    "format_for",
    "looks_sealed",
    "seal",
    "unseal",
]

DEFAULT_CHUNK_SIZE = 64 * 1024
"""Plaintext bytes per chunk unless the sealer is told otherwise."""

MAX_CHUNK_SIZE = 16 * 1024 * 1024
"""Largest chunk size accepted. An unsealer buffers one chunk, and the chunk size comes from
the (not yet authenticated) header, so this bounds what a forged header can make it hold."""

TAG_SIZE = 16
"""Bytes an AES-GCM tag adds to every chunk."""

_LEGACY = 1
_HYBRID = 2
_MAGIC = b"TNDRSEAL"
_KEY_SIZE = 32
_NONCE_PREFIX_SIZE = 7
_MAX_CHUNKS = 2**32
_PREAMBLE = struct.Struct(">8sB")  # magic, version: what tells the header's length
_V1_PREFIX = struct.Struct(">8sBI32s7s")  # magic, version, chunk size, E, nonce prefix
_V2_PREFIX = struct.Struct(">8sBI7s")  # magic, version, chunk size, nonce prefix
_V1_WRAP_NONCE = bytes(12)
_V1_WRAP_INFO = b"tender.storage seal v1 data key"
_V2_WRAP_INFO = b"tender.storage seal v2 data key\x00"

HEADER_SIZES = MappingProxyType(
    {
        _LEGACY: _V1_PREFIX.size + _KEY_SIZE + TAG_SIZE,
        _HYBRID: _V2_PREFIX.size + ENCAPSULATED_KEY_SIZE + _KEY_SIZE + TAG_SIZE,
    }
)
"""Bytes of the header that starts a sealed stream, by format version (100 and 1188)."""

_KIND = MappingProxyType(
    {_LEGACY: "legacy X25519", _HYBRID: "hybrid ML-KEM-768 + X25519"}
)  # by format version, for people
_TENDER_KEY_AAD = MappingProxyType(
    {
        _LEGACY: b"tender.storage tender key v1\x00",
        _HYBRID: b"tender.storage tender key v2\x00",
    }
)  # by format version


class SealError(Exception):
    """A sealed stream or wrapped key could not be opened.

    Raised for every integrity failure: altered, reordered, truncated or extended data, a
    foreign or damaged header, or the wrong key. The message says what was detected. No
    plaintext from a chunk that failed is ever released.
    """


@runtime_checkable  # the app's dependency injection checks what it is given against it
class KeyWrapper(Protocol):
    """Keeps secrets (tender private keys) wrapped under a key it never gives out.

    :class:`PlatformKey` does it with a key in a file (the embedded default); a PKCS#11 token
    does it with a key that never leaves the token. ``aad`` binds a wrapped secret to what it
    belongs to: unwrapping with other ``aad`` fails.
    """

    @property
    def fingerprint(self) -> str:
        """Tells wrapping keys apart in logs and audit events; reveals nothing of the key."""
        ...

    def wrap_secret(self, secret: bytes, aad: bytes) -> bytes:
        """``secret`` encrypted and authenticated under the wrapping key, bound to ``aad``."""
        ...

    def unwrap_secret(self, wrapped: bytes, aad: bytes) -> bytes:
        """The secret :meth:`wrap_secret` wrapped with the same ``aad``.

        :raises SealError: if ``wrapped`` was altered, wrapped under another key, or for
            another ``aad``.
        """
        ...


class PlatformKey:
    """The platform's 32-byte symmetric key-encryption key, kept in a file.

    It wraps the private halves of tender keys (see :meth:`TenderKey.wrap`), so the platform
    can open tenders at their deadline without a person holding any key before it. Whoever
    holds this key can open every tender: keep it out of the database and out of backups
    that travel with the database.

    Build one with :meth:`generate`, :meth:`from_bytes` or :meth:`load_or_create`.
    """

    def __init__(self, key: bytes) -> None:
        """Wrap raw key material.

        :param key: exactly 32 bytes.
        :raises ValueError: if ``key`` is not 32 bytes long.
        """
        if len(key) != _KEY_SIZE:
            raise ValueError(f"a platform key is {_KEY_SIZE} bytes, got {len(key)}")
        self._key = bytes(key)

    @classmethod
    def generate(cls) -> PlatformKey:
        """Create a new random platform key."""
        return cls(AESGCM.generate_key(bit_length=256))

    @classmethod
    def from_bytes(cls, key: bytes) -> PlatformKey:
        """Use existing raw key material.

        :param key: exactly 32 bytes.
        :raises ValueError: if ``key`` is not 32 bytes long.
        """
        return cls(key)

    @classmethod
    def load_or_create(cls, path: Path) -> PlatformKey:
        """Load the platform key from ``path``, creating the file first if it does not exist.

        See :func:`tender.storage.keyfile.load_or_create_secret` for how the file is written
        safely (mode 0600, never replaced, never seen half-written).

        :param path: where the key lives.
        :raises ValueError: if the file exists but does not hold a base64-encoded 32-byte key.
        """
        return cls(load_or_create_secret(path, _KEY_SIZE, what="platform key"))

    @property
    def fingerprint(self) -> str:
        """The first 16 hex digits of the SHA-256 of the key: safe to log, enough to tell keys
        apart."""
        return hashlib.sha256(self._key).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"PlatformKey(fingerprint={self.fingerprint!r})"

    def wrap_secret(self, secret: bytes, aad: bytes) -> bytes:
        """A random 12-byte nonce, then the AES-256-GCM encryption of ``secret`` (with its
        16-byte tag) under this key, with associated data ``aad``."""
        nonce = os.urandom(12)
        return nonce + AESGCM(self._key).encrypt(nonce, secret, aad)

    def unwrap_secret(self, wrapped: bytes, aad: bytes) -> bytes:
        """See :meth:`KeyWrapper.unwrap_secret`."""
        try:
            return AESGCM(self._key).decrypt(wrapped[:12], wrapped[12:], aad)
        except InvalidTag:
            raise SealError(
                f"the wrapped secret does not open: it was wrapped under another key than "
                f"{self.fingerprint}, for another context, or altered"
            ) from None


class TenderKey:
    """The key pair of one tender: hybrid ML-KEM-768 + X25519 (:meth:`generate`, every tender
    created now), or legacy X25519 (tenders created before; their bids stay readable).

    Bids are sealed to :attr:`public_key_bytes` while the tender is open; the private half
    unseals them at the opening. Between the two, the private half exists only wrapped (see
    :meth:`wrap`) or split among a committee.
    """

    def __init__(self, private_key: HybridKeyPair | X25519PrivateKey) -> None:
        """Use an existing private key; normally call :meth:`generate` or :meth:`unwrap`."""
        self._private_key = private_key

    @classmethod
    def generate(cls) -> TenderKey:
        """Create a new random hybrid tender key pair."""
        return cls(HybridKeyPair.generate())

    @classmethod
    def from_private_bytes(cls, raw: bytes) -> TenderKey:
        """Restore a key pair from :meth:`private_bytes`; its length tells its kind.

        :raises SealError: if ``raw`` is not a private key of either kind.
        """
        if len(raw) == PRIVATE_KEY_SIZE:
            return cls(HybridKeyPair.from_private_bytes(raw))
        if len(raw) == _KEY_SIZE:
            return cls(X25519PrivateKey.from_private_bytes(raw))
        raise SealError(
            f"a tender private key is {_KEY_SIZE} bytes (legacy X25519) or {PRIVATE_KEY_SIZE} "
            f"bytes (ML-KEM-768 seed and X25519), not {len(raw)}"
        )

    @property
    def format_version(self) -> int:
        """The sealed stream format this key seals and unseals: 2 for a hybrid key, 1 for a
        legacy X25519 key."""
        return _HYBRID if isinstance(self._private_key, HybridKeyPair) else _LEGACY

    def private_bytes(self) -> bytes:
        """The raw private key (96 or 32 bytes): secret. For wrapping it (:meth:`wrap`) or
        sharing it out."""
        if isinstance(self._private_key, HybridKeyPair):
            return self._private_key.private_bytes()
        return self._private_key.private_bytes_raw()

    @property
    def public_key_bytes(self) -> bytes:
        """The raw public key, to pass to :class:`Sealer` or :func:`seal`: 1216 bytes
        (ML-KEM-768 || X25519) for a hybrid key, 32 bytes for a legacy X25519 key."""
        if isinstance(self._private_key, HybridKeyPair):
            return self._private_key.public_key_bytes
        return self._private_key.public_key().public_bytes_raw()

    def wrap(self, platform_key: KeyWrapper, *, context: bytes) -> bytes:
        """Encrypt the private key under the platform key, for storage.

        The result is a format byte, 0x02 for a hybrid key and 0x01 for a legacy X25519 key,
        followed by what ``platform_key`` makes of the raw private key (:meth:`private_bytes`)
        with associated data ``"tender.storage tender key vN" || 0x00 || context``, N the
        format byte (for :class:`PlatformKey`: a random 12-byte nonce, the AES-256-GCM
        ciphertext and its 16-byte tag; 124 or 60 bytes).

        :param platform_key: the key-encryption key.
        :param context: what the key belongs to, typically the tender id. The same context is
            needed to unwrap, so a wrapped key copied to another tender's row does not open.
        """
        version = self.format_version
        wrapped = platform_key.wrap_secret(self.private_bytes(), _TENDER_KEY_AAD[version] + context)
        return bytes([version]) + wrapped

    @classmethod
    def unwrap(cls, wrapped: bytes, platform_key: KeyWrapper, *, context: bytes) -> TenderKey:
        """Recover a tender key from the output of :meth:`wrap`.

        :raises SealError: if ``wrapped`` is not a wrapped tender key, was altered, or was
            wrapped under another platform key or with another context.
        """
        if not wrapped or wrapped[0] not in _TENDER_KEY_AAD:
            raise SealError(
                "not a wrapped tender key: it does not start with format byte "
                f"{_HYBRID} or {_LEGACY}"
            )
        version = wrapped[0]
        key = cls.from_private_bytes(
            platform_key.unwrap_secret(wrapped[1:], _TENDER_KEY_AAD[version] + context)
        )
        if key.format_version != version:  # only a wrapper that lies could get here
            raise SealError(f"the wrapped tender key is not a {_KIND[version]} key")
        return key

    def __repr__(self) -> str:
        fingerprint = hashlib.sha256(self.public_key_bytes).hexdigest()[:16]
        return f"TenderKey(kind={_KIND[self.format_version]!r}, public_key_sha256={fingerprint!r})"


def _check_chunk_size(chunk_size: int) -> None:
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk size must be between 1 and {MAX_CHUNK_SIZE}, got {chunk_size}")


def _key_encryption_key(shared: bytes, ephemeral_public: bytes, recipient_public: bytes) -> AESGCM:
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=_KEY_SIZE,
        salt=ephemeral_public + recipient_public,
        info=_V1_WRAP_INFO,
    )
    return AESGCM(hkdf.derive(shared))


def format_for(recipient_public_key: bytes) -> int:
    """The format version that seals to ``recipient_public_key``, told by its length."""
    if len(recipient_public_key) == PUBLIC_KEY_SIZE:
        return _HYBRID
    if len(recipient_public_key) == _KEY_SIZE:
        return _LEGACY
    raise ValueError(
        f"a tender public key is {PUBLIC_KEY_SIZE} bytes (ML-KEM-768 + X25519) or {_KEY_SIZE} "
        f"bytes (legacy X25519), not {len(recipient_public_key)}"
    )


def _hybrid_header(
    recipient_public_key: bytes, chunk_size: int, data_key: bytes, nonce_prefix: bytes
) -> bytes:
    recipient = hybrid_public_key(recipient_public_key)
    prefix = _V2_PREFIX.pack(_MAGIC, _HYBRID, chunk_size, nonce_prefix)
    return prefix + SUITE.encrypt(data_key, recipient, info=_V2_WRAP_INFO + prefix)


def _legacy_header(
    recipient_public_key: bytes,
    chunk_size: int,
    ephemeral: X25519PrivateKey,
    data_key: bytes,
    nonce_prefix: bytes,
) -> bytes:
    recipient = X25519PublicKey.from_public_bytes(recipient_public_key)
    ephemeral_public = ephemeral.public_key().public_bytes_raw()
    prefix = _V1_PREFIX.pack(_MAGIC, _LEGACY, chunk_size, ephemeral_public, nonce_prefix)
    kek = _key_encryption_key(
        ephemeral.exchange(recipient), ephemeral_public, recipient.public_bytes_raw()
    )
    return prefix + kek.encrypt(_V1_WRAP_NONCE, data_key, prefix)


def _chunk_nonce(prefix: bytes, index: int, final: bool) -> bytes:
    return prefix + struct.pack(">IB", index, final)


class Sealer:
    """Seal a stream incrementally to a tender's public key.

    Feed plaintext to :meth:`update` in pieces of any size and write out what it returns;
    then write what :meth:`finalize` returns. The header is part of the first output.
    Between calls the sealer holds at most one chunk of plaintext, because only
    :meth:`finalize` knows which chunk is the last.

    Example::

        sealer = Sealer(tender_key.public_key_bytes)
        for piece in upload:
            out.write(sealer.update(piece))
        out.write(sealer.finalize())
    """

    def __init__(
        self,
        recipient_public_key: bytes,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        _random: Callable[[int], bytes] = os.urandom,
    ) -> None:
        """Start a new sealed stream with a fresh data key.

        :param recipient_public_key: the raw public key of the tender
            (:attr:`TenderKey.public_key_bytes`): 1216 bytes (ML-KEM-768 + X25519) seal in
            format version 2, 32 bytes (legacy X25519) in version 1.
        :param chunk_size: plaintext bytes per chunk, 1 to :data:`MAX_CHUNK_SIZE`.
        :param _random: source of the ephemeral key (version 1 only: HPKE makes its own), the
            data key and the nonce prefix, in that order. Only for known-answer tests; never
            pass it otherwise.
        :raises ValueError: if the public key is not a tender public key or the chunk size is
            out of range.
        """
        _check_chunk_size(chunk_size)
        if format_for(recipient_public_key) == _HYBRID:
            data_key = _random(_KEY_SIZE)
            nonce_prefix = _random(_NONCE_PREFIX_SIZE)
            self._header = _hybrid_header(recipient_public_key, chunk_size, data_key, nonce_prefix)
        else:
            ephemeral = X25519PrivateKey.from_private_bytes(_random(_KEY_SIZE))
            data_key = _random(_KEY_SIZE)
            nonce_prefix = _random(_NONCE_PREFIX_SIZE)
            self._header = _legacy_header(
                recipient_public_key, chunk_size, ephemeral, data_key, nonce_prefix
            )
        self._header_sent = False
        self._aead = AESGCM(data_key)
        self._nonce_prefix = nonce_prefix
        self._chunk_size = chunk_size
        self._buffer = bytearray()
        self._index = 0
        self._finalized = False

    @staticmethod
    def sealed_size(
        plaintext_size: int,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        *,
        recipient_public_key: bytes,
    ) -> int:
        """The exact number of bytes that sealing ``plaintext_size`` bytes to
        ``recipient_public_key`` produces.

        :raises ValueError: as the constructor does.
        """
        _check_chunk_size(chunk_size)
        chunks = max(1, -(-plaintext_size // chunk_size))
        header_size = HEADER_SIZES[format_for(recipient_public_key)]
        return header_size + plaintext_size + chunks * TAG_SIZE

    def update(self, data: bytes) -> bytes:
        """Add plaintext; return the sealed bytes that are ready (possibly none).

        :raises RuntimeError: if :meth:`finalize` was already called.
        """
        self._check_open()
        self._buffer += data
        out = [self._take_header()]
        # ">" rather than ">=": a full chunk is held back until more data shows it is not the
        # last one, because the final chunk must carry the final flag.
        while len(self._buffer) > self._chunk_size:
            out.append(self._seal_chunk(self._buffer[: self._chunk_size], final=False))
            del self._buffer[: self._chunk_size]
        return b"".join(out)

    def finalize(self) -> bytes:
        """Seal what is left as the final chunk and return the last sealed bytes.

        :raises RuntimeError: if called twice.
        """
        self._check_open()
        out = self._take_header() + self._seal_chunk(self._buffer, final=True)
        self._buffer.clear()
        self._finalized = True
        return out

    def _check_open(self) -> None:
        if self._finalized:
            raise RuntimeError("this Sealer is finalized; start a new one for another stream")

    def _take_header(self) -> bytes:
        if self._header_sent:
            return b""
        self._header_sent = True
        return self._header

    def _seal_chunk(self, chunk: bytearray, *, final: bool) -> bytes:
        if self._index >= _MAX_CHUNKS:
            raise ValueError(f"a sealed stream holds at most {_MAX_CHUNKS} chunks")
        nonce = _chunk_nonce(self._nonce_prefix, self._index, final)
        self._index += 1
        return self._aead.encrypt(nonce, chunk, self._header)


class Unsealer:
    """Unseal a stream incrementally with the tender's key.

    Feed sealed bytes to :meth:`update` in pieces of any size; it returns plaintext only once
    the chunk holding it has been authenticated. :meth:`finalize` authenticates and returns
    the final chunk, and is what proves the stream was complete: plaintext already returned
    is genuine but may be a prefix until :meth:`finalize` succeeds. Memory held is at most
    one chunk record plus the piece being fed.

    :raises SealError: from :meth:`update` or :meth:`finalize`, as soon as anything is wrong.
    """

    def __init__(self, tender_key: TenderKey) -> None:
        """Prepare to unseal a stream that was sealed to ``tender_key``'s public key."""
        self._tender_key = tender_key
        self._buffer = bytearray()
        self._header = b""
        self._aead: AESGCM | None = None
        self._nonce_prefix = b""
        self._record_size = 0
        self._index = 0
        self._finalized = False

    def update(self, data: bytes) -> bytes:
        """Add sealed bytes; return the plaintext of every chunk completed and authenticated.

        :raises SealError: if the header or a chunk fails its checks.
        :raises RuntimeError: if :meth:`finalize` was already called.
        """
        if self._finalized:
            raise RuntimeError("this Unsealer is finalized; start a new one for another stream")
        self._buffer += data
        if self._aead is None:
            header_size = self._header_size()
            if header_size is None or len(self._buffer) < header_size:
                return b""
            self._open_header(bytes(self._buffer[:header_size]))
            del self._buffer[:header_size]
        out = []
        # A full record is held back until more data shows it is not the final one.
        while len(self._buffer) > self._record_size:
            out.append(self._open_chunk(self._buffer[: self._record_size], final=False))
            del self._buffer[: self._record_size]
        return b"".join(out)

    def finalize(self) -> bytes:
        """Authenticate the final chunk and return its plaintext.

        :raises SealError: if the stream ended early or its last chunk is not the final one.
        :raises RuntimeError: if called twice.
        """
        if self._finalized:
            raise RuntimeError("this Unsealer is already finalized")
        if self._aead is None:
            raise SealError(
                f"truncated: the stream ended inside the header, after {len(self._buffer)} "
                f"bytes (a header is {HEADER_SIZES[self._tender_key.format_version]} bytes)"
            )
        if len(self._buffer) < TAG_SIZE:
            raise SealError(
                f"truncated: the stream ends {len(self._buffer)} bytes into chunk {self._index}, "
                f"too short for a chunk ({TAG_SIZE} bytes at least); the final chunk is missing"
            )
        out = self._open_chunk(self._buffer, final=True)
        self._buffer.clear()
        self._finalized = True
        return out

    def _header_size(self) -> int | None:
        """The length of the header, once the bytes that tell it have arrived.

        :raises SealError: if the stream is not a sealed stream, is of an unknown version, or
            of a version the tender key cannot open.
        """
        if len(self._buffer) < _PREAMBLE.size:
            return None
        magic, version = _PREAMBLE.unpack_from(self._buffer)
        if magic != _MAGIC:
            raise SealError(f"not a sealed stream: it starts with {magic!r}, not {_MAGIC!r}")
        if version not in HEADER_SIZES:
            raise SealError(
                f"unsupported sealed stream format version {version}: this platform reads "
                f"versions {_LEGACY} and {_HYBRID}; the stream is damaged or from a newer one"
            )
        expected = self._tender_key.format_version
        if version != expected:
            raise SealError(
                f"the stream was sealed to another tender key: it is in format version "
                f"{version}, sealed to a {_KIND[version]} key, and the tender key given is a "
                f"{_KIND[expected]} key, which opens format version {expected} only; unseal it "
                "with the key of the tender it was submitted to"
            )
        return HEADER_SIZES[version]

    def _open_header(self, header: bytes) -> None:
        version, chunk_size = struct.unpack_from(">BI", header, len(_MAGIC))
        if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
            raise SealError(f"bad header: chunk size {chunk_size} is out of range")
        if version == _HYBRID:
            data_key, nonce_prefix = self._open_hybrid_header(header)
        else:
            data_key, nonce_prefix = self._open_legacy_header(header)
        self._header = header
        self._aead = AESGCM(data_key)
        self._nonce_prefix = nonce_prefix
        self._record_size = chunk_size + TAG_SIZE

    def _open_hybrid_header(self, header: bytes) -> tuple[bytes, bytes]:
        prefix = header[: _V2_PREFIX.size]
        *_, nonce_prefix = _V2_PREFIX.unpack(prefix)
        hybrid = self._tender_key._private_key
        assert isinstance(hybrid, HybridKeyPair)  # the version was checked against the key
        try:
            data_key = SUITE.decrypt(
                header[_V2_PREFIX.size :], hybrid.hpke_private_key, info=_V2_WRAP_INFO + prefix
            )
        except (InvalidTag, ValueError):
            raise _data_key_refused() from None
        return data_key, nonce_prefix

    def _open_legacy_header(self, header: bytes) -> tuple[bytes, bytes]:
        prefix = header[: _V1_PREFIX.size]
        *_, ephemeral_public, nonce_prefix = _V1_PREFIX.unpack(prefix)
        legacy = self._tender_key._private_key
        assert isinstance(legacy, X25519PrivateKey)  # the version was checked against the key
        try:
            shared = legacy.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
        except ValueError:  # a low-order point gives an all-zero secret, which is refused
            raise SealError("bad header: the ephemeral public key is invalid") from None
        kek = _key_encryption_key(shared, ephemeral_public, self._tender_key.public_key_bytes)
        try:
            data_key = kek.decrypt(_V1_WRAP_NONCE, header[_V1_PREFIX.size :], prefix)
        except InvalidTag:
            raise _data_key_refused() from None
        return data_key, nonce_prefix

    def _open_chunk(self, record: bytearray, *, final: bool) -> bytes:
        assert self._aead is not None  # the header is opened before any chunk
        try:
            plaintext = self._aead.decrypt(
                _chunk_nonce(self._nonce_prefix, self._index, final), record, self._header
            )
        except InvalidTag:
            raise SealError(self._diagnose(record, final=final)) from None
        self._index += 1
        return plaintext

    def _diagnose(self, record: bytearray, *, final: bool) -> str:
        """Say why chunk ``self._index`` failed, by checking it with the opposite final flag."""
        assert self._aead is not None
        try:
            self._aead.decrypt(
                _chunk_nonce(self._nonce_prefix, self._index, not final), record, self._header
            )
        except InvalidTag:
            return (
                f"chunk {self._index} failed authentication: its bytes were altered, or chunks "
                "were reordered or removed"
            )
        if final:
            return (
                f"truncated: the stream ends after chunk {self._index}, which is not the final "
                "chunk; the chunks after it are missing"
            )
        return f"extended: chunk {self._index} is the final chunk, but more data follows it"


def _data_key_refused() -> SealError:
    return SealError(
        "the data key does not unwrap: the stream was sealed to another tender key, or its "
        "header was altered"
    )


def seal(
    chunks: Iterable[bytes],
    recipient_public_key: bytes,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Iterator[bytes]:
    """Seal a stream of plaintext pieces; yield the sealed bytes as they become ready.

    A convenience wrapper around :class:`Sealer`; see it for the parameters.
    """
    sealer = Sealer(recipient_public_key, chunk_size=chunk_size)
    for piece in chunks:
        out = sealer.update(piece)
        if out:
            yield out
    yield sealer.finalize()


def unseal(chunks: Iterable[bytes], tender_key: TenderKey) -> Iterator[bytes]:
    """Unseal a stream of sealed pieces; yield authenticated plaintext as it becomes ready.

    A convenience wrapper around :class:`Unsealer`. The generator raises :class:`SealError`
    when it meets a problem, possibly after yielding the genuine plaintext before it; only a
    generator that runs to the end has proven the stream complete.
    """
    unsealer = Unsealer(tender_key)
    for piece in chunks:
        out = unsealer.update(piece)
        if out:
            yield out
    out = unsealer.finalize()
    if out:
        yield out


SEALED_PREFIX_SIZE = len(_MAGIC) + 1
"""Bytes :func:`looks_sealed` needs: the magic and the format version."""


def looks_sealed(start: bytes, recipient_public_key: bytes) -> bool:
    """Whether a stream starting with ``start`` (its first :data:`SEALED_PREFIX_SIZE` bytes or
    more) is a sealed stream of the format that seals to ``recipient_public_key``, by its magic
    and version: a cheap check to refuse anything else before storing it. It proves nothing of
    the rest; only unsealing does."""
    expected = _MAGIC + bytes([format_for(recipient_public_key)])
    return start[:SEALED_PREFIX_SIZE] == expected
