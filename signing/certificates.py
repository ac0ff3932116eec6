"""Signing certificates as the platform records them, and whose signatures count for whom.

A supplier's organisation registers the certificates it signs bids with; the opening then
accepts a signature only from one of them (:class:`SignerBinding`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

__all__ = ["CertificateInfo", "SignerBinding", "describe_certificate", "read_certificate"]


@dataclass(frozen=True)
class CertificateInfo:
    """What identifies a certificate: subject and issuer (RFC 4514 strings), serial number
    and SHA-256 fingerprint of the DER encoding (both lowercase hexadecimal), its
    validity period (timezone-aware, UTC), and the DER encoding itself, to keep."""

    subject: str
    issuer: str
    serial: str
    sha256: str
    not_before: datetime
    not_after: datetime
    der: bytes


@dataclass(frozen=True)
class SignerBinding:
    """The certificates whose signatures count for ``organisation``.

    ``fingerprints`` holds the lowercase hexadecimal SHA-256 of each registered
    certificate's DER encoding (:attr:`CertificateInfo.sha256`). An empty set means the
    organisation has registered none, so no signature counts for it.
    """

    organisation: str
    fingerprints: frozenset[str]


def describe_certificate(certificate: x509.Certificate) -> CertificateInfo:
    """The :class:`CertificateInfo` of a parsed certificate."""
    return CertificateInfo(
        # RFC 4514 is the standard one-line spelling of a distinguished name.
        subject=certificate.subject.rfc4514_string(),
        issuer=certificate.issuer.rfc4514_string(),
        serial=format(certificate.serial_number, "x"),
        sha256=certificate.fingerprint(hashes.SHA256()).hex(),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        der=certificate.public_bytes(serialization.Encoding.DER),
    )


def read_certificate(data: bytes) -> CertificateInfo:
    """Read one X.509 certificate, PEM or DER, e.g. to register it for an organisation.

    :raises ValueError: with a sentence a person can act on, if ``data`` is not a
        certificate (a private key or a PKCS#12 file, say).
    """
    if b"-----BEGIN" in data:
        if b"-----BEGIN CERTIFICATE-----" not in data:
            raise ValueError(
                "the PEM file holds no certificate (only a key or another kind of object)"
            )
        load = x509.load_pem_x509_certificate
    else:
        load = x509.load_der_x509_certificate
    try:
        certificate = load(data)
        # Parsing is lazy; reading every field here makes a broken certificate fail here.
        return describe_certificate(certificate)
    except ValueError as error:
        raise ValueError("the file is not a readable X.509 certificate (PEM or DER)") from error
