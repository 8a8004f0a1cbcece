"""The policies: each one a PCI DSS v4.0.1 (or mission) control as data plus a pure check.

A policy names the requirement(s) it supports, is ``mandatory`` (blocks a deployment) or
``advisory`` (reported, does not block) with the reason for that choice, and checks either one
resource at a time (``resource_check``) or a set of resources together (``stack_check``).
Checks yield messages that name the problem and the fix; they never raise for a bad resource.

Stack checks are written for two views of the system. ``synth`` hands them every resource of
all six layers; a real ``pulumi preview --policy-pack`` hands them the resources of ONE stack.
Cross-layer rules therefore take each side from the resources in view when it is there and
from ``txn_spec.shapes`` (the declared shape both layers are built from) when it is not: the
``data`` preview checks its queues against the consumers the shapes declare, the ``compute``
preview checks its mappings and functions against the queues the shapes declare.

Each section of the pack is a module whose checks register themselves with ``@policy``;
``model`` holds the policy model and the resource types they share. ``POLICIES`` below puts the
sections in the order synth's compliance table and the CrossGuard pack list them.
"""

from __future__ import annotations

from txn_policies.rules import (
    api,
    cross_resource,
    dynamodb,
    encryption,
    iam,
    lambda_functions,
    log_retention,
    network,
)
from txn_policies.rules.model import SECTIONS, Policy

_ORDER = (encryption, dynamodb, network, lambda_functions, log_retention, iam, api, cross_resource)
POLICIES: list[Policy] = [p for section in _ORDER for p in SECTIONS[section.__name__]]


def by_name(name: str) -> Policy:
    for candidate in POLICIES:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no policy named {name!r}")
