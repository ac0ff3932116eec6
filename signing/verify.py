"""One entry point for verifying signed documents as of a point in time (the submission time).

A PDF is verified as PAdES (:mod:`tender.signing.pades`); any file with a detached ``.p7s``
as CAdES (:mod:`tender.signing.cades`). Either way every signature gets a report, the
document gets the worst verdict among them (or a verdict on the whole document), and the
supplier's registered certificates decide whose signature counts.

Revocation evidence and the soft-fail policy: see :mod:`tender.signing.trust`.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import BinaryIO

from tender.signing.cades import Digests, content_digests, known_digest, verify_detached
from tender.signing.certificates import SignerBinding
from tender.signing.messages import DECRYPTED, LENIENT_PARSING, explain
from tender.signing.pades import verify_pdf
from tender.signing.report import DocumentReport, Note
from tender.signing.trust import TrustStore, point_in_time
from tender.signing.verdicts import Outcome, worst

__all__ = ["async_verify_document", "verify_document"]


def _notes(outcome: Outcome) -> tuple[Note, ...]:
    notes = []
    if outcome.lenient_parsing:
        notes.append(Note("LENIENT_PARSING", *LENIENT_PARSING))
    # An encrypted PDF that needs a password says so in its verdict's own sentence.
    if outcome.decrypted:
        notes.append(Note("DECRYPTED", *DECRYPTED))
    return tuple(notes)


def _document(kind: str, outcome: Outcome, at: datetime) -> DocumentReport:
    signatures, document_verdict = outcome.signatures, outcome.document_verdict
    # The document's own verdict comes first: it names a problem of the whole document, which no
    # signature's verdict can make up for.
    candidates = (
        [] if document_verdict is None else [(document_verdict.verdict, document_verdict.message)]
    )
    candidates += [
        ((report.indication, report.sub_indication), (report.message_en, report.message_zh))
        for report in signatures
    ]
    indication, sub_indication = worst(verdict for verdict, _ in candidates)
    message = next(message for verdict, message in candidates if verdict[0] is indication)
    message_en, message_zh = message or explain(indication, sub_indication)
    return DocumentReport(
        indication=indication,
        sub_indication=sub_indication,
        kind=kind,
        signatures=signatures,
        message_en=message_en,
        message_zh=message_zh,
        validated_at=at,
        lenient_parsing=outcome.lenient_parsing,
        encrypted=outcome.encrypted,
        notes=_notes(outcome),
        signed_revision_length=outcome.signed_revision_length,
    )


async def async_verify_document(
    content: BinaryIO | None,
    *,
    trust: TrustStore,
    at: datetime,
    detached_signature: BinaryIO | None = None,
    content_sha256: bytes | None = None,
    expected_signers: SignerBinding | None = None,
) -> DocumentReport:
    """Verify every signature of a document as of ``at``.

    Without ``detached_signature``, ``content`` is a PAdES-signed PDF. With it, the
    ``.p7s`` in ``detached_signature`` is verified as detached CAdES over ``content`` or,
    if ``content`` is None, over the file whose SHA-256 is ``content_sha256`` (the signed
    file itself is then never read). A ``.p7s`` with neither is a signature whose file is
    missing: each signer gets INDETERMINATE / SIGNED_DATA_NOT_FOUND, with the signer's
    certificate read from the ``.p7s``. Files must be seekable binary files; they are read
    in place, in chunks, never loaded whole.

    ``at`` (timezone-aware) is the point in time to validate at, normally the submission
    time: a certificate that expired after ``at`` still passes, one that expired before
    does not. With ``expected_signers``, an intact signature by a certificate not
    registered to that organisation is TOTAL_FAILED / SIGNER_NOT_REGISTERED.

    Any input, however broken, gets a report: unreadable input is TOTAL_FAILED /
    FORMAT_FAILURE, a document without signatures TOTAL_FAILED / NO_SIGNATURE_FOUND.

    :raises ValueError: if ``at`` is naive, or the arguments do not describe one of the
        four cases above (a PDF; a ``.p7s`` with its file; a ``.p7s`` with a SHA-256 of
        32 bytes; a ``.p7s`` alone).
    """
    timing = point_in_time(at)
    at = timing.validation_time
    # One fetcher per document: its HTTP session, opened on first use, lives exactly as
    # long as the validations.
    fetcher = trust.fetcher()
    if detached_signature is None:
        if content is None or content_sha256 is not None:
            raise ValueError("a PDF is verified from its content, without content_sha256")
        kind, validation = "PAdES", verify_pdf(content, trust, timing, expected_signers, fetcher)
    else:
        digests: Digests | None
        if content is not None and content_sha256 is None:
            digests = content_digests(content)
        elif content is None and content_sha256 is not None and len(content_sha256) == 32:
            digests = known_digest(content_sha256)
        elif content is None and content_sha256 is None:
            digests = None  # the signed file is missing
        else:
            raise ValueError(
                "a detached signature needs either the content or its 32-byte SHA-256, not both"
            )
        kind, validation = (
            "CAdES",
            verify_detached(detached_signature, digests, trust, timing, expected_signers, fetcher),
        )
    try:
        outcome = await validation
    finally:
        if fetcher is not None:
            await fetcher.close()  # type: ignore[no-untyped-call]
    return _document(kind, outcome, at)


def verify_document(
    content: BinaryIO | None,
    *,
    trust: TrustStore,
    at: datetime,
    detached_signature: BinaryIO | None = None,
    content_sha256: bytes | None = None,
    expected_signers: SignerBinding | None = None,
) -> DocumentReport:
    """Synchronous :func:`async_verify_document`, for command-line tools and tests.

    It runs its own event loop, so do not call it from async code (the server uses
    :func:`async_verify_document`).
    """
    return asyncio.run(
        async_verify_document(
            content,
            trust=trust,
            at=at,
            detached_signature=detached_signature,
            content_sha256=content_sha256,
            expected_signers=expected_signers,
        )
    )
