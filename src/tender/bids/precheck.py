"""The signature pre-check: what the opening is expected to say, told while there is time.

Advisory only: the opening verifies again and its verdict is the one that counts. The plain
bytes it reads come from the upload's own temporary copy and are discarded right after.
"""

from __future__ import annotations

import contextvars
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

import anyio.to_thread
from anyio import CapacityLimiter

from tender.bids.schemas import PreCheck
from tender.i18n import gettext as _
from tender.i18n import in_each_language
from tender.signing import DocumentReport, SignerBinding, TrustStore, verify_document

log = logging.getLogger(__name__)
_CHECKING = contextvars.ContextVar("tender_precheck_running", default=False)


class _NoSignerNames(logging.Filter):
    """pyHanko logs the subject of a certificate it cannot build a path for. During a pre-check
    that would name a bidder in the server's logs before the opening: such records are dropped.
    (The opening verifies again, and may log freely: by then the bidders are public.)"""

    def filter(self, record: logging.LogRecord) -> bool:
        return not _CHECKING.get()


def _quiet_pyhanko_during_prechecks() -> None:
    quiet = _NoSignerNames()
    names = [name for name in logging.Logger.manager.loggerDict if name.startswith("pyhanko")]
    for name in ["pyhanko", "pyhanko_certvalidator", *names]:
        logging.getLogger(name).addFilter(quiet)


_quiet_pyhanko_during_prechecks()

DETACHED_SUFFIX = ".p7s"
PDF_MAGIC = b"%PDF-"


def signed_file_name(signature_file_name: str) -> str | None:
    """``offer.xlsx`` for ``offer.xlsx.p7s``; None for a file that is not a detached signature."""
    if signature_file_name.lower().endswith(DETACHED_SUFFIX):
        return signature_file_name[: -len(DETACHED_SUFFIX)]
    return None


def _not_checked(say: Callable[[], str]) -> PreCheck:
    """A pre-check that could not be made, saying why in English and in Hong Kong Chinese
    (a receipt keeps both)."""
    return PreCheck(None, None, None, *in_each_language(say))


SEALED_BY_SUPPLIER = _not_checked(
    lambda: _(
        "This file was sealed on your computer, so the platform cannot read it to pre-check "
        "its signature: 'tender submit --seal' checked it there before sealing it. The "
        "opening verifies it."
    )
)
"""The pre-check of a supplier-sealed file: none on the platform, which never sees the plain
bytes; the supplier's command made it locally."""


def _machine_limiter() -> CapacityLimiter:
    return CapacityLimiter(os.cpu_count() or 1)


@dataclass(frozen=True)
class PreChecker:
    """Pre-checks run in worker threads, at most one per processor at a time: validation is
    CPU work (pyHanko is synchronous inside), and on the event loop it would stall every other
    request -- uploads in flight included -- for as long as it takes."""

    trust: TrustStore
    max_bytes: int
    limiter: CapacityLimiter = field(default_factory=_machine_limiter)

    async def check(
        self,
        plaintext: BinaryIO | None,
        *,
        file_name: str,
        at: datetime,
        binding: SignerBinding,
        signed_file_sha256: str | None,
    ) -> PreCheck:
        """Pre-check one uploaded file. Never raises: a failed pre-check only says so."""
        checking = _CHECKING.set(True)
        try:
            return await self._check(
                plaintext,
                file_name=file_name,
                at=at,
                binding=binding,
                signed_file_sha256=signed_file_sha256,
            )
        except Exception:  # the upload must not fail because its advisory check did
            log.exception("a pre-check failed")  # no file name: it may say who bid
            return _not_checked(
                lambda: _(
                    "The signature could not be pre-checked because of an error on our side; "
                    "the opening will verify it."
                )
            )
        finally:
            _CHECKING.reset(checking)

    async def _check(
        self,
        plaintext: BinaryIO | None,
        *,
        file_name: str,
        at: datetime,
        binding: SignerBinding,
        signed_file_sha256: str | None,
    ) -> PreCheck:
        if plaintext is None:
            return _not_checked(
                lambda: _(
                    "The file is larger than {size:,} bytes, too large to pre-check; the "
                    "opening will verify its signature. Check it yourself with 'tender verify'."
                ).format(size=self.max_bytes)
            )
        signed_name = signed_file_name(file_name)
        if signed_name is not None:
            if signed_file_sha256 is None:
                return _not_checked(
                    lambda: _(
                        "This signature file was received, but the file it signs "
                        "({signed_name}) has not been uploaded yet, so it could not be "
                        "pre-checked. Upload {signed_name}, then this signature again to have "
                        "it pre-checked."
                    ).format(signed_name=signed_name)
                )
            report = await self._verify(
                None,
                detached_signature=plaintext,
                content_sha256=bytes.fromhex(signed_file_sha256),
                at=at,
                binding=binding,
            )
        elif plaintext.read(len(PDF_MAGIC)) == PDF_MAGIC:
            plaintext.seek(0)
            report = await self._verify(plaintext, at=at, binding=binding)
        else:
            return _not_checked(
                lambda: _(
                    "This file is not a PDF, so its signature must come as a separate file: "
                    "upload {signature_file} ('tender sign' makes one) after it."
                ).format(signature_file=f"{file_name}{DETACHED_SUFFIX}")
            )
        return PreCheck(
            report.indication.value,
            report.sub_indication.value if report.sub_indication else None,
            report.signer_subject,
            report.message_en,
            report.message_zh,
        )

    async def _verify(
        self,
        content: BinaryIO | None,
        *,
        at: datetime,
        binding: SignerBinding,
        detached_signature: BinaryIO | None = None,
        content_sha256: bytes | None = None,
    ) -> DocumentReport:
        # The thread inherits this task's context, so the log filter still knows it is a
        # pre-check.
        return await anyio.to_thread.run_sync(
            lambda: verify_document(
                content,
                trust=self.trust,
                at=at,
                detached_signature=detached_signature,
                content_sha256=content_sha256,
                expected_signers=binding,
            ),
            limiter=self.limiter,
        )
