"""Blast radius: which downstream layers read an output that a change of one layer changes.

Pulumi does not cascade stack references: a layer reading an output of a changed layer keeps
the old value until it is updated itself. Which outputs each program reads is taken from the
programs (``txn_infra.offline`` records every stack-reference read under the mocks), so the
preview of one layer can name the layers that read what it changes, and a deploy can end with
the drift preview of exactly those.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# consumer layer -> producer layer -> output keys it reads
Reads = Mapping[str, Mapping[str, Iterable[str]]]


def program_reads(stack: str) -> dict[str, dict[str, set[str]]]:
    """What each layer's program reads from its upstream layers, run offline for ``stack``."""
    from txn_infra import offline

    return {name: dict(run.reads) for name, run in offline.run_system(stack=stack).items()}


def changed_outputs(before: Mapping[str, Any], after: Mapping[str, Any]) -> set[str]:
    return {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


def readers(
    reads: Reads, changed: Mapping[str, Iterable[str]], outside: Iterable[str] = ()
) -> dict[str, list[str]]:
    """Each layer (of ``outside``, when given) that reads a changed output, with what it reads
    as ``producer.key``: ``changed`` maps a producer to its changed output keys."""
    among = set(outside)
    found: dict[str, list[str]] = {}
    for consumer, producers in reads.items():
        if among and consumer not in among:
            continue
        hit = sorted(
            f"{producer}.{key}"
            for producer, keys in producers.items()
            for key in set(keys) & set(changed.get(producer, ()))
        )
        if hit:
            found[consumer] = hit
    return found
