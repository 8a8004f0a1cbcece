"""Run stack programs in-process under Pulumi mocks: no CLI, no AWS, about a second a layer.

Named for where the programs run (offline, in this process), not for a caller: ``synth``, the
capacity report and the stack tests all run the stacks through it.

``run_layer`` executes ``stacks/<layer>/__main__.py`` with the layer's own ``Pulumi.yaml``
defaults and ``Pulumi.<stack>.yaml`` values as config, records every resource with its inputs,
and resolves the stack's exports. The mocks fail loudly: an invoke or a stack reference they do
not know raises, so a missing mock cannot silently yield ``com.amazonaws.None.sqs``.
``run_system`` runs every layer in DAG order, answering each stack reference with the real
exports of the producer that ran before it.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import json
import runpy
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml

from txn_infra import pulumi_internals
from txn_infra.layer import Upstream
from txn_spec import contract

REPO_ROOT = Path(__file__).resolve().parents[2]
ACCOUNT_ID = "123456789012"


class UnknownInvokeError(RuntimeError):
    """The program called a provider function that the offline run does not mock."""


class UnknownStackReferenceError(RuntimeError):
    """The program referenced a stack that has not run (or does not exist)."""


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    provider: str | None
    id: str

    @property
    def physical_name(self) -> str:
        return str(self.outputs.get("name", self.name))


@dataclass
class LayerRun:
    """What one layer's program did under mocks."""

    layer: contract.Layer
    stack: str
    resources: list[Resource] = field(default_factory=list)
    exports: dict[str, Any] = field(default_factory=dict)
    secret_exports: set[str] = field(default_factory=set)
    invokes: list[str] = field(default_factory=list)
    # producer layer -> output keys this layer read through the contract
    reads: dict[str, set[str]] = field(default_factory=dict)
    # resource name -> names of the resources it explicitly ``depends_on``
    depends_on: dict[str, set[str]] = field(default_factory=dict)
    # names of the resources registered with ``protect=True``
    protected: set[str] = field(default_factory=set)
    # resource name -> the property paths it registered with ``ignore_changes``
    ignore_changes: dict[str, set[str]] = field(default_factory=dict)
    # resource name -> the earlier names its ``aliases`` carry its state over from
    aliases: dict[str, set[str]] = field(default_factory=dict)
    # names of the resources registered with ``delete_before_replace=True``
    deleted_before_replaced: set[str] = field(default_factory=set)

    def of_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name_contains: str = "") -> Resource:
        found = [r for r in self.of_type(type_) if name_contains in r.name]
        if len(found) != 1:
            names = [r.name for r in self.of_type(type_)]
            raise AssertionError(
                f"expected one {type_} named *{name_contains}*, found {len(found)} in {names}"
            )
        return found[0]

    def by_type(self) -> dict[str, int]:
        return dict(sorted(collections.Counter(r.type for r in self.resources).items()))


def service_of(type_: str) -> str:
    """The provider module of a type token: ``aws:ec2/vpc:Vpc`` -> ``ec2``."""
    return type_.split(":")[1].split("/")[0].lower()


def _short_id(seed: str, length: int = 12) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


# Attributes the AWS provider computes, per resource type, so programs can wire real-looking
# ARNs, URLs and ids. Keys are the provider's wire (camelCase) names.
ComputeFn = Callable[[str, dict[str, Any], str], dict[str, Any]]


def _arn(service: str, region: str, resource: str, *, regional: bool = True) -> str:
    return f"arn:aws:{service}:{region if regional else ''}:{ACCOUNT_ID}:{resource}"


def _named(service: str, prefix: str, *, regional: bool = True) -> ComputeFn:
    """The ARN ``<prefix><name>`` and the name as id, as most named resources have them."""
    return lambda n, i, r: {
        "arn": _arn(service, r, prefix + i.get("name", n), regional=regional),
        "id": i.get("name", n),
    }


_COMPUTED: dict[str, ComputeFn] = {
    "aws:ec2/vpc:Vpc": lambda n, i, r: {"id": f"vpc-{_short_id(n, 17)}"},
    "aws:ec2/subnet:Subnet": lambda n, i, r: {"id": f"subnet-{_short_id(n, 17)}"},
    "aws:ec2/routeTable:RouteTable": lambda n, i, r: {"id": f"rtb-{_short_id(n, 17)}"},
    "aws:ec2/securityGroup:SecurityGroup": lambda n, i, r: {"id": f"sg-{_short_id(n, 17)}"},
    "aws:ec2/vpcEndpoint:VpcEndpoint": lambda n, i, r: {
        "id": f"vpce-{_short_id(n, 17)}",
        "prefixListId": f"pl-{_short_id(n, 8)}" if i.get("vpcEndpointType") == "Gateway" else None,
    },
    "aws:kms/key:Key": lambda n, i, r: {
        "keyId": (kid := f"{_short_id(n, 8)}-{_short_id(n + '1', 4)}-{_short_id(n + '2', 12)}"),
        "id": kid,
        "arn": _arn("kms", r, f"key/{kid}"),
    },
    "aws:kms/alias:Alias": lambda n, i, r: {"arn": _arn("kms", r, i.get("name", n))},
    "aws:iam/role:Role": _named("iam", "role/", regional=False),
    "aws:iam/policy:Policy": lambda n, i, r: {
        "arn": _arn("iam", r, f"policy/{i.get('name', n)}", regional=False)
    },
    "aws:cloudwatch/metricAlarm:MetricAlarm": _named("cloudwatch", "alarm:"),
    "aws:dynamodb/table:Table": _named("dynamodb", "table/"),
    "aws:sqs/queue:Queue": lambda n, i, r: {
        "arn": _arn("sqs", r, i.get("name", n)),
        "url": (url := f"https://sqs.{r}.amazonaws.com/{ACCOUNT_ID}/{i.get('name', n)}"),
        "id": url,
    },
    "aws:sns/topic:Topic": lambda n, i, r: {
        "arn": (arn := _arn("sns", r, i.get("name", n))),
        "id": arn,
    },
    "aws:cloudwatch/logGroup:LogGroup": _named("logs", "log-group:"),
    "aws:lambda/function:Function": lambda n, i, r: {
        "arn": (arn := _arn("lambda", r, f"function:{i.get('name', n)}")),
        "qualifiedArn": f"{arn}:$LATEST",
        "invokeArn": f"arn:aws:apigateway:{r}:lambda:path/2015-03-31/functions/{arn}/invocations",
        "version": "1" if i.get("publish") else "$LATEST",
        "id": i.get("name", n),
    },
    "aws:lambda/alias:Alias": lambda n, i, r: {
        "arn": (arn := _arn("lambda", r, f"function:{i['functionName']}:{i['name']}")),
        "invokeArn": f"arn:aws:apigateway:{r}:lambda:path/2015-03-31/functions/{arn}/invocations",
    },
    "aws:s3/bucket:Bucket": lambda n, i, r: {
        "arn": f"arn:aws:s3:::{i.get('bucket', n)}",
        "bucket": i.get("bucket", n),
        "id": i.get("bucket", n),
    },
    "aws:apigateway/restApi:RestApi": lambda n, i, r: {
        "id": (api := _short_id(n, 10)),
        "rootResourceId": _short_id(n + "root", 10),
        "executionArn": _arn("execute-api", r, api),
        "arn": f"arn:aws:apigateway:{r}::/restapis/{api}",
    },
    "aws:apigateway/stage:Stage": lambda n, i, r: {
        "invokeUrl": f"https://{i.get('restApi')}.execute-api.{r}.amazonaws.com/{i.get('stageName')}",
        "arn": f"arn:aws:apigateway:{r}::/restapis/{i.get('restApi')}/stages/{i.get('stageName')}",
        "executionArn": _arn("execute-api", r, f"{i.get('restApi')}/{i.get('stageName')}"),
    },
    "aws:apigateway/apiKey:ApiKey": lambda n, i, r: {
        "id": _short_id(n, 10),
        "value": i.get("value") or _short_id(n + "value", 40),
    },
    "aws:wafv2/webAcl:WebAcl": lambda n, i, r: {
        "arn": _arn("wafv2", r, f"regional/webacl/{i.get('name', n)}/{_short_id(n, 36)}"),
    },
}

_INVOKES: dict[str, Callable[[dict[str, Any], str], dict[str, Any]]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": lambda a, r: {
        "accountId": ACCOUNT_ID,
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/ci",
        "userId": "AIDACI",
        "id": ACCOUNT_ID,
    },
    "aws:index/getRegion:getRegion": lambda a, r: {"name": r, "region": r, "id": r},
    "aws:index/getPartition:getPartition": lambda a, r: {
        "partition": "aws",
        "dnsSuffix": "amazonaws.com",
        "id": "aws",
    },
    "aws:index/getAvailabilityZones:getAvailabilityZones": lambda a, r: _zones(a, r),
}


def _zones(args: dict[str, Any], region: str) -> dict[str, Any]:
    """The offline account has a Local Zone opted in, listed first, as EC2 lists it unless the
    call filters on ``opt-in-status`` (a program that does not filter places a subnet there)."""
    names, ids = [f"{region}a", f"{region}b", f"{region}c"], ["use2-az1", "use2-az2", "use2-az3"]
    only_azs = any(
        f.get("name") == "opt-in-status" and f.get("values") == ["opt-in-not-required"]
        for f in args.get("filters") or []
    )
    if not only_azs:
        names, ids = [f"{region}-lax-1a", *names], ["usw2-lax1-az1", *ids]
    return {"names": names, "zoneIds": ids, "id": region}


class LayerMocks(pulumi.runtime.Mocks):
    """Mocks that know the AWS shapes above and the stacks that have already run."""

    def __init__(self, run: LayerRun, region: str, references: dict[str, dict[str, Any]]):
        self.run = run
        self.region = region
        self.references = references

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ == "pulumi:pulumi:StackReference":
            name = args.inputs.get("name") or args.name
            if name not in self.references:
                raise UnknownStackReferenceError(
                    f"{self.run.layer.name} references stack {name!r}, which has not run; "
                    f"known: {sorted(self.references)}"
                )
            outputs = self.references[name]
            return name, {"name": name, "outputs": outputs, "secretOutputNames": []}
        outputs = dict(args.inputs)
        if not args.typ.startswith("pulumi:providers:"):
            outputs.setdefault("name", args.name)
            if args.typ in _COMPUTED:
                outputs.update(_COMPUTED[args.typ](args.name, args.inputs, self.region))
            else:  # any other resource: an ARN from its service and name
                name = args.inputs.get("name", args.name)
                outputs["arn"] = _arn(service_of(args.typ), self.region, name)
        resource_id = str(outputs.get("id") or f"{args.name}-id")
        self.run.resources.append(
            Resource(args.typ, args.name, dict(args.inputs), outputs, args.provider, resource_id)
        )
        return resource_id, outputs

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        self.run.invokes.append(args.token)
        try:
            answer = _INVOKES[args.token]
        except KeyError:
            raise UnknownInvokeError(
                f"{self.run.layer.name} invoked {args.token}, which the offline run does not mock"
            ) from None
        return answer(args.args, self.region), []


def stack_config(layer: contract.Layer, stack: str) -> dict[str, str]:
    """Config as Pulumi would see it: Pulumi.yaml defaults, then Pulumi.<stack>.yaml values."""
    folder = REPO_ROOT / layer.folder
    project = yaml.safe_load((folder / "Pulumi.yaml").read_text())
    values: dict[str, Any] = {}
    for key, spec in (project.get("config") or {}).items():
        full = key if ":" in key else f"{layer.project}:{key}"
        if isinstance(spec, dict) and "default" in spec:
            values[full] = spec["default"]
        elif isinstance(spec, dict) and "value" in spec:
            values[full] = spec["value"]
    stack_file = folder / f"Pulumi.{stack}.yaml"
    if stack_file.exists():
        values.update((yaml.safe_load(stack_file.read_text()) or {}).get("config") or {})
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}


@contextmanager
def _recording_reads(run: LayerRun) -> Iterator[None]:
    original = Upstream.__getitem__

    def recording(self: Upstream, key: str) -> pulumi.Output[Any]:
        run.reads.setdefault(self.producer.name, set()).add(key)
        return original(self, key)

    Upstream.__getitem__ = recording
    try:
        yield
    finally:
        Upstream.__getitem__ = original


def _record_dependencies(run: LayerRun) -> None:
    """Record each resource's explicit ``depends_on``, ``protect``, ``ignore_changes``,
    ``aliases`` and ``delete_before_replace`` by name (the mocks do not see options)."""
    names: dict[int, str] = {}

    def transformation(
        args: pulumi.ResourceTransformationArgs,
    ) -> pulumi.ResourceTransformationResult | None:
        names[id(args.resource)] = args.name
        depends_on = args.opts.depends_on if args.opts is not None else None
        if isinstance(depends_on, pulumi.Resource):
            depends_on = [depends_on]
        if isinstance(depends_on, list) and depends_on:
            run.depends_on[args.name] = {
                names.get(id(d), repr(d)) for d in depends_on if isinstance(d, pulumi.Resource)
            }
        if args.opts is not None and args.opts.protect:
            run.protected.add(args.name)
        if args.opts is not None and args.opts.ignore_changes:
            run.ignore_changes[args.name] = set(args.opts.ignore_changes)
        if args.opts is not None and args.opts.delete_before_replace:
            run.deleted_before_replaced.add(args.name)
        if args.opts is not None and args.opts.aliases:
            run.aliases[args.name] = {
                str(a.name) for a in args.opts.aliases if isinstance(a, pulumi.Alias) and a.name
            }
        return None

    pulumi.runtime.register_stack_transformation(transformation)


@contextmanager
def _recording_program_transformations(run: LayerRun) -> Iterator[None]:
    """Record what the program's own stack transformations protect (``txn_infra.layer``'s in
    prod): they run after the recorder above, which sees the options before them."""
    original = pulumi.runtime.register_stack_transformation

    def register(t: pulumi.ResourceTransformation) -> None:
        def recorded(
            args: pulumi.ResourceTransformationArgs,
        ) -> pulumi.ResourceTransformationResult | None:
            result = t(args)
            if result is not None and result.opts is not None and result.opts.protect:
                run.protected.add(args.name)
            return result

        original(recorded)

    pulumi.runtime.register_stack_transformation = register
    try:
        yield
    finally:
        pulumi.runtime.register_stack_transformation = original


def run_layer(
    name: str | contract.Layer,
    *,
    stack: str = "dev",
    config: dict[str, str] | None = None,
    references: dict[str, dict[str, Any]] | None = None,
    program: Path | None = None,
) -> LayerRun:
    """Run one layer's program under mocks and return what it registered and exported.

    ``name`` is a layer of the DAG, or a project outside it given as its contract entry
    (``contract.ACCOUNT``, whose stacks are named after their region). ``config`` overrides
    single keys (full ``namespace:key`` names); ``references`` maps ``org/project/stack`` to the
    outputs that reference should answer with.
    """
    layer = name if isinstance(name, contract.Layer) else contract.layer(name)
    run = LayerRun(layer=layer, stack=stack)
    values = stack_config(layer, stack)
    values.update(config or {})
    region = values.get("aws:region", "us-east-2")
    pulumi.runtime.set_all_config(values)
    # A failed earlier run may leave tasks behind; start from a clean runtime, as
    # pulumi.runtime.test does.
    pulumi_internals.reset_runtime()
    pulumi.runtime.set_mocks(
        LayerMocks(run, region, references or {}),
        project=layer.project,
        stack=stack,
        preview=False,
    )
    main = program or REPO_ROOT / layer.folder / "__main__.py"
    _quiet_duplicate_failures()

    def execute() -> None:
        _record_dependencies(run)
        with _recording_reads(run), _recording_program_transformations(run):
            runpy.run_path(str(main), run_name="__main__")
        for key, value in pulumi_internals.stack_exports().items():
            output = pulumi.Output.from_input(value)
            run.exports[key] = pulumi_internals.resolve(output)
            if pulumi_internals.is_secret(output):
                run.secret_exports.add(key)

    pulumi_internals.run_program(execute)
    return run


def _quiet_duplicate_failures() -> None:
    """A failing program fails every future that depends on the failure; ``run_layer`` raises
    it once, so do not report it again for each orphaned future at garbage collection."""
    loop = pulumi_internals.event_loop()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") == "Future exception was never retrieved":
            return
        loop.default_exception_handler(context)

    loop.set_exception_handler(handler)


def account_stack(stack: str) -> str:
    """The account bootstrap's stack that the layers' ``stack`` deploys into: account stacks
    are named after their region (docs/decisions/0010-account-bootstrap.md)."""
    return stack_config(contract.NETWORK, stack).get("aws:region", "us-east-2")


def reference_name(layer: contract.Layer, stack: str, org: str = "organization") -> str:
    return f"{org}/{layer.project}/{stack}"


def run_system(
    *,
    stack: str = "dev",
    layers: Iterable[str] | None = None,
    doctor: Callable[[LayerRun], None] | None = None,
    programs: dict[str, Path] | None = None,
    config: dict[str, dict[str, str]] | None = None,
) -> dict[str, LayerRun]:
    """Run layers in DAG order, each reference answered with its producer's real exports.

    ``doctor`` may alter a finished run's exports before downstream layers read them (tests use
    it to prove a missing output is caught). ``programs`` runs a variant program for a layer
    instead of its ``__main__.py`` (policy tests use it to prove a doctored stack is caught).
    ``config`` maps a layer to single-key config overrides.
    """
    runs: dict[str, LayerRun] = {}
    references: dict[str, dict[str, Any]] = {}
    for name in contract.deploy_order(list(layers) if layers is not None else None):
        layer_run = run_layer(
            name,
            stack=stack,
            references=dict(references),
            program=(programs or {}).get(name),
            config=(config or {}).get(name),
        )
        if doctor is not None:
            doctor(layer_run)
        runs[name] = layer_run
        org = stack_config(layer_run.layer, stack).get(
            f"{layer_run.layer.project}:org", "organization"
        )
        references[reference_name(layer_run.layer, stack, org)] = dict(layer_run.exports)
    return runs
