"""Before ``data`` deploys: does a CloudTrail trail record every access to the card data?

PCI DSS 10.2.1.1 wants each access to cardholder data logged. For the two tables that hold it
(``txn-<env>-transactions`` and ``txn-<env>-merchants``) that is CloudTrail's DynamoDB *data
events*, which a trail logs only when a selector asks for them. The platform does not create the
trail (docs/deploy.md section 1); this check reads CloudTrail, as data's deploy role, and says
what is missing. It never stops a deploy: a trail may live in another account (an organisation
trail), whose owner this team cannot overrule, so the outcome is ``ok`` or one warning line per
problem, each with a code (``audit-trail-missing``, ``audit-trail-no-data-events``,
``audit-trail-unverified``), and the deploy goes on.

What AWS documents, and what is taken from it:

- CloudTrail User Guide, "Logging data events": trails do not log data events by default;
  DynamoDB tables can be selected with basic event selectors or advanced ones; each selector
  logs read-only events, write-only events or both.
- API reference, ``EventSelector`` and ``DataResource``: a basic selector's ``DataResources`` of
  type ``AWS::DynamoDB::Table`` list table ARNs, or the prefix ``arn:aws:dynamodb`` for every
  table of the account; ``ReadWriteType`` is ``ReadOnly``, ``WriteOnly`` or ``All`` (the
  default); an event is logged when it matches any selector of the trail.
- API reference, ``AdvancedFieldSelector``, and the guide's "Filtering data events by using
  advanced event selectors": ``eventCategory`` (``Equals`` ``Data``) and ``resources.type`` are
  required; ``readOnly`` ``Equals`` ``true`` logs only reads, ``false`` only writes, absent both;
  ``resources.ARN`` takes ``Equals``, ``StartsWith``, ``EndsWith`` and their ``Not`` forms, with
  no wildcards; the field selectors of one advanced selector must all match.
- API reference, ``DescribeTrails``: ``includeShadowTrails`` (default true) also returns the
  copies of trails created in another Region and, in a member account, the organisation's
  trails, each with ``HomeRegion``, ``IsMultiRegionTrail`` and ``TrailARN``.
- API reference, ``GetTrailStatus`` (``IsLogging``) and ``GetEventSelectors``: a shadow trail is
  named by its ARN, and an organisation trail seen from a member account by its full ARN, not
  its name; so every call here names the trail by ``TrailARN``.
- CloudTrail User Guide, "Creating a trail for an organization" (and the Organizations guide,
  "AWS CloudTrail and AWS Organizations"): member accounts see an organisation trail but cannot
  change it; only the management account or a delegated administrator can. Reading its status
  or selectors from a member account may be refused: such a trail is reported as unverified.
- Service Authorization Reference, CloudTrail: ``DescribeTrails`` has no resource type (``*``);
  ``GetTrailStatus`` and ``GetEventSelectors`` act on the ``trail`` resource,
  ``arn:${Partition}:cloudtrail:${Region}:${Account}:trail/${TrailName}``. The account stack
  grants them to data's deploy role (``deploy_grants.yaml``), on any trail of any account and
  Region, since an organisation trail is another account's.

What counts (our rule): a table is covered when the trails logging in the stack's Region
(multi-Region ones, or single-Region ones whose home is this Region), taken together, log both
its read and its write data events. Reads are what 10.2.1.1 is about (who looked at card data);
writes change it. So a write-only selector, or an advanced selector with ``readOnly`` ``false``,
leaves a warning. An advanced selector that also filters on another field (``eventName``,
``userIdentity.arn``...) logs only some calls or callers and is not counted. The table's ARN
needs the account, read with STS ``GetCallerIdentity`` (which needs no permission).

Errors: throttling and other transient failures are retried by botocore's default retry handler
before they surface; any AWS error left then becomes a warning, never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from txn_ops import settings as cfg
from txn_spec import contract, shapes
from txn_spec.naming import physical_name

# The tables whose every read the trail must record: the transactions (card token, BIN, last
# four) and the merchants (the limits and risk settings each sale is judged by).
CARDHOLDER_TABLES = (shapes.TRANSACTIONS_TABLE, shapes.MERCHANTS_TABLE)
TABLE_TYPE = "AWS::DynamoDB::Table"
# What the check asks of CloudTrail: data's deploy role holds exactly these.
ACTIONS = ("cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors")
MISSING = "audit-trail-missing"
NO_DATA_EVENTS = "audit-trail-no-data-events"
UNVERIFIED = "audit-trail-unverified"
WHY = "PCI DSS 10.2.1 (docs/deploy.md section 1)"

READ, WRITE = "reads", "writes"
BOTH = frozenset({READ, WRITE})
NOTHING: frozenset[str] = frozenset()
_READ_WRITE = {"All": BOTH, "ReadOnly": frozenset({READ}), "WriteOnly": frozenset({WRITE})}
# Advanced selector fields that choose the events this check asks about; any other field narrows
# a selector to some calls or callers.
_FIELDS = frozenset({"eventCategory", "resources.type", "resources.ARN", "readOnly"})


@dataclass(frozen=True)
class Finding:
    """One problem, as the deploy prints it: ``<code>: <what to do>``."""

    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


# (table names, region) -> the problems found; [] when a trail covers every table.
TrailCheck = Callable[[Sequence[str], str | None], list[Finding]]


def tables(app: str, stack: str) -> list[str]:
    """The physical names of the cardholder-data tables, as ``data`` deploys them."""
    return [physical_name(app, stack, shape.component) for shape in CARDHOLDER_TABLES]


def _target(root: Path, stack: str) -> tuple[str | None, list[str]]:
    """The stack's region and cardholder-data tables, from data's config (read once)."""
    region = cfg.region(root, contract.DATA, stack)
    return region, tables(cfg.app(root, contract.DATA, stack), stack)


def _what(region: str | None, names: Sequence[str]) -> str:
    return (
        f"a CloudTrail trail logging in {region} records DynamoDB data events (reads and "
        f"writes) for {', '.join(names)}; warns, never stops the deploy"
    )


def describe(root: Path, stack: str) -> str:
    """What the step checks, for the plan and the deploy's progress line."""
    return _what(*_target(root, stack))


def run_step(
    check: TrailCheck | None, root: Path, stack: str, note: Callable[[str], None]
) -> tuple[str, str]:
    """The ``check-trail`` step: prints each finding, returns the row's result and codes."""
    if check is None:
        note("skipped: no check of the account's CloudTrail here")
        return "skipped", ""
    region, names = _target(root, stack)
    note(f"checking that {_what(region, names)}")
    try:
        findings = check(names, region)
    except Exception as exc:  # whatever breaks in the check is a warning: it never blocks
        findings = [Finding(UNVERIFIED, f"the CloudTrail check failed ({exc!r}); {WHY}")]
    for finding in findings:
        note(f"warning: {finding}")
    if not findings:
        return "ok", ""
    return "warning", ", ".join(dict.fromkeys(f.code for f in findings))


def check_audit_trail(
    names: Sequence[str], region: str | None, *, client: Any = None, sts: Any = None
) -> list[Finding]:
    """What keeps the trails logging in ``region`` from recording every read and write of the
    tables ``names``: [] when nothing does."""
    from botocore.exceptions import BotoCoreError, ClientError

    if client is None or sts is None:
        import boto3

        client = client or boto3.client("cloudtrail", region_name=region)
        sts = sts or boto3.client("sts", region_name=region)
    where = region or client.meta.region_name
    try:
        account = sts.get_caller_identity()["Account"]
        trails = client.describe_trails(includeShadowTrails=True)["trailList"]
    except (ClientError, BotoCoreError) as exc:
        return [
            Finding(
                UNVERIFIED,
                f"cannot list the CloudTrail trails in {where} ({_error(exc)}): data's deploy "
                f"role needs {', '.join(ACTIONS)} (the account stack grants them); confirm that "
                f"a trail logs DynamoDB data events for {', '.join(names)}; {WHY}",
            )
        ]
    arns = {n: f"arn:{client.meta.partition}:dynamodb:{where}:{account}:table/{n}" for n in names}
    covered: dict[str, set[str]] = {n: set() for n in names}
    active, stopped, unread = [], [], []
    for trail in trails:
        if not (trail.get("IsMultiRegionTrail") or trail.get("HomeRegion") == where):
            continue
        arn = trail.get("TrailARN") or trail["Name"]
        step = "its status"
        try:
            if not client.get_trail_status(Name=arn).get("IsLogging"):
                stopped.append(arn)
                continue
            step = "its event selectors"
            selectors = client.get_event_selectors(TrailName=arn)
        except (ClientError, BotoCoreError) as exc:
            unread.append((trail, f"{_error(exc)} reading {step}"))
            continue
        active.append(arn)
        for name, table_arn in arns.items():
            covered[name] |= logged(selectors, table_arn, client.meta.partition)
    gaps = {n: BOTH - kinds for n, kinds in covered.items() if BOTH - kinds}
    if not gaps:
        return []
    if unread:
        return [_unverified(trail, why, gaps) for trail, why in unread]
    if not active:
        return [_missing(where, stopped, names)]
    return [_no_data_events(active, name, arns[name], lacks) for name, lacks in gaps.items()]


def logged(selectors: Mapping[str, Any], table_arn: str, partition: str = "aws") -> frozenset[str]:
    """What a trail's selectors (a GetEventSelectors answer) log of one table's data events."""
    kinds: set[str] = set()
    for selector in selectors.get("EventSelectors") or ():
        kinds |= _basic(selector, table_arn, partition)
    for selector in selectors.get("AdvancedEventSelectors") or ():
        kinds |= _advanced(selector, table_arn)
    return frozenset(kinds)


def _basic(selector: Mapping[str, Any], table_arn: str, partition: str) -> frozenset[str]:
    every_table = f"arn:{partition}:dynamodb"
    for resource in selector.get("DataResources") or ():
        values = resource.get("Values") or ()
        if resource.get("Type") == TABLE_TYPE and (table_arn in values or every_table in values):
            return _READ_WRITE.get(selector.get("ReadWriteType") or "All", NOTHING)
    return NOTHING


def _advanced(selector: Mapping[str, Any], table_arn: str) -> frozenset[str]:
    fields = selector.get("FieldSelectors") or ()
    if any(f.get("Field") not in _FIELDS for f in fields):
        return NOTHING

    def holds(field: str, value: str, required: bool = True) -> bool:
        chosen = [f for f in fields if f.get("Field") == field]
        return (bool(chosen) or not required) and all(_matches(f, value) for f in chosen)

    if not (
        holds("eventCategory", "Data")
        and holds("resources.type", TABLE_TYPE)
        and holds("resources.ARN", table_arn, required=False)
    ):
        return NOTHING
    return frozenset(
        kind for kind, flag in ((READ, "true"), (WRITE, "false")) if holds("readOnly", flag, False)
    )


_OPERATORS: dict[str, Callable[[Iterable[str], str], bool]] = {
    "Equals": lambda values, v: v in values,
    "StartsWith": lambda values, v: any(v.startswith(p) for p in values),
    "EndsWith": lambda values, v: any(v.endswith(s) for s in values),
    "NotEquals": lambda values, v: v not in values,
    "NotStartsWith": lambda values, v: not any(v.startswith(p) for p in values),
    "NotEndsWith": lambda values, v: not any(v.endswith(s) for s in values),
}


def _matches(field: Mapping[str, Any], value: str) -> bool:
    """Every operator the field selector sets holds for ``value``."""
    return all(
        test(list(field[operator]), value)
        for operator, test in _OPERATORS.items()
        if field.get(operator) is not None
    )


def _error(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code") or type(exc).__name__)
    return f"{type(exc).__name__}: {exc}"


def _missing(where: str, stopped: Sequence[str], names: Sequence[str]) -> Finding:
    idle = f" ({', '.join(stopped)}: not logging)" if stopped else ""
    return Finding(
        MISSING,
        f"no CloudTrail trail is logging in {where}{idle}: create a multi-Region or "
        f"organisation trail (or start logging) with DynamoDB data events, reads and writes, "
        f"for {', '.join(names)}; {WHY}",
    )


def _no_data_events(active: Sequence[str], name: str, arn: str, lacks: frozenset[str]) -> Finding:
    if lacks == BOTH:
        what = f"no DynamoDB data events for {name}"
    else:
        (kept,), (lost,) = BOTH - lacks, lacks
        what = f"only the {kept} of {name}, not its {lost}"
    return Finding(
        NO_DATA_EVENTS,
        f"the trails logging here ({', '.join(active)}) log {what}: add an event selector "
        f'{{"ReadWriteType": "All", "DataResources": [{{"Type": "{TABLE_TYPE}", "Values": '
        f'["{arn}"]}}]}} (or an advanced one: eventCategory Data, resources.type {TABLE_TYPE}, '
        "resources.ARN the table, no readOnly), sending the trail's other selectors along "
        f"(put-event-selectors replaces them); {WHY}",
    )


def _unverified(trail: Mapping[str, Any], why: str, gaps: Mapping[str, frozenset[str]]) -> Finding:
    kind = "organisation trail" if trail.get("IsOrganizationTrail") else "trail"
    arn = trail.get("TrailARN") or trail.get("Name")
    uncovered = ", ".join(gaps)
    return Finding(
        UNVERIFIED,
        f"cannot tell whether {kind} {arn} logs DynamoDB data events for {uncovered}, which no "
        f"trail readable here records ({why}): confirm with whoever owns it (an organisation "
        f"trail: the management account or CloudTrail's delegated administrator); {WHY}",
    )
