"""A throw-away PKI, declared in ``pki.yaml`` and issued by Certomancer when first used.

Certomancer reads keys from files and cannot make them, and no private key belongs in the
repository, so every key named in the YAML is generated here (EC P-256: fast, and as good
as RSA for tests) into a temporary folder that is deleted as soon as Certomancer has loaded
it. Validity bounds and revocation times in the YAML are durations relative to a
*reference time*, normally today, so the suppliers are valid around the real current time.

The PKI publishes an OCSP responder, a CRL and a time-stamping authority for the issuing CA
under a service URL. By default that URL leads nowhere (``http://pki.tender.invalid``);
:func:`tender.signing.testing.serve_pki` builds the PKI with a URL on 127.0.0.1 and answers
there for real.
"""

from __future__ import annotations

import functools
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import yaml
from asn1crypto import cms, core, keys, pem, x509
from certomancer.config_utils import parse_duration
from certomancer.registry import (
    ArchLabel,
    CertLabel,
    CertomancerConfig,
    CertomancerObjectNotFoundError,
    PKIArchitecture,
    ServiceLabel,
)
from cryptography import x509 as pyca_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.x509.oid import ExtensionOID, NameOID
from pyhanko.sign.general import as_signing_certificate, simple_cms_attribute
from pyhanko.sign.signers import Signer, SimpleSigner
from pyhanko.sign.timestamps import DummyTimeStamper, TimeStamper
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from tender.signing.signer import load_signer_pkcs12
from tender.signing.trust import TrustStore

__all__ = [
    "P12_PASSPHRASE",
    "PLATFORM_SEAL",
    "REVOCATION_CRL",
    "TRUSTED_CERTIFICATES",
    "KeyLoadedTimeStamper",
    "TestPKI",
]

P12_PASSPHRASE = b"tender-test-only"
"""Passphrase of every PKCS#12 file :meth:`TestPKI.create` writes."""

TRUSTED_CERTIFICATES = ("root", "interm")
"""The certificates written to the trust folder: the test root and its issuing CA. The
``untrusted-root`` hierarchy is deliberately left out."""

PLATFORM_SEAL = "platform"
"""Name of the platform's organisation seal certificate (opening records, receipts). It can
sign (:meth:`TestPKI.signer`) but is not a supplier, so it is not in
:attr:`TestPKI.signer_names`."""

REVOCATION_CRL = "interm.crl"
"""File name, in :attr:`TestPKI.revocation_dir`, of the issuing CA's CRL."""

ROOT_REVOCATION_CRL = "root.crl"
"""File name, in :attr:`TestPKI.revocation_dir`, of the root's CRL of the CAs and TSA it
issued (an ARL): long-term validation needs revocation data for every CA of a path."""

_ARCHITECTURE = ArchLabel("tender-test")
_CRL_REPOSITORY = ServiceLabel("interm")
_TSA = ServiceLabel("tsa")
TSA_CERTIFICATE = "tsa"
"""Name of the time-stamping authority's certificate (and of its ``.p12``)."""
# End-entity certificates that serve the PKI (time-stamps, OCSP) rather than sign bids.
_SERVICE_CERTIFICATES = frozenset({"tsa", "interm-ocsp"})
# Signs for the platform, not for a supplier: loadable, but kept out of `signer_names`.
_PLATFORM_CERTIFICATES = frozenset({PLATFORM_SEAL})


def _absolute(offset: str, reference_time: datetime) -> str:
    sign = offset[:1]
    if sign not in ("+", "-"):
        raise ValueError(f"validity offset {offset!r} must start with + or -")
    delta = parse_duration(offset[1:])
    return (reference_time + delta if sign == "+" else reference_time - delta).isoformat()


def _write_keys(config: dict[str, Any], folder: Path) -> None:
    for key_set in config["keysets"].values():
        for key in key_set["keys"].values():
            # `rsa-bits` is ours, not Certomancer's: removed before it reads the config.
            rsa_bits = key.pop("rsa-bits", None)
            private_key = (
                ec.generate_private_key(ec.SECP256R1())
                if rsa_bits is None
                else rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
            )
            _write_owner_only(
                folder / key["path"],
                private_key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ),
            )


def _write_owner_only(path: Path, data: bytes) -> None:
    """Write a private key or PKCS#12 file readable and writable by its owner only (0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        os.fchmod(fd, 0o600)  # O_CREAT's mode does not apply to a file that already exists
        file.write(data)


def _attribute(name: str, value: object) -> cms.CMSAttribute:
    attribute: cms.CMSAttribute = simple_cms_attribute(name, value)  # type: ignore[no-untyped-call]
    return attribute


class KeyLoadedTimeStamper(DummyTimeStamper):
    """pyHanko's in-process RFC 3161 time-stamper, with its RSA key loaded once.

    :class:`~pyhanko.sign.timestamps.DummyTimeStamper` loads (and checks) its private key
    again for every token, which costs far more than the signature itself; this one loads it
    when it is made. Its tokens are the same, byte for byte, as the ones
    ``DummyTimeStamper`` makes with that key for the same request, time and serial number.

    :raises ValueError: if ``tsa_key`` is not an RSA key (pyHanko's time-stamper signs with
        RSA only).
    """

    def __init__(self, tsa_cert: x509.Certificate, tsa_key: keys.PrivateKeyInfo) -> None:
        # The certificate as read from its DER, the same bytes: one that was built (by
        # Certomancer) or read through (.native) is re-encoded by asn1crypto whenever it is
        # dumped, twice per token, which costs several times the signature.
        super().__init__(tsa_cert=x509.Certificate.load(tsa_cert.dump()), tsa_key=tsa_key)
        private_key = serialization.load_der_private_key(tsa_key.dump(), password=None)
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise ValueError("the test time-stamping authority signs with RSA only")
        self._private_key = private_key
        # The same in every token; made once, and read back from its DER for the same reason
        # as the certificate.
        signing_certificate = _attribute(
            "signing_certificate", as_signing_certificate(self.tsa_cert)
        )
        self._signing_certificate = cms.CMSAttribute.load(signing_certificate.dump())

    def _sign_tst_info(
        self, tst_info_data: bytes, md_algorithm: str, dt: datetime
    ) -> tuple[bytes, cms.CMSAttributes]:
        # As DummyTimeStamper._sign_tst_info, with the key already loaded.
        digest = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
        digest.update(tst_info_data)
        signed_attrs = cms.CMSAttributes(
            [
                _attribute("content_type", "tst_info"),
                _attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
                self._signing_certificate,
                _attribute("message_digest", digest.finalize()),
            ]
        )
        signature = self._private_key.sign(
            signed_attrs.dump(), PKCS1v15(), get_pyca_cryptography_hash(md_algorithm.upper())
        )
        return signature, signed_attrs


@dataclass(frozen=True)
class _Issued:
    architecture: PKIArchitecture
    signer_names: tuple[str, ...]
    service_url: str


@functools.cache
def _issue(reference_time: datetime, service_url: str | None) -> _Issued:
    # Cached: one PKI per reference time, service URL and process, so every TestPKI made
    # for the same day shares keys and certificates (and a trust folder from one matches
    # the others).
    config = yaml.safe_load(resources.files(__package__).joinpath("pki.yaml").read_text())
    cert_specs = config["pki-architectures"][_ARCHITECTURE]["certs"]
    for spec in cert_specs.values():
        validity = spec.get("validity")
        if validity is not None:
            for bound in ("valid-from", "valid-to"):
                validity[bound] = _absolute(validity[bound], reference_time)
        revocation = spec.get("revocation")
        if revocation is not None:
            revocation["revoked-since"] = _absolute(revocation["revoked-since"], reference_time)
    with tempfile.TemporaryDirectory(prefix="tender-test-pki-") as folder:
        _write_keys(config, Path(folder))
        # Keys are read here, while the folder exists; certificates are issued from memory.
        architecture = CertomancerConfig(
            config, key_search_dir=folder, external_url_prefix=service_url
        ).get_pki_arch(_ARCHITECTURE)
    signer_names = tuple(
        name
        for name in cert_specs
        if name not in _SERVICE_CERTIFICATES | _PLATFORM_CERTIFICATES
        and not architecture.get_cert(CertLabel(name)).ca
    )
    return _Issued(architecture, signer_names, service_url or config["external-url-prefix"])


def _today() -> datetime:
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class TestPKI:
    """The test PKI, with its trust folder and PKCS#12 files written to ``directory``.

    Certificates (names as in ``pki.yaml``): ``root`` and ``interm`` (trusted);
    ``supplier-a``, ``supplier-b``, ``supplier-c`` (valid from a year before the reference
    time to two years after it); ``supplier-expired`` (expired a year before it);
    ``supplier-not-yet-valid`` (valid from a year after it); ``revoked-supplier``
    (revoked 30 days before it: :meth:`revocation_time`); ``no-signing-usage`` (key usage
    key encipherment only); ``rsa1024-supplier`` (a 1024-bit RSA key); ``untrusted-root`` and
    ``untrusted-supplier`` (a hierarchy outside the trust folder). Not signers: ``tsa`` (the
    time-stamping authority, issued by the root) and ``interm-ocsp`` (the issuing CA's OCSP
    responder). Every supplier certificate points to the issuing CA's CRL and OCSP responder
    under :attr:`service_url`. ``platform`` (:data:`PLATFORM_SEAL`) is the platform's
    organisation seal, issued by the trusted issuing CA: it signs (:meth:`signer`,
    :meth:`p12_path`) but is not one of the suppliers in :attr:`signer_names`.
    """

    __test__: ClassVar[bool] = False  # a library class, not a pytest test class

    directory: Path
    reference_time: datetime
    _issued: _Issued

    @classmethod
    def create(
        cls,
        directory: Path,
        *,
        reference_time: datetime | None = None,
        service_url: str | None = None,
    ) -> TestPKI:
        """Build (or reuse, within this process) the PKI and write its files.

        Writes ``directory/trust/root.pem`` and ``directory/trust/interm.pem``,
        ``directory/<name>.p12`` for every signer, the platform seal and the TSA (so a
        time-stamper can be loaded again later: see :meth:`load_timestamper`), encrypted with
        :data:`P12_PASSPHRASE`, and the issuing CA's and the root's CRLs as of
        ``reference_time`` to ``directory/revocation/`` :data:`REVOCATION_CRL` and
        :data:`ROOT_REVOCATION_CRL`. ``reference_time``
        (timezone-aware) anchors all validity periods and revocation times; it defaults to
        today, 00:00 UTC. ``service_url`` (e.g. ``http://127.0.0.1:8123``) is where the
        certificates say the OCSP responder, CRL and TSA are; by default nowhere.

        :raises ValueError: if ``reference_time`` is naive.
        """
        if reference_time is None:
            reference_time = _today()
        elif reference_time.tzinfo is None:
            raise ValueError("reference_time must be timezone-aware")
        reference_time = reference_time.astimezone(UTC)
        pki = cls(directory, reference_time, _issue(reference_time, service_url))
        pki.trust_dir.mkdir(parents=True, exist_ok=True)
        for name in TRUSTED_CERTIFICATES:
            certificate = pki.certificate(name)
            (pki.trust_dir / f"{name}.pem").write_bytes(_pem(certificate))
        for name in (*pki.signer_names, PLATFORM_SEAL, TSA_CERTIFICATE):
            _write_owner_only(  # its passphrase is public: the file mode is all that guards it
                pki.p12_path(name),
                pki._issued.architecture.package_pkcs12(CertLabel(name), password=P12_PASSPHRASE),
            )
        pki.revocation_dir.mkdir(exist_ok=True)
        (pki.revocation_dir / REVOCATION_CRL).write_bytes(pki.crl(reference_time))
        (pki.revocation_dir / ROOT_REVOCATION_CRL).write_bytes(pki.crl(reference_time, "root"))
        return pki

    @property
    def architecture(self) -> PKIArchitecture:
        """The Certomancer architecture behind this PKI (to serve its OCSP, CRL and TSA)."""
        return self._issued.architecture

    @property
    def service_url(self) -> str:
        """Where the certificates say the OCSP responder, CRLs and TSA answer."""
        return self._issued.service_url

    @property
    def revocation_dir(self) -> Path:
        """The folder with the issuing CA's CRL (for ``TrustStore(revocation_dir=...)``)."""
        return self.directory / "revocation"

    def revocation_time(self, name: str) -> datetime:
        """When ``name``'s certificate was revoked.

        :raises KeyError: if it is not revoked (or does not exist).
        """
        spec = self._issued.architecture.get_cert_spec(CertLabel(name))
        if spec.revocation is None:
            raise KeyError(f"{name!r} is not revoked")
        revoked_since: datetime = spec.revocation.revoked_since
        return revoked_since.astimezone(UTC)

    def crl(self, at: datetime, issuer: str = "interm") -> bytes:
        """DER of the CRL of ``issuer`` (the issuing CA, or ``"root"``) as it was published
        at ``at``: it lists every certificate it revoked by then."""
        repository = _CRL_REPOSITORY if issuer == "interm" else ServiceLabel(issuer)
        crl = self._issued.architecture.service_registry.get_crl(repository, at)
        der: bytes = crl.dump()
        return der

    def timestamper(self) -> TimeStamper:
        """An in-process RFC 3161 time-stamper signing with the ``tsa`` certificate (a
        :class:`KeyLoadedTimeStamper`: its key is loaded once, here)."""
        tsa = self._issued.architecture.service_registry.get_tsa_info(_TSA)
        return KeyLoadedTimeStamper(
            tsa_cert=self.certificate("tsa"),
            tsa_key=self._issued.architecture.key_set.get_private_key(tsa.signing_key),
        )

    @staticmethod
    def load_timestamper(directory: Path) -> TimeStamper:
        """The test TSA of a PKI that :meth:`create` wrote to ``directory`` earlier (perhaps in
        another process), loaded from its ``.p12``: tokens from it keep chaining to that PKI's
        root across restarts. A :class:`KeyLoadedTimeStamper`: its key is loaded once, here."""
        tsa = load_signer_pkcs12(directory / f"{TSA_CERTIFICATE}.p12", P12_PASSPHRASE)
        assert isinstance(tsa, SimpleSigner)  # what load_signer_pkcs12 builds
        return KeyLoadedTimeStamper(tsa_cert=tsa.signing_cert, tsa_key=tsa.signing_key)

    @property
    def trust_dir(self) -> Path:
        """The folder with the trusted root and intermediate, as PEM files."""
        return self.directory / "trust"

    @property
    def signer_names(self) -> tuple[str, ...]:
        """Names of the suppliers' end-entity certificates, i.e. every supplier who can sign."""
        return self._issued.signer_names

    def certificate(self, name: str) -> x509.Certificate:
        """The certificate called ``name`` in ``pki.yaml``.

        :raises KeyError: if there is no such certificate.
        """
        try:
            return self._issued.architecture.get_cert(CertLabel(name))
        except CertomancerObjectNotFoundError as error:
            raise KeyError(f"the test PKI has no certificate {name!r}") from error

    def trust_store(self) -> TrustStore:
        """The trust store read back from :attr:`trust_dir`."""
        return TrustStore.from_folder(self.trust_dir)

    def signer(self, name: str) -> Signer:
        """A pyHanko signer for ``name``, carrying its chain up to and including its root.

        Loaded from the PKCS#12 file, the way a supplier's (or the platform's) signer would be.

        :raises KeyError: if ``name`` is neither one of :attr:`signer_names` nor
            :data:`PLATFORM_SEAL`.
        """
        names = (*self.signer_names, PLATFORM_SEAL)
        if name not in names:
            raise KeyError(f"{name!r} is not a signer; choose one of {names}")
        return load_signer_pkcs12(self.p12_path(name), P12_PASSPHRASE)

    def certify(
        self, public_key: keys.PublicKeyInfo, *, organisation: str, common_name: str
    ) -> x509.Certificate:
        """A certificate of the trusted issuing CA for a key made elsewhere: in a token, whose
        private key never leaves it, as a card issuer or an HSM's owner would have one made.

        It is a supplier's certificate (validity, key usage, revocation pointers as
        ``supplier-a``'s) for ``O=organisation, CN=common_name``, with a random serial number.
        """
        template = pyca_x509.load_der_x509_certificate(self.certificate("supplier-a").dump())
        issuer = self._issued.architecture.get_cert_spec(CertLabel("interm"))
        issuer_key = serialization.load_der_private_key(
            self._issued.architecture.key_set.get_private_key(issuer.subject_key).dump(), None
        )
        if not isinstance(issuer_key, ec.EllipticCurvePrivateKey):
            raise ValueError("the test PKI's issuing CA signs with an EC key")
        subject_key = serialization.load_der_public_key(public_key.dump())
        if not isinstance(subject_key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
            raise ValueError("the test PKI certifies EC and RSA keys, as suppliers' cards hold")
        builder = (
            pyca_x509.CertificateBuilder()
            .subject_name(
                pyca_x509.Name(
                    [
                        pyca_x509.NameAttribute(NameOID.COUNTRY_NAME, "TW"),
                        pyca_x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
                        pyca_x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                    ]
                )
            )
            .issuer_name(template.issuer)
            .public_key(subject_key)
            .serial_number(pyca_x509.random_serial_number())
            .not_valid_before(template.not_valid_before_utc)
            .not_valid_after(template.not_valid_after_utc)
            .add_extension(
                pyca_x509.SubjectKeyIdentifier.from_public_key(subject_key),
                critical=False,
            )
        )
        for extension in template.extensions:
            if extension.oid != ExtensionOID.SUBJECT_KEY_IDENTIFIER:
                builder = builder.add_extension(extension.value, critical=extension.critical)
        issued = builder.sign(issuer_key, hashes.SHA256())
        return x509.Certificate.load(issued.public_bytes(serialization.Encoding.DER))

    def p12_path(self, name: str) -> Path:
        """Where :meth:`create` wrote ``name``'s PKCS#12 file (key and chain)."""
        return self.directory / f"{name}.p12"


def _pem(certificate: x509.Certificate) -> bytes:
    armored: bytes = pem.armor("CERTIFICATE", certificate.dump())
    return armored
