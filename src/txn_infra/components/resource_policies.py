"""Statements every resource policy of the platform shares (queues, topics and the state bucket
of any layer)."""

from __future__ import annotations

from typing import Any

import pulumi


def tls_only_topic_policy(
    topic_arn: pulumi.Input[str], *allow: dict[str, Any]
) -> pulumi.Output[str]:
    """A topic's policy: the ``allow`` statements, and no request without TLS."""
    statements = [*allow, deny_insecure_transport("sns:*", topic_arn)]
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements})


def deny_insecure_transport(
    actions: str,
    resource: pulumi.Input[str] | list[pulumi.Input[str]],
    sid: str = "DenyInsecureTransport",
) -> dict[str, Any]:
    """Refuse every request that does not use TLS. A Deny may be broad; it grants nothing."""
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": "*",
        "Action": actions,
        "Resource": resource,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
