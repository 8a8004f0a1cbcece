"""Deploy orchestration for the six layers: ordered, per-layer preview, deploy and destroy.

``deploy`` plans and runs stack operations in the contract's DAG order against a
:class:`~txn_ops.workspace.Workspace` (the Pulumi Automation API in real use, a fake in tests);
``affected`` maps a git diff to the layers it touches; ``python -m txn_ops`` is the CLI the nox
sessions wrap.
"""
