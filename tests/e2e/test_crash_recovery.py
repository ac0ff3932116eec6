"""A `tender up` killed (SIGKILL) at any step of an upload leaves either no bid or a whole one.

Each case kills the real server at one step, starts it again, and checks what a supplier and an
auditor rely on: every recorded bid has its signed receipt, and every sealed object in storage
is a recorded bid or is named in the audit trail as an orphan (it is locked: it cannot be
removed, so it must be accounted for).
"""

from __future__ import annotations

import json
import signal
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from tender.audit.models import AuditEvent
from tender.bids.models import BidDocument, StorageIntent
from tender.config import Settings
from tender.db import make_engine, make_sessionmaker
from tender.runtime import free_port
from tender.signing.testing import TestPKI, signed_pdf
from tender.storage.keyfile import load_secret
from tender.storage.objectstore import ObjectStore, S3Config
from tender.verifier.notes import NoteSigner
from tender.verifier.receipt import verify_receipt
from tests.e2e.conftest import tender_up

# Runs `tender up` with one method patched to kill the process, before or after it runs.
KILLING_SERVER = """
import importlib, os, signal, sys
module, owner, name, when = {target!r}
cls = getattr(importlib.import_module(module), owner)
real = getattr(cls, name)
def killing(*args, **kwargs):
    about_a_bid = any("/bids/" in str(a) for a in args) or owner != "ObjectStore"
    if about_a_bid and when == "before":
        os.kill(os.getpid(), signal.SIGKILL)
    result = real(*args, **kwargs)
    if about_a_bid:
        os.kill(os.getpid(), signal.SIGKILL)
    return result
setattr(cls, name, killing)
from tender.cli import main
sys.exit(main(["up"]))
"""

STEPS = {
    "before the sealed object is stored": (
        "tender.storage.objectstore",
        "ObjectStore",
        "put_locked",
        "before",
    ),
    "after it is stored, before the bid is recorded": (
        "tender.storage.objectstore",
        "ObjectStore",
        "put_locked",
        "after",
    ),
    "after the bid is recorded, before its receipt is signed": (
        "tender.bids.intake",
        "BidIntake",
        "_record",
        "after",
    ),
    "after the receipt is signed, before it is answered": (
        "tender.bids.intake",
        "BidIntake",
        "_prove_and_sign",
        "after",
    ),
}


@pytest.fixture
def database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url


@pytest.mark.slow
@pytest.mark.parametrize("step", list(STEPS))
def test_a_crash_at_any_step_leaves_no_half_bid_and_no_unnamed_object(
    e2e_settings: Settings, test_pki: TestPKI, step: str
) -> None:
    settings = e2e_settings.with_overrides(port=free_port())
    killing = KILLING_SERVER.format(target=STEPS[step])
    with tender_up(settings, code=killing, log_name="killed.log") as server:
        officer = {"Authorization": f"Bearer {server.tokens['officer']}"}
        supplier = {"Authorization": f"Bearer {server.tokens['supplier']}"}
        with httpx.Client(base_url=server.base, timeout=60) as client:
            tender = client.post(
                "/api/tenders",
                headers=officer,
                json={
                    "reference": "CRASH-1",
                    "title": "Crash",
                    "deadline": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
                    "opening": "automatic",
                },
            ).json()
            client.post(f"/api/tenders/{tender['id']}/publish", headers=officer)
            with pytest.raises(httpx.TransportError):  # the server dies under the upload
                client.put(
                    f"/api/tenders/{tender['id']}/bids/bid.pdf",
                    headers=supplier,
                    content=signed_pdf(test_pki, "supplier-c", "C"),
                )
        assert server.process.wait(timeout=30) == -signal.SIGKILL

    # Started again, it recovers before it serves.
    with tender_up(settings, env={"TENDER_ORPHAN_SWEEP_AFTER_SECONDS": "0"}):
        engine = make_engine(settings.effective_database_url)
        with make_sessionmaker(engine).begin() as session:
            documents = list(session.scalars(select(BidDocument)))
            orphans = list(
                session.scalars(
                    select(AuditEvent.payload).where(AuditEvent.kind == "storage.orphaned")
                )
            )
            open_intents = list(
                session.scalars(select(StorageIntent).where(StorageIntent.resolved_at.is_(None)))
            )
        engine.dispose()
    key = NoteSigner.from_private_bytes(
        settings.log_origin,
        load_secret(settings.effective_signing_key_file, 32, what="platform signing key"),
    ).verifier_key()
    for document in documents:  # every recorded bid has its signed receipt
        assert document.signed_receipt is not None, step
        held = verify_receipt(document.signed_receipt, key, tsa_trust=test_pki.trust_store())
        assert [c.name for c in held if not c.ok] in ([], ["time-stamp"]), held
    store = ObjectStore(
        S3Config(settings.s3_endpoint, settings.s3_access_key, settings.s3_secret_key)
    )
    stored = {
        (object_key, version)
        for object_key, version in store.list_versions(settings.bucket, "tenders/")
        if "/bids/" in object_key
    }
    recorded = {(d.object_key, d.object_version) for d in documents}
    named = {(o["object_key"], v) for o in orphans for v in o["object_versions"]}
    assert stored <= recorded | named, json.dumps(sorted(stored - recorded - named))
    assert open_intents == []
    expected_documents = (
        0 if "before the bid is recorded" in step or "before the sealed" in step else 1
    )
    assert len(documents) == expected_documents
    assert len(named) == (1 if step == "after it is stored, before the bid is recorded" else 0)
