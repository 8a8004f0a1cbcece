"""The web application firewall in front of the stage: a rate limit, AWS's managed rule groups,
and a WAF log that keeps what WAF did not simply allow."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from txn_infra.components.masking import mask_card_data

# AWS managed rule groups, in evaluation order after the rate limit (cheap checks first).
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesSQLiRuleSet",
)


# WAF actions whose requests keep a WAF log record (the filter drops every ALLOWed request).
# The stage's access log records every request, WAF's verdict included, so an allowed request
# is never unlogged: see stacks/edge/README.md (PCI DSS 10.2).
WAF_LOGGED_ACTIONS = ("BLOCK", "COUNT", "CAPTCHA", "CHALLENGE", "EXCLUDED_AS_COUNT")


@dataclass(frozen=True)
class ApiFirewallArgs:
    acl_name: str
    stage_arn: pulumi.Input[str]
    stage: pulumi.Resource  # the association must wait for it
    log_group_name: str
    logs_key_arn: pulumi.Input[str]
    log_retention_days: int
    log_deletion_protection: bool  # an audit log, like the API's (TransactionApiArgs)
    rate_limit_per_5min: int
    managed_rule_groups: Sequence[str] = MANAGED_RULE_GROUPS


def _visibility(metric: str) -> aws.wafv2.WebAclVisibilityConfigArgs:
    return aws.wafv2.WebAclVisibilityConfigArgs(
        cloudwatch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
    )


def waf_logging_filter(
    actions: Sequence[str] = WAF_LOGGED_ACTIONS,
) -> aws.wafv2.WebAclLoggingConfigurationLoggingFilterArgs:
    """Keep the WAF log records of requests WAF acted on (any of ``actions``), drop the rest."""
    return aws.wafv2.WebAclLoggingConfigurationLoggingFilterArgs(
        default_behavior="DROP",
        filters=[
            aws.wafv2.WebAclLoggingConfigurationLoggingFilterFilterArgs(
                behavior="KEEP",
                requirement="MEETS_ANY",
                conditions=[
                    aws.wafv2.WebAclLoggingConfigurationLoggingFilterFilterConditionArgs(
                        action_condition=aws.wafv2.WebAclLoggingConfigurationLoggingFilterFilterConditionActionConditionArgs(
                            action=action
                        )
                    )
                    for action in actions
                ],
            )
        ],
    )


class ApiFirewall(pulumi.ComponentResource):
    """A regional web ACL (rate limit per IP, AWS managed rules), its logs and association."""

    def __init__(
        self, name: str, args: ApiFirewallArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("txn:edge:ApiFirewall", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        rules = [
            aws.wafv2.WebAclRuleArgs(
                name="rate-limit-per-ip",
                priority=0,
                action=aws.wafv2.WebAclRuleActionArgs(block=aws.wafv2.WebAclRuleActionBlockArgs()),
                statement=aws.wafv2.WebAclRuleStatementArgs(
                    rate_based_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementArgs(
                        limit=args.rate_limit_per_5min,
                        aggregate_key_type="IP",
                        evaluation_window_sec=300,
                    )
                ),
                visibility_config=_visibility("rate-limit-per-ip"),
            )
        ]
        for priority, group in enumerate(args.managed_rule_groups, start=1):
            rules.append(
                aws.wafv2.WebAclRuleArgs(
                    name=group,
                    priority=priority * 10,
                    override_action=aws.wafv2.WebAclRuleOverrideActionArgs(
                        none=aws.wafv2.WebAclRuleOverrideActionNoneArgs()
                    ),
                    statement=aws.wafv2.WebAclRuleStatementArgs(
                        managed_rule_group_statement=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs(
                            vendor_name="AWS", name=group
                        )
                    ),
                    visibility_config=_visibility(group),
                )
            )
        self.acl = aws.wafv2.WebAcl(
            f"{name}-acl",
            name=args.acl_name,
            description=(
                "POST /transaction, /fraud-reports: IP reputation, bad inputs, common rules, "
                "SQLi, rate"
            ),
            scope="REGIONAL",
            default_action=aws.wafv2.WebAclDefaultActionArgs(
                allow=aws.wafv2.WebAclDefaultActionAllowArgs()
            ),
            rules=rules,
            visibility_config=_visibility(args.acl_name),
            opts=child,
        )
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=args.log_group_name,
            retention_in_days=args.log_retention_days,
            deletion_protection_enabled=args.log_deletion_protection,
            kms_key_id=args.logs_key_arn,
            opts=child,
        )
        # A record quotes the request WAF acted on: its URI, query and headers (PCI DSS 3.5.1
        # applies to logs too). The body is never logged.
        masking = mask_card_data(f"{name}-logs-masking", self.log_group, child)
        aws.wafv2.WebAclLoggingConfiguration(
            f"{name}-logging",
            resource_arn=self.acl.arn,
            log_destination_configs=[self.log_group.arn],
            # Only what WAF stopped or flagged; allowed requests are in the access log.
            logging_filter=waf_logging_filter(),
            # The API key is a credential: keep it out of the WAF log. The API takes no query
            # string, so one is a probe at best and card data at worst: out too.
            redacted_fields=[
                aws.wafv2.WebAclLoggingConfigurationRedactedFieldArgs(
                    single_header=aws.wafv2.WebAclLoggingConfigurationRedactedFieldSingleHeaderArgs(
                        name="x-api-key"
                    )
                ),
                aws.wafv2.WebAclLoggingConfigurationRedactedFieldArgs(
                    query_string=aws.wafv2.WebAclLoggingConfigurationRedactedFieldQueryStringArgs()
                ),
            ],
            # the first record is masked
            opts=pulumi.ResourceOptions(parent=self, depends_on=[masking]),
        )
        aws.wafv2.WebAclAssociation(
            f"{name}-association",
            resource_arn=args.stage_arn,
            web_acl_arn=self.acl.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.stage]),
        )
        self.register_outputs({"web_acl_arn": self.acl.arn})
