"""``tender demo``: the whole story on embedded parts, through the HTTP API, in a temp folder.

A throw-away PKI; an opening committee of three (two officers and an auditor as independent
observer) who make passphrase-protected key files and register their public keys; a tender
whose key is split among them, 2 of 3, published with a document, closing a few seconds
later; a supplier downloads it and asks a question, the answer is published without the
asker, an addendum extends the deadline; three suppliers bid (a valid signature, a signature
from an untrusted CA, one that withdraws and then comes too late), one re-uploads its bid; a
committee member's release before the deadline is refused; after it the tender waits, closed,
until two members release their shares, then opens by itself; the opening record (who
released the key, the version that counted, the superseded one, the withdrawal), the award
and what a supplier sees of it, receipts and the audit bundle checked offline. Exits 0 only
when every outcome is the expected one.
"""

from __future__ import annotations

import hashlib
import io
import logging
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pyhanko.keys import load_certs_from_pemder_data

from tender.accounts.models import Role
from tender.accounts.service import AccountService
from tender.client import (
    RefusedError,
    register_certificate,
    register_committee_key,
    release_committee_share,
)
from tender.config import Settings
from tender.runtime import create_starter_accounts, running_platform, serving
from tender.signing import Indication, TrustStore, verify_document
from tender.signing.testing import P12_PASSPHRASE, TestPKI, signed_pdf
from tender.storage.committee import MemberKey
from tender.verifier.bundle import verify_bundle
from tender.verifier.kinds import EventKind
from tender.verifier.receipt import verify_receipt

DEMO_PASSPHRASE = "demo passphrase, never use it"  # noqa: S105 - the demo's throw-away key files


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _wait_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


def wait_for_status(
    client: httpx.Client, tender_id: str, token: str, status: str, timeout: float
) -> dict[str, Any]:
    """Poll the tender until it has ``status``; raises TimeoutError with the last state. A
    connection the server closed as it was reused (an idle keep-alive racing its timeout) is
    polled again: a read is safe to repeat."""
    give_up = time.monotonic() + timeout
    last = "unknown"
    while True:
        try:
            tender: dict[str, Any] = client.get(
                f"/api/tenders/{tender_id}", headers=_auth(token)
            ).json()
        except httpx.RemoteProtocolError:
            tender = {"status": last}
        last = tender["status"]
        if last == status:
            return tender
        if time.monotonic() > give_up:
            raise TimeoutError(f"tender still {last!r} after {timeout} s")
        time.sleep(0.1)


def run_demo(*, seconds_to_deadline: float = 5.0) -> int:
    # The story is the output; library chatter (HTTP requests, pyHanko's path-building
    # tracebacks for the untrusted signer, migrations) would bury it.
    for noisy in ("httpx", "pyhanko", "alembic", "dramatiq"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    started = time.monotonic()
    checks: list[tuple[str, bool]] = []

    def check(what: str, ok: bool) -> None:
        checks.append((what, ok))
        print(f"  [{'ok' if ok else 'UNEXPECTED'}] {what}")

    with tempfile.TemporaryDirectory(prefix="tender-demo-") as tmp:
        root = Path(tmp)
        print(f"Demo folder: {root}")
        pki = TestPKI.create(root / "pki")
        print(
            "Made a throw-away PKI: a trusted root and intermediate, suppliers, and an untrusted CA"
        )
        password_file = root / "platform-p12-password"
        password_file.write_bytes(P12_PASSPHRASE)
        settings = Settings(
            data_dir=root / "var",
            trust_dir=pki.trust_dir,
            revocation_dir=pki.revocation_dir,
            platform_p12=pki.p12_path("platform"),
            platform_p12_password_file=password_file,
            reconcile_interval_seconds=2,
        )
        with running_platform(settings, say=print) as platform, serving(platform) as base:
            accounts = create_starter_accounts(platform)
            officer, alice, bob, carol, auditor = (account.token for account in accounts)
            with platform.sessions.begin() as session:
                second_officer, peter = AccountService(
                    session=session, clock=platform.clock
                ).create_user(
                    name="Peter Officer", organisation="Procuring Entity", role=Role.OFFICER
                )
            committee = {
                "Olivia Officer": (accounts[0][0].id, officer),
                "Peter Officer": (second_officer.id, peter),
                "Aaron Auditor": (accounts[4][0].id, auditor),
            }
            with httpx.Client(base_url=base, timeout=60) as client:
                member_keys = {}
                for name, (_, token) in committee.items():
                    key_file = root / f"{name.split()[0].lower()}.key"
                    MemberKey.generate().save(key_file, DEMO_PASSPHRASE)
                    member_keys[name] = MemberKey.load(key_file, DEMO_PASSPHRASE)
                    fingerprint = register_committee_key(client, token, member_keys[name])[
                        "fingerprint"
                    ]
                    print(
                        f"{name} made a committee key file under a passphrase and registered "
                        f"its public key {fingerprint[:16]}"
                    )
                deadline = datetime.now(UTC) + timedelta(seconds=seconds_to_deadline)
                created = client.post(
                    "/api/tenders",
                    headers=_auth(officer),
                    json={
                        "reference": "DEMO-2026-001",
                        "title": "Resurfacing of Harbour Road",
                        "description": "Demo tender",
                        "deadline": deadline.isoformat(),
                        "committee": [str(user_id) for user_id, _ in committee.values()],
                        "quorum": 2,
                    },
                ).json()
                tender_id = created["id"]
                print(
                    "The officer created the tender with an opening committee of Olivia "
                    "Officer, Peter Officer and Aaron Auditor (an independent observer), 2 of 3. "
                    + created["opening_trust"]
                )
                check(
                    "the tender is opened by a committee of three, two of whom must release",
                    (created.get("opening"), created.get("quorum")) == ("committee", 2),
                )
                tenders = f"/api/tenders/{tender_id}"
                specification = b"%PDF-1.7 Specification: resurface 1.2 km of Harbour Road"
                uploaded = client.put(
                    f"{tenders}/documents/specification.pdf",
                    headers=_auth(officer),
                    content=specification,
                )
                published = client.post(f"{tenders}/publish", headers=_auth(officer))
                print(
                    "The officer published tender DEMO-2026-001 with its specification.pdf "
                    f"(with an authenticator-backed token); deadline {deadline:%H:%M:%S} UTC"
                )
                check(
                    "the tender is published with its document",
                    (uploaded.status_code, published.status_code) == (201, 200),
                )

                download = client.get(
                    f"{tenders}/documents/specification.pdf", headers=_auth(alice)
                )
                print(
                    "Alpha Engineering downloaded specification.pdf, SHA-256 "
                    f"{download.headers.get('X-Content-SHA256', '')[:16]}... (on record)"
                )
                check(
                    "the document downloads intact, with its SHA-256",
                    download.content == specification
                    and download.headers.get("X-Content-SHA256")
                    == hashlib.sha256(specification).hexdigest(),
                )
                question = client.post(
                    f"{tenders}/clarifications",
                    headers=_auth(alice),
                    json={"question": "May the works be done at night?"},
                ).json()
                print(f"Alpha Engineering asked privately: {question['question']}")
                client.post(
                    f"{tenders}/clarifications/{question['id']}/answer",
                    headers=_auth(officer),
                    json={"answer": "Yes, from 23:00 to 06:00; see addendum 1."},
                )
                seen_by_beta = client.get(f"{tenders}/clarifications", headers=_auth(bob)).json()
                print(f"The officer answered, for every supplier: {seen_by_beta[0]['answer']}")
                check(
                    "Beta Builders reads the answer without learning who asked",
                    [(c["answer"], c["asked_by_organisation"]) for c in seen_by_beta]
                    == [("Yes, from 23:00 to 06:00; see addendum 1.", None)],
                )
                deadline += timedelta(seconds=seconds_to_deadline)
                addendum = client.post(
                    f"{tenders}/addenda",
                    headers=_auth(officer),
                    json={
                        "text": "Night works allowed; the deadline is extended.",
                        "deadline": deadline.isoformat(),
                    },
                )
                print(
                    f"The officer published addendum 1: the deadline is now {deadline:%H:%M:%S} UTC"
                )
                check("the addendum extends the deadline", addendum.status_code == 201)

                receipts: dict[str, dict[str, Any]] = {}
                for name, token, signer, trusted in (
                    ("Alpha Engineering", alice, "supplier-a", True),
                    ("Beta Builders", bob, "untrusted-supplier", False),
                    ("Gamma Works", carol, "supplier-c", True),
                ):
                    try:
                        register_certificate(client, token, pki.signer(signer))
                        print(f"{name} registered its signing certificate (proving it has the key)")
                        registered = True
                    except RefusedError as refusal:
                        print(f"{name} could not register its certificate: {refusal}")
                        registered = False
                    check(
                        f"{name}'s registration is {'accepted' if trusted else 'refused'}",
                        registered == trusted,
                    )
                    body = signed_pdf(pki, signer, f"Bid of {name} for DEMO-2026-001")
                    answer = client.put(
                        f"{tenders}/bids/bid.pdf", headers=_auth(token), content=body
                    )
                    receipt = answer.json()
                    receipts[name] = receipt
                    print(
                        f"{name} submitted bid.pdf ({len(body)} bytes, signed by {signer}): "
                        f"HTTP {answer.status_code}, receipt {receipt.get('receipt_id')}, "
                        f"sha256 {receipt.get('sha256', '')[:16]}..."
                    )
                    check(f"the bid of {name} is received", answer.status_code == 201)
                    precheck = receipt.get("signature_precheck") or {}
                    print(
                        f"  pre-check: {precheck.get('indication')}: {precheck.get('message_en')}"
                    )

                first_version = receipts["Alpha Engineering"]
                revised = client.put(
                    f"{tenders}/bids/bid.pdf",
                    headers=_auth(alice),
                    content=signed_pdf(pki, "supplier-a", "Revised bid of Alpha Engineering"),
                )
                receipts["Alpha Engineering"] = revised.json()
                print(
                    "Alpha Engineering uploaded bid.pdf again with revised prices: receipt "
                    f"{revised.json().get('receipt_id')}; the first version stays sealed"
                )
                check("the revised bid is received", revised.status_code == 201)
                standing = {
                    entry["receipt"]["receipt_id"]: entry["standing"]
                    for entry in client.get("/api/receipts", headers=_auth(alice)).json()
                }
                check(
                    "Alpha's receipts say the revised version counts and the first is superseded",
                    standing
                    == {
                        first_version["receipt_id"]: "superseded",
                        receipts["Alpha Engineering"]["receipt_id"]: "counts",
                    },
                )
                withdrawn = client.post(f"{tenders}/withdrawal", headers=_auth(carol), json={})
                print(f"Gamma Works withdrew its bid: HTTP {withdrawn.status_code}, signed receipt")
                check("the withdrawal is receipted", withdrawn.status_code == 201)

                early = client.post(
                    f"{tenders}/committee/releases",
                    headers=_auth(auditor),
                    json={"share": "AAAA"},
                )
                print(
                    "Aaron Auditor tried to release a share before the deadline: HTTP "
                    f"{early.status_code}: {early.json().get('what')}"
                )
                check("a release before the deadline is refused", early.status_code == 409)

                _wait_until(deadline + timedelta(seconds=1))
                late = client.put(
                    f"{tenders}/bids/bid.pdf",
                    headers=_auth(carol),
                    content=signed_pdf(pki, "supplier-c", "Bid of Gamma Works"),
                )
                print(f"Gamma Works tried again 1 s after the deadline: HTTP {late.status_code}")
                print(f"  {late.json().get('message')}")
                check("the late bid is refused with 409", late.status_code == 409)

                time.sleep(1)  # the timed opening has come, and found no quorum
                waiting = client.get(f"{tenders}/committee", headers=_auth(officer)).json()
                state = client.get(tenders, headers=_auth(officer)).json()["status"]
                print(f"After the deadline the tender is {state}: {waiting['summary']}")
                check(
                    "after the deadline the tender waits, closed, for its committee",
                    state == "closed" and waiting["released"] == 0,
                )
                for name in ("Aaron Auditor", "Olivia Officer"):
                    released = release_committee_share(
                        client, committee[name][1], tender_id, member_keys[name]
                    )
                    print(f"{name} released their share: {released['summary']}")
                opened = wait_for_status(client, tender_id, officer, "opened", timeout=40)
                delay = datetime.fromisoformat(opened["opening_started_at"]) - deadline
                seconds = delay.total_seconds()
                print(
                    f"The timed job opened the tender {seconds:.3f} s after the extended deadline"
                )
                check(
                    "the opening started after the extended deadline, not at the first one",
                    delay >= timedelta(0),
                )

                record = client.get(
                    f"/api/tenders/{tender_id}/opening", headers=_auth(officer)
                ).json()
                released_by = [m["member"] for m in record["key_release"]["released"]]
                print(f"The opening record says the key was released by {', '.join(released_by)}")
                check(
                    "the opening record names the two members who released, in order",
                    released_by == ["Aaron Auditor", "Olivia Officer"],
                )
                print("\nOpening record")
                print(f"  {'supplier':24} {'file':8} {'hash':5} {'verdict':14} {'reason'}")
                verdicts = {}
                for bid in record["bids"]:
                    verdicts[bid["supplier_organisation"]] = (
                        bid["indication"],
                        bid["hash_matches"],
                    )
                    print(
                        f"  {bid['supplier_organisation']:24} {bid['file_name']:8} "
                        f"{'ok' if bid['hash_matches'] else 'BAD':5} {bid['indication']:14} "
                        f"{bid['reason']}"
                    )
                print()
                check(
                    "Alpha's valid signature passes",
                    verdicts.get("Alpha Engineering Ltd") == ("TOTAL_PASSED", True),
                )
                check(
                    "Beta's signature, by a certificate it could not register, does not pass",
                    verdicts.get("Beta Builders Ltd", ("", False))[0] == "TOTAL_FAILED",
                )
                check("Gamma's bids are not in the opening", "Gamma Works Ltd" not in verdicts)
                counted = {bid["receipt_id"] for bid in record["bids"]}
                not_opened = {e["receipt_id"]: e["why"] for e in record.get("not_opened", [])}
                for entry in record.get("not_opened", []):
                    print(
                        f"  not opened: {entry['supplier_organisation']} {entry['file_name']} "
                        f"received {entry['received_at']}: {entry['why']} at {entry['at']}"
                    )
                check(
                    "the record opens Alpha's revised version and says the first was superseded",
                    receipts["Alpha Engineering"]["receipt_id"] in counted
                    and not_opened.get(first_version["receipt_id"]) == "superseded",
                )
                check(
                    "the record says Gamma's bid was withdrawn",
                    not_opened.get(receipts["Gamma Works"]["receipt_id"]) == "withdrawn",
                )

                awarded = client.post(
                    f"{tenders}/award",
                    headers=_auth(officer),
                    json={
                        "winners": ["Alpha Engineering Ltd"],
                        "value": "1250000.00",
                        "currency": "HKD",
                        "reasons": "The only bid whose signature verified; within budget.",
                    },
                )
                print(
                    "The officer awarded the tender to Alpha Engineering Ltd for HKD 1,250,000.00: "
                    f"HTTP {awarded.status_code}"
                )
                check("the award is made", awarded.status_code == 201)
                outcome = client.get(f"{tenders}/award", headers=_auth(bob)).json()
                own = [v for v in outcome.get("verdicts", []) if v["own"]]
                print(
                    f"Beta Builders reads the outcome: awarded to {', '.join(outcome['winners'])}"
                )
                for verdict in own:
                    print(f"  its own bid: {verdict['indication']}: {verdict['reason']}")
                check(
                    "Beta Builders sees the winner and its own verdict, not Alpha's file",
                    outcome["winners"] == ["Alpha Engineering Ltd"]
                    and [v["indication"] for v in own] == ["TOTAL_FAILED"]
                    and all(v["file_name"] is None for v in outcome["verdicts"] if not v["own"]),
                )

                sealed = client.get(
                    f"/api/tenders/{tender_id}/opening/record.pdf", headers=_auth(auditor)
                ).content
                seal = verify_document(
                    io.BytesIO(sealed), trust=pki.trust_store(), at=datetime.now(UTC)
                )
                print(
                    f"Opening record PDF ({len(sealed)} bytes): seal {seal.indication.value}, "
                    f"by {seal.signer_subject}"
                )
                check(
                    "the opening record PDF carries a valid platform seal",
                    seal.indication == Indication.TOTAL_PASSED,
                )

                public_key = client.get("/api/audit/public-key").text
                print(f"Platform public key: {public_key}")
                tsa = TrustStore.from_certificates(
                    load_certs_from_pemder_data(client.get("/api/audit/tsa-certificates").content)
                )
                print(
                    "Alpha's receipt, checked offline with nothing but that key and the "
                    "time-stamping authority's certificate:"
                )
                held = verify_receipt(
                    receipts["Alpha Engineering"]["signed_receipt"],
                    public_key,
                    visible=receipts["Alpha Engineering"],
                    tsa_trust=tsa,
                )
                for step in held:
                    print(f"  {'PASS' if step.ok else 'FAIL'}  {step.name}: {step.detail}")
                check("Alpha's signed receipt holds offline", all(step.ok for step in held))

                chain = client.get("/api/audit/verify", headers=_auth(auditor)).json()
                events = client.get("/api/audit/events", headers=_auth(auditor)).json()
                print(f"Audit trail: {len(events)} events")
                for event in events:
                    print(f"  #{event['seq']:<3} {event['at']} {event['kind']:22} {event['actor']}")
                print(
                    f"Audit chain: {'intact' if chain['ok'] else 'BROKEN'}, and "
                    + ("in every locked checkpoint" if chain["ok"] else "see the failures")
                )
                for line in chain["summary"]:
                    print(f"  {'PASS' if line['ok'] else 'FAIL'}  {line['name']}: {line['detail']}")
                check("the audit chain verifies against its locked checkpoints", chain["ok"])
                bundle = root / "audit-bundle.zip"
                bundle.write_bytes(
                    client.get(
                        "/api/audit/export",
                        headers=_auth(auditor),
                        params={"tender": "DEMO-2026-001"},
                    ).content
                )
                bundle_checks = verify_bundle(bundle, public_key)
                print(
                    f"The auditor exported the audit bundle ({bundle.stat().st_size} bytes) and "
                    "checked it offline with the platform's key alone:"
                )
                for finding in bundle_checks:
                    if not finding.ok:
                        print(f"  FAIL  {finding.name}: {finding.detail}")
                check(
                    f"the audit bundle verifies offline ({len(bundle_checks)} checks)",
                    bool(bundle_checks) and all(finding.ok for finding in bundle_checks),
                )
                check(
                    "the late refusal is audited",
                    any(e["kind"] == EventKind.BID_REFUSED for e in events),
                )
    failed = [what for what, ok in checks if not ok]
    print(f"\nDemo finished in {time.monotonic() - started:.1f} s: ", end="")
    print("every outcome as expected." if not failed else f"UNEXPECTED: {'; '.join(failed)}")
    return 0 if not failed else 1
