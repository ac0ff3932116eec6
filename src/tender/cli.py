"""The ``tender`` command."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from tender import migrate, supplier_tools
from tender.accounts.models import Role
from tender.accounts.service import create_starter_accounts, create_user
from tender.audit import service as audit
from tender.audit.bundle import export_bundle, verify_bundle
from tender.audit.chain import verify_chain
from tender.audit.checkpoint import NoteSigner
from tender.bids.receipts import verify_receipt
from tender.clock import SystemClock
from tender.config import Settings, SettingsError
from tender.db import make_engine, make_sessionmaker
from tender.errors import Refusal
from tender.storage.keyfile import load_or_create_secret


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tender", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="upgrade the database schema to the newest version")
    commands.add_parser("up", help="run the whole platform (embedded defaults unless configured)")
    commands.add_parser("worker", help="run the opening worker and reconciler (Redis/RabbitMQ)")
    demo = commands.add_parser("demo", help="run the whole story once, in a temporary folder")
    demo.add_argument("--seconds", type=float, default=5.0, help="time until the deadline")
    user = commands.add_parser("user", help="add a user and print their bearer token")
    user.add_argument("--name", required=True)
    user.add_argument("--organisation", required=True)
    user.add_argument("--role", required=True, choices=[r.value for r in Role])
    audit_cmd = commands.add_parser("audit", help="export or verify the audit trail")
    audit_sub = audit_cmd.add_subparsers(dest="audit_command", required=True)
    export = audit_sub.add_parser(
        "export", help="write the auditor's bundle (-o bundle.zip), or every event as JSON lines"
    )
    written = export.add_mutually_exclusive_group(required=True)
    written.add_argument("-o", "--output", type=Path, help="the bundle to write (a .zip)")
    written.add_argument("--out", type=Path, help="write only the events, as JSON lines")
    export.add_argument("--tender", help="the tender reference (default: every tender)")
    audit_sub.add_parser("public-key", help="print the platform's public key (platform.pub)")
    verify = audit_sub.add_parser(
        "verify", help="check a bundle offline (BUNDLE --key), or recompute the hash chain"
    )
    verify.add_argument("bundle", type=Path, nargs="?", help="a bundle.zip to check offline")
    verify.add_argument("--key", type=Path, help="platform.pub, for a bundle")
    verify.add_argument("--file", type=Path, help="a JSON-lines export (default: the database)")
    supplier_tools.add_commands(commands)

    receipt = commands.add_parser("receipt", help="check a signed receipt, offline")
    receipt_sub = receipt.add_subparsers(dest="receipt_command", required=True)
    receipt_verify = receipt_sub.add_parser("verify", help="check a receipt with the public key")
    receipt_verify.add_argument("receipt", type=Path, help="the receipt JSON, or its JWS")
    receipt_verify.add_argument("--key", type=Path, required=True, help="platform.pub")

    args = parser.parse_args(argv)
    if args.command == "receipt":  # offline: no settings, no server logs
        return _receipt_verify(args.receipt, args.key)
    if args.command == "audit" and args.audit_command == "verify" and args.bundle is not None:
        if args.key is None:  # offline too: the key is all a bundle is checked with
            parser.error("tender audit verify BUNDLE needs --key platform.pub")
        return _bundle_verify(args.bundle, args.key)
    if args.command in supplier_tools.COMMANDS:  # offline tools: no settings, no server logs
        return supplier_tools.run(args)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        return _run(args, Settings.from_env())
    except SettingsError as exc:
        print(f"tender: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "migrate":
        settings.data_dir.mkdir(parents=True, exist_ok=True)  # the embedded SQLite file lives there
        migrate.upgrade(settings.effective_database_url)
        print(f"Database is at the newest schema: {settings.effective_database_url}")
        return 0
    if args.command == "up":
        return _up(settings)
    if args.command == "worker":
        return _worker(settings)
    if args.command == "demo":
        from tender.demo import run_demo

        return run_demo(seconds_to_deadline=args.seconds)
    if args.command == "user":
        return _add_user(settings, args.name, args.organisation, Role(args.role))
    if args.audit_command == "public-key":
        return _public_key(settings)
    if args.audit_command == "export" and args.output is not None:
        return _bundle_export(settings, args.tender, args.output)
    if args.audit_command == "export":
        return _audit_export(settings, args.out)
    return _audit_verify(settings, args.file)


def _up(settings: Settings) -> int:
    from tender.runtime import running_platform, serve_forever

    with running_platform(settings) as platform:
        with platform.sessions.begin() as session:
            accounts = create_starter_accounts(session, clock=platform.clock)
        if accounts:
            tokens = settings.data_dir / "tokens.txt"
            lines = [f"{u.role:9} {u.name:16} {u.organisation:24} {t}" for u, t in accounts]
            tokens.write_text("\n".join(lines) + "\n")
            tokens.chmod(0o600)
            print(f"Starter accounts (bearer tokens, also saved in {tokens}):")
            print("\n".join("  " + line for line in lines))
        base = f"http://{settings.host}:{settings.port}"
        print(f"Tender is up: API docs at {base}/schema/swagger")
        print(f"OpenAPI description: {base}/schema/openapi.json")
        serve_forever(platform)
    return 0


def _worker(settings: Settings) -> int:
    from tender.runtime import running_platform

    if not settings.broker_url:
        print(
            "tender worker needs TENDER_BROKER_URL (redis://... or amqp://...): with the "
            "in-process broker, 'tender up' runs the worker itself.",
            file=sys.stderr,
        )
        return 2
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    say = lambda text: print(text, flush=True)  # noqa: E731 - a one-line logger
    with running_platform(settings, migrate_schema=False, say=say):
        print("Tender worker: waiting for openings (Ctrl-C to stop)", flush=True)
        stop.wait()
    return 0


def _add_user(settings: Settings, name: str, organisation: str, role: Role) -> int:
    engine = make_engine(settings.effective_database_url)
    with make_sessionmaker(engine).begin() as session:
        user, token = create_user(
            session, name=name, organisation=organisation, role=role, clock=SystemClock()
        )
        print(f"Added {user.name} ({user.organisation}) as {user.role}. Bearer token:\n{token}")
    engine.dispose()
    return 0


def _audit_export(settings: Settings, out: Path) -> int:
    engine = make_engine(settings.effective_database_url)
    count = 0
    with make_sessionmaker(engine).begin() as session, out.open("w") as sink:
        for event in audit.iter_events(session):
            sink.write(json.dumps(audit.to_json(event), ensure_ascii=False) + "\n")
            count += 1
    engine.dispose()
    print(f"Wrote {count} events to {out}")
    return 0


def _bundle_export(settings: Settings, tender: str | None, out: Path) -> int:
    from tender.runtime import running_platform

    def say(text: str) -> None:  # keep stdout for the result, as the other commands do
        print(text, file=sys.stderr)

    with running_platform(
        settings, worker=False, reconciler=False, migrate_schema=False, say=say
    ) as platform:
        try:
            export_bundle(platform, tender_reference=tender, out=out)
        except Refusal as refusal:
            print(f"tender: {refusal}", file=sys.stderr)
            return 1
    print(f"Wrote the audit bundle of {tender or 'every tender'} to {out}")
    return 0


def _bundle_verify(bundle: Path, key: Path) -> int:
    checks = verify_bundle(bundle, key.read_text().strip())
    for check in checks:
        print(f"{'PASS' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
    failed = sum(not check.ok for check in checks)
    held = bool(checks) and not failed
    print(
        f"The bundle holds: {len(checks)} checks passed."
        if held
        else f"The bundle does NOT hold: {failed} of {len(checks)} checks failed."
    )
    return 0 if held else 1


def _public_key(settings: Settings) -> int:
    secret = load_or_create_secret(
        settings.effective_signing_key_file, 32, what="platform signing key"
    )
    print(NoteSigner.from_private_bytes(settings.log_origin, secret).verifier_key())
    return 0


def _receipt_verify(receipt: Path, key: Path) -> int:
    text = receipt.read_text().strip()
    signed = json.loads(text).get("signed_receipt", "") if text.startswith("{") else text
    checks = verify_receipt(signed or "", key.read_text().strip())
    for check in checks:
        print(f"{'PASS' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
    held = bool(checks) and all(check.ok for check in checks)
    print("The receipt holds." if held else "The receipt does NOT hold.")
    return 0 if held else 1


def _audit_verify(settings: Settings, file: Path | None) -> int:
    if file is not None:
        with file.open() as lines:
            result = verify_chain(json.loads(line) for line in lines if line.strip())
    else:
        engine = make_engine(settings.effective_database_url)
        with make_sessionmaker(engine).begin() as session:
            result = audit.verify_stored_chain(session)
        engine.dispose()
    print(result.describe())
    return 0 if result.ok else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
