"""The whole path through the HTTP API: create, publish, three bids, deadline, timed opening,
results, audit verification. On SQLite with the in-process broker and worker, and on
PostgreSQL with Redis and a separate `tender worker` process."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tender.client import RefusedError, register_certificate
from tender.demo import wait_for_status
from tender.signing.testing import TestPKI, signed_pdf
from tender.verifier import merkle
from tender.verifier.bundle import verify_bundle
from tests.e2e.conftest import BIDDING_WINDOW, Site
from tests.e2e.flows import database_url, e2e_settings  # noqa: F401 - the flows' fixtures


@pytest.mark.slow
def test_signed_bid_in_sealed_opened_at_deadline_audited(
    site: Site, test_pki: TestPKI, tmp_path: Path
) -> None:
    client, auth = site.client, site.auth
    assert client.get("/schema/openapi.json").status_code == 200

    deadline = datetime.now(UTC) + BIDDING_WINDOW
    created = client.post(
        "/api/tenders",
        headers=auth(site.officer),
        json={
            "reference": "E2E-1",
            "title": "Bridge repair",
            "deadline": deadline.isoformat(),
            "opening": "automatic",
        },
    )
    assert created.status_code == 201, created.text
    tender_id = created.json()["id"]
    published = client.post(f"/api/tenders/{tender_id}/publish", headers=auth(site.officer))
    assert published.json()["status"] == "published"

    registered = register_certificate(client, site.alice, test_pki.signer("supplier-a"))
    assert registered["subject"].startswith("CN=Supplier A,")
    # Beta's certificate is not from an authority the platform accepts: told at once.
    with pytest.raises(RefusedError, match="cannot be registered"):
        register_certificate(client, site.bob, test_pki.signer("untrusted-supplier"))

    valid = signed_pdf(test_pki, "supplier-a", "Alpha's bid")
    receipt = client.put(
        f"/api/tenders/{tender_id}/bids/alpha.pdf", headers=auth(site.alice), content=valid
    )
    assert receipt.status_code == 201, receipt.text
    untrusted = client.put(
        f"/api/tenders/{tender_id}/bids/beta.pdf",
        headers=auth(site.bob),
        content=signed_pdf(test_pki, "untrusted-supplier", "Beta's bid"),
    )
    assert untrusted.status_code == 201, untrusted.text
    assert receipt.json()["sha256"] == hashlib.sha256(valid).hexdigest()
    assert receipt.json()["size"] == len(valid)
    # The pre-check tells each supplier, before the deadline, what the opening will say.
    assert receipt.json()["signature_precheck"]["indication"] == "TOTAL_PASSED"
    assert untrusted.json()["signature_precheck"]["sub_indication"] == "SIGNER_NOT_REGISTERED"
    assert (
        "registered no signing certificate" in untrusted.json()["signature_precheck"]["message_en"]
    )

    # The supplier can prove, from hashes alone, that its receipt's event is in the log.
    proof = client.get(
        "/api/audit/proofs/inclusion",
        headers=auth(site.alice),
        params={"seq": receipt.json()["audit_seq"]},
    ).json()
    head = client.get(
        "/api/audit/tree", headers=auth(site.auditor), params={"size": proof["size"]}
    ).json()
    merkle.verify_inclusion(
        bytes.fromhex(proof["leaf_hash"]),
        proof["leaf_index"],
        proof["size"],
        [bytes.fromhex(node) for node in proof["proof"]],
        bytes.fromhex(head["root"]),
    )

    # Nothing returns bid content before (or after) the opening.
    assert client.get(
        f"/api/tenders/{tender_id}/bids/alpha.pdf", headers=auth(site.officer)
    ).status_code in (404, 405)
    early_record = client.get(f"/api/tenders/{tender_id}/opening", headers=auth(site.officer))
    assert early_record.status_code == 409

    wait = (deadline + timedelta(seconds=1) - datetime.now(UTC)).total_seconds()
    time.sleep(max(0.0, wait))
    late = client.put(
        f"/api/tenders/{tender_id}/bids/gamma.pdf",
        headers=auth(site.carol),
        content=signed_pdf(test_pki, "supplier-c", "Gamma's bid"),
    )
    assert late.status_code == 409
    assert "closed at" in late.json()["message"]
    assert "arrived at" in late.json()["message"]

    opened = wait_for_status(client, tender_id, site.officer, "opened", timeout=30)
    # Opened by the timed message or by the reconciler, either way not before the deadline
    # (how soon after it is the benchmarks' business, not a test's).
    assert datetime.fromisoformat(opened["opening_started_at"]) >= deadline

    record = client.get(f"/api/tenders/{tender_id}/opening", headers=auth(site.auditor)).json()
    verdicts = {bid["file_name"]: bid for bid in record["bids"]}
    assert set(verdicts) == {"alpha.pdf", "beta.pdf"}
    assert verdicts["alpha.pdf"]["indication"] == "TOTAL_PASSED"
    assert verdicts["alpha.pdf"]["hash_matches"] is True
    assert verdicts["beta.pdf"]["indication"] == "TOTAL_FAILED"
    assert verdicts["beta.pdf"]["sub_indication"] == "SIGNER_NOT_REGISTERED"

    evaluated = client.get(
        f"/api/tenders/{tender_id}/opening/documents/{receipt.json()['receipt_id']}",
        headers=auth(site.officer),
    )
    assert evaluated.status_code == 200
    assert evaluated.content == valid

    # An auditor takes the bundle away and checks it with nothing but the platform's key.
    bundle = tmp_path / "bundle.zip"
    exported = client.get(
        "/api/audit/export", headers=auth(site.auditor), params={"tender": "E2E-1"}
    )
    assert exported.status_code == 200
    bundle.write_bytes(exported.content)
    public_key = client.get("/api/audit/public-key").text
    failed = [c for c in verify_bundle(bundle, public_key) if not c.ok]
    assert failed == []

    chain = client.get("/api/audit/verify", headers=auth(site.auditor)).json()
    assert chain["ok"] is True
    kinds = [e["kind"] for e in client.get("/api/audit/events", headers=auth(site.auditor)).json()]
    # The late refusal lands somewhere during the opening, which starts at the deadline; if it
    # came before the opening began, it was sealed like a bid, and is revealed with the bids.
    assert kinds.count("bid.refused") == 1
    assert kinds.count("sealed.revealed") == 2 + (
        kinds.index("bid.refused") < kinds.index("opening.started")
    )
    # Each use of the tender's key: by the opening (its helpers, if any, each once more), to
    # finish it, and for the officer's read.
    assert kinds.count("tender.key_unwrapped") >= 3
    noted_apart = ("bid.refused", "sealed.revealed", "tender.key_unwrapped")
    assert [kind for kind in kinds if kind not in noted_apart] == [
        # the starter accounts, each with its organisation and the operator's token
        *["organisation.created", "user.created", "token.created"] * 5,
        "tender.created",
        "tender.published",
        "certificate.registered",
        "request.refused",  # Beta's certificate, from an authority the platform does not accept
        "bid.received",
        "bid.received",
        "request.refused",  # the officer's attempt to read the record before the opening
        "opening.started",
        "tender.key_released",
        "bid.opened",
        "bid.opened",
        "opening.finished",
        "bid.read",
    ]


def test_refusals_are_explained_and_audited(site: Site) -> None:
    client, auth = site.client, site.auth
    anonymous = client.get("/api/tenders")
    assert anonymous.status_code == 401
    assert "Authorization: Bearer" in anonymous.json()["message"]

    forbidden = client.post(
        "/api/tenders",
        headers=auth(site.alice),
        json={"reference": "X", "title": "X", "deadline": "2030-01-01T00:00:00Z"},
    )
    assert forbidden.status_code == 403
    assert "role 'supplier'" in forbidden.json()["message"]

    events = client.get("/api/audit/events", headers=auth(site.auditor)).json()
    refused = [
        (e["actor"], e["payload"]["status"]) for e in events if e["kind"] == "request.refused"
    ]
    # The signed-in caller's refusal is in the permanent log; nobody's 401 is (it went to the
    # operational log, rate-limited): anyone could otherwise fill the chain.
    assert len(refused) == 1
    assert refused[0][0].startswith("user:")
    assert refused[0][1] == 403
