"""What an auditor runs offline: the log's formats and every check of them.

This part imports nothing of the service (no database, no HTTP, no storage): it reads what
the platform exports — audit events, checkpoints, receipts, bundles — and checks them, trusting
only the platform's public key and the time-stamping authority's certificates. An auditor can
read it alone:

- :mod:`.kinds` — the kinds of audit event;
- :mod:`.formats` — the JSON documents (events, checkpoints, receipts, records, manifests);
- :mod:`.chain` — canonical bytes of an event, the hash chain and its verification;
- :mod:`.merkle` — RFC 9162 Merkle trees, inclusion and consistency proofs;
- :mod:`.notes` — C2SP signed notes and tlog checkpoints (Ed25519);
- :mod:`.jws` — compact JWS with EdDSA, how receipts and manifests are signed;
- :mod:`.receipt` — ``tender receipt verify``;
- :mod:`.bundle` — ``tender audit verify bundle.zip``.
"""
