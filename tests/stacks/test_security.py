"""security: rotated CMKs with least-privilege key policies, and roles that name exact actions,
exact resources and the conditions that pin them to this account, VPC and endpoints."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from parliament import analyze_policy_string

from tests.stacks.conftest import as_list, policy, statements
from txn_infra.components.security import (
    KEY_ADMIN_ACTIONS,
    FunctionKeys,
    NetworkIds,
    Platform,
    function_statements,
)
from txn_infra.offline import ACCOUNT_ID, LayerRun, run_layer

REGION = "us-east-2"
ROOT = f"arn:aws:iam::{ACCOUNT_ID}:root"
LOGS = f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:"
# The only actions AWS offers no resource-level permission for, among those the roles use.
STAR_ACTIONS = {
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "logs:DescribeLogGroups",
}
# What Lambda checks with a function's role before any interface exists: granted on "*" as
# AWSLambdaVPCAccessExecutionRole does, and only to the function roles (stacks/security/README).
LAMBDA_ENI_MANAGEMENT = {
    "ec2:AssignPrivateIpAddresses",
    "ec2:DeleteNetworkInterface",
    "ec2:UnassignPrivateIpAddresses",
}
FUNCTIONS = ("validator", "fraud-detector", "failed-transactions")


@pytest.fixture(scope="module")
def security(system: dict[str, LayerRun]) -> LayerRun:
    return system["security"]


@pytest.fixture(scope="module")
def network(system: dict[str, LayerRun]) -> dict[str, Any]:
    return system["network"].exports


def key_policy(security: LayerRun, purpose: str) -> dict[str, dict[str, Any]]:
    key = security.one("aws:kms/key:Key", f"keys-{purpose}")
    return {s["Sid"]: s for s in statements(policy(key))}


def role_statements(security: LayerRun, component: str) -> dict[str, dict[str, Any]]:
    found = security.one("aws:iam/rolePolicy:RolePolicy", f"roles-{component}-policy")
    return {s["Sid"]: s for s in statements(policy(found))}


def grants(security: LayerRun, component: str) -> dict[str, set[str]]:
    """Action -> every resource the role's policy allows it on."""
    allowed: dict[str, set[str]] = {}
    for statement in role_statements(security, component).values():
        for action in as_list(statement["Action"]):
            allowed.setdefault(action, set()).update(as_list(statement["Resource"]))
    return allowed


def table(name: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/txn-dev-{name}"


def queue(name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:txn-dev-{name}"


# --- Keys ---------------------------------------------------------------------------------------


def test_three_symmetric_keys_with_rotation_and_the_configured_deletion_window(
    security: LayerRun, prod_system: dict[str, LayerRun]
) -> None:
    keys = security.of_type("aws:kms/key:Key")
    assert len(keys) == 3
    for key in keys:
        assert key.inputs["enableKeyRotation"] is True
        assert key.inputs["keyUsage"] == "ENCRYPT_DECRYPT"
        assert key.inputs["customerMasterKeySpec"] == "SYMMETRIC_DEFAULT"
        assert key.inputs["deletionWindowInDays"] == 7
        assert not key.inputs.get("bypassPolicyLockoutSafetyCheck")
    for key in prod_system["security"].of_type("aws:kms/key:Key"):
        assert key.inputs["deletionWindowInDays"] == 30


def test_each_key_has_its_alias(security: LayerRun) -> None:
    keys = {k.name: k.id for k in security.of_type("aws:kms/key:Key")}
    aliases = {
        a.inputs["name"]: a.inputs["targetKeyId"] for a in security.of_type("aws:kms/alias:Alias")
    }
    assert aliases == {
        "alias/txn-dev-data": keys["keys-data"],
        "alias/txn-dev-logs": keys["keys-logs"],
        "alias/txn-dev-alarms": keys["keys-alarms"],
    }


def test_key_policies_have_no_wildcard_action_and_admins_cannot_decrypt(security: LayerRun) -> None:
    for purpose in ("data", "logs", "alarms"):
        for statement in key_policy(security, purpose).values():
            assert statement["Effect"] == "Allow"
            assert all("*" not in action for action in as_list(statement["Action"]))
        admin = key_policy(security, purpose)["KeyAdministration"]
        assert admin["Principal"] == {"AWS": ROOT}
        assert set(admin["Action"]) == set(KEY_ADMIN_ACTIONS)
        assert not {"kms:Decrypt", "kms:Encrypt", "kms:DisableKeyRotation"} & set(admin["Action"])
        assert {"kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:EnableKeyRotation"} <= set(
            admin["Action"]
        )


def test_data_key_is_used_only_through_the_platform_services_of_this_account(
    security: LayerRun,
) -> None:
    sids = key_policy(security, "data")
    use = sids["UseThroughTablesAndLambdaInThisAccount"]
    assert use["Principal"] == {"AWS": ROOT}
    assert set(use["Action"]) == {
        "kms:Decrypt",
        "kms:DescribeKey",
        "kms:Encrypt",
        "kms:GenerateDataKey",
        "kms:GenerateDataKeyWithoutPlaintext",
        "kms:ReEncryptFrom",
        "kms:ReEncryptTo",
    }
    assert use["Condition"] == {
        "StringEquals": {
            "kms:CallerAccount": ACCOUNT_ID,
            "kms:ViaService": [f"{s}.{REGION}.amazonaws.com" for s in ("dynamodb", "lambda")],
        }
    }
    # A queue's or the topic's sender asks for a data key and its receiver decrypts it (SQS and
    # SNS "Key management"): nothing more of the key through them
    messages = sids["MessagesThroughQueuesAndTopicsInThisAccount"]
    assert messages["Principal"] == {"AWS": ROOT}
    assert set(messages["Action"]) == {"kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"}
    assert messages["Condition"] == {
        "StringEquals": {
            "kms:CallerAccount": ACCOUNT_ID,
            "kms:ViaService": [f"{s}.{REGION}.amazonaws.com" for s in ("sqs", "sns")],
        }
    }
    grant = sids["GrantsForAwsResourcesOnly"]
    assert grant["Action"] == ["kms:CreateGrant"]
    assert grant["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}
    assert grant["Condition"]["StringEquals"]["kms:CallerAccount"] == ACCOUNT_ID
    # No service principal on the key that protects cardholder data (ADR 0009).
    assert set(sids) == {
        "KeyAdministration",
        "UseThroughTablesAndLambdaInThisAccount",
        "MessagesThroughQueuesAndTopicsInThisAccount",
        "GrantsForAwsResourcesOnly",
    }
    assert all("AWS" in s["Principal"] for s in sids.values())


def test_alarms_key_serves_only_this_environments_alarms_publishing_to_the_alarm_topic(
    security: LayerRun,
) -> None:
    """GIVEN CloudWatch calls KMS itself when an alarm publishes to the SSE-KMS alarm topic
    WHEN the alarms key's policy lets it THEN only for alarms of this account named like this
    environment's, and only for that topic's messages (ADR 0009)."""
    sids = key_policy(security, "alarms")
    assert set(sids) == {
        "KeyAdministration",
        "ThisEnvironmentsAlarmsPublishToTheAlarmTopic",
        "EventBridgeRulesPublishToTheAlarmTopic",  # the test below
    }
    alarms = sids["ThisEnvironmentsAlarmsPublishToTheAlarmTopic"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert set(alarms["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey"}
    assert alarms["Condition"] == {
        "StringEquals": {
            "aws:SourceAccount": ACCOUNT_ID,
            "kms:EncryptionContext:aws:sns:topicArn": (
                f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:txn-dev-alarms"
            ),
        },
        "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT_ID}:alarm:txn-dev-*"},
    }


def test_alarms_key_serves_eventbridge_only_for_the_alarm_topic_of_this_environment(
    security: LayerRun,
) -> None:
    """GIVEN EventBridge publishes the control-change rule's events to the SSE-KMS alarm topic
    and calls KMS as events.amazonaws.com WHEN the alarms key's policy lets it THEN only for
    this environment's alarm topic's messages (SNS's encryption context), and with no
    aws:SourceAccount, aws:SourceArn or aws:SourceOrgID: the SNS guide says they are "not
    supported for EventBridge-to-encrypted topics", and a condition the request lacks refuses
    every delivery (ADR 0009, amendment). Which rules may publish is the topic policy's say
    (test_control_changes)."""
    events = key_policy(security, "alarms")["EventBridgeRulesPublishToTheAlarmTopic"]
    assert events["Principal"] == {"Service": "events.amazonaws.com"}
    assert set(events["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey"}
    assert events["Resource"] == "*"
    assert events["Condition"] == {
        "StringEquals": {
            "kms:EncryptionContext:aws:sns:topicArn": (
                f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:txn-dev-alarms"
            )
        }
    }
    keys = {key.lower() for values in events["Condition"].values() for key in values}
    assert not keys & {"aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid"}


def test_the_alarm_pattern_follows_the_environment(prod_system: dict[str, LayerRun]) -> None:
    key = prod_system["security"].one("aws:kms/key:Key", "keys-alarms")
    by_principal = {
        s["Principal"]["Service"]: s for s in statements(policy(key)) if "Service" in s["Principal"]
    }
    assert set(by_principal) == {"cloudwatch.amazonaws.com", "events.amazonaws.com"}
    alarms = by_principal["cloudwatch.amazonaws.com"]
    assert alarms["Condition"]["ArnLike"]["aws:SourceArn"].endswith(":alarm:txn-prod-*")
    events = by_principal["events.amazonaws.com"]
    context = events["Condition"]["StringEquals"]["kms:EncryptionContext:aws:sns:topicArn"]
    assert context.endswith(":txn-prod-alarms")


def test_logs_key_serves_only_this_environments_log_groups(security: LayerRun) -> None:
    sids = key_policy(security, "logs")
    assert set(sids) == {
        "KeyAdministration",
        "CloudWatchLogsForThisEnvironmentsGroups",
        "CallersOfCloudWatchLogsForThisEnvironmentsGroups",
    }
    groups = {
        "kms:EncryptionContext:aws:logs:arn": [
            f"{LOGS}/aws/lambda/txn-dev-*",
            f"{LOGS}/txn/dev/*",
            f"{LOGS}aws-waf-logs-txn-dev-*",
            # the platform's stage only: the API id is not known when security deploys
            f"{LOGS}API-Gateway-Execution-Logs_*/v1",
        ]
    }
    logs = sids["CloudWatchLogsForThisEnvironmentsGroups"]
    assert logs["Principal"] == {"Service": f"logs.{REGION}.amazonaws.com"}
    assert "kms:DescribeKey" not in logs["Action"]
    assert logs["Condition"] == {"StringLike": groups}
    # CloudWatch Logs also calls KMS with its caller's credentials: the account's principals,
    # through CloudWatch Logs only, for the same groups; their IAM policies say which may.
    callers = sids["CallersOfCloudWatchLogsForThisEnvironmentsGroups"]
    assert callers["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}
    assert {"kms:Decrypt", "kms:GenerateDataKey"} <= set(callers["Action"])
    assert not {"kms:CreateGrant", "kms:DescribeKey"} & set(callers["Action"])
    assert callers["Condition"] == {
        "StringEquals": {
            "kms:CallerAccount": ACCOUNT_ID,
            "kms:ViaService": f"logs.{REGION}.amazonaws.com",
        },
        "StringLike": groups,
    }


# --- Roles --------------------------------------------------------------------------------------


def test_every_role_trusts_one_service_for_this_account_only(security: LayerRun) -> None:
    expected = {
        "txn-dev-validator-role": "lambda.amazonaws.com",
        "txn-dev-fraud-detector-role": "lambda.amazonaws.com",
        "txn-dev-failed-transactions-role": "lambda.amazonaws.com",
        "txn-dev-flow-logs-role": "vpc-flow-logs.amazonaws.com",
    }
    roles = {r.inputs["name"]: r for r in security.of_type("aws:iam/role:Role")}
    assert set(roles) == set(expected)
    for name, service in expected.items():
        (trust,) = statements(policy(roles[name], "assumeRolePolicy"))
        assert trust["Principal"] == {"Service": service}
        assert trust["Action"] == "sts:AssumeRole"
        assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT_ID}
    (flow,) = statements(policy(roles["txn-dev-flow-logs-role"], "assumeRolePolicy"))
    assert flow["Condition"]["ArnLike"] == {
        "aws:SourceArn": f"arn:aws:ec2:{REGION}:{ACCOUNT_ID}:vpc-flow-log/*"
    }


def test_no_wildcard_action_and_star_resources_only_where_aws_allows_nothing_narrower(
    security: LayerRun,
) -> None:
    function_policies = {f"roles-{c}-policy" for c in FUNCTIONS}
    for role_policy in security.of_type("aws:iam/rolePolicy:RolePolicy"):
        star_allowed = STAR_ACTIONS | (
            LAMBDA_ENI_MANAGEMENT if role_policy.name in function_policies else set()
        )
        for statement in statements(policy(role_policy)):
            assert statement["Effect"] == "Allow"
            actions = as_list(statement["Action"])
            assert all("*" not in a for a in actions), statement["Sid"]
            if "*" in as_list(statement["Resource"]):
                assert set(actions) <= star_allowed, (role_policy.name, statement["Sid"])
                assert statement["Resource"] == "*"


def test_validator_reads_merchants_keeps_idempotency_records_and_enqueues(
    security: LayerRun, network: dict[str, Any]
) -> None:
    allowed = grants(security, "validator")
    data_actions = {
        a: r for a, r in allowed.items() if a.split(":")[0] in ("dynamodb", "sqs", "sns")
    }
    assert data_actions == {
        "dynamodb:GetItem": {table("merchants"), table("idempotency")},
        "dynamodb:PutItem": {table("idempotency")},
        "sqs:SendMessage": {queue("transactions")},
    }
    sids = role_statements(security, "validator")
    endpoints = network["vpc_endpoint_ids"]
    for sid in ("ReadMerchants", "IdempotencyRecords"):
        assert sids[sid]["Condition"] == {"StringEquals": {"aws:SourceVpce": endpoints["dynamodb"]}}
    assert sids["Enqueue"]["Condition"] == {"StringEquals": {"aws:SourceVpce": endpoints["sqs"]}}


def test_fraud_detector_consumes_the_queue_records_counts_and_alerts(
    security: LayerRun, network: dict[str, Any]
) -> None:
    allowed = grants(security, "fraud-detector")
    data_actions = {
        a: r for a, r in allowed.items() if a.split(":")[0] in ("dynamodb", "sqs", "sns")
    }
    consume = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
    assert data_actions == {
        **{a: {queue("transactions")} for a in consume},
        "dynamodb:BatchGetItem": {table("merchants"), table("transactions"), table("velocity")},
        "dynamodb:PartiQLInsert": {table("transactions"), table("velocity")},
        "dynamodb:PartiQLUpdate": {table("velocity")},
        # a fraud report names its transaction by id: one Query finds it (ADR 0013)
        "dynamodb:Query": {table("transactions")},
        "sns:Publish": {f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:txn-dev-fraud-alerts"},
    }
    sids = role_statements(security, "fraud-detector")
    endpoints = network["vpc_endpoint_ids"]
    # The event source mapping polls from the Lambda service, not from the VPC.
    assert "Condition" not in sids["ConsumeTransactionsQueue"]
    for sid in (
        "ReadMerchants",
        "RecordTransactions",
        "ReadReportedTransactions",
        "VelocityCounters",
    ):
        assert sids[sid]["Condition"] == {"StringEquals": {"aws:SourceVpce": endpoints["dynamodb"]}}
    assert sids["PublishFraudAlerts"]["Condition"] == {
        "StringEquals": {"aws:SourceVpce": endpoints["sns"]}
    }


def test_failed_transactions_consumes_the_dlq_and_records_failures(
    security: LayerRun, network: dict[str, Any]
) -> None:
    allowed = grants(security, "failed-transactions")
    data_actions = {
        a: r for a, r in allowed.items() if a.split(":")[0] in ("dynamodb", "sqs", "sns")
    }
    assert data_actions == {
        "sqs:ReceiveMessage": {queue("transactions-dlq")},
        "sqs:DeleteMessage": {queue("transactions-dlq")},
        "sqs:GetQueueAttributes": {queue("transactions-dlq")},
        # one conditional PutItem returns the stored record when there is one
        "dynamodb:PutItem": {table("transactions")},
        # the alert of a FLAGGED transaction dead-lettered by an SNS outage
        "sns:Publish": {f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:txn-dev-fraud-alerts"},
    }
    sids = role_statements(security, "failed-transactions")
    assert "Condition" not in sids["ConsumeDeadLetterQueue"]
    endpoints = network["vpc_endpoint_ids"]
    assert sids["RecordFailures"]["Condition"] == {
        "StringEquals": {"aws:SourceVpce": endpoints["dynamodb"]}
    }
    assert sids["PublishFraudAlerts"]["Condition"] == {
        "StringEquals": {"aws:SourceVpce": endpoints["sns"]}
    }


def test_functions_write_only_their_own_log_group_and_never_create_one(
    security: LayerRun,
) -> None:
    for component in FUNCTIONS:
        allowed = grants(security, component)
        logs = {a: r for a, r in allowed.items() if a.startswith("logs:")}
        assert logs == {
            "logs:CreateLogStream": {f"{LOGS}/aws/lambda/txn-dev-{component}:*"},
            "logs:PutLogEvents": {f"{LOGS}/aws/lambda/txn-dev-{component}:*"},
        }


def test_functions_use_the_data_key_only_through_the_services_they_call(
    security: LayerRun,
) -> None:
    data_key = security.exports["data_key_arn"]
    services = {
        "validator": ["dynamodb", "sqs", "lambda"],
        "fraud-detector": ["dynamodb", "sqs", "sns", "lambda"],
        "failed-transactions": ["dynamodb", "sqs", "sns", "lambda"],
    }
    for component, used in services.items():
        kms = role_statements(security, component)["DataKeyThroughItsServices"]
        assert set(kms["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey"}
        assert kms["Resource"] == data_key
        assert kms["Condition"] == {
            "StringEquals": {"kms:ViaService": [f"{s}.{REGION}.amazonaws.com" for s in used]}
        }
        others = [
            s
            for sid, s in role_statements(security, component).items()
            if sid != "DataKeyThroughItsServices"
            and any(a.startswith("kms:") for a in as_list(s["Action"]))
        ]
        assert all(s["Resource"] == security.exports["logs_key_arn"] for s in others)


def test_writers_use_the_logs_key_only_through_cloudwatch_logs_for_their_own_group(
    security: LayerRun,
) -> None:
    """GIVEN CloudWatch Logs calls KMS with the writer's credentials (kms:ViaService) WHEN a role
    writes logs THEN it may use the logs key through CloudWatch Logs for its own group only."""
    groups = {c: f"/aws/lambda/txn-dev-{c}" for c in FUNCTIONS} | {
        "flow-logs": "/txn/dev/vpc-flow-logs"
    }
    via = {"kms:ViaService": f"logs.{REGION}.amazonaws.com"}
    for role, group in groups.items():
        sids = role_statements(security, role)
        use = sids["LogsKeyForItsGroupsThroughCloudWatchLogs"]
        assert use["Resource"] == security.exports["logs_key_arn"]
        assert sorted(use["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
        assert use["Condition"] == {
            "StringEquals": via,
            "StringLike": {"kms:EncryptionContext:aws:logs:arn": [f"{LOGS}{group}"]},
        }
        describe = sids["DescribeLogsKeyThroughCloudWatchLogs"]
        assert (describe["Action"], describe["Condition"]) == (
            ["kms:DescribeKey"],
            {"StringEquals": via},
        )


def test_function_enis_are_created_only_in_the_platform_subnets_and_security_group(
    security: LayerRun, network: dict[str, Any]
) -> None:
    sg_arn = (
        f"arn:aws:ec2:{REGION}:{ACCOUNT_ID}:security-group/{network['function_security_group_id']}"
    )
    subnets = [
        f"arn:aws:ec2:{REGION}:{ACCOUNT_ID}:subnet/{subnet}"
        for subnet in network["private_subnet_ids"]
    ]
    assert len(subnets) == 3
    enis = f"arn:aws:ec2:{REGION}:{ACCOUNT_ID}:network-interface/*"
    for component in FUNCTIONS:
        assert grants(security, component)["ec2:CreateNetworkInterface"] == {enis, *subnets, sg_arn}


def test_lambda_may_manage_function_enis_before_any_exists(security: LayerRun) -> None:
    """GIVEN Lambda checks Delete/Assign/Unassign with the role when it creates a VPC function,
    before an interface exists WHEN the role grants them THEN it is on "*" and unconditioned,
    as in AWSLambdaVPCAccessExecutionRole (an ec2:Vpc condition or an interface ARN fails
    CreateFunction)."""
    for component in FUNCTIONS:
        (manage,) = [
            s
            for s in role_statements(security, component).values()
            if LAMBDA_ENI_MANAGEMENT & set(as_list(s["Action"]))
        ]
        assert set(manage["Action"]) == LAMBDA_ENI_MANAGEMENT
        assert manage["Resource"] == "*"
        assert "Condition" not in manage
        ec2 = {a for a in grants(security, component) if a.startswith("ec2:")}
        assert ec2 == LAMBDA_ENI_MANAGEMENT | {
            "ec2:CreateNetworkInterface",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeSubnets",
        }


def test_only_the_function_roles_may_manage_enis(security: LayerRun) -> None:
    # The layer's only other role; API Gateway's (stacks/account) grants logs actions only.
    assert not any(a.startswith("ec2:") for a in grants(security, "flow-logs"))


def test_no_function_may_put_metrics_or_act_outside_its_services(security: LayerRun) -> None:
    for component in FUNCTIONS:
        prefixes = {a.split(":")[0] for a in grants(security, component)}
        assert prefixes <= {"logs", "xray", "ec2", "kms", "dynamodb", "sqs", "sns"}
        assert "cloudwatch:PutMetricData" not in grants(security, component)


def test_flow_logs_role_writes_only_the_flow_log_group(security: LayerRun) -> None:
    group = {f"{LOGS}/txn/dev/vpc-flow-logs:*"}
    key = {security.exports["logs_key_arn"]}
    assert grants(security, "flow-logs") == {
        # what the VPC guide says the role "must include at least", but CreateLogGroup: with it
        # the service makes the group again from records in flight after a destroy deleted it
        "logs:CreateLogStream": group,
        "logs:DescribeLogStreams": group,
        "logs:PutLogEvents": group,
        "logs:DescribeLogGroups": {"*"},
        # the logs key, through CloudWatch Logs, for this group (the test above)
        "kms:Decrypt": key,
        "kms:DescribeKey": key,
        "kms:GenerateDataKey": key,
    }


def test_role_arns_written_before_data_exists_match_what_data_creates(
    system: dict[str, LayerRun],
) -> None:
    security, data = system["security"], system["data"]
    created = {v for k, v in data.exports.items() if k.endswith("_arn")}
    for component in FUNCTIONS:
        for action, resources in grants(security, component).items():
            if action.split(":")[0] in ("dynamodb", "sqs", "sns"):
                assert resources <= created, (component, action)


def test_policy_functions_are_plain_data_with_plain_inputs() -> None:
    platform = Platform(app="txn", environment="dev", region=REGION, account_id=ACCOUNT_ID)
    network = NetworkIds(
        private_subnet_ids=["subnet-1", "subnet-2"],
        function_security_group_id="sg-1",
        endpoint_ids={"dynamodb": "vpce-d", "sqs": "vpce-q", "sns": "vpce-s"},
    )
    keys = FunctionKeys(
        data_key_arn="arn:aws:kms:us-east-2:1:key/d", logs_key_arn="arn:aws:kms:us-east-2:1:key/l"
    )
    documents = function_statements(platform, network, keys)
    assert set(documents) == set(FUNCTIONS)
    for document in documents.values():
        for statement in document:
            for resource in as_list(statement["Resource"]):
                assert isinstance(resource, str)
                assert resource == "*" or resource.startswith("arn:aws:")


def test_a_deletion_window_kms_refuses_fails_at_preview_with_one_clear_line() -> None:
    with pytest.raises(pulumi.RunError, match=r"txn-security:keyDeletionWindowDays .*7"):
        run_layer("security", config={"txn-security:keyDeletionWindowDays": "3"})


def test_parliament_finds_nothing_in_any_role_policy_but_the_lambda_eni_exception(
    security: LayerRun,
) -> None:
    function_policies = {f"roles-{c}-policy" for c in FUNCTIONS}
    for role_policy in security.of_type("aws:iam/rolePolicy:RolePolicy"):
        findings = analyze_policy_string(role_policy.inputs["policy"]).findings
        expected = (
            [("RESOURCE_STAR", sorted(LAMBDA_ENI_MANAGEMENT))]
            if role_policy.name in function_policies
            else []
        )
        assert [(f.issue, f.detail) for f in findings] == expected, role_policy.name
