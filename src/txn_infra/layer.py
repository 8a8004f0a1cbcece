"""What every stack program starts with: config, the tagged provider, names, upstream
references and exports, all through the contract.

    ctx = start(contract.DATA, DataConfig)
    security = ctx.upstream(contract.SECURITY)
    store = TransactionStore("store", TransactionStoreArgs(key_arn=security["data_key_arn"]),
                             opts=ctx.opts)
    ctx.export(transactions_table_name=store.table.name, ...)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic, TypeVar

import pulumi
import pulumi_aws as aws
import pulumi_aws_native as aws_native

from txn_infra.config import CommonConfig, ConfigError, ProtectedConfig, parse
from txn_infra.protected import PROTECTED_TYPES
from txn_infra.tags import standard_tags
from txn_spec import contract
from txn_spec.naming import physical_name

C = TypeVar("C", bound=CommonConfig)


# A ProtectedConfig layer with deletionProtection on (prod): its resources of the types of
# txn_infra.protected carry Pulumi's protect.
def _protect_stateful(
    args: pulumi.ResourceTransformationArgs,
) -> pulumi.ResourceTransformationResult | None:
    if args.type_ not in PROTECTED_TYPES:
        return None
    protected = pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(protect=True))
    return pulumi.ResourceTransformationResult(args.props, protected)


class Upstream:
    """Read-only view of an upstream layer's outputs, checked against the contract."""

    def __init__(self, consumer: contract.Layer, producer: contract.Layer, org: str, stack: str):
        if producer.name not in consumer.upstream:
            raise contract.ContractError(
                f"layer {consumer.name!r} may not read {producer.name!r}; "
                f"its upstream layers are {list(consumer.upstream)}"
            )
        self.consumer = consumer
        self.producer = producer
        self.reference = pulumi.StackReference(
            f"{producer.name}-ref", stack_name=f"{org}/{producer.project}/{stack}"
        )

    def __getitem__(self, key: str) -> pulumi.Output[Any]:
        if key not in self.producer.outputs:
            raise contract.ContractError(
                f"layer {self.consumer.name!r} reads {self.producer.name}.{key}, which the "
                f"contract does not declare; {self.producer.name} exports "
                f"{sorted(self.producer.outputs)}"
            )
        return self.reference.require_output(key)


@dataclass(frozen=True)
class LayerContext(Generic[C]):
    """The running layer: its contract entry, validated config and tagged AWS provider."""

    layer: contract.Layer
    config: C
    environment: str
    region: str
    provider: aws.Provider

    @property
    def opts(self) -> pulumi.ResourceOptions:
        """Options for top-level components: children inherit the tagged provider."""
        return pulumi.ResourceOptions(providers={"aws": self.provider})

    @cached_property
    def native_provider(self) -> aws_native.Provider:
        """The aws-native (Cloud Control) provider: same region and tags, created on first use."""
        return aws_native.Provider(
            "aws-native",
            region=self.region,
            default_tags=aws_native.ProviderDefaultTagsArgs(tags=self.tags),
        )

    @property
    def native_opts(self) -> pulumi.ResourceOptions:
        """Options for components with aws-native children as well as aws ones."""
        return pulumi.ResourceOptions(
            providers={"aws": self.provider, "aws-native": self.native_provider}
        )

    @property
    def invoke_opts(self) -> pulumi.InvokeOptions:
        return pulumi.InvokeOptions(provider=self.provider)

    @property
    def prefix(self) -> str:
        """``<app>-<environment>``: the start of every physical name this layer builds."""
        return f"{self.config.app}-{self.environment}"

    def account_id(self) -> pulumi.Output[str]:
        """The deploying account, from the credentials in use (never typed into config)."""
        return aws.get_caller_identity_output(opts=self.invoke_opts).account_id

    @property
    def tags(self) -> dict[str, str]:
        return standard_tags(self.config, environment=self.environment, layer=self.layer.name)

    def name(self, component: str) -> str:
        return physical_name(self.config.app, self.environment, component)

    def upstream(self, producer: contract.Layer) -> Upstream:
        return Upstream(self.layer, producer, self.config.org, pulumi.get_stack())

    def export(self, **outputs: Any) -> None:
        """Export exactly the keys the contract declares for this layer."""
        declared = self.layer.outputs
        missing, unknown = declared - outputs.keys(), outputs.keys() - declared
        if missing or unknown:
            raise contract.ContractError(
                f"layer {self.layer.name!r} exports do not match the contract: "
                f"missing {sorted(missing)}, undeclared {sorted(unknown)}"
            )
        for key in sorted(outputs):
            value = outputs[key]
            if key in self.layer.secret_outputs:
                value = pulumi.Output.secret(value)
            pulumi.export(key, value)


def start(layer: contract.Layer, model: type[C]) -> LayerContext[C]:
    """Read and validate the layer's config and create its tagged AWS provider."""
    project = pulumi.get_project()
    if project != layer.project:
        raise pulumi.RunError(
            f"this program is layer {layer.name!r} (project {layer.project}), "
            f"but Pulumi runs it as project {project!r}; check Pulumi.yaml"
        )
    raw = pulumi.Config(project)
    values = {
        field.alias: raw.get(field.alias)
        for field in model.model_fields.values()
        if field.alias and raw.get(field.alias) is not None
    }
    try:
        config = parse(model, values, project)
    except ConfigError as exc:
        raise pulumi.RunError(str(exc)) from None
    if isinstance(config, ProtectedConfig) and config.deletion_protection:
        pulumi.runtime.register_stack_transformation(_protect_stateful)
    region = pulumi.Config("aws").require("region")
    environment = pulumi.get_stack()
    tags = standard_tags(config, environment=environment, layer=layer.name)
    provider = aws.Provider(
        "aws",
        region=region,
        default_tags=aws.ProviderDefaultTagsArgs(tags=tags),
    )
    return LayerContext(layer, config, environment, region, provider)
