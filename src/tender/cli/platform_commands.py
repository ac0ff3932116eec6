"""``tender migrate``, ``up``, ``worker`` and ``demo``: running the platform."""

from __future__ import annotations

import argparse
import signal
import threading

from tender import migrate
from tender.cli.common import EXIT_OK, CommandError, SubParsers
from tender.config import Settings
from tender.i18n import gettext as _


def register(commands: SubParsers) -> None:
    """Add the commands that run the platform to the ``tender`` command."""
    commands.add_parser(
        "migrate",
        help=_("upgrade the database schema to the newest version"),
        description=_(
            "Upgrade the database (TENDER_DATABASE_URL, or the embedded SQLite file) "
            "to the newest schema. Safe to run again."
        ),
    ).set_defaults(run=_migrate, logs=True)
    commands.add_parser(
        "up",
        help=_("run the whole platform (embedded defaults unless configured)"),
        description=_(
            "Run the API; with the in-process broker also the opening worker and the "
            "reconciler (with TENDER_BROKER_URL set, they run in 'tender worker' instead). Prints "
            "the starter accounts' tokens on first start."
        ),
    ).set_defaults(run=_up, logs=True)
    commands.add_parser(
        "worker",
        help=_("run the opening worker and reconciler (Redis/RabbitMQ)"),
        description=_("Run the opening worker and the reconciler against TENDER_BROKER_URL."),
    ).set_defaults(run=_worker, logs=True)
    demo = commands.add_parser(
        "demo",
        help=_("run the whole story once, in a temporary folder"),
        description=_(
            "Run the whole story on embedded parts in a temporary folder; exit 0 only "
            "if every outcome is the expected one."
        ),
    )
    demo.add_argument("--seconds", type=float, default=5.0, help=_("time until the deadline"))
    demo.set_defaults(run=_demo, logs=True)


def _migrate(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    # The embedded SQLite file lives there; so do keys and tokens: the owner's only.
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    migrate.upgrade(settings.effective_database_url)
    print(
        _("Database is at the newest schema: {effective_database_url}").format(
            effective_database_url=settings.effective_database_url
        )
    )
    return EXIT_OK


def _up(args: argparse.Namespace) -> int:
    from tender.runtime import create_starter_accounts, running_platform, serve_forever

    def stop_on_sigterm(signum: int, frame: object) -> None:
        # SIGTERM's default action ends Python on the spot, skipping every `finally`, and the
        # SeaweedFS child would outlive `tender up`. An exception unwinds running_platform,
        # which stops it. (While serving, uvicorn shuts down first, then re-raises SIGTERM.)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut that short
        raise SystemExit(EXIT_OK)  # a stop on request is a normal end

    signal.signal(signal.SIGTERM, stop_on_sigterm)
    settings = Settings.from_env()
    # With Redis or RabbitMQ the openings belong to `tender worker` processes: a worker in
    # the API process too would take openings (and their CPU) from the requests it serves.
    in_process = not settings.broker_url
    if not in_process:
        print(
            _(
                "TENDER_BROKER_URL is set: this process serves the API only; openings and the "
                "reconciler run in 'tender worker' (start at least one)."
            )
        )
    with running_platform(settings, worker=in_process, reconciler=in_process) as platform:
        accounts = create_starter_accounts(platform)
        if accounts:
            tokens = settings.data_dir / "tokens.txt"
            lines = [
                f"{a.user.role.value:9} {a.user.name:16} {a.user.organisation:24} "
                f"{a.user.email:33} {a.password:17} {a.token}"
                for a in accounts
            ]
            tokens.touch(mode=0o600)
            tokens.chmod(0o600)  # before the passwords are in it, whatever it was before
            tokens.write_text("\n".join(lines) + "\n")
            print(
                _(
                    "Starter accounts: sign in on the pages with the email and password; "
                    "scripts use the bearer token (last). Also saved in {tokens}:"
                ).format(tokens=tokens)
            )
            print("\n".join("  " + line for line in lines))
            # Starter tokens are second-factor tokens: scripts publish with them as they are.
            # Signing in as an officer also needs codes; these secrets make them (any
            # authenticator app, or: python -c "import pyotp; print(pyotp.TOTP('SECRET').now())").
            print(_("Authenticator (TOTP) secrets, for signing in with a code:"))
            for user, _token, _password in accounts:
                if user.totp_secret:
                    print(f"  {user.role.value:9} {user.name:16} {user.totp_secret}")
        base = f"http://{settings.host}:{settings.port}"
        print(
            _("Tender is up: the pages at {base}/ (English or Hong Kong Chinese)").format(base=base)
        )
        print(_("API docs: {base}/schema/swagger").format(base=base))
        print(_("OpenAPI description: {base}/schema/openapi.json").format(base=base))
        serve_forever(platform)
    return EXIT_OK


def _worker(args: argparse.Namespace) -> int:
    from tender.runtime import running_platform

    settings = Settings.from_env()
    if not settings.broker_url:
        raise CommandError(
            _(
                "it needs TENDER_BROKER_URL (redis://... or amqp://...): with the in-process "
                "broker, 'tender up' runs the worker itself."
            )
        )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    say = lambda text: print(text, flush=True)  # noqa: E731 - a one-line logger
    with running_platform(settings, migrate_schema=False, say=say):
        print(_("Tender worker: waiting for openings (Ctrl-C to stop)"), flush=True)
        stop.wait()
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from tender.demo import run_demo

    return run_demo(seconds_to_deadline=args.seconds)
