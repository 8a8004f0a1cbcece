"""Lambda functions: in the VPC, traced, a declared log group, a CMK for the environment."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from txn_policies.rules.model import FUNCTION, LOG_GROUP, PCI, policy
from txn_policies.view import ResourceView, as_list, get


@policy(
    name="lambda-in-private-subnets",
    description="Every function runs in the VPC: two or more private subnets and a security group.",
    requirements=(f"{PCI} 1.3.1", f"{PCI} 1.3.2", f"{PCI} 1.4.4"),
    enforcement="mandatory",
    reason="mandatory: a function outside the VPC reaches the internet and bypasses the "
    "endpoint policies and security groups that bound the CDE.",
    remediation="set vpc_config with the network layer's private subnet ids and function SG",
    types=(FUNCTION,),
)
def _function_in_vpc(function: ResourceView) -> Iterator[str]:
    subnets = as_list(get(function.props, "vpcConfig.subnetIds"))
    groups = as_list(get(function.props, "vpcConfig.securityGroupIds"))
    if not subnets:
        yield (
            "runs outside the VPC; fix: vpc_config subnet_ids = network private_subnet_ids, "
            "security_group_ids = [function_security_group_id]"
        )
        return
    if len(subnets) < 2:
        yield f"runs in {len(subnets)} subnet; fix: use the private subnets of every AZ"
    if not groups:
        yield "has no security group; fix: security_group_ids = [function_security_group_id]"


@policy(
    name="lambda-xray-tracing",
    description="Every function has active X-Ray tracing.",
    requirements=(f"{PCI} 10.2.1",),
    enforcement="mandatory",
    reason="mandatory: a transaction's path across API, queue and functions must be "
    "reconstructable when investigating an event.",
    remediation="set tracing_config={'mode': 'Active'}",
    types=(FUNCTION,),
)
def _function_traced(function: ResourceView) -> Iterator[str]:
    mode = get(function.props, "tracingConfig.mode", "PassThrough")
    if mode != "Active":
        yield f"has tracing mode {mode}; fix: tracing_config mode='Active'"


def _function_name(function: ResourceView) -> str | None:
    name = function.props.get("name")
    return name if isinstance(name, str) else None


def _function_log_group_name(function: ResourceView) -> str | None:
    custom = get(function.props, "loggingConfig.logGroup")
    if isinstance(custom, str):
        return custom
    name = _function_name(function)
    return f"/aws/lambda/{name}" if name else None


@policy(
    name="lambda-has-log-group",
    description="Every function's log group is declared in the stack (retention and KMS from "
    "the first invocation).",
    requirements=(f"{PCI} 10.2.1", f"{PCI} 10.5.1"),
    enforcement="mandatory",
    reason="mandatory: a log group Lambda creates itself never expires and is unencrypted by "
    "a CMK, and the first invocations' logs land there.",
    remediation="declare aws.cloudwatch.LogGroup('/aws/lambda/<name>') before the function",
    types=(FUNCTION, LOG_GROUP),
    stack=True,
)
def _function_log_groups(
    resources: Sequence[ResourceView],
) -> Iterator[tuple[ResourceView | None, str]]:
    declared = {r.props.get("name") for r in resources if r.type == LOG_GROUP}
    for function in (r for r in resources if r.type == FUNCTION):
        expected = _function_log_group_name(function)
        if expected is None:
            message = (
                "has no fixed name, so its log group cannot be declared before it; fix: set "
                "name=physical_name(...) and declare /aws/lambda/<name>"
            )
            yield function, message
        elif expected not in declared:
            message = (
                f"writes to log group {expected}, which no stack declares; fix: declare "
                f"aws.cloudwatch.LogGroup(name='{expected}') with retention and KMS"
            )
            yield function, message


@policy(
    name="lambda-env-cmk",
    description="Function environment variables are encrypted with a customer-managed key.",
    requirements=(f"{PCI} 3.6.1",),
    enforcement="advisory",
    reason="advisory: the environment holds only resource names and settings, never secrets "
    "or card data, so the AWS-managed key is acceptable; a CMK is defence in depth.",
    remediation="set kms_key_arn=<data key ARN> on the function",
    types=(FUNCTION,),
)
def _function_env_cmk(function: ResourceView) -> Iterator[str]:
    if get(function.props, "environment.variables") and not get(function.props, "kmsKeyArn"):
        yield "encrypts its environment with the AWS-managed key; fix: kms_key_arn = data key"
