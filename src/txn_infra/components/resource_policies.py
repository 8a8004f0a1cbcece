"""Statements every resource policy of the platform shares (queues and topics of any layer)."""

from __future__ import annotations

from typing import Any

import pulumi


def deny_insecure_transport(actions: str, resource: pulumi.Input[str]) -> dict[str, Any]:
    """Refuse every request that does not use TLS. A Deny may be broad; it grants nothing."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": actions,
        "Resource": resource,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
