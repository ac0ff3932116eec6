"""Which certificate authorities the platform trusts, and the revocation policy it validates with.

Revocation evidence is offline by default: CRLs and OCSP responses from the trust store's
revocation folder and those embedded in the signed PDF. CRLs and OCSP responses are
fetched live only from the hosts in ``fetch_allowed_hosts`` (URLs inside a signature are
chosen by whoever made it); certificates (AIA ``caIssuers``) are never fetched.

Revocation is checked *softly*: a certificate that declares CRL/OCSP locations passes if no
evidence about it can be had, and fails if the evidence says it was revoked before the
validation time. A revocation after the validation time does not count (point in time).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from asn1crypto import x509
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.sign.validation.policy_decl import (
    CertificateFetchingRule,
    LocalKnowledge,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
    bootstrap_validation_data_handlers,
)
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.registry import SimpleTrustManager
from pyhanko_certvalidator.revinfo.archival import CRLContainer, OCSPContainer
from pyhanko_certvalidator.sig_validate import DEFAULT_SIGNATURE_VALIDATOR, SignatureValidator

from tender.signing.revocation import (
    AllowListFetcherBackend,
    RevocationData,
    read_revocation_folder,
)

__all__ = [
    "CERTIFICATE_SUFFIXES",
    "SIGNING_KEY_USAGE",
    "TrustStore",
    "TrustStoreError",
    "point_in_time",
]

CERTIFICATE_SUFFIXES = frozenset({".pem", ".crt", ".cer", ".der"})
"""File name endings :meth:`TrustStore.from_folder` reads (case-insensitive)."""

_SOFT_REVOCATION = CertRevTrustPolicy(
    RevocationCheckingPolicy(
        ee_certificate_rule=RevocationCheckingRule.CHECK_IF_DECLARED_SOFT,
        intermediate_ca_cert_rule=RevocationCheckingRule.CHECK_IF_DECLARED_SOFT,
    ),
    # Evidence is gathered at the opening, after the submission time it is applied to; a
    # CRL or OCSP response issued later still tells whether (and since when) the
    # certificate was revoked at that time, so its issue date must not disqualify it.
    retroactive_revinfo=True,
)

_OFFLINE = RevocationInfoGatheringSpec(
    online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY,
    certificate_fetching_rule=CertificateFetchingRule.NEVER_FETCH,
)
_NO_REVOCATION_DATA = RevocationData("offline")

SIGNING_KEY_USAGE = KeyUsageConstraints(
    key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False
)
"""The key usage a signer's certificate must allow (either of the two) for its signature to
count: the AdES process's and :meth:`TrustStore.validation_spec`'s."""


class TrustStoreError(ValueError):
    """A trust store cannot be built from what was given."""


def point_in_time(at: datetime) -> ValidationTimingInfo:
    """pyHanko timing for a validation *as of* ``at`` (a timezone-aware datetime).

    ``at`` is both the validation time and the best known signature time: the platform
    received the signature at ``at``, so it certainly existed then.

    :raises ValueError: if ``at`` is naive (a naive time would silently be read as local).
    """
    if at.tzinfo is None:
        raise ValueError("validation time must be timezone-aware")
    moment = at.astimezone(UTC)
    return ValidationTimingInfo(
        validation_time=moment, best_signature_time=moment, point_in_time_validation=True
    )


def _is_root(certificate: x509.Certificate) -> bool:
    # asn1crypto says "maybe" when subject and issuer (and key identifiers) agree; it never
    # checks the self-signature, which path validation does later anyway.
    return bool(certificate.ca) and certificate.self_signed != "no"


@dataclass(frozen=True)
class TrustStore:
    """Trust anchors (``roots``) and untrusted helper certificates (``intermediates``).

    Intermediates only help to build paths from a signer to a root; a signer's chain may
    also bring its own. Both are asn1crypto certificates, as pyHanko and certvalidator use.
    ``revocation`` holds the CRLs and OCSP responses supplied offline;
    ``fetch_allowed_hosts`` the hosts (``host`` or ``host:port``) CRLs and OCSP responses
    may be fetched from during validation (none: never fetch).
    """

    roots: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...] = ()
    revocation: RevocationData = _NO_REVOCATION_DATA
    fetch_allowed_hosts: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not self.roots:
            raise TrustStoreError("a trust store needs at least one root certificate")

    def with_anchors_of(self, other: TrustStore) -> TrustStore:
        """This store, trusting ``other``'s roots and knowing its intermediates too (for a
        signature whose time-stamps chain to another authority, say)."""
        return replace(
            self,
            roots=(*self.roots, *(c for c in other.roots if c not in self.roots)),
            intermediates=(*self.intermediates, *other.intermediates),
        )

    @classmethod
    def from_certificates(
        cls,
        roots: Iterable[x509.Certificate],
        intermediates: Iterable[x509.Certificate] = (),
    ) -> TrustStore:
        """A trust store of the given roots and intermediates.

        :raises TrustStoreError: if ``roots`` is empty.
        """
        return cls(roots=tuple(roots), intermediates=tuple(intermediates))

    @classmethod
    def from_folder(
        cls,
        path: Path,
        *,
        revocation_dir: Path | None = None,
        fetch_allowed_hosts: frozenset[str] = frozenset(),
    ) -> TrustStore:
        """Read every ``*.pem``, ``*.crt``, ``*.cer`` and ``*.der`` file directly in ``path``.

        PEM files may hold several certificates. Self-signed CA certificates become roots;
        all others become intermediates. Sub-folders are not read. From ``revocation_dir``,
        if given, every ``*.crl`` (PEM or DER CRL) and ``*.ocsp`` / ``*.der`` (DER OCSP
        response) becomes offline revocation evidence. CRLs and OCSP responses are fetched
        live only from ``fetch_allowed_hosts`` (``host`` for any port, or ``host:port``).

        :raises TrustStoreError: if ``path`` or ``revocation_dir`` is not a folder, a file
            cannot be parsed, or there is no root among the certificates.
        """
        if not path.is_dir():
            raise TrustStoreError(f"trust folder {path} does not exist or is not a folder")
        roots: list[x509.Certificate] = []
        intermediates: list[x509.Certificate] = []
        for file in sorted(path.iterdir()):
            if not file.is_file() or file.suffix.lower() not in CERTIFICATE_SUFFIXES:
                continue
            try:
                # asn1crypto parses lazily: classifying here makes a broken file fail here.
                classified = [
                    (certificate, _is_root(certificate))
                    for certificate in load_certs_from_pemder_data(file.read_bytes())
                ]
            except ValueError as error:
                raise TrustStoreError(f"{file} is not a PEM or DER certificate file") from error
            if not classified:
                raise TrustStoreError(f"{file} holds no certificate")
            for certificate, is_root in classified:
                (roots if is_root else intermediates).append(certificate)
        if not roots:
            raise TrustStoreError(f"trust folder {path} holds no root (self-signed CA) certificate")
        revocation = _NO_REVOCATION_DATA
        if revocation_dir is not None:
            if not revocation_dir.is_dir():
                raise TrustStoreError(f"revocation folder {revocation_dir} is not a folder")
            try:
                revocation = read_revocation_folder(revocation_dir)
            except ValueError as error:
                raise TrustStoreError(str(error)) from error
        return cls(
            roots=tuple(roots),
            intermediates=tuple(intermediates),
            revocation=revocation,
            fetch_allowed_hosts=fetch_allowed_hosts,
        )

    def fetcher(self) -> AllowListFetcherBackend | None:
        """A fetcher backend restricted to :attr:`fetch_allowed_hosts`, or None if nothing
        may be fetched. The caller closes it when its validations are done."""
        if not self.fetch_allowed_hosts:
            return None
        return AllowListFetcherBackend(self.fetch_allowed_hosts)

    def validation_spec(
        self,
        embedded: RevocationData | None = None,
        fetcher: AllowListFetcherBackend | None = None,
        *,
        signature_validator: SignatureValidator = DEFAULT_SIGNATURE_VALIDATOR,
    ) -> SignatureValidationSpec:
        """pyHanko's AdES validation settings: these roots, soft revocation, the offline
        revocation evidence plus ``embedded`` (the signed document's), and live fetching
        only through ``fetcher`` (see :meth:`fetcher`). ``signature_validator`` does the
        cryptographic verifications (of signatures, certificates, CRLs, OCSP responses)."""
        sources = [self.revocation] if embedded is None else [self.revocation, embedded]
        gathering = _OFFLINE
        if fetcher is not None:
            # ALWAYS_FETCH: validation as of a past time is historical, and pyHanko's
            # default rule never fetches for those; the backend's allow-list is the guard.
            gathering = RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.ALWAYS_FETCH,
                fetcher_backend=fetcher,
                certificate_fetching_rule=CertificateFetchingRule.NEVER_FETCH,
            )
        return SignatureValidationSpec(
            # A certificate signs only if it says it may: a key meant for encryption alone
            # makes no signature, in a PDF or beside any other file.
            key_usage_settings=SIGNING_KEY_USAGE,
            cert_validation_policy=CertValidationPolicySpec(
                trust_manager=SimpleTrustManager.build(self.roots),
                revinfo_policy=_SOFT_REVOCATION,
                signature_validator=signature_validator,
            ),
            revinfo_gathering_policy=gathering,
            local_knowledge=LocalKnowledge(
                known_certs=list(self.intermediates),
                known_crls=[CRLContainer(c) for s in sources for c in s.crls],
                known_ocsps=[
                    single
                    for source in sources
                    for response in source.ocsps
                    for single in OCSPContainer.load_multi(response)
                ],
            ),
        )

    def validation_context(
        self,
        at: datetime,
        embedded: RevocationData | None = None,
        fetcher: AllowListFetcherBackend | None = None,
        *,
        signature_validator: SignatureValidator = DEFAULT_SIGNATURE_VALIDATOR,
    ) -> ValidationContext:
        """A fresh certvalidator context for validating as of ``at``, with the same policy
        as :meth:`validation_spec` (contexts keep state, so use one per validation).

        :raises ValueError: if ``at`` is naive.
        """
        spec = self.validation_spec(embedded, fetcher, signature_validator=signature_validator)
        timing = point_in_time(at)
        return spec.cert_validation_policy.build_validation_context(
            timing_info=timing,
            handlers=bootstrap_validation_data_handlers(spec, timing_info=timing),
        )
