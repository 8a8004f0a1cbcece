"""X-Ray trace sampling of the API stage, where the hot path's traces start."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class TraceSamplingArgs:
    rule_name: str  # at most 32 characters
    api_name: str
    stage_name: pulumi.Input[str]
    fixed_rate: float  # share of requests traced once the reservoir is used up
    reservoir_per_second: int = 1  # traced every second whatever the rate, across all hosts
    priority: int = 100  # before the account's Default rule (10000)


class TraceSampling(pulumi.ComponentResource):
    """The X-Ray sampling rule of ``POST /transaction``'s stage, where the hot path's traces start.

    X-Ray sampling is decided once, by the first traced service, and Lambda in Active mode
    follows the decision it receives. API Gateway applies sampling rules, so this rule sets how
    many validator invocations (and their SQS hop) are traced. Lambda itself does not apply
    custom rules: invocations that start a trace (the queue consumers) keep its fixed
    1 per second plus 5%.
    """

    def __init__(
        self, name: str, args: TraceSamplingArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("txn:observability:TraceSampling", name, None, opts)
        if len(args.rule_name) > 32:
            raise ValueError(f"X-Ray rule name {args.rule_name!r} is longer than 32 characters")
        self.rule = aws.xray.SamplingRule(
            f"{name}-api",
            rule_name=args.rule_name,
            priority=args.priority,
            version=1,
            reservoir_size=args.reservoir_per_second,
            fixed_rate=args.fixed_rate,
            # API Gateway names its segments "<api name>/<stage>".
            service_name=pulumi.Output.concat(args.api_name, "/", args.stage_name),
            service_type="AWS::ApiGateway::Stage",
            host="*",
            http_method="*",
            url_path="*",
            resource_arn="*",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"rule_arn": self.rule.arn})
