"""What this project adds to moto, for the local runtime and the tests that run moto in-process.

- :mod:`txn_moto.patches`: moto's server made thread-safe and fast enough for the local
  pipeline, for exactly one moto release (``MOTO_VERSION``, ``check_version``), with the
  patches of each service in :mod:`txn_moto.sqs` and :mod:`txn_moto.dynamodb` (both serialise
  the calls the real service applies atomically with :func:`txn_moto.locking.one_at_a_time`);
- :mod:`txn_moto.partiql`: the PartiQL write statements the fraud detector sends (ADR 0003),
  with DynamoDB's per-statement semantics.

It depends on moto and nothing else of this project: the local runtime (``txn_local``) uses it,
not the other way round.
"""
