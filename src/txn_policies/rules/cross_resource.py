"""Cross-resource rules (ADR 0002, ADR 0007): a queue, its consumer and its DLQ agree."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from txn_policies.rules.model import (
    EVENT_SOURCE_MAPPING,
    FUNCTION,
    QUEUE,
    REDRIVE_POLICY,
    _component,
    policy,
)
from txn_policies.view import UNKNOWN, ResourceView, as_list, count, document, get, known, whole
from txn_spec import invariants, shapes

LAMBDA_DEFAULT_TIMEOUT = 3


_QUEUE_SHAPES = {q.component: q for q in shapes.QUEUES}
_FUNCTION_SHAPES = {f.component: f for f in shapes.FUNCTIONS}


@dataclass(frozen=True)
class _Queue:
    resource: ResourceView | None
    name: str
    visibility: int
    retention: int


@dataclass(frozen=True)
class _Function:
    resource: ResourceView | None
    name: str
    timeout: int
    reserved: int | None


def _queues(resources: Sequence[ResourceView]) -> list[ResourceView]:
    return [r for r in resources if r.type == QUEUE]


def _queue_for(arn: object, resources: Sequence[ResourceView]) -> _Queue | None:
    """The queue ``arn`` names: from the resources in view, else from the shapes."""
    for queue in _queues(resources):
        if arn is not UNKNOWN and arn in (queue.props.get("arn"), queue.props.get("id")):
            return _Queue(
                queue,
                str(queue.props.get("name", queue.name)),
                count(queue.props, "visibilityTimeoutSeconds", 30),
                count(queue.props, "messageRetentionSeconds", 345_600),
            )
    component = _component(arn, _QUEUE_SHAPES)
    if component is None:
        return None
    shape = _QUEUE_SHAPES[component]
    return _Queue(
        None,
        f"{component} (shapes)",
        shape.visibility_timeout_seconds,
        shape.message_retention_seconds,
    )


def _unqualified(ref: object) -> object:
    """A function ARN without its alias or version (``...:function:name:live`` -> ``...:name``):
    an event source mapping may target an alias (SnapStart, ADR 0008)."""
    if isinstance(ref, str) and ref.count(":") == 7 and ":function:" in ref:
        return ref.rsplit(":", 1)[0]
    return ref


def _function_for(ref: object, resources: Sequence[ResourceView]) -> _Function | None:
    ref = _unqualified(ref)
    for function in (r for r in resources if r.type == FUNCTION):
        if ref is not UNKNOWN and ref in (function.props.get("name"), function.props.get("arn")):
            reserved = whole(get(function.props, "reservedConcurrentExecutions"))  # -1: none
            return _Function(
                function,
                str(function.props.get("name")),
                count(function.props, "timeout", LAMBDA_DEFAULT_TIMEOUT),
                reserved if reserved is not None and reserved >= 0 else None,
            )
    component = _component(ref, _FUNCTION_SHAPES)
    if component is None:
        return None
    shape = _FUNCTION_SHAPES[component]
    return _Function(
        None, f"{component} (shapes)", shape.timeout_seconds, shape.reserved_concurrency
    )


def _sqs_mappings(resources: Sequence[ResourceView]) -> list[ResourceView]:
    mappings = [r for r in resources if r.type == EVENT_SOURCE_MAPPING]
    return [m for m in mappings if ":sqs:" in str(known(m.props, "eventSourceArn", ""))]


@policy(
    name="sqs-visibility-covers-consumer",
    description="A queue's visibility timeout is at least 6x its consumer's timeout plus the "
    "mapping's batching window.",
    requirements=("mission: exactly once, nothing lost (ADR 0002)",),
    enforcement="mandatory",
    reason="mandatory: a message that becomes visible while its batch still runs is processed "
    "twice and burns a receive towards the DLQ.",
    remediation="raise visibility_timeout_seconds or lower the function timeout / window",
    types=(QUEUE, EVENT_SOURCE_MAPPING, FUNCTION),
    stack=True,
)
def _visibility(resources: Sequence[ResourceView]) -> Iterator[tuple[ResourceView | None, str]]:
    mappings = _sqs_mappings(resources)
    for mapping in mappings:
        queue = _queue_for(known(mapping.props, "eventSourceArn"), resources)
        function = _function_for(known(mapping.props, "functionName"), resources)
        if queue is None or function is None:
            continue
        window = count(mapping.props, "maximumBatchingWindowInSeconds", 0)
        needed = invariants.required_visibility(function.timeout, window)
        if invariants.visibility_problem(queue.visibility, function.timeout, window):
            message = (
                f"queue {queue.name} visibility {queue.visibility}s < "
                f"{invariants.VISIBILITY_MULTIPLIER} x {function.name} timeout {function.timeout}s "
                f"+ window {window}s = {needed}s; "
                f"fix: visibility_timeout_seconds >= {needed}"
            )
            yield queue.resource or mapping, message
    if mappings:
        return
    # A stack with the queues but not the mappings (the data layer under a real preview):
    # check each queue against the consumer the shapes declare for it.
    for source in shapes.EVENT_SOURCES:
        for queue in _queues(resources):
            name = queue.props.get("name", queue.name)
            if _component(name, _QUEUE_SHAPES) != source.queue.component:
                continue
            visibility = count(queue.props, "visibilityTimeoutSeconds", 30)
            window = source.maximum_batching_window_seconds
            timeout = source.function.timeout_seconds
            needed = invariants.required_visibility(timeout, window)
            if invariants.visibility_problem(visibility, timeout, window):
                message = (
                    f"visibility {visibility}s < {invariants.VISIBILITY_MULTIPLIER} x "
                    f"{source.function.component} timeout {source.function.timeout_seconds}s "
                    f"+ window {window}s (shapes) = {needed}s; "
                    f"fix: visibility_timeout_seconds >= {needed}"
                )
                yield queue, message


@policy(
    name="esm-concurrency-within-reserved",
    description="An SQS event source's maximum concurrency is set and not above its function's "
    "reserved concurrency.",
    requirements=("mission: nothing lost under throttling (ADR 0002)",),
    enforcement="mandatory",
    reason="mandatory: reserved concurrency does not limit the SQS poller; batches it cannot "
    "run are throttled, retried and drift into the DLQ.",
    remediation="set scaling_config.maximum_concurrency <= reserved_concurrent_executions",
    types=(EVENT_SOURCE_MAPPING, FUNCTION),
    stack=True,
)
def _esm_concurrency(
    resources: Sequence[ResourceView],
) -> Iterator[tuple[ResourceView | None, str]]:
    for mapping in _sqs_mappings(resources):
        function = _function_for(known(mapping.props, "functionName"), resources)
        if function is None or function.reserved is None:
            continue
        maximum = whole(get(mapping.props, "scalingConfig.maximumConcurrency"))
        if invariants.concurrency_problem(maximum, function.reserved) is None:
            continue
        problem = (
            f"has no maximum concurrency while {function.name} reserves {function.reserved}"
            if maximum is None
            else f"maximum concurrency {maximum} > {function.name} reserved {function.reserved}"
        )
        yield mapping, f"{problem}; fix: scaling_config maximum_concurrency <= {function.reserved}"


@policy(
    name="esm-partial-batch-failures",
    description="SQS event sources report partial batch failures.",
    requirements=("mission: exactly once (ADR 0007)",),
    enforcement="mandatory",
    reason="mandatory: without ReportBatchItemFailures one bad record makes the whole batch "
    "visible again, re-processing the good ones.",
    remediation="set function_response_types=['ReportBatchItemFailures']",
    types=(EVENT_SOURCE_MAPPING,),
)
def _partial_batch(mapping: ResourceView) -> Iterator[str]:
    if ":sqs:" not in str(mapping.props.get("eventSourceArn", "")):
        return
    if "ReportBatchItemFailures" not in as_list(mapping.props.get("functionResponseTypes")):
        yield "does not report batch item failures; fix: ReportBatchItemFailures"


def _redrives(resources: Sequence[ResourceView]) -> Iterator[tuple[ResourceView, object, object]]:
    """(resource carrying the redrive, source queue ref, dead-letter target ARN)."""
    for r in resources:
        if r.type not in (QUEUE, REDRIVE_POLICY):
            continue
        raw = r.props.get("redrivePolicy")
        source = r.props.get("arn") if r.type == QUEUE else r.props.get("queueUrl")
        if raw is UNKNOWN:  # the DLQ is created in the same update: pair by dependency
            yield r, source, UNKNOWN
            continue
        body = document(raw, "redrivePolicy")
        if body is not None:
            yield r, source, body.get("deadLetterTargetArn", UNKNOWN)


def _queue_by_ref(ref: object, resources: Sequence[ResourceView]) -> ResourceView | None:
    for queue in _queues(resources):
        if ref is not UNKNOWN and ref in (queue.props.get("url"), queue.props.get("id")):
            return queue
    return None


@policy(
    name="dlq-retention-exceeds-source",
    description="A dead-letter queue keeps messages longer than its source queue (equal only "
    "at the 14-day SQS maximum).",
    requirements=("mission: nothing lost (ADR 0007)",),
    enforcement="mandatory",
    reason="mandatory: SQS keeps a message's original enqueue time in the DLQ, so a DLQ with "
    "shorter retention deletes failed transactions before anyone records them.",
    remediation="raise the DLQ's message_retention_seconds above the source queue's",
    types=(QUEUE, REDRIVE_POLICY),
    stack=True,
)
def _dlq_retention(resources: Sequence[ResourceView]) -> Iterator[tuple[ResourceView | None, str]]:
    for owner, source_ref, target_ref in _redrives(resources):
        source = owner if owner.type == QUEUE else _queue_by_ref(source_ref, resources)
        target = next(
            (
                q
                for q in _queues(resources)
                if q is not source and _paired_value(target_ref, owner, q)
            ),
            None,
        )
        if source is None:
            continue
        source_days = count(source.props, "messageRetentionSeconds", 345_600)
        if target is None:
            shape = _QUEUE_SHAPES.get(_component(target_ref, _QUEUE_SHAPES) or "")
            if shape is None:
                continue
            target_days = shape.message_retention_seconds
            target_name = f"{shape.component} (shapes)"
        else:
            target_days = count(target.props, "messageRetentionSeconds", 345_600)
            target_name = str(target.props.get("name", target.name))
        at_max = source_days == target_days == shapes.SQS_MAX_RETENTION
        if target_days < source_days or (target_days == source_days and not at_max):
            message = (
                f"keeps messages {source_days}s but its DLQ {target_name} only {target_days}s; "
                f"fix: DLQ message_retention_seconds > {source_days} "
                f"(max {shapes.SQS_MAX_RETENTION})"
            )
            yield source, message


def _paired_value(target_ref: object, owner: ResourceView, queue: ResourceView) -> bool:
    if target_ref is UNKNOWN or target_ref is None:
        return queue.urn in owner.deps.get("redrivePolicy", frozenset())
    return target_ref == queue.props.get("arn")
