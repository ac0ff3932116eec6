"""``tender sign`` and ``tender verify``: a supplier signs a bid and checks it before submitting.

``tender verify`` runs the same verification as the opening
(:func:`tender.signing.verify_document`), so what it says is what the opening will say, given
the same trust folder, revocation evidence (``--revocation`` or ``TENDER_REVOCATION_DIR``, and
``TENDER_REVOCATION_FETCH_HOSTS`` as the platform reads them), registered certificates
(``--organisation-certificate``) and time.

``tender sign`` and ``tender certificate register`` take the signing key from a PKCS#12 file
(``--p12``) or from a smart card or token through its PKCS#11 library (``--pkcs11-module LIB
--token LABEL --key LABEL``: an e-Cert smart ID card, a DSC token); a key on a card never
leaves it.

Exit codes: 0 done (for ``verify``: the signature is TOTAL_PASSED); 1 ``verify`` found the
signature not passed, or ``sign`` could not sign a readable input (broken PDF, time-stamp
server unreachable); 2 the command cannot run as given (missing file, wrong PKCS#12 password
or PIN, no such token or key, no trust folder, bad time).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from cryptography import x509
from cryptography.x509.oid import NameOID
from pkcs11 import PKCS11Error
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers import Signer
from pyhanko.sign.timestamps import HTTPTimeStamper, TimestampRequestError

from tender.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    CommandError,
    SubParsers,
    add_json_flag,
    platform_client,
    print_json,
    read_secret,
)
from tender.client import register_certificate
from tender.i18n import gettext as _
from tender.i18n import gettext_noop as N_  # noqa: N812 (the name extractors look for)
from tender.signing import (
    DocumentReport,
    Indication,
    SignerBinding,
    SubIndication,
    TrustStore,
    TrustStoreError,
    read_certificate,
    verify_document,
)
from tender.signing.signer import load_signer_pkcs11, load_signer_pkcs12, sign_detached, sign_pdf
from tender.storage.tokens import TokenError, open_session

__all__ = ["add_platform_flags", "api_token", "describe", "register"]

TRUST_DIR_VARIABLE = "TENDER_TRUST_DIR"
URL_VARIABLE, TOKEN_VARIABLE = "TENDER_URL", "TENDER_TOKEN"
DEFAULT_URL = "http://127.0.0.1:8000"
REVOCATION_DIR_VARIABLE = "TENDER_REVOCATION_DIR"
FETCH_HOSTS_VARIABLE = "TENDER_REVOCATION_FETCH_HOSTS"
BINDING_NOT_CHECKED = N_(
    "Not checked here: the opening also checks that the signing certificate is one your "
    "organisation registered on the platform; pass --organisation-certificate CERT (each "
    "certificate you registered) to check that too."
)

_VISIBLE_BOX = (36, 36, 276, 96)  # bottom left of the first page, 240 x 60 points
_PDF_MAGIC = b"%PDF-"
# PDF readers accept the header anywhere in the first 1024 bytes (some files start with junk).
_PDF_HEADER_WINDOW = 1024


def _signing_failed(message: str) -> CommandError:
    """The inputs are readable but signing did not succeed (exit code 1)."""
    return CommandError(message, exit_code=EXIT_FAILED)


def register(commands: SubParsers) -> None:
    """Add ``sign``, ``verify`` and ``certificate`` to the ``tender`` command."""
    certificate = commands.add_parser(
        "certificate",
        help=_("register the certificate you sign bids with"),
        description=_("Register a signing certificate for your organisation on the platform."),
    )
    certificate_commands = certificate.add_subparsers(
        dest="certificate_command", required=True, metavar="COMMAND"
    )
    registration = certificate_commands.add_parser(
        "register",
        help=_("register the certificate you sign with, proving you hold its key"),
        description=_(
            "Ask the platform for a challenge, sign it with your key (in a PKCS#12 "
            "file, or on a smart card or token), and register the certificate. The key never "
            "leaves this computer, or the card. Exit code 0 when registered, 1 if the platform "
            "refused it (the reason is printed), 2 if the command cannot run as given."
        ),
    )
    add_signer_flags(registration)
    add_platform_flags(registration)
    add_json_flag(registration)
    registration.set_defaults(run=_register_certificate)
    sign = commands.add_parser(
        "sign",
        help=_("sign a bid file: PAdES inside a PDF, a detached CAdES FILE.p7s for anything else"),
        description=_(
            "Sign FILE with your key and certificate, from a PKCS#12 file (--p12) or "
            "a smart card or token (--pkcs11-module). A PDF gets its signature inside (written "
            "to --out, default NAME-signed.pdf); any other file gets a detached signature "
            "FILE.p7s to submit with it. Exit code 0 when signed, 1 if signing failed, 2 if the "
            "command cannot run as given."
        ),
    )
    sign.add_argument("file", type=Path, metavar="FILE", help=_("the bid file to sign"))
    add_signer_flags(sign)
    sign.add_argument("--tsa", metavar="URL", help=_("RFC 3161 time-stamp server to use"))
    sign.add_argument("--out", type=Path, metavar="OUT", help=_("where to write the result"))
    sign.add_argument(
        "--visible", action="store_true", help=_("PDF only: show the signature on the first page")
    )
    verify = commands.add_parser(
        "verify",
        help=_("check a signed bid the way the opening will"),
        description=_(
            "Verify the signatures of FILE (a signed PDF, or any file with its "
            "detached .p7s) as of a point in time. Exit code 0 only if the verdict is "
            "TOTAL_PASSED, 1 otherwise, 2 if the command cannot run as given."
        ),
    )
    verify.add_argument("file", type=Path, metavar="FILE", help=_("the signed file to check"))
    verify.add_argument(
        "--p7s",
        type=Path,
        metavar="SIG",
        help=_("detached signature over FILE (default for a non-PDF: FILE.p7s if it exists)"),
    )
    add_check_flags(verify)
    verify.add_argument(
        "--at",
        metavar="ISO-TIME",
        help=_("validate as of this time, with its zone, e.g. 2026-11-27T09:00:00Z (default: now)"),
    )
    add_json_flag(verify)
    sign.set_defaults(run=_sign)
    verify.set_defaults(run=_verify)


def add_check_flags(parser: argparse.ArgumentParser) -> None:
    """What a signature is checked against, as the opening checks it: ``--trust``,
    ``--revocation``, ``--organisation-certificate``."""
    parser.add_argument(
        "--trust",
        type=Path,
        metavar="DIR",
        help=_(
            "folder of trusted CA certificates, PEM or DER (default: ${trust_dir_variable})"
        ).format(trust_dir_variable=TRUST_DIR_VARIABLE),
    )
    parser.add_argument(
        "--revocation",
        type=Path,
        metavar="DIR",
        help=_(
            "folder of CRLs (*.crl) and OCSP responses (*.ocsp, *.der) the platform uses, so "
            "that revocation is judged as at the opening (default: ${revocation_dir_variable}; "
            "hosts in ${fetch_hosts_variable}, comma-separated, may be asked online)"
        ).format(
            revocation_dir_variable=REVOCATION_DIR_VARIABLE,
            fetch_hosts_variable=FETCH_HOSTS_VARIABLE,
        ),
    )
    parser.add_argument(
        "--organisation-certificate",
        type=Path,
        action="append",
        default=[],
        metavar="CERT",
        help=_(
            "a certificate (PEM or DER) your organisation registered on the platform; repeat "
            "for each. The opening accepts only signatures made with a registered certificate "
            "(SIGNER_NOT_REGISTERED otherwise), and so does this check when it is given"
        ),
    )


def add_signer_flags(parser: argparse.ArgumentParser) -> None:
    """Where the signing key is: ``--p12`` (with ``--password-file``), or a smart card or
    token: ``--pkcs11-module`` with ``--token``, ``--key``, ``--cert`` and ``--pin-file``."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--p12",
        type=Path,
        metavar="CERT.p12",
        help=_("PKCS#12 (.p12/.pfx) file with your signing key and certificate"),
    )
    source.add_argument(
        "--pkcs11-module",
        metavar="LIB",
        help=_(
            "the PKCS#11 library of your smart card or token (its maker's .so/.dll/.dylib, "
            "e.g. /usr/lib/x86_64-linux-gnu/opensc-pkcs11.so); the key stays on the card"
        ),
    )
    parser.add_argument(
        "--password-file",
        type=Path,
        metavar="F",
        help=_("with --p12: file holding the PKCS#12 password (default: ask for it)"),
    )
    card = parser.add_argument_group(_("smart card or token (with --pkcs11-module)"))
    card.add_argument("--token", metavar="LABEL", help=_("the token's label, e.g. the card's name"))
    card.add_argument("--key", metavar="LABEL", help=_("the label of your signing key on it"))
    card.add_argument(
        "--cert", metavar="LABEL", help=_("the label of its certificate (default: the key's label)")
    )
    card.add_argument(
        "--pin-file", type=Path, metavar="F", help=_("file holding the PIN (default: ask for it)")
    )


def add_platform_flags(parser: argparse.ArgumentParser) -> None:
    """``--url`` and ``--token-file``, for a command that calls the platform as its user."""
    parser.add_argument(
        "--url",
        default=os.environ.get(URL_VARIABLE, DEFAULT_URL),
        help=_("the platform (default: ${url_variable}, else {default_url})").format(
            url_variable=URL_VARIABLE, default_url=DEFAULT_URL
        ),
    )
    parser.add_argument(
        "--token-file",
        type=Path,
        metavar="F",
        help=_("file holding your API token (default: ${token_variable})").format(
            token_variable=TOKEN_VARIABLE
        ),
    )


def _open_input(path: Path, what: str) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as error:
        raise CommandError(
            _("cannot read {what} {path}: {strerror}; check the path").format(
                what=what, path=path, strerror=error.strerror
            )
        ) from None


def _is_pdf(stream: BinaryIO) -> bool:
    found = _PDF_MAGIC in stream.read(_PDF_HEADER_WINDOW)
    stream.seek(0)
    return found


# ---- sign ---------------------------------------------------------------------------------


def _pkcs12_signer(p12: Path, password_file: Path | None) -> Signer:
    if not p12.is_file():
        raise CommandError(
            _(
                "PKCS#12 file {p12} does not exist; give the .p12/.pfx file holding your "
                "signing key and certificate"
            ).format(p12=p12)
        )
    # An empty password means an unencrypted PKCS#12 file, which the loader wants as None.
    passphrase = (
        read_secret(
            password_file, _("password of {p12}").format(p12=p12), "--password-file"
        ).encode()
        or None
    )
    try:
        return load_signer_pkcs12(p12, passphrase)
    except ValueError as error:
        raise CommandError(
            _(
                "{error}; check the password (file) and that {p12} is the .p12/.pfx file "
                "your certificate authority issued"
            ).format(error=error, p12=p12)
        ) from None


@contextmanager
def _signer(args: argparse.Namespace) -> Iterator[Signer]:
    """The signer the flags of :func:`add_signer_flags` name; a card's session stays open
    until the block ends."""
    card_flags = [
        flag
        for flag, value in (("--token", args.token), ("--key", args.key), ("--cert", args.cert))
        if value is not None
    ] + (["--pin-file"] if args.pin_file is not None else [])
    if args.p12 is not None:
        if card_flags:
            raise CommandError(
                _(
                    "{card_flags} go with --pkcs11-module (a smart card or token), "
                    "not with --p12; leave them out or sign with the card"
                ).format(card_flags=", ".join(card_flags))
            )
        yield _pkcs12_signer(args.p12, args.password_file)
        return
    if args.token is None or args.key is None:
        raise CommandError(
            _(
                "--pkcs11-module needs --token LABEL and --key LABEL: the labels of your card "
                "and of its signing key, as the card's software (or 'pkcs11-tool --module LIB "
                "--list-objects') shows them"
            )
        )
    pin = read_secret(
        args.pin_file, _("PIN of token {token}").format(token=args.token), "--pin-file"
    )
    try:
        session = open_session(args.pkcs11_module, args.token, pin)
    except TokenError as error:
        raise CommandError(str(error)) from None
    with session:
        try:
            signer = load_signer_pkcs11(session, args.key, args.cert)
        except ValueError as error:
            raise CommandError(
                _("{error}; check --key and --cert against the labels on the card").format(
                    error=error
                )
            ) from None
        yield signer


@contextmanager
def _atomic_output(out: Path) -> Iterator[BinaryIO]:
    """A temporary file that becomes ``out`` only if the block finishes: a failed signing
    never leaves a half-written signature where the supplier would pick it up."""
    try:
        descriptor, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
    except OSError as error:
        raise CommandError(
            _("cannot write to {parent}: {strerror}").format(
                parent=out.parent, strerror=error.strerror
            )
        ) from None
    temporary = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as output:
            yield output
        temporary.replace(out)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _free_field_name(pdf: BinaryIO) -> str:
    """``Signature<n>`` not yet used in ``pdf``, so that a co-signer adds a signature beside
    the first instead of failing on a field that is filled already."""
    try:
        taken = {name for name, *_ in enumerate_sig_fields(PdfFileReader(pdf))}
    except (PdfError, ValueError) as error:
        raise _signing_failed(
            _("cannot read the PDF: {error}; open and save it again with a PDF program").format(
                error=error
            )
        ) from None
    finally:
        pdf.seek(0)
    return next(f"Signature{n}" for n in range(1, len(taken) + 2) if f"Signature{n}" not in taken)


def _sign(args: argparse.Namespace) -> int:
    file: Path = args.file
    with ExitStack() as stack:
        content = stack.enter_context(_open_input(file, "file"))
        is_pdf = _is_pdf(content)
        if args.visible and not is_pdf:
            raise CommandError(
                _("--visible works only for PDFs, and {file} is not a PDF").format(file=file)
            )
        out: Path = args.out or (
            file.with_name(f"{file.stem}-signed.pdf") if is_pdf else Path(f"{file}.p7s")
        )
        if out.resolve() == file.resolve():
            raise CommandError(
                _("--out {out} would overwrite the file being signed").format(out=out)
            )
        signer = stack.enter_context(_signer(args))
        timestamper = None if args.tsa is None else HTTPTimeStamper(args.tsa)
        try:
            if is_pdf:
                field_name = _free_field_name(content)
                with _atomic_output(out) as output:
                    sign_pdf(
                        content,
                        output,
                        signer,
                        field_name=field_name,
                        timestamper=timestamper,
                        visible_box=_VISIBLE_BOX if args.visible else None,
                    )
            else:
                with _atomic_output(out) as output:
                    sign_detached(content, output, signer, timestamper=timestamper)
        except TimestampRequestError as error:
            raise _signing_failed(
                _(
                    "the time-stamp server {tsa} did not answer with a time-stamp ({error}); "
                    "check the URL and your connection, or sign without --tsa"
                ).format(tsa=args.tsa, error=error)
            ) from None
        except (SigningError, PdfError) as error:
            raise _signing_failed(
                _("signing {file} failed: {error}").format(file=file, error=error)
            ) from None
        except PKCS11Error as error:
            raise _signing_failed(
                _(
                    "the card or token did not sign {file} ({kind}: {error}); "
                    "check that it is still inserted and unlocked, and try again"
                ).format(file=file, kind=type(error).__name__, error=error)
            ) from None
    kind = _("PAdES signature, inside the PDF") if is_pdf else _("detached CAdES signature")
    certificate = signer.signing_cert  # ours always have one; pyHanko allows None
    subject = _("an unknown signer") if certificate is None else certificate.subject.human_friendly
    print(
        _("Signed {file} as {subject}: {kind}, written to {out}").format(
            file=file, subject=subject, kind=kind, out=out
        )
    )
    return EXIT_OK


# ---- certificate register ---------------------------------------------------------------


def api_token(token_file: Path | None) -> str:
    if token_file is None:
        token = os.environ.get(TOKEN_VARIABLE, "")
        if not token:
            raise CommandError(
                _("your API token is needed: set {token_variable} or pass --token-file F").format(
                    token_variable=TOKEN_VARIABLE
                )
            )
        return token.strip()
    try:
        return token_file.read_text().strip()
    except OSError as error:
        raise CommandError(
            _("cannot read token file {token_file}: {strerror}").format(
                token_file=token_file, strerror=error.strerror
            )
        ) from None


def _register_certificate(args: argparse.Namespace) -> int:
    token = api_token(args.token_file)
    with _signer(args) as signer, platform_client(args.url) as client:
        registered = register_certificate(client, token, signer)
    if args.json:
        print_json(registered)
    else:
        print(
            _(
                "Registered {subject} for {organisation} (SHA-256 {sha256}): bids you sign with "
                "it now count for your organisation."
            ).format(
                subject=registered["subject"],
                organisation=registered["organisation"],
                sha256=registered["sha256"],
            )
        )
    return EXIT_OK


# ---- verify -------------------------------------------------------------------------------


def trust_store(folder: Path | None, revocation: Path | None) -> TrustStore:
    """The trust store as the opening builds it (``tender.runtime.load_trust``): the trust
    folder, the revocation folder and the hosts revocation data may be fetched from."""
    if folder is None:
        configured = os.environ.get(TRUST_DIR_VARIABLE)
        if not configured:
            raise CommandError(
                _(
                    "a trust folder is needed: the certificates (PEM or DER) of the certificate "
                    "authorities the platform accepts. Pass --trust DIR or set "
                    "{trust_dir_variable}; the tender's documents say which authorities count."
                ).format(trust_dir_variable=TRUST_DIR_VARIABLE)
            )
        folder = Path(configured)
    if revocation is None and os.environ.get(REVOCATION_DIR_VARIABLE):
        revocation = Path(os.environ[REVOCATION_DIR_VARIABLE])
    hosts = frozenset(
        host.strip() for host in os.environ.get(FETCH_HOSTS_VARIABLE, "").split(",") if host.strip()
    )
    try:
        return TrustStore.from_folder(folder, revocation_dir=revocation, fetch_allowed_hosts=hosts)
    except TrustStoreError as error:
        raise CommandError(
            _(
                "{error}; point --trust at a folder of CA certificates and --revocation (or "
                "{revocation_dir_variable}) at a folder of CRLs and OCSP responses"
            ).format(error=error, revocation_dir_variable=REVOCATION_DIR_VARIABLE)
        ) from None


def signer_binding(certificates: list[Path]) -> SignerBinding | None:
    """The signer binding the opening will apply, from the certificates the organisation
    registered; None if none were given."""
    if not certificates:
        return None
    infos = []
    for path in certificates:
        try:
            infos.append(read_certificate(path.read_bytes()))
        except OSError as error:
            raise CommandError(
                _("cannot read certificate {path}: {strerror}; check the path").format(
                    path=path, strerror=error.strerror
                )
            ) from None
        except ValueError as error:
            raise CommandError(
                _(
                    "--organisation-certificate {path}: {error}; give the certificate you "
                    "registered on the platform"
                ).format(path=path, error=error)
            ) from None
    organisation = _organisation_name(infos[0].der)
    return SignerBinding(organisation, frozenset(info.sha256 for info in infos))


def _organisation_name(der: bytes) -> str:
    # Registered certificates name the organisation they belong to (O=); the report's
    # sentence uses it as the opening uses the organisation's name.
    subject = x509.load_der_x509_certificate(der).subject
    names = subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return str(names[0].value) if names else subject.rfc4514_string()


def _validation_time(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(
            _("--at {text!r} is not an ISO 8601 time; write e.g. 2026-11-27T09:00:00Z").format(
                text=text
            )
        ) from None
    if moment.tzinfo is None:
        raise CommandError(
            _(
                "--at {text!r} has no time zone, so it could mean different moments; add one, "
                "e.g. Z for UTC or +08:00"
            ).format(text=text)
        )
    return moment


def _detached_signature_path(args: argparse.Namespace, content: BinaryIO) -> Path | None:
    if args.p7s is not None:
        return Path(args.p7s)
    beside = Path(f"{args.file}.p7s")
    if not _is_pdf(content) and beside.is_file():
        # `tender sign` writes FILE.p7s for a non-PDF; finding it spares the second argument.
        print(_("Using the detached signature {beside}").format(beside=beside), file=sys.stderr)
        return beside
    return None


def _verify(args: argparse.Namespace) -> int:
    trust = trust_store(args.trust, args.revocation)
    binding = signer_binding(args.organisation_certificate)
    at = _validation_time(args.at)
    with ExitStack() as stack:
        content = stack.enter_context(_open_input(args.file, "file"))
        p7s_path = _detached_signature_path(args, content)
        detached = (
            None
            if p7s_path is None
            else stack.enter_context(_open_input(p7s_path, _("detached signature")))
        )
        report = verify_document(
            content, detached_signature=detached, trust=trust, at=at, expected_signers=binding
        )
    if args.json:
        print_json(report.to_json())
        if binding is None:
            print(_(BINDING_NOT_CHECKED), file=sys.stderr)
    else:
        print(describe(report))
        if binding is None:
            print(_(BINDING_NOT_CHECKED))
    return EXIT_OK if report.indication is Indication.TOTAL_PASSED else EXIT_FAILED


def _verdict(indication: Indication, sub_indication: SubIndication | None) -> str:
    return indication.value if sub_indication is None else f"{indication.value} / {sub_indication}"


def _yes(flag: bool) -> str:
    return _("yes") if flag else _("no")


def describe(report: DocumentReport) -> str:
    """The report as a few lines for people: verdict, what to do, then each signature."""
    lines = [
        _("Verdict ({kind}): {verdict}").format(
            kind=report.kind, verdict=_verdict(report.indication, report.sub_indication)
        ),
        f"  {report.message_en}",
        f"  {report.message_zh}",
        _("Validated as of: {time}").format(time=report.validated_at.isoformat()),
    ]
    for note in report.notes:
        lines += [_("Note: {note}").format(note=note.message_en), f"  {note.message_zh}"]
    for number, signature in enumerate(report.signatures, start=1):
        field = (
            _(" (field {name})").format(name=signature.field_name) if signature.field_name else ""
        )
        unknown = _("unknown")
        claimed = signature.claimed_signing_time
        timestamp = (
            _("none")
            if signature.timestamp_time is None
            else _("{time} by {authority}").format(
                time=signature.timestamp_time.isoformat(), authority=signature.timestamp_authority
            )
        )
        lines += [
            _("Signature {number}{field}: {verdict}").format(
                number=number,
                field=field,
                verdict=_verdict(signature.indication, signature.sub_indication),
            ),
            _("  Signer:  {subject}").format(subject=signature.signer_subject or unknown),
            _("  Issuer:  {issuer}").format(issuer=signature.signer_issuer or unknown),
            _("  Serial:  {serial}").format(serial=signature.signer_serial or unknown),
            f"  SHA-256: {signature.signer_sha256 or unknown}",
            _("  Signing time claimed by the signer (not proof): {time}").format(
                time=claimed.isoformat() if claimed else _("none")
            ),
            _("  Time-stamp: {timestamp}").format(timestamp=timestamp),
            _("  Proven to exist at: {time}").format(
                time=signature.best_signature_time.isoformat()
            ),
            _("  Intact: {intact}, signature value valid: {valid}, trusted: {trusted}").format(
                intact=_yes(signature.intact),
                valid=_yes(signature.crypto_valid),
                trusted=_yes(signature.trusted),
            ),
        ]
        if signature.unfinished_stage is not None:
            lines.append(
                _("  Could not finish: {stage}").format(stage=signature.unfinished_stage.value)
            )
        if signature.coverage or signature.modification_level:
            lines.append(
                _("  Coverage: {coverage}, changes after signing: {changes}").format(
                    coverage=signature.coverage or unknown,
                    changes=signature.modification_level or unknown,
                )
            )
        lines += [
            _("  Revocation: {kind} ({origin}) of {issued_at} says {status}").format(
                kind=evidence.kind,
                origin=evidence.origin,
                issued_at=evidence.issued_at.isoformat(),
                status=evidence.status,
            )
            for evidence in signature.revocation
        ]
        if len(report.signatures) > 1 and signature.indication is not Indication.TOTAL_PASSED:
            lines += [f"  {signature.message_en}", f"  {signature.message_zh}"]
    return "\n".join(lines)
