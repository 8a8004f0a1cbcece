"""Reliability and security checks of the transaction pipeline: bad input, faults, soak, leaks.

``python -m txn_resilience`` (``nox -s resilience``) runs the fault scenarios and the soak on the
local runtime and prints the ledger, the faults injected and the leak scan. The modules:

- :mod:`txn_resilience.cards`: test card numbers and the card-data policy the leak scan enforces.
- :mod:`txn_resilience.leaks`: the scanner (logs, table items, queue messages, alerts).
- :mod:`txn_resilience.strategies`: hypothesis strategies for valid and hostile request bodies.
- :mod:`txn_resilience.badinput`: a fixed catalogue of hostile HTTP requests for the gateway.
- :mod:`txn_resilience.faults`: seeded fault schedules injected into the functions' AWS clients.
- :mod:`txn_resilience.handlers`: the real handlers, wrapped: crashes, duplicate deliveries.
- :mod:`txn_resilience.ledger`: what was submitted against where it ended.
"""
