"""A signing key made in a PKCS#11 token, its certificate request, and its certificate.

How an organisation seal (or any certified key) gets into a token without leaving it: the key
pair is generated inside (:func:`request_certificate`, which also signs a PKCS#10 request with
it, there), an authority certifies the request, and the certificate is stored beside the key
under the same label and ID (:func:`store_certificate`), where
:func:`tender.signing.signer.load_signer_pkcs11` finds both. This needs no other PKCS#11 tool,
whose support for a token that also holds Ed25519 keys varies.
"""

from __future__ import annotations

import hashlib

import pkcs11
from asn1crypto import csr, keys, x509
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.types import PublicKey, SignMixin
from pkcs11.util.ec import (
    encode_ec_public_key,
    encode_ecdsa_signature,
    encode_named_curve_parameters,
)
from pkcs11.util.rsa import encode_rsa_public_key
from pkcs11.util.x509 import decode_x509_certificate

__all__ = ["request_certificate", "store_certificate"]


def request_certificate(
    session: pkcs11.Session, label: str, subject: x509.Name
) -> csr.CertificationRequest:
    """Make an EC P-256 key pair labelled ``label`` in the token and a certificate request
    (PKCS#10, ECDSA with SHA-256) for ``subject``, signed with it in the token.

    The private key is sensitive, never extractable, and may only sign. ``session`` must be
    read-write and logged in.

    :raises ValueError: if the token holds an object labelled ``label`` already (a key is
        never replaced: what it signed would no longer be its).
    """
    existing = list(session.get_objects({Attribute.LABEL: label}))
    if existing:
        raise ValueError(
            f"the token {session.token.label!r} already holds {len(existing)} object(s) "
            f"labelled {label!r}; keys are never replaced. Choose another label"
        )
    parameters = session.create_domain_parameters(
        KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True
    )
    public, private = parameters.generate_keypair(
        mechanism=Mechanism.EC_KEY_PAIR_GEN,
        store=True,
        label=label,
        id=label.encode(),
        public_template={Attribute.TOKEN: True, Attribute.VERIFY: True},
        private_template={
            Attribute.TOKEN: True,
            Attribute.PRIVATE: True,
            Attribute.SENSITIVE: True,
            Attribute.EXTRACTABLE: False,
            Attribute.SIGN: True,
            Attribute.DERIVE: False,
        },
    )
    info = csr.CertificationRequestInfo(
        {
            "version": "v1",
            "subject": subject,
            "subject_pk_info": keys.PublicKeyInfo.load(encode_ec_public_key(public)),
            "attributes": [],
        }
    )
    if not isinstance(private, SignMixin):
        raise ValueError(f"the token {session.token.label!r} made a key that may not sign")
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
    """Store ``certificate`` in the token labelled ``label``, with the ID of the key pair of
    that label when there is one (a certificate of its public key), else as a certificate of
    another (an authority's, to go with signatures).

    :raises ValueError: if the key pair labelled ``label`` is not the certificate's, or the
        token holds a certificate labelled ``label`` already.
    """
    if list(
        session.get_objects({Attribute.LABEL: label, Attribute.CLASS: ObjectClass.CERTIFICATE})
    ):
        raise ValueError(
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
            raise ValueError(
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
