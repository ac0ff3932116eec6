"""Running the platform: the embedded parts, the worker, the reconciler and the web server.

``running_platform`` is shared by ``tender up``, ``tender worker``, ``tender demo`` and the
end-to-end tests, so they all start the same way.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pkcs11
import uvicorn
from pyhanko.sign.signers import Signer
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper

from tender import migrate
from tender.accounts.service import AccountService, StarterAccount
from tender.app import create_app
from tender.bids.pdf_fonts import MissingFontError, require_platform_font
from tender.clock import Clock
from tender.config import Settings, SettingsError
from tender.jobs import make_broker
from tender.platform import Platform, PlatformKeys, build_platform
from tender.signing import TrustStore, load_signer_pkcs11, load_signer_pkcs12
from tender.signing.testing import P12_PASSPHRASE, TestPKI
from tender.signing.testing.pki import TSA_CERTIFICATE
from tender.storage.embedded import EmbeddedS3
from tender.storage.objectstore import ObjectStore, S3Config
from tender.storage.tokens import TokenEd25519Key, TokenError, TokenKeyWrapper, open_session

Say = Callable[[str], None]


def load_trust(settings: Settings, say: Say) -> TrustStore:
    """The configured trust anchors; the embedded default makes a test PKI, and says so.

    Anything but the embedded default refuses to start without ``TENDER_TRUST_DIR``: a
    platform that trusted a test authority would pass signatures nobody can rely on.
    """
    if settings.trust_dir is not None:
        return TrustStore.from_folder(
            settings.trust_dir,
            revocation_dir=settings.revocation_dir,
            fetch_allowed_hosts=settings.fetch_allowed_hosts,
        )
    if not settings.embedded:
        raise SettingsError(
            "TENDER_TRUST_DIR is not set. Signatures are verified against the certificate "
            "authorities in that folder, and outside the embedded default there is no safe "
            "guess. Set it to a folder of the PEM/DER CA certificates that bid signatures "
            "must chain to."
        )
    pki_dir = settings.data_dir / "test-pki"
    if not (pki_dir / "trust").is_dir():
        TestPKI.create(pki_dir)
    say(
        f"No TENDER_TRUST_DIR set: trusting the throw-away TEST PKI in {pki_dir} "
        "(its suppliers' .p12 files are there). Never use this in production."
    )
    return TrustStore.from_folder(pki_dir / "trust", revocation_dir=pki_dir / "revocation")


def load_seal(settings: Settings, say: Say) -> Signer:
    """The platform's organisation seal that signs opening records.

    From ``TENDER_PLATFORM_P12`` (a key in the platform's token is
    :func:`platform_keys`' affair); the embedded default uses the test PKI's ``platform``
    certificate, and says so; anything else refuses to start without either.
    """
    if settings.platform_p12 is not None:
        password_file = settings.platform_p12_password_file
        password = password_file.read_bytes().strip() if password_file else None
        try:
            return load_signer_pkcs12(settings.platform_p12, password)
        except ValueError as exc:
            raise SettingsError(f"TENDER_PLATFORM_P12 cannot be used: {exc}") from exc
    if not settings.embedded:
        raise SettingsError(
            "Neither TENDER_PKCS11_SEAL_KEY nor TENDER_PLATFORM_P12 is set. Opening records are "
            "sealed with the platform's organisation certificate: set TENDER_PKCS11_SEAL_KEY to "
            "the label of its key and certificate in the platform's PKCS#11 token, or "
            "TENDER_PLATFORM_P12 to its .p12 (and TENDER_PLATFORM_P12_PASSWORD_FILE to a file "
            "holding its password)."
        )
    say("Opening records are sealed with the TEST PKI's platform certificate.")
    return load_signer_pkcs12(settings.data_dir / "test-pki" / "platform.p12", P12_PASSPHRASE)


@contextmanager
def platform_token(settings: Settings, *, write: bool = False) -> Iterator[pkcs11.Session]:
    """A session on the PKCS#11 token that ``TENDER_PKCS11_*`` names, logged in with the PIN
    in ``TENDER_PKCS11_PIN_FILE`` (read-write with ``write``, to create keys); closed on
    exit."""
    if not (settings.pkcs11_token and settings.pkcs11_pin_file):
        raise SettingsError(
            "TENDER_PKCS11_MODULE is set, but not TENDER_PKCS11_TOKEN and "
            "TENDER_PKCS11_PIN_FILE: set them to the label of the token that holds the "
            "platform's keys and to a file (readable by this user only) holding its user PIN."
        )
    try:
        pin = settings.pkcs11_pin_file.read_text().strip()
    except OSError as error:
        raise SettingsError(
            f"TENDER_PKCS11_PIN_FILE {settings.pkcs11_pin_file} cannot be read "
            f"({error.strerror}); point it at the file holding the token's user PIN."
        ) from None
    try:
        session = open_session(settings.pkcs11_module, settings.pkcs11_token, pin, write=write)
    except TokenError as error:
        raise SettingsError(f"The platform's PKCS#11 token cannot be used: {error}.") from None
    with session:
        yield session


def _token_keys(session: pkcs11.Session, settings: Settings, say: Say) -> PlatformKeys:
    try:
        wrapper = TokenKeyWrapper(session, settings.pkcs11_wrap_key)
        signing_key = TokenEd25519Key(session, settings.pkcs11_signing_key)
        seal = (
            load_signer_pkcs11(session, settings.pkcs11_seal_key)
            if settings.pkcs11_seal_key
            else load_seal(settings, say)
        )
    except (TokenError, ValueError) as error:
        raise SettingsError(
            f"The platform's keys are not all in PKCS#11 token {settings.pkcs11_token!r}: "
            f"{str(error).rstrip('.')}. 'tender keys init-token' creates the wrapping and "
            "signing keys, 'tender keys seal-request' and 'seal-certificate' the seal."
        ) from None
    where = "the same token" if settings.pkcs11_seal_key else "TENDER_PLATFORM_P12"
    say(
        f"Platform keys: in PKCS#11 token {settings.pkcs11_token!r} (wrapping key "
        f"{wrapper.fingerprint}, signing key {settings.pkcs11_signing_key!r}); the seal in "
        f"{where}."
    )
    return PlatformKeys(wrapper=wrapper, signing_key=signing_key, seal=seal)


@contextmanager
def platform_keys(settings: Settings, say: Say) -> Iterator[PlatformKeys]:
    """The platform's keys: in the PKCS#11 token that ``TENDER_PKCS11_*`` names, used there.

    Without a token, the embedded default keeps the platform key and the signing key in
    files under its data folder, and says so; anything else refuses to start, unless
    ``TENDER_ALLOW_KEY_FILES`` asks for files all the same (and it is said).
    """
    if settings.pkcs11_module:
        with platform_token(settings) as session:
            yield _token_keys(session, settings, say)
        return
    if not (settings.embedded or settings.allow_key_files):
        raise SettingsError(
            "TENDER_PKCS11_MODULE is not set. Outside the embedded default the platform's keys "
            "live in a PKCS#11 token: a key file can be read, and whoever reads the platform "
            "key can open every automatic tender before its deadline. Set TENDER_PKCS11_MODULE, "
            "TENDER_PKCS11_TOKEN and TENDER_PKCS11_PIN_FILE (and run 'tender keys init-token' "
            "once), or, for a trial, TENDER_ALLOW_KEY_FILES=true to keep them in files."
        )
    keys = PlatformKeys.in_files(settings, seal=load_seal(settings, say))
    say(
        f"Platform keys: in FILES {settings.effective_platform_key_file} (wraps every automatic "
        f"tender's key) and {settings.effective_signing_key_file} (signs checkpoints and "
        "receipts). Whoever can read them can open tenders early or sign as the platform; "
        "in production keep them in a PKCS#11 token (TENDER_PKCS11_MODULE)."
    )
    yield keys


def load_timestamper(settings: Settings, say: Say) -> tuple[TimeStamper, TrustStore]:
    """The RFC 3161 authority that time-stamps checkpoints and seals, and the anchors its
    certificate chains to; by default the test PKI's TSA, which it says."""
    if settings.tsa_url:
        anchors = settings.tsa_trust_dir or settings.trust_dir
        if anchors is None:
            raise SettingsError(
                "TENDER_TSA_URL is set but not TENDER_TSA_TRUST_DIR: auditors need the "
                "authorities the time-stamps chain to. Set it to a folder of their PEM/DER "
                "certificates."
            )
        return HTTPTimeStamper(settings.tsa_url), TrustStore.from_folder(anchors)
    pki_dir = settings.data_dir / "test-pki"
    if not (pki_dir / f"{TSA_CERTIFICATE}.p12").is_file():
        TestPKI.create(pki_dir)
    say(
        f"No TENDER_TSA_URL set: checkpoints are time-stamped by the TEST TSA in {pki_dir}. "
        "Set TENDER_TSA_URL to an RFC 3161 authority for time-stamps anyone else can rely on."
    )
    return TestPKI.load_timestamper(pki_dir), TrustStore.from_folder(pki_dir / "trust")


@contextmanager
def running_platform(
    settings: Settings,
    *,
    clock: Clock | None = None,
    worker: bool = True,
    reconciler: bool = True,
    migrate_schema: bool = True,
    recover: bool = True,
    say: Say = print,
) -> Iterator[Platform]:
    """Start everything ``settings`` asks for, yield the platform, stop it all on exit.

    ``worker`` and ``reconciler`` run them in this process (``tender up`` does so with the
    in-process broker only; with Redis or RabbitMQ they are the separate ``tender worker``,
    and ``tender up`` runs neither).
    ``migrate_schema`` upgrades the database first; ``tender worker`` leaves that to
    ``tender migrate`` so that two processes never migrate at once. ``recover`` runs the
    start-up recovery (see :meth:`Platform.recover`) and the checkpoint schedule; a one-off
    command that only reads leaves both out.
    """
    try:
        require_platform_font()
    except MissingFontError as missing:
        raise SettingsError(str(missing)) from None
    # Keys, tokens, the embedded database and object store live there: the owner's only.
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with ExitStack() as stack:
        if settings.s3_endpoint:
            s3 = S3Config(
                endpoint=settings.s3_endpoint,
                access_key=settings.s3_access_key,
                secret_key=settings.s3_secret_key,
                secure=settings.s3_secure,
                region=settings.s3_region or None,
            )
        elif (running := _running_embedded_s3(settings)) is not None:
            # A 'tender up' of this folder serves it; a second server on the same data would
            # not start (and must not).
            s3 = running
        else:
            embedded = stack.enter_context(
                EmbeddedS3(
                    settings.data_dir / "s3",
                    access_key=settings.s3_access_key,
                    secret_key=settings.s3_secret_key,
                )
            )
            s3 = embedded.config
            _embedded_endpoint_file(settings).write_text(s3.endpoint)
            stack.callback(_embedded_endpoint_file(settings).unlink, missing_ok=True)
            say(f"Object storage: SeaweedFS (embedded) at http://{s3.endpoint}")
        trust = load_trust(settings, say)
        if migrate_schema:
            migrate.upgrade(settings.effective_database_url)
        broker = make_broker(settings.broker_url, namespace=settings.broker_namespace)
        stack.callback(broker.close)
        timestamper, timestamp_trust = load_timestamper(settings, say)
        platform = build_platform(
            settings,
            s3=s3,
            trust=trust,
            timestamper=timestamper,
            timestamp_trust=timestamp_trust,
            keys=stack.enter_context(platform_keys(settings, say)),
            broker=broker,
            clock=clock,
        )
        stack.callback(platform.close)
        if recover:
            platform.recover()  # before serving: no receipt unsigned, no stored object unnamed
            platform.schedule.start()
            stack.callback(platform.schedule.stop)
        if worker:
            job_worker = platform.jobs.worker()
            job_worker.start()
            stack.callback(job_worker.stop)
        if reconciler:
            reconciling = platform.reconciler()
            reconciling.start()
            stack.callback(reconciling.stop)
        yield platform


def _embedded_endpoint_file(settings: Settings) -> Path:
    """Where a running embedded server of this data folder says where it listens."""
    return settings.data_dir / "s3-endpoint"


def _running_embedded_s3(settings: Settings) -> S3Config | None:
    try:
        endpoint = _embedded_endpoint_file(settings).read_text().strip()
    except FileNotFoundError:
        return None
    config = S3Config(
        endpoint=endpoint, access_key=settings.s3_access_key, secret_key=settings.s3_secret_key
    )
    return config if ObjectStore(config).is_reachable() else None


def create_starter_accounts(platform: Platform) -> list[StarterAccount]:
    """The starter accounts, their tokens and passwords, on a platform with no users yet
    (else none)."""
    with platform.sessions.begin() as session:
        return AccountService(session=session, clock=platform.clock).create_starter_accounts()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serving(platform: Platform, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve the API with uvicorn in a background thread; yields its base URL."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(platform), host=host, port=port, log_level="warning", access_log=False
        )
    )
    thread = threading.Thread(target=server.run, name="tender-http", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the HTTP server did not start on {host}:{port}")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def serve_forever(platform: Platform, **uvicorn_options: Any) -> None:
    """Serve the API in the foreground until interrupted.

    On SIGINT or SIGTERM uvicorn shuts down gracefully, puts back the handler it found and
    raises the signal again: what the caller installed (or Python's default) then applies.
    """
    settings = platform.settings
    uvicorn.run(
        create_app(platform),
        host=settings.host,
        port=settings.port,
        access_log=False,  # tender.requests logs requests without addresses or ids
        **uvicorn_options,
    )
