"""Policy as code for the transaction platform: PCI DSS v4.0.1 and mission controls.

The policies are plain data and pure functions (``rules``) over a small resource view
(``view``), so they can be unit-tested and evaluated over the whole system offline
(``synth``). The CrossGuard pack in ``policies/`` adapts the same functions (``crossguard``)
for a real ``pulumi preview --policy-pack ../../policies`` (from a stack folder).
"""
