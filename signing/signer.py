"""Signing documents with a key held in memory, in a PKCS#12 file or in a PKCS#11 token.

PDFs get a PAdES signature inside the file; any other file gets a detached CAdES signature
(a ``.p7s`` next to it). Used by the supplier CLI, by the test PKI, and for the platform's
own seal, which is made for long-term validation (PAdES B-LT/B-LTA): the revocation data of
the seal certificate's chain goes into the PDF, and a document time-stamp over it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import pkcs11
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.fields import SigFieldSpec, SigSeedSubFilter
from pyhanko.sign.pkcs11 import PKCS11Signer
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, Signer, SimpleSigner
from pyhanko.sign.timestamps import TimeStamper

from tender.signing.revocation import RevocationData, evidence_for
from tender.signing.trust import TrustStore

__all__ = [
    "async_sign_detached",
    "async_sign_pdf",
    "load_signer_pkcs11",
    "load_signer_pkcs12",
    "sign_detached",
    "sign_pdf",
]

Box = tuple[int, int, int, int]
"""A rectangle on a page in PDF points: (x1, y1, x2, y2), origin at the bottom left."""

_CHUNK_SIZE = 64 * 1024
# Keys signed with the token's raw mechanism over a digest pyHanko computes: many tokens
# (SoftHSM2, smart cards) have no hash-and-sign mechanism for EC, and every one has the raw
# one. EdDSA and RSA-PSS have no raw form.
_RAW_MECHANISM_KEYS = frozenset({"ec", "rsa", "dsa"})


def _for_chain_of(signer: Signer, trust: TrustStore) -> TrustStore:
    """``trust`` with only the offline revocation data about the signer's own chain: that
    is what goes into the PDF, not every CRL of the revocation folder."""
    chain = [signer.signing_cert, *signer.cert_registry]
    relevant = {
        evidence.sha256
        for certificate in chain
        if certificate is not None
        for evidence in evidence_for(certificate, [trust.revocation])
    }

    def kept(der: bytes) -> bool:
        return hashlib.sha256(der).hexdigest() in relevant

    revocation = RevocationData(
        trust.revocation.origin,
        crls=tuple(crl for crl in trust.revocation.crls if kept(crl.dump())),
        ocsps=tuple(response for response in trust.revocation.ocsps if kept(response.dump())),
    )
    return dataclasses.replace(trust, revocation=revocation)


async def async_sign_pdf(
    pdf: BinaryIO,
    output: BinaryIO,
    signer: Signer,
    *,
    field_name: str = "Signature1",
    timestamper: TimeStamper | None = None,
    visible_box: Box | None = None,
    validation_trust: TrustStore | None = None,
) -> None:
    """Sign ``pdf`` into ``output`` as a PAdES baseline signature, SHA-256.

    The signature is appended as an incremental update, so the original bytes are kept.
    ``pdf`` must be a seekable binary file; ``field_name`` names the signature field, which
    is created if the document has no empty field of that name. With ``timestamper`` the
    signature gets an RFC 3161 signature time-stamp (PAdES B-T); with ``visible_box`` a new
    field is drawn at that rectangle on the first page, otherwise it is invisible.

    With ``validation_trust`` the signature is made for long-term validation: the signer's
    chain is validated against that trust store now, and the revocation data found for it
    — the store's offline CRLs and OCSP responses about the chain, and what may be fetched
    from its allowed hosts — is written to the PDF's document security store (DSS), with
    the chain's certificates. With a ``timestamper`` too, that is PAdES B-LT, and a document
    time-stamp over the DSS is added (B-LTA), so that validators can later prove the
    revocation data existed while the certificates were valid.

    :raises pyhanko.pdf_utils.misc.PdfError: if ``pdf`` cannot be read as a PDF.
    :raises pyhanko.sign.general.SigningError: if signing fails (e.g. the field is taken,
        or, with ``validation_trust``, the signer's chain does not validate against it).
    """
    fetcher = None
    validation_context = None
    if validation_trust is not None:
        trust = _for_chain_of(signer, validation_trust)
        fetcher = trust.fetcher()
        validation_context = trust.validation_context(datetime.now(UTC), fetcher=fetcher)
    long_term = validation_context is not None
    metadata = PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.PADES,
        embed_validation_info=long_term,
        validation_context=validation_context,
        use_pades_lta=long_term and timestamper is not None,
    )
    field_spec = None if visible_box is None else SigFieldSpec(field_name, box=visible_box)
    pdf_signer = PdfSigner(
        metadata, signer=signer, timestamper=timestamper, new_field_spec=field_spec
    )
    try:
        await pdf_signer.async_sign_pdf(IncrementalPdfFileWriter(pdf), output=output)
    finally:
        if fetcher is not None:
            await fetcher.close()  # type: ignore[no-untyped-call]


def sign_pdf(
    pdf: BinaryIO,
    output: BinaryIO,
    signer: Signer,
    *,
    field_name: str = "Signature1",
    timestamper: TimeStamper | None = None,
    visible_box: Box | None = None,
    validation_trust: TrustStore | None = None,
) -> None:
    """Synchronous :func:`async_sign_pdf`, for command-line tools and tests.

    It runs its own event loop, so do not call it from async code.
    """
    asyncio.run(
        async_sign_pdf(
            pdf,
            output,
            signer,
            field_name=field_name,
            timestamper=timestamper,
            visible_box=visible_box,
            validation_trust=validation_trust,
        )
    )


async def async_sign_detached(
    content: BinaryIO,
    output: BinaryIO,
    signer: Signer,
    *,
    timestamper: TimeStamper | None = None,
) -> None:
    """Write a detached CAdES signature over ``content`` to ``output``, DER-encoded.

    The result is a CMS SignedData without encapsulated content (the ``.p7s`` travels next
    to the file it signs), SHA-256, with the CAdES signing-certificate-v2 attribute binding
    the signer's certificate. ``content`` is read in chunks from its current position to
    its end, never whole, so any size of file can be signed. With ``timestamper`` the
    signature gets an RFC 3161 signature time-stamp (CAdES B-T).

    :raises pyhanko.sign.general.SigningError: if signing or time-stamping fails.
    """
    signed_data = await signer.async_sign_general_data(
        content,
        "sha256",
        detached=True,
        use_cades=True,
        timestamper=timestamper,
        chunk_size=_CHUNK_SIZE,
    )
    output.write(signed_data.dump())


def sign_detached(
    content: BinaryIO,
    output: BinaryIO,
    signer: Signer,
    *,
    timestamper: TimeStamper | None = None,
) -> None:
    """Synchronous :func:`async_sign_detached`, for command-line tools and tests.

    It runs its own event loop, so do not call it from async code.
    """
    asyncio.run(async_sign_detached(content, output, signer, timestamper=timestamper))


def load_signer_pkcs12(path: Path, passphrase: bytes | None) -> Signer:
    """A signer from a PKCS#12 (``.p12``/``.pfx``) file with its key and certificate chain.

    :raises ValueError: if the file is missing, unreadable, or the passphrase is wrong.
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ValueError(f"cannot read PKCS#12 file {path}: {error.strerror}") from error
    try:
        signer: Signer = SimpleSigner.load_pkcs12_data(data, (), passphrase=passphrase)
    except ValueError as error:
        raise ValueError(
            f"cannot open PKCS#12 file {path}: wrong passphrase or not a PKCS#12 file"
        ) from error
    return signer


def load_signer_pkcs11(
    session: pkcs11.Session, key_label: str, cert_label: str | None = None
) -> Signer:
    """A signer whose private key stays in a PKCS#11 token (a smart card, a DSC token, an HSM).

    ``session`` is a logged-in session on the token; the key labelled ``key_label`` signs,
    and the certificate labelled ``cert_label`` (default: the key's label, as card issuers
    store them) is the signing certificate. Every other certificate on the token goes with
    the signature too (a card may hold its authority's chain). Both are looked up now, so a
    wrong label is reported here rather than halfway through signing.

    :raises ValueError: if the token holds no such key or certificate, or several.
    """
    signer = PKCS11Signer(
        session,
        cert_label=cert_label or key_label,
        key_label=key_label,
        other_certs_to_pull=None,
        use_raw_mechanism=True,
    )
    try:
        certificate = signer.signing_cert
    except pkcs11.PKCS11Error as error:
        raise ValueError(
            f"the token {session.token.label!r} cannot sign with key {key_label!r} and "
            f"certificate {cert_label or key_label!r}: {error}"
        ) from None
    signer.use_raw_mechanism = certificate.public_key.algorithm in _RAW_MECHANISM_KEYS
    return signer
