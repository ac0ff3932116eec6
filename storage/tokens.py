"""Keys held in a PKCS#11 token (a hardware security module, a smart card, SoftHSM2).

The key is used inside the token and never leaves it; the host only hands it data. The
platform keeps two such keys when it is configured to (README, "Keys in a PKCS#11 token"):

- an AES-256 key that wraps the private keys of automatic-opening tenders
  (:class:`TokenKeyWrapper`, a :class:`~tender.storage.sealing.KeyWrapper`), AES-256-GCM
  computed in the token;
- an Ed25519 key pair that signs the audit log's checkpoints and the receipts
  (:class:`TokenEd25519Key`), with the EdDSA mechanism of the token.

:func:`create_platform_keys` makes both in a token, sensitive and never extractable.
:func:`request_certificate` makes a signing key pair there (the opening record's seal) with a
certificate request signed by it, and :func:`store_certificate` puts the certificate the
authority issued beside it: no other PKCS#11 tool is needed (their support for a token that
also holds Ed25519 keys varies).
:func:`open_session` opens a logged-in session on a token found by its label; the same session
can serve pyHanko's PKCS#11 signer (the opening record's seal, a supplier's smart card).

python-pkcs11 runs one operation at a time on a session (it holds a lock per session), so
threads may share one session. Several processes may use one token at once as long as only
one of them writes to it: the keys are created once, before the platform starts.

Wrapped secrets have the layout of :class:`~tender.storage.sealing.PlatformKey`'s::

    offset  size  field
         0    12  nonce (random, chosen by the host)
        12     n  AES-256-GCM ciphertext of the n-byte secret
      12+n    16  tag (associated data: the caller's ``aad``)
"""

from __future__ import annotations

import hashlib
import os
from typing import TypeVar, cast

import pkcs11
from asn1crypto import csr, keys, x509
from asn1crypto.core import OctetString
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pkcs11 import Attribute, GCMParams, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import (
    EncryptedDataInvalid,
    EncryptedDataLenRange,
    GeneralError,
    MultipleTokensReturned,
    NoSuchToken,
    PinIncorrect,
    PinLenRange,
    PinLocked,
    PKCS11Error,
    UserAlreadyLoggedIn,
)
from pkcs11.types import DecryptMixin, EncryptMixin, PublicKey, SignMixin
from pkcs11.util.ec import (
    encode_ec_public_key,
    encode_ecdsa_signature,
    encode_named_curve_parameters,
)
from pkcs11.util.rsa import encode_rsa_public_key
from pkcs11.util.x509 import decode_x509_certificate

from tender.storage.sealing import SealError

__all__ = [
    "TokenEd25519Key",
    "TokenError",
    "TokenKeyWrapper",
    "create_platform_keys",
    "open_session",
    "request_certificate",
    "store_certificate",
]

_NONCE_SIZE = 12
_TAG_BITS = 128
_ED25519_OID = "1.3.101.112"
_ED25519_PUBLIC_SIZE = 32
# The fingerprint is a GMAC of this text under the wrapping key, with a fixed nonce: the same
# input every time, so it is stable and reveals nothing of the key. Wrapping draws random
# 96-bit nonces, which meet this fixed one with negligible probability.
_FINGERPRINT_NONCE = bytes(_NONCE_SIZE)
_FINGERPRINT_TEXT = b"tender.storage token key fingerprint v1"


_Usable = TypeVar("_Usable")


class TokenError(Exception):
    """The token, or a key in it, cannot be used; the message says what to check."""


def open_session(module: str, token_label: str, pin: str, *, write: bool = False) -> pkcs11.Session:
    """A session on the token labelled ``token_label``, logged in as its user with ``pin``.

    ``module`` is the path of the PKCS#11 library (the token's driver, e.g.
    ``/usr/lib/softhsm/libsofthsm2.so``). ``write`` opens a read-write session, to create
    keys; using keys needs none. Close the session when done (it is a context manager).

    :raises TokenError: if the module does not load, no token or several tokens carry the
        label, or the PIN is wrong or locked.
    """
    try:
        library = pkcs11.lib(module)
    except PKCS11Error as error:
        raise TokenError(
            f"cannot load the PKCS#11 module {module} ({error}); give the path of your token's "
            "PKCS#11 library (.so), e.g. /usr/lib/softhsm/libsofthsm2.so"
        ) from None
    try:
        token = library.get_token(token_label=token_label)
    except (NoSuchToken, MultipleTokensReturned) as error:
        found = sorted(t.label for t in library.get_tokens() if t.label)
        several = isinstance(error, MultipleTokensReturned)
        problem = "several tokens carry" if several else "no token carries"
        raise TokenError(
            f"{problem} the label {token_label!r} in {module} (tokens found: "
            f"{', '.join(map(repr, found)) or 'none'}); check that the token is inserted and "
            "give its label"
        ) from None
    try:
        return token.open(rw=write, user_pin=pin)
    except UserAlreadyLoggedIn:
        # A login holds for every session of this process while one is open: a new session
        # shares it (python-pkcs11 leaves the session whose login it refused open, too).
        return token.open(rw=write)
    except (PinIncorrect, PinLenRange):
        raise TokenError(
            f"the PIN for token {token_label!r} is wrong; check the PIN (or PIN file). A token "
            "locks itself after a few wrong PINs"
        ) from None
    except PinLocked:
        raise TokenError(
            f"the user PIN of token {token_label!r} is locked after too many wrong PINs; its "
            "security officer must unlock it"
        ) from None


def _one(
    session: pkcs11.Session,
    what: str,
    label: str,
    kind: ObjectClass,
    key_type: KeyType,
    usable: type[_Usable],
) -> _Usable:
    """The one key of ``kind`` and ``key_type`` labelled ``label``, if it can be used as
    ``usable`` (the token marks what a key may do)."""
    query = {Attribute.LABEL: label, Attribute.CLASS: kind, Attribute.KEY_TYPE: key_type}
    found = list(session.get_objects(query))
    token = session.token.label
    if len(found) != 1:
        problem = "no" if not found else f"{len(found)}"
        raise TokenError(
            f"the token {token!r} holds {problem} {what} labelled {label!r}; create the key "
            "(tender keys init-token) or fix the label in the settings"
        )
    key = found[0]
    if not isinstance(key, usable):
        raise TokenError(
            f"the {what} labelled {label!r} in token {token!r} is not allowed to do what the "
            "platform needs of it; create the key as tender keys init-token does"
        )
    return key


class TokenKeyWrapper:
    """Wraps secrets with an AES-256 key that stays in a token: AES-256-GCM inside it.

    A :class:`~tender.storage.sealing.KeyWrapper`. The host sees the secrets it wraps and
    unwraps, never the wrapping key; whoever holds the PIN and runs code on the host can still
    ask the token to unwrap (the token cannot know a tender's deadline).
    """

    def __init__(self, session: pkcs11.Session, label: str) -> None:
        """Use the secret key labelled ``label`` in the token of ``session``.

        :raises TokenError: if the token holds no such AES key, or several.
        """
        self._encrypting = _one(
            session, "AES key", label, ObjectClass.SECRET_KEY, KeyType.AES, EncryptMixin
        )
        self._decrypting = _one(
            session, "AES key", label, ObjectClass.SECRET_KEY, KeyType.AES, DecryptMixin
        )
        self._label = label
        tag = self._encrypting.encrypt(
            b"",
            mechanism=Mechanism.AES_GCM,
            mechanism_param=GCMParams(_FINGERPRINT_NONCE, _FINGERPRINT_TEXT, _TAG_BITS),
        )
        self._fingerprint = cast(bytes, tag)[:8].hex()  # bytes in, bytes out

    @property
    def fingerprint(self) -> str:
        """16 hex digits: a GMAC of a fixed text under the key. Safe to log."""
        return self._fingerprint

    def __repr__(self) -> str:
        return f"TokenKeyWrapper(label={self._label!r}, fingerprint={self._fingerprint!r})"

    def wrap_secret(self, secret: bytes, aad: bytes) -> bytes:
        """A random 12-byte nonce, then the AES-256-GCM encryption of ``secret`` (with its
        16-byte tag) in the token, with associated data ``aad``."""
        nonce = os.urandom(_NONCE_SIZE)
        sealed = self._encrypting.encrypt(
            secret, mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(nonce, aad, _TAG_BITS)
        )
        return nonce + cast(bytes, sealed)

    def unwrap_secret(self, wrapped: bytes, aad: bytes) -> bytes:
        """See :meth:`tender.storage.sealing.KeyWrapper.unwrap_secret`."""
        nonce, sealed = wrapped[:_NONCE_SIZE], wrapped[_NONCE_SIZE:]
        try:
            opened = self._decrypting.decrypt(
                sealed,
                mechanism=Mechanism.AES_GCM,
                mechanism_param=GCMParams(nonce, aad, _TAG_BITS),
            )
        # Tokens report a tag that does not verify in either way (SoftHSM2: a general error).
        except (EncryptedDataInvalid, EncryptedDataLenRange, GeneralError):
            raise SealError(
                f"the wrapped secret does not open: it was wrapped under another key than "
                f"{self._fingerprint} (token key {self._label!r}), for another context, or "
                "altered"
            ) from None
        return cast(bytes, opened)


class TokenEd25519Key:
    """An Ed25519 key pair in a token that signs with EdDSA inside it.

    An :class:`tender.verifier.notes.Ed25519Key`: the audit log's signer uses it as it uses a
    key in memory.
    """

    def __init__(self, session: pkcs11.Session, label: str) -> None:
        """Use the Ed25519 private and public key labelled ``label`` in ``session``'s token.

        :raises TokenError: if either half is missing (or not unique), or is no Ed25519 key.
        """
        self._private = _one(
            session,
            "Ed25519 private key",
            label,
            ObjectClass.PRIVATE_KEY,
            KeyType.EC_EDWARDS,
            SignMixin,
        )
        public = _one(
            session,
            "Ed25519 public key",
            label,
            ObjectClass.PUBLIC_KEY,
            KeyType.EC_EDWARDS,
            PublicKey,
        )
        point = bytes(public[Attribute.EC_POINT])
        # PKCS#11 3.0 stores the point DER-wrapped in an OCTET STRING; some tokens store it raw.
        raw = point if len(point) == _ED25519_PUBLIC_SIZE else OctetString.load(point).native
        try:
            self._public = Ed25519PublicKey.from_public_bytes(raw)
        except ValueError:
            raise TokenError(
                f"the public key labelled {label!r} in token {session.token.label!r} is not an "
                "Ed25519 key; create the platform's signing key with Ed25519"
            ) from None

    def public_key(self) -> Ed25519PublicKey:
        return self._public

    def sign(self, data: bytes) -> bytes:
        """The Ed25519 signature over ``data``, made in the token."""
        return bytes(self._private.sign(data, mechanism=Mechanism.EDDSA))


_KEPT_INSIDE = {
    Attribute.TOKEN: True,
    Attribute.PRIVATE: True,
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False,
}
"""A private or secret key usable only after login, never readable, never extractable."""


def _refuse_taken(session: pkcs11.Session, label: str) -> None:
    existing = list(session.get_objects({Attribute.LABEL: label}))
    if existing:
        raise TokenError(
            f"the token {session.token.label!r} already holds {len(existing)} object(s) "
            f"labelled {label!r}; keys are never replaced (what was wrapped or signed under "
            "them would be lost). Use them, or choose another label"
        )


def _signing_key_pair(
    session: pkcs11.Session, key_type: KeyType, curve: str, mechanism: Mechanism, label: str
) -> tuple[pkcs11.Object, pkcs11.Object]:
    """A key pair on ``curve`` labelled ``label`` whose private half may only sign."""
    parameters = session.create_domain_parameters(
        key_type, {Attribute.EC_PARAMS: encode_named_curve_parameters(curve)}, local=True
    )
    public, private = parameters.generate_keypair(
        mechanism=mechanism,
        store=True,
        label=label,
        id=label.encode(),
        public_template={Attribute.TOKEN: True, Attribute.VERIFY: True},
        private_template={
            **_KEPT_INSIDE,
            Attribute.SIGN: True,
            Attribute.DECRYPT: False,
            Attribute.UNWRAP: False,
            Attribute.DERIVE: False,
        },
    )
    return public, private


def create_platform_keys(session: pkcs11.Session, *, wrap_label: str, signing_label: str) -> None:
    """Create the platform's AES-256 wrapping key and Ed25519 signing key pair in the token.

    Both are token objects, private (usable only after login), sensitive and never
    extractable; the wrapping key may only encrypt and decrypt, the signing key only sign.
    ``session`` must be read-write (:func:`open_session` with ``write=True``).

    :raises TokenError: if the token already holds an object with either label: replacing the
        wrapping key would make every tender it wrapped unopenable, so it is never done.
    """
    for label in (wrap_label, signing_label):
        _refuse_taken(session, label)
    session.generate_key(
        KeyType.AES,
        256,
        label=wrap_label,
        id=wrap_label.encode(),
        store=True,
        template={
            **_KEPT_INSIDE,
            Attribute.ENCRYPT: True,
            Attribute.DECRYPT: True,
            Attribute.WRAP: False,
            Attribute.UNWRAP: False,
            Attribute.SIGN: False,
            Attribute.VERIFY: False,
        },
    )
    _signing_key_pair(
        session, KeyType.EC_EDWARDS, _ED25519_OID, Mechanism.EC_EDWARDS_KEY_PAIR_GEN, signing_label
    )


def request_certificate(
    session: pkcs11.Session, label: str, subject: x509.Name
) -> csr.CertificationRequest:
    """Make an EC P-256 key pair labelled ``label`` in the token, and a certificate request
    (PKCS#10, ECDSA with SHA-256) for ``subject`` signed with it there: how a seal's (or a
    card's) key gets certified without leaving the token.

    The private key is sensitive, never extractable, and may only sign. ``session`` must be
    read-write. Store the certificate the authority issues with :func:`store_certificate`.

    :raises TokenError: if the token holds an object labelled ``label`` already.
    """
    _refuse_taken(session, label)
    public, private = _signing_key_pair(
        session, KeyType.EC, "secp256r1", Mechanism.EC_KEY_PAIR_GEN, label
    )
    if not isinstance(public, PublicKey) or not isinstance(private, SignMixin):
        raise TokenError(f"the token {session.token.label!r} made a key pair it cannot use")
    info = csr.CertificationRequestInfo(
        {
            "version": "v1",
            "subject": subject,
            "subject_pk_info": _public_key_info(public),
            "attributes": [],
        }
    )
    # The raw mechanism over a digest made here: many tokens (SoftHSM2 among them) have no
    # ECDSA-with-SHA-256.
    raw = private.sign(hashlib.sha256(info.dump()).digest(), mechanism=Mechanism.ECDSA)
    return csr.CertificationRequest(
        {
            "certification_request_info": info,
            "signature_algorithm": {"algorithm": "sha256_ecdsa"},
            "signature": encode_ecdsa_signature(raw),
        }
    )


def store_certificate(session: pkcs11.Session, label: str, certificate: x509.Certificate) -> None:
    """Store ``certificate`` in the token labelled ``label``: beside the key pair of that label,
    with its ID, where PKCS#11 signers (pyHanko's) find both; or, with no key of that label, as
    another certificate to go with signatures (an authority's).

    :raises TokenError: if the key pair labelled ``label`` is not the certificate's, or the
        token holds a certificate labelled ``label`` already.
    """
    taken = {Attribute.LABEL: label, Attribute.CLASS: ObjectClass.CERTIFICATE}
    if list(session.get_objects(taken)):
        raise TokenError(
            f"the token {session.token.label!r} already holds a certificate labelled {label!r}; "
            "choose another label for this one"
        )
    identifier = label.encode()
    for public in session.get_objects(
        {Attribute.LABEL: label, Attribute.CLASS: ObjectClass.PUBLIC_KEY}
    ):
        if not isinstance(public, PublicKey) or (
            _public_key_info(public).dump() != certificate.public_key.dump()
        ):
            raise TokenError(
                f"the certificate {certificate.subject.human_friendly!r} is not for the key "
                f"labelled {label!r} in token {session.token.label!r}; give the certificate the "
                "authority issued for that key's request"
            )
        identifier = bytes(public[Attribute.ID])
    session.create_object(
        {
            **decode_x509_certificate(certificate.dump()),
            Attribute.TOKEN: True,
            Attribute.LABEL: label,
            Attribute.ID: identifier,
        }
    )


def _public_key_info(public: PublicKey) -> keys.PublicKeyInfo:
    if public.key_type == KeyType.RSA:
        return keys.PublicKeyInfo.wrap(keys.RSAPublicKey.load(encode_rsa_public_key(public)), "rsa")
    return keys.PublicKeyInfo.load(encode_ec_public_key(public))
