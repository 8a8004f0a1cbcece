"""The account bootstrap's policy documents, as data: one function per document.

Built on the same ``Platform`` (names and ARNs of one scope) and trust policy as the layers'
documents in ``security``. Here the scope is one AWS account and region: the stack is named
after the region, and the documents cover every environment that runs there.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from txn_infra.components.resource_policies import deny_insecure_transport
from txn_infra.components.security import Platform
from txn_infra.components.security.iam_documents import (
    LAMBDA_ENI_MANAGEMENT,
    LOG_WRITE,
    LOGS_KEY_USE,
    SQS_CONSUME,
    XRAY_WRITE,
    logs_key_for_groups,
)
from txn_infra.components.security.key_policies import key_policy
from txn_infra.components.security.platform import Statement, allow, concat
from txn_spec import shapes
from txn_spec.naming import (
    APIGATEWAY_EXECUTION_LOG_PREFIX,
    APIGATEWAY_WELCOME_LOG_GROUP,
    function_log_group,
    log_group,
    physical_name_pattern,
)

# What the Pulumi CLI asks of KMS, split into what reading a stack needs and what writing one
# adds. S3 default encryption: Decrypt to read a state object, GenerateDataKey to write one (S3
# asks on the caller's behalf). The awskms secrets provider (Pulumi's pkg/secrets/cloud)
# decrypts the stack's data key on every operation (Decrypt) and then encrypts and decrypts the
# secrets locally with it; it encrypts a data key (Encrypt) only when it makes a new one, for a
# new stack or a new provider.
STATE_KEY_READ, STATE_KEY_WRITE = ("kms:Decrypt",), ("kms:GenerateDataKey",)
STATE_KEY_ACTIONS = (*STATE_KEY_READ, *STATE_KEY_WRITE)
SECRETS_KEY_READ, SECRETS_KEY_NEW = ("kms:Decrypt",), ("kms:Encrypt",)
SECRETS_KEY_ACTIONS = (*SECRETS_KEY_READ, *SECRETS_KEY_NEW)

# What API Gateway does with its account-wide role. AWS's AmazonAPIGatewayPushToCloudWatchLogs
# grants seven logs actions on "*"; kept are the ones that create and write, dropped are
# logs:GetLogEvents and logs:FilterLogEvents, which read.
API_LOG_WRITE = ("logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents")


def state_key_policy(p: Platform) -> dict[str, Any]:
    """The state key: only S3, encrypting and decrypting state objects for this account's
    principals whose IAM policies allow it (the deploy roles); nobody calls it directly."""
    return key_policy(
        p,
        allow(
            "StateObjectsThroughS3",
            STATE_KEY_ACTIONS,
            "*",
            {
                "StringEquals": {
                    "kms:CallerAccount": p.account_id,
                    "kms:ViaService": p.service("s3"),
                }
            },
            principal={"AWS": p.root},
        ),
    )


def secrets_key_policy(p: Platform) -> dict[str, Any]:
    """The secrets key: the Pulumi CLI of this account's principals whose IAM policies allow
    it. Every decrypt is a CloudTrail event: who read a stack's secrets, and when."""
    return key_policy(
        p,
        allow(
            "PulumiSecretsThroughIamPolicies",
            SECRETS_KEY_ACTIONS,
            "*",
            {"StringEquals": {"kms:CallerAccount": p.account_id}},
            principal={"AWS": p.root},
        ),
    )


def state_bucket_policy(bucket_arn: pulumi.Input[str]) -> dict[str, Any]:
    """Refuse every request to the bucket or its objects that does not come over TLS."""
    objects = concat(bucket_arn, "/*")
    deny = deny_insecure_transport("s3:*", [bucket_arn, objects], sid="TlsOnly")
    return {"Version": "2012-10-17", "Statement": [deny]}


def apigateway_log_groups(app: str, environments: Sequence[str]) -> dict[str, list[str]]:
    """The groups API Gateway writes for the environments of this account and region, by who
    creates them: ``edge`` creates the access-log groups (and, before the stage, each
    execution-log group); API Gateway creates an execution-log group it does not find and the
    welcome group. An execution-log group is named after the API id, unknown here: every API's
    group of the platform's stage."""
    return {
        "created by edge": [
            log_group(app, env, shapes.API_ACCESS_LOG_COMPONENT) for env in environments
        ],
        "created by API Gateway": [
            f"{APIGATEWAY_EXECUTION_LOG_PREFIX}*/{shapes.API_STAGE}",
            APIGATEWAY_WELCOME_LOG_GROUP,
        ],
    }


def apigateway_cloudwatch_statements(p: Platform, environments: Sequence[str]) -> list[Statement]:
    """API Gateway's account-wide CloudWatch role: the API log groups of ``environments`` and
    the welcome group, nothing else."""
    groups = apigateway_log_groups(p.app, environments)
    its_own = groups["created by API Gateway"]
    every = groups["created by edge"] + its_own
    return [
        allow(
            "CreateTheGroupsApiGatewayNames",
            ["logs:CreateLogGroup"],
            [p.log_group_arn(g) for g in its_own],
        ),
        allow("WriteApiLogs", sorted(API_LOG_WRITE), [p.log_group_arn(g) for g in every]),
        # DescribeLogGroups has no resource-level permission: "*" is the only Resource accepted.
        allow("FindLogGroups", ["logs:DescribeLogGroups"], "*"),
        # The groups edge creates are encrypted with each environment's logs key, made after
        # this role by security: any key of the account, only through CloudWatch Logs and only
        # for these groups.
        *logs_key_for_groups(p, p.arn("kms", "key/*"), every),
    ]


# --- the permissions boundary of the platform's roles --------------------------------------------

# What the function roles do to their tables (security's iam_documents, one action per call the
# handlers make) and the services whose calls may use the data key on a role's behalf.
BOUNDARY_TABLE_ACTIONS = (
    "dynamodb:BatchGetItem",
    "dynamodb:GetItem",
    "dynamodb:PartiQLInsert",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PutItem",
    "dynamodb:Query",
)
BOUNDARY_KEY_SERVICES = ("dynamodb", "lambda", "sns", "sqs")


def role_boundary_statements(p: Platform) -> list[Statement]:
    """The ceiling of every role ``security`` creates in ``p.environment`` (functions and VPC
    flow logs): the data-plane calls their own policies make, on the environment's names
    (``<app>-<env>-*``), and nothing of IAM, STS or Organizations. A boundary grants nothing:
    a role may do what both its own policy and this allow (IAM User Guide, "Permissions
    boundaries for IAM entities"), so a role whose policy security's deploy role rewrites still
    cannot leave this environment's data plane."""
    names = physical_name_pattern(p.app, p.environment)
    return [
        # the functions' groups and the flow logs' group, not the API access log (an audit log,
        # PCI DSS 10.3.2, written by API Gateway only)
        allow(
            "WriteTheEnvironmentsLogs",
            sorted({*LOG_WRITE, "logs:DescribeLogStreams"}),
            [
                p.log_group_arn(function_log_group(names)),
                p.log_group_arn(log_group(p.app, p.environment, "vpc-flow-logs")),
            ],
        ),
        # what the VPC guide asks of a flow logs role besides (security's flow_logs_statements;
        # not CreateLogGroup, which recreated the group after a destroy)
        allow("FindLogGroups", ["logs:DescribeLogGroups"], "*"),
        # X-Ray and the Describe calls have no resource-level permissions; Lambda checks its
        # ENI actions on "*" before an interface exists (security's iam_documents).
        allow("WriteTraces", sorted(XRAY_WRITE), "*"),
        allow(
            "FunctionNetworkInterfaces",
            sorted(
                {*LAMBDA_ENI_MANAGEMENT, "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"}
            ),
            "*",
        ),
        allow(
            "CreateNetworkInterfacesInThisRegion",
            ["ec2:CreateNetworkInterface"],
            [
                p.arn("ec2", f"{kind}/*")
                for kind in ("network-interface", "security-group", "subnet")
            ],
        ),
        allow(
            "DataKeyThroughThePlatformsServices",
            ["kms:Decrypt", "kms:GenerateDataKey"],
            p.arn("kms", "key/*"),
            {"StringEquals": {"kms:ViaService": [p.service(s) for s in BOUNDARY_KEY_SERVICES]}},
        ),
        # The logs key, which CloudWatch Logs uses with the writer's credentials.
        allow(
            "LogsKeyThroughCloudWatchLogs",
            sorted({*LOGS_KEY_USE, "kms:DescribeKey"}),
            p.arn("kms", "key/*"),
            {"StringEquals": {"kms:ViaService": p.service("logs")}},
        ),
        allow("TheEnvironmentsTables", BOUNDARY_TABLE_ACTIONS, p.arn("dynamodb", f"table/{names}")),
        allow(
            "TheEnvironmentsQueues",
            sorted({*SQS_CONSUME, "sqs:SendMessage"}),
            p.arn("sqs", names),
        ),
        allow("TheEnvironmentsTopics", ["sns:Publish"], p.arn("sns", names)),
    ]


# --- per-layer deploy roles ---------------------------------------------------------------------

GITHUB_OIDC = "token.actions.githubusercontent.com"
# Where Pulumi's self-managed backend keeps a project's stacks, their history, backups and the
# update locks (locks are kept per organization too: both layouts are named).
STATE_OWN_PREFIXES = ("stacks/{p}/", "history/{p}/", "backups/{p}/", "locks/{p}/", "locks/*/{p}/")


def deploy_role_trust(
    p: Platform,
    principals: Sequence[str],
    github_repository: str | None,
    github_subjects: Sequence[str],
) -> dict[str, Any]:
    """Who may act as one layer's deployer: its team's roles, or, when none are named, the
    account's roles whose own IAM policies allow sts:AssumeRole on it; and the repository's
    workflow through GitHub's OIDC provider, only for the given branch or environments (the
    token's ``sub``)."""
    # The principal ARN is the condition either way: the team's roles, or any role of this
    # account (not a user, not another account) that its IAM policies let assume this one.
    assumers = sorted(principals) or [concat("arn:aws:iam::", p.account_id, ":role/*")]
    statements: list[Statement] = [
        allow(
            "TheLayersTeam",
            "sts:AssumeRole",
            condition={"ArnLike": {"aws:PrincipalArn": assumers}},
            principal={"AWS": p.root},
        )
    ]
    if github_repository:
        statements.append(
            allow(
                "TheRepositorysWorkflow",
                "sts:AssumeRoleWithWebIdentity",
                condition={
                    "StringEquals": {
                        f"{GITHUB_OIDC}:aud": "sts.amazonaws.com",
                        f"{GITHUB_OIDC}:sub": [
                            f"repo:{github_repository}:{s}" for s in github_subjects
                        ],
                    }
                },
                principal={
                    "Federated": concat(
                        "arn:aws:iam::", p.account_id, f":oidc-provider/{GITHUB_OIDC}"
                    )
                },
            )
        )
    return {"Version": "2012-10-17", "Statement": statements}


@dataclass(frozen=True)
class LayerState:
    """One layer's place in the state backend: its project, its upstream layers' projects (the
    stacks it references), the bucket, and the keys of the state objects and of the secrets."""

    project: str
    upstream_projects: Sequence[str]
    bucket_arn: pulumi.Input[str]
    state_key_arn: pulumi.Input[str]
    secrets_key_arn: pulumi.Input[str]


def state_read_statements(state: LayerState) -> list[Statement]:
    """What reading one layer's stack needs, all a ``pulumi preview`` of it asks of the backend:
    its own stacks' state and its upstream layers' (the stack references) read, the backend's
    version file, the bucket's keys listed, and the two keys' decrypt. Both kinds of role have
    it; nothing here writes."""
    bucket_arn = state.bucket_arn
    stacks = [f".pulumi/stacks/{p}/" for p in [state.project, *state.upstream_projects]]
    return [
        allow(
            "StacksAndBackendVersion",
            ["s3:GetObject"],
            [concat(bucket_arn, "/", prefix, "*") for prefix in stacks]
            + [concat(bucket_arn, "/.pulumi/meta.yaml")],
        ),
        # Unconditioned: S3 answers a read of a missing object 403, not 404, to a caller without
        # ListBucket (HeadObject), so a new stack's first `stack select` fails; and `pulumi
        # stack ls` lists .pulumi/stacks/ with no delimiter. It shows stack names, never state.
        allow("ListStackNames", ["s3:ListBucket"], bucket_arn),
        allow("ReadStateObjects", STATE_KEY_READ, state.state_key_arn),
        allow("ReadStackSecrets", SECRETS_KEY_READ, state.secrets_key_arn),
    ]


def state_statements(state: LayerState) -> list[Statement]:
    """A deploy role's state: what reading the stack needs (``state_read_statements``), and its
    own state objects written (stack, history, backups, locks) and the keys as a write uses
    them; nothing else in the bucket."""
    own = [f".pulumi/{prefix.format(p=state.project)}" for prefix in STATE_OWN_PREFIXES]
    return [
        allow(
            "OwnState",
            ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            [concat(state.bucket_arn, "/", prefix, "*") for prefix in own],
        ),
        *state_read_statements(state),
        allow("WriteStateObjects", STATE_KEY_WRITE, state.state_key_arn),
        allow("NewStackSecretsKey", SECRETS_KEY_NEW, state.secrets_key_arn),
    ]


def filled(statements: Sequence[Statement], account_id: str, region: str) -> list[Statement]:
    """The derived statements with this account and region in place of the placeholders."""
    text = json.dumps(list(statements)).replace("{account}", account_id)
    return list(json.loads(text.replace("{region}", region)))
