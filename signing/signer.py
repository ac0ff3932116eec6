"""Signing PDFs (PAdES) with a key held in memory or in a PKCS#12 file.

Used by the supplier CLI, by the test PKI, and later for the platform's own seal.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import BinaryIO

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, Signer, SimpleSigner

__all__ = ["async_sign_pdf", "load_signer_pkcs12", "sign_pdf"]


async def async_sign_pdf(
    pdf: BinaryIO,
    output: BinaryIO,
    signer: Signer,
    *,
    field_name: str = "Signature1",
) -> None:
    """Sign ``pdf`` into ``output`` as a PAdES baseline (B-B) signature, SHA-256.

    The signature is appended as an incremental update, so the original bytes are kept.
    ``pdf`` must be a seekable binary file; ``field_name`` names the signature field, which
    is created if the document has no empty field of that name.

    :raises pyhanko.pdf_utils.misc.PdfError: if ``pdf`` cannot be read as a PDF.
    :raises pyhanko.sign.general.SigningError: if signing fails (e.g. the field is taken).
    """
    metadata = PdfSignatureMetadata(
        field_name=field_name, md_algorithm="sha256", subfilter=SigSeedSubFilter.PADES
    )
    writer = IncrementalPdfFileWriter(pdf)
    await PdfSigner(metadata, signer=signer).async_sign_pdf(writer, output=output)


def sign_pdf(
    pdf: BinaryIO,
    output: BinaryIO,
    signer: Signer,
    *,
    field_name: str = "Signature1",
) -> None:
    """Synchronous :func:`async_sign_pdf`, for command-line tools and tests.

    It runs its own event loop, so do not call it from async code.
    """
    asyncio.run(async_sign_pdf(pdf, output, signer, field_name=field_name))


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
