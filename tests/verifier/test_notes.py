"""Signed checkpoints (C2SP tlog-checkpoint in C2SP signed-note): published vectors, then tampers.

The vectors in tests/vectors/c2sp-note/ are copied from golang.org/x/mod (BSD-3-Clause), the
reference implementation of signed notes; tests/vectors/README.md says exactly where from.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from tender.verifier.merkle import leaf_hash, root
from tender.verifier.notes import (
    Checkpoint,
    CheckpointError,
    NoteSigner,
    NoteVerifier,
    key_id,
    sign_checkpoint,
    verify_checkpoint,
)

VECTORS: dict[str, Any] = json.loads(
    (
        Path(__file__).resolve().parents[1] / "vectors" / "c2sp-note" / "golang_mod_sumdb_note.json"
    ).read_text(encoding="utf-8")
)
NOTE = VECTORS["note"]
TREE = VECTORS["tree"]
TEXT: str = NOTE["text"]
PETER_SIG: str = NOTE["peter_sig"]
ENOCH_SIG: str = NOTE["enoch_sig"]

ORIGIN = "tender.example/audit"
ROOT = root([leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c")])


def _peter_signer() -> NoteSigner:
    """The published signer key ``PRIVATE+KEY+<name>+<hex id>+base64(0x01 || seed)``."""
    private, key, name, hex_id, key64 = NOTE["peter_skey"].split("+", 4)
    assert (private, key) == ("PRIVATE", "KEY")
    raw = base64.b64decode(key64, validate=True)
    assert raw[0] == 0x01
    signer = NoteSigner.from_private_bytes(name, raw[1:])
    assert signer.key_id.hex() == hex_id
    return signer


def _raises(message: str) -> Any:
    return pytest.raises(CheckpointError, match=message)


# --- published vectors: golang.org/x/mod/sumdb/note ------------------------------------------


def test_parse_published_verifier_key() -> None:
    verifier = NoteVerifier.parse(NOTE["peter_vkey"])
    assert verifier.name == "PeterNeumann"
    assert verifier.key_id == bytes.fromhex("c74f20a3")
    assert verifier.verifier_key() == NOTE["peter_vkey"]
    enoch = NoteVerifier.parse(NOTE["enoch_vkey"])
    assert (enoch.name, enoch.key_id.hex()) == ("EnochRoot", "af0cfe78")


def test_published_signer_key_matches_published_verifier_key() -> None:
    assert _peter_signer().verifier_key() == NOTE["peter_vkey"]


def test_verify_published_note() -> None:
    assert NoteVerifier.parse(NOTE["peter_vkey"]).verify(TEXT + "\n" + PETER_SIG) == TEXT


def test_sign_published_text_gives_published_signature() -> None:
    """Ed25519 is deterministic (RFC 8032 §5.1.6), so our note is byte-for-byte theirs."""
    assert _peter_signer().sign(TEXT) == TEXT + "\n" + PETER_SIG


def test_two_signatures_each_key_verifies_the_other_is_ignored() -> None:
    """TestOpen: signatures from unknown keys are ignored (signed-note, "Signatures")."""
    note = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert NoteVerifier.parse(NOTE["peter_vkey"]).verify(note) == TEXT
    assert NoteVerifier.parse(NOTE["enoch_vkey"]).verify(note) == TEXT


def test_published_note_without_our_key() -> None:
    with _raises(r"^note has no signature from key EnochRoot\+af0cfe78 "):
        NoteVerifier.parse(NOTE["enoch_vkey"]).verify(TEXT + "\n" + PETER_SIG)


def test_published_invalid_signature() -> None:
    """TestOpen "Invalid signature": ABCD spliced into the base64."""
    note = TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with _raises(r"^invalid signature for key PeterNeumann\+c74f20a3"):
        NoteVerifier.parse(NOTE["peter_vkey"]).verify(note)


@pytest.mark.parametrize(
    ("note", "message"),
    [
        (TEXT, "no blank line"),
        (TEXT + "\n", "no signature line after the last blank line"),
        (TEXT + "\n" + PETER_SIG[:-1], "does not end in a newline"),
        ("\x01" + TEXT + "\n" + PETER_SIG, "control character U\\+0001 at offset 0"),
        ("\udcff" + TEXT + "\n" + PETER_SIG, "not valid UTF-8"),
        (
            TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Bad Name"),
            "signature line 1: signature is not valid base64",
        ),
        (TEXT + "\n" + PETER_SIG + "Unexpected line.\n", "line 2 does not start with '— '"),
        (TEXT + "\n" + PETER_SIG * 101, "101 signature lines, more than 100"),
    ],
    ids=["no-sigs", "blank-only", "no-final-newline", "control", "utf8", "bad-name", "junk", "101"],
)
def test_published_malformed_notes(note: str, message: str) -> None:
    """TestOpen "Invalid encoded message syntax" and "too many signatures"."""
    with _raises(message):
        NoteVerifier.parse(NOTE["peter_vkey"]).verify(note)


def test_every_mangled_verifier_key_is_rejected() -> None:
    """TestNewVerifier: every proper substring and every one-byte increment is rejected."""
    vkey = NOTE["peter_vkey"]
    mangled = {vkey[i:j] for i in range(len(vkey) + 1) for j in range(i + 1, len(vkey) + 1)}
    mangled |= {vkey[:i] + chr(ord(vkey[i]) + 1) + vkey[i + 1 :] for i in range(len(vkey))}
    mangled |= set(NOTE["bad_vkeys"])
    mangled.discard(vkey)
    for bad in mangled:
        with pytest.raises(CheckpointError):
            NoteVerifier.parse(bad)


@pytest.mark.parametrize(
    ("index", "message"),
    [(0, "verifier public key is not canonical base64"), (1, "unknown signature type 0x65")],
)
def test_published_bad_verifier_keys(index: int, message: str) -> None:
    with _raises(message):
        NoteVerifier.parse(NOTE["bad_vkeys"][index])


def test_published_tree_text_is_a_checkpoint() -> None:
    """sumdb/tlog TestFormatTree/TestParseTree: the go.sum tree head is a tlog-checkpoint."""
    expected = Checkpoint(TREE["origin"], TREE["size"], leaf_hash(TREE["leaf"].encode()))
    assert expected.body() == TREE["text"]
    assert Checkpoint.parse(TREE["text"]) == expected


@pytest.mark.parametrize(
    ("index", "message"), [(0, "tree size '0xabcdef'"), (1, "root hash is not canonical base64")]
)
def test_published_bad_tree_texts(index: int, message: str) -> None:
    with _raises(message):
        Checkpoint.parse(TREE["bad_texts"][index])


# --- our checkpoints: round trip -------------------------------------------------------------


@pytest.fixture(scope="module")
def signer() -> NoteSigner:
    return NoteSigner.from_private_bytes(ORIGIN, bytes(range(32)))


@pytest.fixture(scope="module")
def verifier(signer: NoteSigner) -> NoteVerifier:
    return NoteVerifier.parse(signer.verifier_key())


def test_checkpoint_round_trip(signer: NoteSigner, verifier: NoteVerifier) -> None:
    for checkpoint in [
        Checkpoint(ORIGIN, 3, ROOT),
        Checkpoint(ORIGIN, 0, root([])),
        Checkpoint(ORIGIN, 2**64 - 1, ROOT, ("ext one", "— ext two")),
    ]:
        note = sign_checkpoint(signer, checkpoint)
        assert note.startswith(checkpoint.body() + "\n— tender.example/audit ")
        assert verify_checkpoint(verifier, note, origin=ORIGIN) == checkpoint
        assert Checkpoint.parse(checkpoint.body()) == checkpoint


def test_checkpoint_body_format() -> None:
    body = Checkpoint(ORIGIN, 3, ROOT, ("x",)).body()
    assert body == f"{ORIGIN}\n3\n{base64.b64encode(ROOT).decode()}\nx\n"


def test_key_id_and_verifier_key(signer: NoteSigner) -> None:
    assert signer.key_id == key_id(ORIGIN, signer.public_key)
    assert len(signer.key_id) == 4
    name, hex_id, key64 = signer.verifier_key().split("+", 2)
    assert (name, hex_id) == (ORIGIN, signer.key_id.hex())
    assert base64.b64decode(key64) == b"\x01" + signer.public_key


def test_generate_and_storage_round_trip() -> None:
    key = Ed25519PrivateKey.generate()
    signer = NoteSigner("tender.example/x", key)
    again = NoteSigner.from_private_bytes(
        "tender.example/x", key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    )
    assert again.verifier_key() == signer.verifier_key()
    assert again.sign("hi\n") == signer.sign("hi\n")
    assert NoteSigner.generate("tender.example/x").key_id != signer.key_id


# --- tampers: each rejected with its own message ---------------------------------------------


def _note(signer: NoteSigner) -> str:
    return sign_checkpoint(signer, Checkpoint(ORIGIN, 3, ROOT))


def test_tampered_text(signer: NoteSigner, verifier: NoteVerifier) -> None:
    note = _note(signer).replace(ORIGIN, "tender.example/audiT", 1)
    with _raises(r"^invalid signature for key tender\.example/audit\+[0-9a-f]{8} on line 1$"):
        verifier.verify(note)


def test_tampered_size(signer: NoteSigner, verifier: NoteVerifier) -> None:
    note = _note(signer).replace("\n3\n", "\n4\n", 1)
    with _raises("^invalid signature for key"):
        verify_checkpoint(verifier, note, origin=ORIGIN)


def test_tampered_root(signer: NoteSigner, verifier: NoteVerifier) -> None:
    b64 = base64.b64encode(ROOT).decode()
    other = base64.b64encode(bytes([ROOT[0] ^ 1]) + ROOT[1:]).decode()
    note = _note(signer).replace(b64, other, 1)
    with _raises("^invalid signature for key"):
        verify_checkpoint(verifier, note, origin=ORIGIN)


@pytest.mark.parametrize("bit", [0, 7, 8 * 4 + 3, 8 * 68 - 1])
def test_signature_bit_flip(signer: NoteSigner, verifier: NoteVerifier, bit: int) -> None:
    """Bits 0..31 are the key ID (unknown key), the rest the Ed25519 signature (invalid)."""
    text, sig_line = _note(signer).rsplit("\n\n", 1)
    prefix, b64 = sig_line.rstrip("\n").rsplit(" ", 1)
    raw = bytearray(base64.b64decode(b64))
    raw[bit // 8] ^= 1 << (bit % 8)
    note = f"{text}\n\n{prefix} {base64.b64encode(bytes(raw)).decode()}\n"
    message = "unknown key ID" if bit < 32 else "^invalid signature for key"
    with _raises(message):
        verifier.verify(note)


def test_another_key_same_name(signer: NoteSigner, verifier: NoteVerifier) -> None:
    impostor = NoteSigner.generate(ORIGIN)
    with _raises(
        f"^note has no signature from key {re.escape(verifier.label)}: unknown key ID for "
        f"{re.escape(ORIGIN)}: {re.escape(ORIGIN)}\\+{impostor.key_id.hex()}$"
    ):
        verify_checkpoint(verifier, _note(impostor), origin=ORIGIN)


def test_another_key_other_name(verifier: NoteVerifier) -> None:
    other = NoteSigner.generate("elsewhere.example/log")
    with _raises(
        rf"^note has no signature from key .* \(signed only by "
        rf"{re.escape(other.name)}\+{other.key_id.hex()}\)$"
    ):
        verifier.verify(_note(other))


def test_signature_under_another_name_with_our_key_id(
    signer: NoteSigner, verifier: NoteVerifier
) -> None:
    """The tuple (name, key ID) identifies the key; a renamed signature line is unknown."""
    note = _note(signer).replace(f"— {ORIGIN} ", "— renamed.example/audit ")
    with _raises("^note has no signature from key"):
        verifier.verify(note)


def test_wrong_origin(verifier: NoteVerifier) -> None:
    """A checkpoint of another log, validly signed by the same key, is still rejected."""
    signer = NoteSigner.from_private_bytes(ORIGIN, bytes(range(32)))
    note = sign_checkpoint(signer, Checkpoint("tender.example/other", 3, ROOT))
    with _raises(
        "^checkpoint origin 'tender.example/other' is not the expected origin "
        "'tender.example/audit'$"
    ):
        verify_checkpoint(verifier, note, origin=ORIGIN)


def test_extra_newline_at_end(signer: NoteSigner, verifier: NoteVerifier) -> None:
    with _raises("no signature line after the last blank line"):
        verifier.verify(_note(signer) + "\n")


def test_missing_newline_at_end(signer: NoteSigner, verifier: NoteVerifier) -> None:
    with _raises("last signature line does not end in a newline"):
        verifier.verify(_note(signer)[:-1])


def test_missing_blank_line(signer: NoteSigner, verifier: NoteVerifier) -> None:
    with _raises("no blank line between text and signatures"):
        verifier.verify(_note(signer).replace("\n\n", "\n", 1))


def test_extra_blank_line(signer: NoteSigner, verifier: NoteVerifier) -> None:
    """An extra newline before the blank line changes the signed text."""
    with _raises("^invalid signature for key"):
        verifier.verify(_note(signer).replace("\n\n", "\n\n\n", 1))


def test_signed_text_that_is_not_a_checkpoint(signer: NoteSigner, verifier: NoteVerifier) -> None:
    note = signer.sign(f"{ORIGIN}\n3\n")
    with _raises(r"^checkpoint has 2 line\(s\)"):
        verify_checkpoint(verifier, note, origin=ORIGIN)


def test_sign_rejects_text_without_final_newline(signer: NoteSigner) -> None:
    with _raises("^note text does not end with a newline$"):
        signer.sign("abc")
    with _raises("control character U\\+000D at offset 3"):
        signer.sign("abc\r\n")


# --- strict parsing and construction ---------------------------------------------------------

B64_ROOT = base64.b64encode(ROOT).decode()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"{ORIGIN}\n3\n{B64_ROOT}", "does not end with a newline"),
        (f"{ORIGIN}\n3\n", r"has 2 line\(s\)"),
        (f"\n3\n{B64_ROOT}\n", "line 1 is empty"),
        (f"{ORIGIN}\n03\n{B64_ROOT}\n", "tree size '03' is not a decimal"),
        (f"{ORIGIN}\n-1\n{B64_ROOT}\n", "tree size '-1'"),
        (f"{ORIGIN}\n+3\n{B64_ROOT}\n", "tree size '\\+3'"),
        (f"{ORIGIN}\n\u0663\n{B64_ROOT}\n", "tree size"),
        (f"{ORIGIN}\n 3\n{B64_ROOT}\n", "tree size ' 3'"),
        (f"{ORIGIN}\n{2**64}\n{B64_ROOT}\n", "exceeds 2\\*\\*64-1"),
        (f"{ORIGIN}\n3\n{B64_ROOT[:-1]}\n", "root hash is not valid base64"),
        (f"{ORIGIN}\n3\n{B64_ROOT[:-2]}9=\n", "root hash is not canonical base64"),
        (f"{ORIGIN}\n3\n{base64.b64encode(ROOT[:31]).decode()}\n", "root hash is 31 bytes"),
        (f"{ORIGIN}\n3\n{B64_ROOT}\n\nx\n", "line 4 is empty"),
        (f"{ORIGIN}\n3\n{B64_ROOT}\n\n", "line 4 is empty"),
        (f"{ORIGIN}\n3\r\n{B64_ROOT}\n", "control character U\\+000D"),
    ],
)
def test_checkpoint_parse_is_strict(text: str, message: str) -> None:
    with _raises(message):
        Checkpoint.parse(text)


def test_checkpoint_parse_keeps_extensions() -> None:
    parsed = Checkpoint.parse(f"{ORIGIN}\n3\n{B64_ROOT}\nfoo\nbar baz\n")
    assert parsed == Checkpoint(ORIGIN, 3, ROOT, ("foo", "bar baz"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"origin": ""}, "origin must be a non-empty string"),
        ({"origin": "a\nb"}, "origin contains a newline"),
        ({"size": -1}, "outside 0..2\\*\\*64-1"),
        ({"size": True}, "size must be an int, not bool"),
        ({"root": ROOT[:31]}, "root must be 32 bytes, got 31"),
        ({"extensions": ("",)}, "extension line 4 must be a non-empty string"),
        ({"extensions": ("ok", "a\nb")}, "extension line 5 contains a newline"),
    ],
)
def test_checkpoint_construction_is_validated(kwargs: dict[str, Any], message: str) -> None:
    fields: dict[str, Any] = {"origin": ORIGIN, "size": 3, "root": ROOT, **kwargs}
    with _raises(message):
        Checkpoint(**fields)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "non-empty"),
        ("a b", "contains a space"),
        ("a+b", "contains '\\+'"),
        ("a\u2003b", "U\\+2003"),
    ],
)
def test_key_names_are_validated(name: str, message: str) -> None:
    with _raises(message):
        NoteSigner(name, Ed25519PrivateKey.generate())


def test_verifier_key_id_mismatch_is_named(signer: NoteSigner) -> None:
    name, hex_id, key64 = signer.verifier_key().split("+", 2)
    other = f"{int(hex_id, 16) ^ 1:08x}"
    with _raises(f"verifier key ID {other} does not match its name and key"):
        NoteVerifier.parse(f"{name}+{other}+{key64}")
    with _raises("not 8 lowercase hex digits"):
        NoteVerifier.parse(f"{name}+{hex_id.upper()}+{key64}")
