"""Signed tree heads of the audit log: C2SP ``tlog-checkpoint`` in a C2SP ``signed-note``.

The platform signs the head of its RFC 9162 Merkle tree (see :mod:`tender.audit.merkle`) with an
Ed25519 key, so that an auditor holding only the platform's *verifier key* can check a tree head
offline, with any implementation of the two public formats:

* `c2sp.org/tlog-checkpoint <https://c2sp.org/tlog-checkpoint>`_ ("Note text"): the signed text
  is the origin line, the decimal tree size, the base64 root hash and optional extension lines,
  each ending in a newline -- :class:`Checkpoint`;
* `c2sp.org/signed-note <https://c2sp.org/signed-note>`_ ("Format", "Signatures", "Ed25519
  signatures"): the text, a blank line, then signature lines
  ``— <key name> base64(key ID || signature)`` -- :class:`NoteSigner` and :class:`NoteVerifier`.

The reference implementation is ``golang.org/x/mod/sumdb/note``; its published keys and
signatures are this module's test vectors, and the verifier key string is its format
``<name>+<8 hex digits of key ID>+base64(0x01 || 32-byte public key)``.

Everything that fails raises :class:`CheckpointError` (a :class:`ValueError`) whose message names
the rule that was broken. Only Ed25519 (signature type ``0x01``) is supported, as the signed-note
specification recommends ("implementations SHOULD select only the one(s) required").
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from typing import Final, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "ALG_ED25519",
    "MAX_SIGNATURES",
    "Checkpoint",
    "CheckpointError",
    "Ed25519Key",
    "NoteSigner",
    "NoteVerifier",
    "key_id",
    "sign_checkpoint",
    "verify_checkpoint",
]

ALG_ED25519: Final = 0x01
"""Signature type identifier byte of Ed25519 (signed-note, "Signature types")."""

MAX_SIGNATURES: Final = 100
"""Most signature lines :meth:`NoteVerifier.verify` reads (signed-note, "Format": verifiers SHOULD
limit the number and MUST accept at least 16; 100 is the limit of golang.org/x/mod/sumdb/note)."""

HASH_SIZE: Final = 32
"""Size of an RFC 6962 / RFC 9162 root hash (SHA-256)."""

MAX_TREE_SIZE: Final = 2**64 - 1
"""Largest tree size: RFC 9162 §4.10 carries ``tree_size`` as a uint64."""

_SIG_PREFIX: Final = "\u2014 "  # em dash, space (signed-note, "Format")
_ED25519_PUBLIC_SIZE: Final = 32
_ED25519_SIGNATURE_SIZE: Final = 64
_KEY_ID_SIZE: Final = 4
_SIZE_RE: Final = re.compile(r"0|[1-9][0-9]{0,19}")  # ASCII decimal, no leading zeroes
_HEX_ID_RE: Final = re.compile(r"[0-9a-f]{8}")


class CheckpointError(ValueError):
    """A checkpoint, a note, a key or a signature is malformed or fails verification.

    The message names the check that failed.
    """


# --- helpers ---------------------------------------------------------------------------------


def _check_utf8(text: str, what: str) -> None:
    """Signed notes MUST be valid UTF-8 (signed-note, "Format"); a ``str`` may hold surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CheckpointError(
            f"{what} is not valid UTF-8 (lone surrogate at offset {exc.start})"
        ) from None


def _check_controls(text: str, what: str, *, allow_newline: bool) -> None:
    """Reject ASCII control characters but newline (signed-note, "Format": MUST NOT contain)."""
    for offset, ch in enumerate(text):
        if ch < " " and not (allow_newline and ch == "\n"):
            raise CheckpointError(
                f"{what} contains control character U+{ord(ch):04X} at offset {offset}"
            )


def _check_key_name(name: str) -> None:
    """Key names MUST be non-empty, without Unicode spaces or ``+`` (signed-note, "Format")."""
    if not isinstance(name, str) or not name:
        raise CheckpointError("key name must be a non-empty string")
    _check_utf8(name, "key name")
    for ch in name:
        if ch.isspace():
            raise CheckpointError(f"key name {name!r} contains a space (U+{ord(ch):04X})")
        if ch == "+":
            raise CheckpointError(f"key name {name!r} contains '+'")
    _check_controls(name, f"key name {name!r}", allow_newline=False)


def _b64decode(text: str, what: str) -> bytes:
    """Decode standard base64 (RFC 4648 §4), strictly: padded, canonical, nothing else."""
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise CheckpointError(f"{what} is not valid base64: {text!r}") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise CheckpointError(f"{what} is not canonical base64: {text!r}")
    return raw


def _b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def key_id(name: str, public_key: bytes) -> bytes:
    """The 4-byte key ID of an Ed25519 key (signed-note, "Ed25519 signatures").

    ``SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4]``; shown as 8 hex digits, it is
    the middle field of a verifier key and the first 4 bytes of every signature.
    """
    data = name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + public_key
    return hashlib.sha256(data).digest()[:_KEY_ID_SIZE]


def _key_label(name: str, kid: bytes) -> str:
    return f"{name}+{kid.hex()}"


# --- checkpoint --------------------------------------------------------------------------------


def _check_line(value: str, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise CheckpointError(f"{what} must be a non-empty string")
    if "\n" in value:
        raise CheckpointError(f"{what} contains a newline")
    _check_utf8(value, what)
    _check_controls(value, what, allow_newline=False)


@dataclass(frozen=True)
class Checkpoint:
    """A tree head as the note text of c2sp.org/tlog-checkpoint ("Note text").

    ``origin`` identifies the log (item 1: non-empty; the origin is otherwise opaque, so spaces
    and ``+`` are accepted although the specification recommends against them); ``size`` is the
    number of leaves (item 2); ``root`` the 32-byte RFC 9162 root hash of that many leaves (item
    3); ``extensions`` the optional, opaque, non-empty extension lines (item 4). Construction
    validates every field, so :meth:`body` always yields text that :meth:`parse` accepts.
    """

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.origin, "checkpoint origin")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise CheckpointError(f"checkpoint size must be an int, not {type(self.size).__name__}")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointError(f"checkpoint size {self.size} is outside 0..2**64-1")
        if not isinstance(self.root, bytes) or len(self.root) != HASH_SIZE:
            length = len(self.root) if isinstance(self.root, bytes) else type(self.root).__name__
            raise CheckpointError(f"checkpoint root must be {HASH_SIZE} bytes, got {length}")
        # A list passed at run time becomes a tuple, so the checkpoint stays hashable.
        object.__setattr__(self, "extensions", tuple(self.extensions))
        for number, line in enumerate(self.extensions, start=4):
            _check_line(line, f"checkpoint extension line {number}")

    def body(self) -> str:
        """The note text: origin, size, base64 root, extension lines, each ending in ``\\n``."""
        lines = [self.origin, str(self.size), _b64encode(self.root), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint note text (tlog-checkpoint, "Note text"), strictly.

        The text must be at least three non-empty lines, each ending in a newline; the size must be
        ASCII decimal without leading zeroes; the root canonical base64 of 32 bytes. Raises
        :class:`CheckpointError` naming the first rule broken.
        """
        if not isinstance(text, str):
            raise CheckpointError(f"checkpoint text must be a str, not {type(text).__name__}")
        _check_utf8(text, "checkpoint text")
        _check_controls(text, "checkpoint text", allow_newline=True)
        if not text.endswith("\n"):
            raise CheckpointError("checkpoint text does not end with a newline")
        lines = text[:-1].split("\n")
        for number, line in enumerate(lines, start=1):
            if not line:
                raise CheckpointError(f"checkpoint line {number} is empty")
        if len(lines) < 3:
            raise CheckpointError(
                f"checkpoint has {len(lines)} line(s); it needs origin, tree size and root hash"
            )
        origin, size_text, root_text, *extensions = lines
        if not _SIZE_RE.fullmatch(size_text):
            raise CheckpointError(
                f"checkpoint tree size {size_text!r} is not a decimal number without leading zeroes"
            )
        size = int(size_text)
        if size > MAX_TREE_SIZE:
            raise CheckpointError(f"checkpoint tree size {size} exceeds 2**64-1")
        root = _b64decode(root_text, "checkpoint root hash")
        if len(root) != HASH_SIZE:
            raise CheckpointError(f"checkpoint root hash is {len(root)} bytes, not {HASH_SIZE}")
        return cls(origin=origin, size=size, root=root, extensions=tuple(extensions))


# --- signed notes ------------------------------------------------------------------------------


class Ed25519Key(Protocol):
    """An Ed25519 private key that signs, wherever it is kept.

    A ``cryptography`` :class:`Ed25519PrivateKey` in memory is one; a key that never leaves a
    PKCS#11 token (:class:`tender.storage.tokens.TokenEd25519Key`) is another.
    """

    def public_key(self) -> Ed25519PublicKey:
        """The public half."""
        ...

    def sign(self, data: bytes) -> bytes:
        """The 64-byte Ed25519 (RFC 8032, pure) signature over ``data``."""
        ...


class NoteSigner:
    """Signs notes with an Ed25519 key under a key name (signed-note, "Ed25519 signatures").

    Keep the private key secret; publish :meth:`verifier_key`. The key may be in memory
    (:meth:`generate`, :meth:`from_private_bytes`: the 32-byte RFC 8032 private key, the seed)
    or anything else that signs as an :class:`Ed25519Key`, such as a key in a token.
    """

    def __init__(self, name: str, private_key: Ed25519Key) -> None:
        _check_key_name(name)
        self._name = name
        self._private_key = private_key
        self._public = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self._key_id = key_id(name, self._public)

    @classmethod
    def generate(cls, name: str) -> NoteSigner:
        """A signer with a fresh random Ed25519 key."""
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_private_bytes(cls, name: str, raw: bytes) -> NoteSigner:
        """A signer with the 32-byte RFC 8032 private key (seed) ``raw``, held in memory."""
        if not isinstance(raw, bytes) or len(raw) != 32:
            raise CheckpointError("Ed25519 private key must be 32 bytes")
        return cls(name, Ed25519PrivateKey.from_private_bytes(raw))

    @property
    def key(self) -> Ed25519Key:
        """The private key, for other signatures made with it (receipts)."""
        return self._private_key

    @property
    def name(self) -> str:
        """The key name written in signature lines."""
        return self._name

    @property
    def key_id(self) -> bytes:
        """The 4-byte key ID, ``SHA-256(name || 0x0A || 0x01 || public key)[:4]``."""
        return self._key_id

    @property
    def public_key(self) -> bytes:
        """The 32-byte Ed25519 public key."""
        return self._public

    def verifier_key(self) -> str:
        """The verifier key to publish: ``name+<hex key ID>+base64(0x01 || public key)``."""
        return NoteVerifier(self._name, self._public).verifier_key()

    def sign(self, text: str) -> str:
        """Sign ``text`` and return the signed note (signed-note, "Format" and "Signatures").

        The note is ``text``, a blank line and ``— <name> base64(key ID || Ed25519 signature)``
        with a final newline; the signature is over the UTF-8 bytes of ``text``, which must end
        in a newline and hold no control character other than newline.
        """
        if not isinstance(text, str):
            raise CheckpointError(f"note text must be a str, not {type(text).__name__}")
        _check_utf8(text, "note text")
        _check_controls(text, "note text", allow_newline=True)
        if not text.endswith("\n"):
            raise CheckpointError("note text does not end with a newline")
        signature = self._private_key.sign(text.encode("utf-8"))
        return f"{text}\n{_SIG_PREFIX}{self._name} {_b64encode(self._key_id + signature)}\n"


class NoteVerifier:
    """Verifies notes signed by one Ed25519 key, given its verifier key string."""

    def __init__(self, name: str, public_key: bytes) -> None:
        _check_key_name(name)
        if not isinstance(public_key, bytes) or len(public_key) != _ED25519_PUBLIC_SIZE:
            raise CheckpointError(f"Ed25519 public key must be {_ED25519_PUBLIC_SIZE} bytes")
        self._name = name
        self._public = public_key
        self._key = Ed25519PublicKey.from_public_bytes(public_key)
        self._key_id = key_id(name, public_key)

    @classmethod
    def parse(cls, vkey: str) -> NoteVerifier:
        """Parse ``name+<8 lowercase hex digits>+base64(0x01 || 32-byte public key)``.

        This is the verifier key of golang.org/x/mod/sumdb/note; the hex digits must be the key ID
        the name and key give (signed-note, "Ed25519 signatures").
        """
        if not isinstance(vkey, str):
            raise CheckpointError(f"verifier key must be a str, not {type(vkey).__name__}")
        parts = vkey.split("+", 2)
        if len(parts) != 3:
            raise CheckpointError("verifier key is not of the form name+keyid+key")
        name, hex_id, key64 = parts
        _check_key_name(name)
        if not _HEX_ID_RE.fullmatch(hex_id):
            raise CheckpointError(f"verifier key ID {hex_id!r} is not 8 lowercase hex digits")
        key = _b64decode(key64, "verifier public key")
        if not key:
            raise CheckpointError("verifier public key is empty")
        if key[0] != ALG_ED25519:
            raise CheckpointError(f"verifier key has unknown signature type 0x{key[0]:02x}")
        if len(key) != 1 + _ED25519_PUBLIC_SIZE:
            raise CheckpointError(
                f"verifier Ed25519 key is {len(key) - 1} bytes, not {_ED25519_PUBLIC_SIZE}"
            )
        verifier = cls(name, key[1:])
        if verifier.key_id.hex() != hex_id:
            raise CheckpointError(
                f"verifier key ID {hex_id} does not match its name and key "
                f"(they give {verifier.key_id.hex()})"
            )
        return verifier

    @property
    def name(self) -> str:
        """The key name expected in signature lines."""
        return self._name

    @property
    def key_id(self) -> bytes:
        """The 4-byte key ID."""
        return self._key_id

    @property
    def public_key(self) -> Ed25519PublicKey:
        """The Ed25519 key itself, for other signatures made with it (receipts)."""
        return self._key

    def verifier_key(self) -> str:
        """This key as a verifier key string (the inverse of :meth:`parse`)."""
        return (
            f"{self._name}+{self._key_id.hex()}+{_b64encode(bytes([ALG_ED25519]) + self._public)}"
        )

    def verify(self, note: str) -> str:
        """Check the signed note and return its text (signed-note, "Format" and "Signatures").

        The note must be well formed (UTF-8, no control characters but newline, a text ending in
        newline, the last blank line, then 1..:data:`MAX_SIGNATURES` signature lines each ending
        in newline) and carry at least one signature from this key (same name *and* key ID).
        Signatures from other keys are ignored, as the specification requires; every signature
        from this key must verify, else the whole note is rejected.
        """
        if not isinstance(note, str):
            raise CheckpointError(f"note must be a str, not {type(note).__name__}")
        _check_utf8(note, "note")
        _check_controls(note, "note", allow_newline=True)
        split = note.rfind("\n\n")
        if split < 0:
            raise CheckpointError("malformed note: no blank line between text and signatures")
        text, block = note[: split + 1], note[split + 2 :]
        if not block:
            raise CheckpointError("malformed note: no signature line after the last blank line")
        if not block.endswith("\n"):
            raise CheckpointError("malformed note: last signature line does not end in a newline")
        lines = block[:-1].split("\n")
        if len(lines) > MAX_SIGNATURES:
            raise CheckpointError(
                f"malformed note: {len(lines)} signature lines, more than {MAX_SIGNATURES}"
            )
        message = text.encode("utf-8")
        verified = 0
        same_name_ids: list[str] = []
        others: list[str] = []
        for number, line in enumerate(lines, start=1):
            if not line.startswith(_SIG_PREFIX):
                raise CheckpointError(
                    f"malformed note: signature line {number} does not start with '— '"
                )
            name, space, b64 = line[len(_SIG_PREFIX) :].partition(" ")
            if not space:
                raise CheckpointError(f"malformed note: signature line {number} has no signature")
            try:
                _check_key_name(name)
                raw = _b64decode(b64, "signature")
            except CheckpointError as exc:
                raise CheckpointError(f"malformed note: signature line {number}: {exc}") from None
            if len(raw) < _KEY_ID_SIZE + 1:
                raise CheckpointError(
                    f"malformed note: signature line {number} is shorter than key ID + signature"
                )
            kid, signature = raw[:_KEY_ID_SIZE], raw[_KEY_ID_SIZE:]
            if name != self._name or kid != self._key_id:
                # signed-note: "Verifiers MUST ignore signatures from unknown keys".
                (same_name_ids if name == self._name else others).append(_key_label(name, kid))
                continue
            if len(signature) != _ED25519_SIGNATURE_SIZE:
                raise CheckpointError(
                    f"invalid signature for key {self.label} on line {number}: "
                    f"{len(signature)} bytes, not {_ED25519_SIGNATURE_SIZE}"
                )
            try:
                self._key.verify(signature, message)
            except InvalidSignature:
                raise CheckpointError(
                    f"invalid signature for key {self.label} on line {number}"
                ) from None
            verified += 1
        if verified == 0:
            if same_name_ids:
                raise CheckpointError(
                    f"note has no signature from key {self.label}: unknown key ID for "
                    f"{self._name}: {', '.join(same_name_ids)}"
                )
            raise CheckpointError(
                f"note has no signature from key {self.label} (signed only by {', '.join(others)})"
            )
        return text

    @property
    def label(self) -> str:
        """``name+<hex key ID>``, how messages name this key."""
        return _key_label(self._name, self._key_id)


# --- checkpoints in notes ----------------------------------------------------------------------


def sign_checkpoint(signer: NoteSigner, checkpoint: Checkpoint) -> str:
    """Sign ``checkpoint`` as a signed note (tlog-checkpoint, "Signatures").

    The specification says the key name SHOULD match the origin line; that is the caller's choice.
    """
    return signer.sign(checkpoint.body())


def verify_checkpoint(verifier: NoteVerifier, note: str, *, origin: str) -> Checkpoint:
    """Verify a signed checkpoint note and return the checkpoint.

    Checks the signature from ``verifier`` (:meth:`NoteVerifier.verify`), parses the text strictly
    (:meth:`Checkpoint.parse`), and requires its origin to be exactly ``origin``: a valid signature
    over another log's tree head proves nothing about this log.
    """
    checkpoint = Checkpoint.parse(verifier.verify(note))
    if checkpoint.origin != origin:
        raise CheckpointError(
            f"checkpoint origin {checkpoint.origin!r} is not the expected origin {origin!r}"
        )
    return checkpoint
