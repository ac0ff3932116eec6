"""A throw-away PKI and sample documents, for tests and ``tender demo``.

Nothing here is secure: keys are generated on the fly and PKCS#12 files share a published
passphrase (:data:`P12_PASSPHRASE`). Never trust the test root outside tests and demos.
"""

from tender.signing.testing.documents import async_signed_pdf, make_pdf, signed_pdf
from tender.signing.testing.pki import (
    P12_PASSPHRASE,
    REVOCATION_CRL,
    TRUSTED_CERTIFICATES,
    KeyLoadedTimeStamper,
    TestPKI,
)
from tender.signing.testing.services import ServedPKI, serve_pki

__all__ = [
    "P12_PASSPHRASE",
    "REVOCATION_CRL",
    "TRUSTED_CERTIFICATES",
    "KeyLoadedTimeStamper",
    "ServedPKI",
    "TestPKI",
    "async_signed_pdf",
    "make_pdf",
    "serve_pki",
    "signed_pdf",
]
