"""Signing documents with a key held in memory or in a PKCS#12 file.

PDFs get a PAdES signature inside the file; any other file gets a detached CAdES signature
(a ``.p7s`` next to it). Used by the supplier CLI, by the test PKI, and later for the
platform's own seal.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import BinaryIO

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.fields import SigFieldSpec, SigSeedSubFilter
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, Signer, SimpleSigner
from pyhanko.sign.timestamps import TimeStamper

__all__ = [
    "async_sign_detached",
    "async_sign_pdf",
    "load_signer_pkcs12",
    "sign_detached",
    "sign_pdf",
]

Box = tuple[int, int, int, int]
"""A rectangle on a page in PDF points: (x1, y1, x2, y2), origin at the bottom left."""

_CHUNK_SIZE = 64 * 1024


async def async_sign_pdf(
    pdf: BinaryIO,
    output: BinaryIO,
    signer: Signer,
    *,
    field_name: str = "Signature1",
    timestamper: TimeStamper | None = None,
    visible_box: Box | None = None,
) -> None:
    """Sign ``pdf`` into ``output`` as a PAdES baseline signature, SHA-256.

    The signature is appended as an incremental update, so the original bytes are kept.
    ``pdf`` must be a seekable binary file; ``field_name`` names the signature field, which
    is created if the document has no empty field of that name. With ``timestamper`` the
    signature gets an RFC 3161 signature time-stamp (PAdES B-T); with ``visible_box`` a new
    field is drawn at that rectangle on the first page, otherwise it is invisible.

    :raises pyhanko.pdf_utils.misc.PdfError: if ``pdf`` cannot be read as a PDF.
    :raises pyhanko.sign.general.SigningError: if signing fails (e.g. the field is taken).
    """
    metadata = PdfSignatureMetadata(
        field_name=field_name, md_algorithm="sha256", subfilter=SigSeedSubFilter.PADES
    )
    field_spec = None if visible_box is None else SigFieldSpec(field_name, box=visible_box)
    pdf_signer = PdfSigner(
        metadata, signer=signer, timestamper=timestamper, new_field_spec=field_spec
    )
    await pdf_signer.async_sign_pdf(IncrementalPdfFileWriter(pdf), output=output)


def sign_pdf(
    pdf: BinaryIO,
    output: BinaryIO,
    signer: Signer,
    *,
    field_name: str = "Signature1",
    timestamper: TimeStamper | None = None,
    visible_box: Box | None = None,
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
