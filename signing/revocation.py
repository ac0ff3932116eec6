"""Revocation evidence: CRLs and OCSP responses, where they come from, and what they say.

Three sources, each tagged in the report with its ``origin``:

* ``offline`` — files in the trust store's revocation folder (:func:`read_revocation_folder`);
* ``embedded`` — the PDF's document security store (DSS);
* ``fetched`` — downloaded during validation, and only from allow-listed hosts
  (:class:`AllowListFetcherBackend`). The URLs are written into certificates by whoever
  issued them and, for a hostile signer, by the signer: following them anywhere would let
  a bid make the server send requests into its own network (SSRF).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from aiohttp import ClientHandlerType, ClientRequest, ClientResponse
from asn1crypto import crl, ocsp, pem, x509
from cryptography import x509 as pyca_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend
from pyhanko_certvalidator.fetchers.aiohttp_fetchers.util import LazySession
from pyhanko_certvalidator.fetchers.api import Fetchers, FetchLimits

from tender.signing.report import RevocationEvidence

__all__ = [
    "CRL_SUFFIXES",
    "OCSP_SUFFIXES",
    "AllowListFetcherBackend",
    "FetchRefusedError",
    "RevocationData",
    "evidence_for",
    "host_allowed",
    "read_dss",
    "read_revocation_folder",
    "revocation_urls",
]

logger = logging.getLogger(__name__)

CRL_SUFFIXES = frozenset({".crl"})
"""File name endings read as CRLs (PEM or DER) from a revocation folder."""
OCSP_SUFFIXES = frozenset({".ocsp", ".der"})
"""File name endings read as DER OCSP responses from a revocation folder."""

# Far below pyHanko's defaults: one signer's chain needs a handful of requests, and each
# request a hostile document triggers is one too many.
_FETCH_LIMITS = FetchLimits(max_requests=8, max_cert_requests=0, max_aia_urls_per_object=2)
_FETCH_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class RevocationData:
    """CRLs and OCSP responses from one origin (``offline``, ``embedded``, ``fetched``)."""

    origin: str
    crls: tuple[crl.CertificateList, ...] = ()
    ocsps: tuple[ocsp.OCSPResponse, ...] = ()


def _der(data: bytes, pem_type: str) -> bytes:
    if pem.detect(data):
        kind, _, der = pem.unarmor(data)
        if kind != pem_type:
            raise ValueError(f"PEM block {kind!r}, expected {pem_type!r}")
        return bytes(der)
    return data


def _load_crl(data: bytes) -> crl.CertificateList:
    loaded = crl.CertificateList.load(_der(data, "X509 CRL"))
    loaded.native  # noqa: B018 - asn1crypto parses lazily: make broken DER fail here
    return loaded


def _load_ocsp(data: bytes) -> ocsp.OCSPResponse:
    loaded = ocsp.OCSPResponse.load(_der(data, "OCSP RESPONSE"))
    loaded.native  # noqa: B018 - asn1crypto parses lazily: make broken DER fail here
    return loaded


def read_revocation_folder(path: Path) -> RevocationData:
    """Read every ``*.crl`` (PEM or DER CRL) and ``*.ocsp`` / ``*.der`` (DER OCSP response)
    directly in ``path``; other files and sub-folders are skipped.

    :raises ValueError: naming the file, if one cannot be parsed; :raises OSError: if
        ``path`` cannot be listed.
    """
    crls: list[crl.CertificateList] = []
    ocsps: list[ocsp.OCSPResponse] = []
    for file in sorted(path.iterdir()):
        suffix = file.suffix.lower()
        if not file.is_file() or suffix not in CRL_SUFFIXES | OCSP_SUFFIXES:
            continue
        try:
            if suffix in CRL_SUFFIXES:
                crls.append(_load_crl(file.read_bytes()))
            else:
                ocsps.append(_load_ocsp(file.read_bytes()))
        except ValueError as error:
            raise ValueError(f"{file} is not a readable CRL or OCSP response") from error
    return RevocationData("offline", tuple(crls), tuple(ocsps))


def read_dss(reader: PdfFileReader) -> RevocationData:
    """The CRLs and OCSP responses in the PDF's document security store, if it has one."""
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        return RevocationData("embedded")
    return RevocationData(
        "embedded",
        crls=tuple(crl.CertificateList.load(ref.get_object().data) for ref in dss.crls),
        ocsps=tuple(ocsp.OCSPResponse.load(ref.get_object().data) for ref in dss.ocsps),
    )


def _host_port(url: str) -> tuple[str, str]:
    # ("host", "host:port"), the host in lower case and the port made explicit.
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:  # a port that is not a number
        return host, ""
    return host, f"{host}:{port}"


def host_allowed(url: str, allowed_hosts: frozenset[str]) -> bool:
    """Whether ``url`` is on the allow-list: an entry ``host`` allows any port of that host,
    ``host:port`` only that port. Host names compare case-insensitively."""
    host, host_port = _host_port(url)
    if not host:
        return False
    return host in allowed_hosts or host_port in allowed_hosts


def revocation_urls(certificate: x509.Certificate) -> tuple[str, ...]:
    """The OCSP responder and CRL distribution point URLs ``certificate`` declares (none if
    its extensions cannot be read)."""
    try:
        crl_urls = [point.url for point in certificate.crl_distribution_points]
        return (*certificate.ocsp_urls, *(url for url in crl_urls if url))
    except (ValueError, TypeError, KeyError):
        return ()


class FetchRefusedError(aiohttp.ClientError):
    """A fetch to a host not on the allow-list; pyHanko treats it as any failed fetch."""


class _AllowListSession(LazySession):
    # Checking in a client middleware catches every request the fetchers make, whatever
    # URL they picked from a certificate, and redirects too (each hop is a new request).
    def __init__(self, allowed_hosts: frozenset[str], failed: set[str]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._allowed_hosts = allowed_hosts
        self._failed = failed

    def get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                middlewares=(self._check,), timeout=aiohttp.ClientTimeout(total=10)
            )
        session: aiohttp.ClientSession = self._session
        return session

    async def _check(self, request: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
        if not host_allowed(str(request.url), self._allowed_hosts):
            logger.warning("refused to fetch %s: host not allowed", request.url)
            raise FetchRefusedError(f"fetching from {request.url.host} is not allowed")
        # A host that is allowed but does not answer leaves revocation unknown: noted, so
        # that the report can say the revocation stage could not finish.
        try:
            response = await handler(request)
        except (aiohttp.ClientError, TimeoutError):
            self._failed.add(_host_port(str(request.url))[1])
            raise
        if response.status >= 400:
            self._failed.add(_host_port(str(request.url))[1])
        return response


class AllowListFetcherBackend(AIOHttpFetcherBackend):
    """pyHanko's aiohttp fetchers, allowed to reach only ``allowed_hosts`` (see
    :func:`host_allowed`), never certificate (AIA) URLs, and keeping what they fetched.

    Close it (``await backend.close()``) when the validations using it are done.
    """

    def __init__(self, allowed_hosts: frozenset[str]) -> None:
        self._failed: set[str] = set()
        super().__init__(
            session=_AllowListSession(allowed_hosts, self._failed),  # type: ignore[arg-type]
            per_request_timeout=_FETCH_TIMEOUT_SECONDS,
            limits=_FETCH_LIMITS,
        )
        self._fetchers: Fetchers | None = None

    def unreachable(self, urls: Iterable[str]) -> bool:
        """Whether a fetch from the host of any of ``urls`` failed (no answer, or an HTTP
        error) since this backend was made."""
        return any(_host_port(url)[1] in self._failed for url in urls)

    def get_fetchers(self) -> Fetchers:
        """The same fetchers for every validation context (pyHanko asks once per context),
        so the classic and the AdES validation of a signature share one fetch, one budget
        and one record of what was fetched."""
        if self._fetchers is None:
            self._fetchers = super().get_fetchers()
        return self._fetchers

    def fetched(self) -> RevocationData:
        """Every CRL and OCSP response fetched so far."""
        fetchers = self._fetchers
        if fetchers is None:
            return RevocationData("fetched")
        return RevocationData(
            "fetched",
            crls=tuple(fetchers.crl_fetcher.fetched_crls()),
            ocsps=tuple(fetchers.ocsp_fetcher.fetched_responses()),
        )


def _sha256(value: crl.CertificateList | ocsp.OCSPResponse) -> str:
    return hashlib.sha256(value.dump()).hexdigest()


def _crl_evidence(
    certificate: x509.Certificate, listing: crl.CertificateList, origin: str
) -> RevocationEvidence | None:
    tbs = listing["tbs_cert_list"]
    if tbs["issuer"] != certificate.issuer:
        return None
    revoked_at: datetime | None = None
    for entry in tbs["revoked_certificates"]:
        if entry["user_certificate"].native == certificate.serial_number:
            revoked_at = entry["revocation_date"].native
    return RevocationEvidence(
        kind="CRL",
        origin=origin,
        issuer=pyca_x509.load_der_x509_crl(listing.dump()).issuer.rfc4514_string(),
        issued_at=tbs["this_update"].native,
        certificate_serial=format(certificate.serial_number, "x"),
        status="good" if revoked_at is None else "revoked",
        revoked_at=revoked_at,
        sha256=_sha256(listing),
    )


def _responder(response: ocsp.OCSPResponse) -> str:
    # RFC 4514 name of the responder: the subject of the certificate the response embeds
    # or, failing that, its responder ID (a name, or the SHA-1 hash of its key).
    basic = response["response_bytes"]["response"].parsed
    for certificate in basic["certs"] or ():
        return pyca_x509.load_der_x509_certificate(certificate.dump()).subject.rfc4514_string()
    responder = basic["tbs_response_data"]["responder_id"]
    if responder.name == "by_name":
        return str(responder.chosen.human_friendly)
    return bytes(responder.chosen.native).hex()


def _ocsp_evidence(
    certificate: x509.Certificate, response: ocsp.OCSPResponse, origin: str
) -> Iterator[RevocationEvidence]:
    if response["response_status"].native != "successful":
        return
    data = response.basic_ocsp_response["tbs_response_data"]
    responder = _responder(response)
    for single in data["responses"]:
        cert_id = single["cert_id"]
        # asn1crypto's Name offers .sha1 and .sha256; other hash algorithms never match.
        algorithm = cert_id["hash_algorithm"]["algorithm"].native
        issuer_hash = getattr(certificate.issuer, algorithm, None)
        if (
            cert_id["serial_number"].native != certificate.serial_number
            or cert_id["issuer_name_hash"].native != issuer_hash
        ):
            continue
        status = single["cert_status"]
        revoked = status.name == "revoked"
        yield RevocationEvidence(
            kind="OCSP",
            origin=origin,
            issuer=responder,
            issued_at=data["produced_at"].native,
            certificate_serial=format(certificate.serial_number, "x"),
            status="revoked" if revoked else str(status.name),
            revoked_at=status.chosen["revocation_time"].native if revoked else None,
            sha256=_sha256(response),
        )


def evidence_for(
    certificate: x509.Certificate | None, sources: Iterable[RevocationData]
) -> tuple[RevocationEvidence, ...]:
    """What each CRL and OCSP response in ``sources`` says about ``certificate`` (CRLs of
    its issuer, OCSP answers about its serial number), once per distinct piece of
    evidence, in the order of ``sources``."""
    if certificate is None:
        return ()
    found: dict[str, RevocationEvidence] = {}
    for source in sources:
        for item in (*source.crls, *source.ocsps):
            try:
                if isinstance(item, crl.CertificateList):
                    evidence = _crl_evidence(certificate, item, source.origin)
                    described = [] if evidence is None else [evidence]
                else:
                    described = list(_ocsp_evidence(certificate, item, source.origin))
            except (ValueError, TypeError, KeyError):
                # Embedded evidence is as hostile as the rest of the document: what cannot
                # be read is left out of the report (validation judged it on its own).
                logger.info("unreadable %s revocation evidence", source.origin, exc_info=True)
                continue
            for evidence in described:
                found.setdefault(evidence.sha256, evidence)
    return tuple(found.values())
