"""The account stack is named after the region it configures (docs/decisions/0010)."""

from __future__ import annotations

import pulumi


def check_stack_name(stack: str, region: str) -> None:
    """Refuse a stack whose name does not end with its ``aws:region``.

    ``us-east-2``, or ``<account>-us-east-2`` when several accounts keep their account stacks in
    one backend. The setting and the role are per account and region: a stack named for one
    region and configured for another would set the wrong region's API Gateway.
    """
    if stack != region and not stack.endswith(f"-{region}"):
        raise pulumi.RunError(
            f"stack {stack!r} sets aws:region {region}: an account stack is named after its "
            f"region ({region}, or <account>-{region}); check Pulumi.{stack}.yaml"
        )
