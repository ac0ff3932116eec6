"""An opening committee's cryptography: a secret split k of n, each share sealed to a member.

A committee tender's private key is never stored whole. When the tender is created the key
is split with Shamir's secret sharing (:func:`split_secret`) into one share per committee
member, any ``quorum`` of which give the key back (:func:`combine_shares`) and fewer of which
tell nothing about it. Each share is encrypted to its member's own key pair
(:func:`encrypt_share`, RFC 9180 HPKE with the hybrid post-quantum KEM ML-KEM-768 + X25519),
and a commitment to it (:meth:`HeldShare.commitment`) is published, so that a share released
later is checked against what was dealt and a wrong one is detected and its member named. The
member's private key lives in a file of their own, encrypted under their passphrase
(:class:`MemberKey`, :meth:`MemberKey.to_file`).

Nothing here knows of databases or people: secrets are bytes of any length (a tender key's
raw private half, whatever its type), members are their public keys, and ``context`` bytes
(:func:`share_context`) bind each share to the tender, the key and the member it was dealt
for.

Splitting
---------
pycryptodome's :class:`Crypto.Protocol.SecretSharing.Shamir` shares a 16-byte secret over
GF(2^128). A longer secret is first encoded as ``uint16(len(secret)) || secret`` padded with
zero bytes to a multiple of 16, then each 16-byte block is split on its own, with the same
share indices 1..n; a member's share value is its shares of the blocks, in block order.
Combining fewer than ``quorum`` shares gives a wrong secret without any error from the
arithmetic: :func:`combine_shares` refuses what does not decode as an encoded secret, and the
caller must check what comes out (a tender key must give the tender's public key).

Held share, format version 1 (what is encrypted to a member, and what they release)::

    offset  size    field
         0     1    format version, 0x01
         1     1    share index i, 1..255 (the point x = i of the sharing polynomials)
         2    32    salt: random, so that the commitment tells nothing of the share
        34  16*m    value: the share of each of the m blocks, 16 bytes each

Commitment (hex)::

    SHA-256("tender.storage committee share v1" || 0x00 || uint32(len(context)) || context
            || held share)

Encrypted share, format version 1::

    0x01 || HPKE base mode single-shot encryption of the held share
            suite: KEM ML-KEM-768+X25519, KDF HKDF-SHA256, AEAD AES-256-GCM
            info:  "tender.storage committee share v1" || 0x00 || context

The member public key is ``ML-KEM-768 public key (1184 bytes) || X25519 public key (32
bytes)``; the private key is the 64-byte ML-KEM seed followed by the 32-byte X25519 key.

Member key file, format ``tender-committee-key/1``: UTF-8 JSON with the public key, the
parameters of Argon2id (RFC 9106) that derive a 32-byte key from the passphrase and a random
16-byte salt, and the private key encrypted with AES-256-GCM under that key (random 12-byte
nonce) with associated data the file's other fields, JSON-encoded with sorted keys and no
spaces: a wrong passphrase and any change to the file both fail to open it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from argon2.low_level import Type, hash_secret_raw
from Crypto.Protocol.SecretSharing import Shamir
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hpke import MLKEM768X25519PublicKey

from tender.storage.hpke import SUITE, HybridKeyPair, hybrid_public_key

__all__ = [
    "KEY_FILE_FORMAT",
    "MAX_SHARES",
    "HeldShare",
    "KeyFileCost",
    "KeyFileError",
    "MemberKey",
    "ShareError",
    "combine_shares",
    "decrypt_share",
    "encrypt_share",
    "member_public_key",
    "public_key_fingerprint",
    "share_context",
    "split_secret",
]

MAX_SHARES = 255
"""Share indices are the points 1..255 (one byte in the held share's format)."""
KEY_FILE_FORMAT = "tender-committee-key/1"

_BLOCK = 16
_SALT_SIZE = 32
_SHARE_VERSION = 1
_SHARE_HEADER = struct.Struct(">BB32s")  # version, index, salt
_LENGTH = struct.Struct(">H")
_DOMAIN = b"tender.storage committee share v1\x00"
_ENCRYPTED_VERSION = 1
_KEY_FILE_SALT_SIZE = 16
# Bounds on the cost a key file may ask for, so that a damaged file cannot make opening it
# take all the memory or all day.
_MAX_TIME_COST = 20
_MAX_MEMORY_KIB = 4 * 1024 * 1024
_MAX_PARALLELISM = 16


class ShareError(Exception):
    """A share, or a set of shares, cannot be used; the message says why."""


class KeyFileError(Exception):
    """A member key file cannot be opened: not one, damaged, or the passphrase is wrong."""


def share_context(*, tender_id: str, key_name: str, member_id: str) -> bytes:
    """What a share is bound to: the tender, which of its keys (``"tender"``; a two-envelope
    tender's financial key has another name), and the member it was dealt to. Each part is
    length-prefixed, so no two different triples give the same bytes."""
    return b"".join(_length_prefixed(part.encode()) for part in (tender_id, key_name, member_id))


def _length_prefixed(part: bytes) -> bytes:
    return struct.pack(">I", len(part)) + part


@dataclass(frozen=True)
class HeldShare:
    """One member's share of a secret: its index, a salt for its commitment, and the value."""

    index: int
    salt: bytes
    value: bytes

    def __post_init__(self) -> None:
        if not 1 <= self.index <= MAX_SHARES:
            raise ShareError(f"a share index is 1 to {MAX_SHARES}, not {self.index}")
        if len(self.salt) != _SALT_SIZE:
            raise ShareError(f"a share's salt is {_SALT_SIZE} bytes, not {len(self.salt)}")
        if not self.value or len(self.value) % _BLOCK:
            raise ShareError(
                f"a share's value is a whole number of {_BLOCK}-byte blocks, not "
                f"{len(self.value)} bytes"
            )

    def to_bytes(self) -> bytes:
        """The held share in format version 1 (see the module's documentation)."""
        return _SHARE_HEADER.pack(_SHARE_VERSION, self.index, self.salt) + self.value

    @classmethod
    def from_bytes(cls, raw: bytes) -> HeldShare:
        """Read :meth:`to_bytes`' output.

        :raises ShareError: if ``raw`` is not a held share of format version 1.
        """
        if len(raw) < _SHARE_HEADER.size + _BLOCK:
            raise ShareError(
                f"not a share: {len(raw)} bytes is too short for one "
                f"({_SHARE_HEADER.size + _BLOCK} at least)"
            )
        version, index, salt = _SHARE_HEADER.unpack_from(raw)
        if version != _SHARE_VERSION:
            raise ShareError(f"unknown share format version {version}")
        return cls(index, salt, raw[_SHARE_HEADER.size :])

    def commitment(self, context: bytes) -> str:
        """The commitment to this share for ``context`` (hex SHA-256): published when the share
        is dealt, checked when it is released. The salt keeps it from telling anything of the
        share, even to members who together hold fewer than the quorum."""
        digest = hashlib.sha256(_DOMAIN + _length_prefixed(context) + self.to_bytes())
        return digest.hexdigest()

    def __repr__(self) -> str:  # never print a share's value
        return f"HeldShare(index={self.index}, blocks={len(self.value) // _BLOCK})"


def split_secret(secret: bytes, *, quorum: int, shares: int) -> list[HeldShare]:
    """Split ``secret`` into ``shares`` shares (indices 1..shares), any ``quorum`` of which
    give it back (:func:`combine_shares`), each with a fresh random salt.

    :raises ShareError: unless 1 <= quorum <= shares <= MAX_SHARES, and ``secret`` is at most
        65535 bytes.
    """
    if not 1 <= quorum <= shares <= MAX_SHARES:
        raise ShareError(
            f"cannot split into {shares} shares with a quorum of {quorum}: the quorum must be "
            f"at least 1 and at most the number of shares, which is at most {MAX_SHARES}"
        )
    if len(secret) > 0xFFFF:
        raise ShareError(f"a shared secret is at most 65535 bytes, not {len(secret)}")
    encoded = _LENGTH.pack(len(secret)) + secret
    encoded += bytes(-len(encoded) % _BLOCK)
    values = [bytearray() for _ in range(shares)]
    for start in range(0, len(encoded), _BLOCK):
        block_shares = Shamir.split(quorum, shares, encoded[start : start + _BLOCK])
        for position, (index, value) in enumerate(block_shares):
            assert index == position + 1  # pycryptodome numbers the shares 1..n in order
            values[position] += value
    return [
        HeldShare(index=position + 1, salt=secrets.token_bytes(_SALT_SIZE), value=bytes(value))
        for position, value in enumerate(values)
    ]


def combine_shares(shares: Sequence[HeldShare]) -> bytes:
    """The secret that ``shares`` (exactly the quorum of them, distinct indices) give.

    Fewer shares than the quorum give a wrong secret, usually one that does not decode, which
    is refused; one that happens to decode is returned, so the caller must check the result
    against something public (a tender key against the tender's public key).

    :raises ShareError: if there are no shares, two have the same index, their lengths
        differ, or they do not combine to an encoded secret.
    """
    if not shares:
        raise ShareError("no shares to combine")
    indices = [share.index for share in shares]
    if len(set(indices)) != len(indices):
        raise ShareError(f"two shares have the same index (indices {sorted(indices)})")
    size = len(shares[0].value)
    if any(len(share.value) != size for share in shares):
        raise ShareError("the shares are of different lengths: they are not of one secret")
    encoded = b"".join(
        Shamir.combine([(share.index, share.value[start : start + _BLOCK]) for share in shares])
        for start in range(0, size, _BLOCK)
    )
    (length,) = _LENGTH.unpack_from(encoded)
    end = _LENGTH.size + length
    if end > len(encoded) or any(encoded[end:]):
        raise ShareError(
            "the shares do not combine to a secret: fewer than the quorum were given, or they "
            "are not all shares of one secret"
        )
    return encoded[_LENGTH.size : end]


def encrypt_share(share: HeldShare, public_key: bytes, *, context: bytes) -> bytes:
    """``share`` encrypted to the member whose public key is ``public_key`` (see
    :attr:`MemberKey.public_key_bytes`), bound to ``context``.

    :raises ShareError: if ``public_key`` is not a member public key.
    """
    encrypted = SUITE.encrypt(
        share.to_bytes(), member_public_key(public_key), info=_DOMAIN + context
    )
    return bytes([_ENCRYPTED_VERSION]) + encrypted


def decrypt_share(encrypted: bytes, member_key: MemberKey, *, context: bytes) -> HeldShare:
    """The share :func:`encrypt_share` encrypted to ``member_key``'s public key for
    ``context``.

    :raises ShareError: if it was encrypted to another key or for another context, altered,
        or is not an encrypted share.
    """
    if not encrypted or encrypted[0] != _ENCRYPTED_VERSION:
        raise ShareError(
            f"not an encrypted share: it does not start with format byte {_ENCRYPTED_VERSION}"
        )
    try:
        plaintext = SUITE.decrypt(
            encrypted[1:], member_key.hpke_private_key, info=_DOMAIN + context
        )
    except (InvalidTag, ValueError):
        raise ShareError(
            f"the share does not decrypt with member key {member_key.fingerprint[:16]}: it was "
            "encrypted to another member's key, for another tender or key, or altered"
        ) from None
    return HeldShare.from_bytes(plaintext)


def member_public_key(raw: bytes) -> MLKEM768X25519PublicKey:
    """The HPKE public key in ``raw`` (:attr:`MemberKey.public_key_bytes`).

    :raises ShareError: if ``raw`` is not a member public key.
    """
    try:
        return hybrid_public_key(raw)
    except ValueError as exc:
        raise ShareError(f"not a member public key: {exc}") from None


def public_key_fingerprint(public_key: bytes) -> str:
    """The SHA-256 (hex) of a member public key: how people and the log tell keys apart."""
    return hashlib.sha256(public_key).hexdigest()


@dataclass(frozen=True)
class KeyFileCost:
    """What Argon2id spends on a passphrase (RFC 9106, section 4, the second recommended
    option by default: 3 passes over 64 MiB, 4 lanes). Tests may lower it."""

    time_cost: int = 3
    memory_cost_kib: int = 64 * 1024
    parallelism: int = 4


class MemberKey(HybridKeyPair):
    """A committee member's key pair: ML-KEM-768 and X25519, for HPKE's hybrid KEM.

    The private half stays with the member, in a file encrypted under their passphrase
    (:meth:`save`, :meth:`load`); the platform is given only :attr:`public_key_bytes`.
    """

    @classmethod
    def from_private_bytes(cls, raw: bytes) -> Self:
        """:raises KeyFileError: if ``raw`` is not :meth:`private_bytes`' output."""
        try:
            return super().from_private_bytes(raw)
        except ValueError as exc:
            raise KeyFileError(f"not a member private key: {exc}") from None

    @property
    def fingerprint(self) -> str:
        """:func:`public_key_fingerprint` of this key."""
        return public_key_fingerprint(self.public_key_bytes)

    def __repr__(self) -> str:
        return f"MemberKey(fingerprint={self.fingerprint[:16]!r})"

    def to_file(self, passphrase: str, *, cost: KeyFileCost | None = None) -> bytes:
        """The key file's bytes: the private key encrypted under ``passphrase``."""
        if not passphrase:
            raise KeyFileError(
                "a member key file needs a passphrase; an empty one protects nothing"
            )
        cost = cost or KeyFileCost()
        header: dict[str, Any] = {
            "format": KEY_FILE_FORMAT,
            "public_key": _b64(self.public_key_bytes),
            "fingerprint": self.fingerprint,
            "kdf": {
                "algorithm": "argon2id",
                "salt": _b64(secrets.token_bytes(_KEY_FILE_SALT_SIZE)),
                "time_cost": cost.time_cost,
                "memory_cost_kib": cost.memory_cost_kib,
                "parallelism": cost.parallelism,
            },
            "cipher": "AES-256-GCM",
            "nonce": _b64(secrets.token_bytes(12)),
        }
        encrypted = AESGCM(_passphrase_key(passphrase, header["kdf"])).encrypt(
            _unb64(header["nonce"]), self.private_bytes(), _associated_data(header)
        )
        document = {**header, "encrypted_private_key": _b64(encrypted)}
        return (json.dumps(document, indent=2) + "\n").encode()

    @classmethod
    def from_file(cls, data: bytes, passphrase: str) -> MemberKey:
        """The key in a key file's bytes.

        :raises KeyFileError: if it is not a member key file, was altered, or ``passphrase`` is
            not the one it was saved with.
        """
        try:
            document = json.loads(data)
            if not isinstance(document, dict) or document.get("format") != KEY_FILE_FORMAT:
                raise KeyFileError(f"not a member key file (format {KEY_FILE_FORMAT})")
            header = {
                name: value for name, value in document.items() if name != "encrypted_private_key"
            }
            kdf = header["kdf"]
            aead = AESGCM(_passphrase_key(passphrase, kdf))
            raw = aead.decrypt(
                _unb64(header["nonce"]),
                _unb64(document["encrypted_private_key"]),
                _associated_data(header),
            )
        except InvalidTag:
            raise KeyFileError(
                "the passphrase is not the one this key file was saved with, or the file was "
                "altered"
            ) from None
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise KeyFileError(f"not a readable member key file ({exc})") from None
        key = cls.from_private_bytes(raw)
        if _b64(key.public_key_bytes) != header["public_key"]:
            raise KeyFileError("the key file's public key is not its private key's")
        return key

    def save(self, path: Path, passphrase: str, *, cost: KeyFileCost | None = None) -> None:
        """Write the key file to ``path``, readable by its owner only; never over a file that
        exists (a member key replaced is every share dealt to it lost)."""
        data = self.to_file(passphrase, cost=cost)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())

    @classmethod
    def load(cls, path: Path, passphrase: str) -> MemberKey:
        """:raises KeyFileError: see :meth:`from_file`; ``OSError`` if it cannot be read."""
        return cls.from_file(path.read_bytes(), passphrase)


def _passphrase_key(passphrase: str, kdf: dict[str, Any]) -> bytes:
    if kdf.get("algorithm") != "argon2id":
        raise KeyFileError(f"unknown key derivation {kdf.get('algorithm')!r}; argon2id expected")
    time_cost, memory, lanes = kdf["time_cost"], kdf["memory_cost_kib"], kdf["parallelism"]
    if not (
        isinstance(time_cost, int)
        and isinstance(memory, int)
        and isinstance(lanes, int)
        and 1 <= time_cost <= _MAX_TIME_COST
        and 1 <= lanes <= _MAX_PARALLELISM
        and 8 * lanes <= memory <= _MAX_MEMORY_KIB
    ):
        raise KeyFileError(f"the key file asks for Argon2id costs out of bounds: {kdf}")
    return hash_secret_raw(
        passphrase.encode(),
        _unb64(kdf["salt"]),
        time_cost=time_cost,
        memory_cost=memory,
        parallelism=lanes,
        hash_len=32,
        type=Type.ID,
    )


def _associated_data(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)
