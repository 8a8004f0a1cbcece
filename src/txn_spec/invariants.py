"""Rules between shapes and settings, each stated once and checked by every layer that cares.

The config models (a bad value fails at preview), the compute component (before it registers an
event source) and the policy pack (against what a stack really declares) all call these, so the
three cannot disagree about a threshold.
"""

from __future__ import annotations

# AWS advises a visibility timeout of six times the function timeout plus the batching window
# ("Configuring a queue to use with Lambda": the extra time lets Lambda retry a throttled
# invoke); the mission fixes 300 s, so the queue consumers time out at 50 s (ADR 0002).
VISIBILITY_MULTIPLIER = 6


def required_visibility(function_timeout_seconds: int, batching_window_seconds: int) -> int:
    """The least visibility timeout that keeps a message hidden while its batch can still run."""
    return VISIBILITY_MULTIPLIER * function_timeout_seconds + batching_window_seconds


def visibility_problem(
    visibility_seconds: int, function_timeout_seconds: int, batching_window_seconds: int
) -> str | None:
    """Why ``visibility_seconds`` is too short for the consumer, or ``None`` when it is not."""
    needed = required_visibility(function_timeout_seconds, batching_window_seconds)
    if visibility_seconds >= needed:
        return None
    return (
        f"visibility {visibility_seconds}s < {VISIBILITY_MULTIPLIER} x timeout "
        f"{function_timeout_seconds}s + window {batching_window_seconds}s = {needed}s"
    )


def concurrency_problem(maximum_concurrency: int | None, reserved: int | None) -> str | None:
    """Why an SQS event source's maximum concurrency breaks its function's reserved concurrency.

    Reserved concurrency does not limit an SQS event source: a mapping allowed more concurrent
    batches than the function may run gets throttled invokes, and throttled batches count as
    receives towards the DLQ. ``None`` when the pair is fine (or the function reserves none).
    """
    if reserved is None:
        return None
    if maximum_concurrency is None:
        return f"no maximum concurrency while the function reserves {reserved}"
    if maximum_concurrency > reserved:
        return f"maximum concurrency {maximum_concurrency} > reserved {reserved}"
    return None
