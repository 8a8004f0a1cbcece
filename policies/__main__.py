"""The CrossGuard policy pack: ``pulumi preview --policy-pack ../../policies`` from a stack folder.

The policies live in ``txn_policies`` (importable, unit-tested); this file only builds the pack,
because constructing a ``PolicyPack`` starts the analyzer server that the Pulumi CLI talks to.
"""

from pulumi_policy import EnforcementLevel, PolicyPack

from txn_policies.crossguard import crossguard_policies

PolicyPack(
    name="txn-pci",
    description="PCI DSS v4.0.1 and mission controls for the transaction platform",
    enforcement_level=EnforcementLevel.ADVISORY,  # each policy sets its own level
    policies=crossguard_policies(),
)
