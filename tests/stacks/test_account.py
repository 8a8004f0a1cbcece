"""account: the bootstrap once per AWS account and region, outside the six layers' DAG.

The state bucket is private, versioned, encrypted with a rotated CMK and TLS only; the state and
secrets keys serve only what the Pulumi CLI asks of them; API Gateway's account-wide role may
write the platform's API log groups and the welcome group and nothing else; and the setting that
names it lives here, in no layer of the six.
"""

from __future__ import annotations

import fnmatch
import tomllib
from typing import Any

import pulumi
import pytest

from tests.stacks.conftest import as_list, policy, statements
from txn_infra import deploy_permissions
from txn_infra.components.security import KEY_ADMIN_ACTIONS
from txn_infra.offline import ACCOUNT_ID, REPO_ROOT, LayerRun, run_layer
from txn_spec import contract

REGION = "us-east-2"
ROOT = f"arn:aws:iam::{ACCOUNT_ID}:root"
LOGS = f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:"
KEYS = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/*"
BUCKET = f"txn-pulumi-state-{ACCOUNT_ID}-{REGION}"
ACCOUNT_SETTING = "aws:apigateway/account:Account"


@pytest.fixture(scope="module")
def account() -> LayerRun:
    """The shipped stack, Pulumi.us-east-2.yaml: stacks are named after their region."""
    return run_layer(contract.ACCOUNT, stack=REGION)


def one(run: LayerRun, type_: str) -> dict[str, Any]:
    return run.one(f"aws:s3/{type_}").inputs


def key_statements(run: LayerRun, component: str) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in statements(policy(run.one("aws:kms/key:Key", f"{component}-key")))}


def role_statements(run: LayerRun) -> list[dict[str, Any]]:
    """The statements of API Gateway's logging role."""
    return statements(policy(run.one("aws:iam/rolePolicy:RolePolicy", "apigateway")))


def role_grants(run: LayerRun) -> dict[str, set[str]]:
    """Action -> every resource the role's inline policy allows it on."""
    allowed: dict[str, set[str]] = {}
    for statement in role_statements(run):
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            allowed.setdefault(action, set()).update(as_list(statement["Resource"]))
    return allowed


# --- Where it sits ------------------------------------------------------------------------------


def test_no_layer_of_the_six_sets_the_account_wide_api_gateway_setting(
    system: dict[str, LayerRun], account: LayerRun
) -> None:
    """One setting per account and region: an environment's stack would overwrite another's."""
    assert [name for name, run in system.items() if ACCOUNT_SETTING in run.by_type()] == []
    assert len(account.of_type(ACCOUNT_SETTING)) == 1


def test_outputs_are_what_pyproject_names_for_the_backend_and_secrets(account: LayerRun) -> None:
    text = (REPO_ROOT / "pyproject.toml").read_text()
    settings = tomllib.loads(text)["tool"]["txn-ops"]
    assert account.exports["secrets_provider"] == settings["secrets-provider"]
    assert account.exports["state_bucket_name"] == BUCKET
    assert account.exports["backend_url"] == f"s3://{BUCKET}?region={REGION}"
    # The example pyproject.toml gives for the value to fill in after the bootstrap.
    assert '"s3://txn-pulumi-state-<account-id>-<region>?region=<region>"' in text


def test_nothing_it_exports_is_secret(account: LayerRun) -> None:
    """Its state moves from a local backend into the bucket it creates (docs/deploy.md): with
    no secret in it, that move needs no secrets provider on either side."""
    assert not account.secret_exports
    assert not contract.ACCOUNT.secret_outputs


def test_a_stack_named_for_another_region_is_refused() -> None:
    with pytest.raises(pulumi.RunError, match=r"stack 'us-east-2' sets aws:region eu-west-1"):
        run_layer(contract.ACCOUNT, stack=REGION, config={"aws:region": "eu-west-1"})


@pytest.mark.parametrize("stack", [f"123456789012-{REGION}", f"payments-prod-{REGION}"])
def test_a_stack_named_for_its_account_and_region_builds_the_same_names(
    stack: str, account: LayerRun
) -> None:
    """Accounts sharing a backend name their stacks ``<account>-<region>`` (ADR 0010), with the
    account id or an alias: neither may reach a physical name, whose parts start with a letter."""
    named = run_layer(contract.ACCOUNT, stack=stack, config={"aws:region": REGION})
    assert {r.inputs.get("name") for r in named.of_type("aws:iam/role:Role")} == {
        r.inputs.get("name") for r in account.of_type("aws:iam/role:Role")
    }
    assert named.exports["state_bucket_name"] == BUCKET


# --- The state bucket ---------------------------------------------------------------------------


def test_state_bucket_settings_all_apply_to_the_state_bucket(account: LayerRun) -> None:
    bucket = account.one("aws:s3/bucket:Bucket")
    assert bucket.inputs["bucket"] == BUCKET
    settings = [r for r in account.resources if r.type.startswith("aws:s3/") and r is not bucket]
    assert len(settings) == 6
    assert {s.inputs["bucket"] for s in settings} == {BUCKET}


def test_state_bucket_keeps_every_version(account: LayerRun) -> None:
    assert one(account, "bucketVersioning:BucketVersioning")["versioningConfiguration"] == {
        "status": "Enabled"
    }


def test_old_state_versions_and_lock_delete_markers_do_not_pile_up(account: LayerRun) -> None:
    rules = {
        r["id"]: r
        for r in one(account, "bucketLifecycleConfiguration:BucketLifecycleConfiguration")["rules"]
    }
    assert {r["status"] for r in rules.values()} == {"Enabled"}
    copies = rules["old-stack-file-copies"]
    assert copies["filter"] == {"prefix": ".pulumi/stacks/"}
    kept = copies["noncurrentVersionExpiration"]
    assert kept["noncurrentDays"] >= 30  # a broken state file stays recoverable
    assert kept["newerNoncurrentVersions"] >= 10
    # a lock has one version: "keep the newest N" would keep it, and its delete marker, for ever
    locks = rules["released-locks"]
    assert locks["filter"] == {"prefix": ".pulumi/locks/"}
    assert "newerNoncurrentVersions" not in locks["noncurrentVersionExpiration"]
    assert locks["expiration"] == {"expiredObjectDeleteMarker": True}
    assert rules["incomplete-uploads"]["abortIncompleteMultipartUpload"] == {
        "daysAfterInitiation": 7
    }
    # no current object expires, the update history (history/) included
    assert not any("days" in r.get("expiration", {}) for r in rules.values())


def test_state_bucket_is_encrypted_by_default_with_the_state_key(account: LayerRun) -> None:
    (rule,) = one(
        account,
        "bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    )["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "aws:kms",
        "kmsMasterKeyId": account.exports["state_key_arn"],
    }
    assert rule["bucketKeyEnabled"] is True


def test_state_bucket_refuses_every_request_without_tls(account: LayerRun) -> None:
    (deny,) = statements(policy(account.one("aws:s3/bucketPolicy:BucketPolicy")))
    assert deny["Sid"] == "TlsOnly"  # as deployed: a new Sid would be a policy change
    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == "*"
    assert deny["Action"] == "s3:*"
    arn = f"arn:aws:s3:::{BUCKET}"
    assert sorted(deny["Resource"]) == [arn, f"{arn}/*"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_state_bucket_blocks_all_public_access(account: LayerRun) -> None:
    block = one(account, "bucketPublicAccessBlock:BucketPublicAccessBlock")
    flags = ("blockPublicAcls", "ignorePublicAcls", "blockPublicPolicy", "restrictPublicBuckets")
    assert all(block[flag] is True for flag in flags)


def test_state_bucket_disables_acls(account: LayerRun) -> None:
    ownership = one(account, "bucketOwnershipControls:BucketOwnershipControls")
    assert ownership["rule"] == {"objectOwnership": "BucketOwnerEnforced"}


def test_bucket_policy_waits_for_the_public_access_block(account: LayerRun) -> None:
    assert account.depends_on["state-policy"] == {"state-public-access-block", "state-ownership"}


# --- The keys -----------------------------------------------------------------------------------


def test_both_keys_rotate(account: LayerRun) -> None:
    keys = account.of_type("aws:kms/key:Key")
    assert len(keys) == 2
    for key in keys:
        assert key.inputs["enableKeyRotation"] is True
        assert key.inputs["deletionWindowInDays"] == 30


def test_the_state_and_what_decrypts_it_are_protected_from_destroy(account: LayerRun) -> None:
    assert account.protected == {"state-bucket", "state-key", "secrets-key"}


def test_key_administrators_cannot_use_either_key(account: LayerRun) -> None:
    for component in ("state", "secrets"):
        admin = key_statements(account, component)["KeyAdministration"]
        assert admin["Principal"] == {"AWS": ROOT}
        assert set(admin["Action"]) == set(KEY_ADMIN_ACTIONS)
        assert not {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"} & set(admin["Action"])


def test_state_key_is_used_only_by_s3_for_this_account(account: LayerRun) -> None:
    found = key_statements(account, "state")
    assert set(found) == {"KeyAdministration", "StateObjectsThroughS3"}
    use = found["StateObjectsThroughS3"]
    assert use["Principal"] == {"AWS": ROOT}
    assert sorted(use["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert use["Condition"] == {
        "StringEquals": {
            "kms:CallerAccount": ACCOUNT_ID,
            "kms:ViaService": f"s3.{REGION}.amazonaws.com",
        }
    }


def test_secrets_key_only_encrypts_and_decrypts_for_this_account(account: LayerRun) -> None:
    found = key_statements(account, "secrets")
    assert set(found) == {"KeyAdministration", "PulumiSecretsThroughIamPolicies"}
    use = found["PulumiSecretsThroughIamPolicies"]
    assert use["Principal"] == {"AWS": ROOT}
    assert sorted(use["Action"]) == ["kms:Decrypt", "kms:Encrypt"]
    assert use["Condition"] == {"StringEquals": {"kms:CallerAccount": ACCOUNT_ID}}


def test_aliases_name_their_keys(account: LayerRun) -> None:
    aliases = {a.inputs["name"]: a for a in account.of_type("aws:kms/alias:Alias")}
    assert set(aliases) == {"alias/txn-pulumi-secrets", "alias/txn-pulumi-state"}
    for alias, component in (("secrets", "secrets"), ("state", "state")):
        key = account.one("aws:kms/key:Key", f"{component}-key")
        assert aliases[f"alias/txn-pulumi-{alias}"].inputs["targetKeyId"] == key.outputs["keyId"]


# --- API Gateway's CloudWatch role and setting --------------------------------------------------


def test_role_trusts_api_gateway_for_this_account_only(account: LayerRun) -> None:
    role = account.one("aws:iam/role:Role", "apigateway")
    assert role.inputs["name"] == "txn-us-east-2-apigateway-cloudwatch-role"
    (trust,) = statements(policy(role, "assumeRolePolicy"))
    assert trust["Effect"] == "Allow"
    assert trust["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}}


def test_role_writes_only_the_api_log_groups_and_the_welcome_group(account: LayerRun) -> None:
    access = {f"{LOGS}/txn/dev/api-access:*", f"{LOGS}/txn/prod/api-access:*"}
    its_own = {f"{LOGS}API-Gateway-Execution-Logs_*/v1:*", f"{LOGS}/aws/apigateway/welcome:*"}
    assert role_grants(account) == {
        "logs:CreateLogGroup": its_own,
        "logs:CreateLogStream": access | its_own,
        "logs:DescribeLogStreams": access | its_own,
        "logs:PutLogEvents": access | its_own,
        # No resource-level permission exists for it: "*" is the only Resource IAM accepts.
        "logs:DescribeLogGroups": {"*"},
        # CloudWatch Logs encrypts with the groups' logs key using this role's credentials;
        # the keys are made later, by security (the next test holds the conditions).
        "kms:Decrypt": {KEYS},
        "kms:DescribeKey": {KEYS},
        "kms:GenerateDataKey": {KEYS},
    }


def test_role_uses_a_logs_key_only_through_cloudwatch_logs_for_the_api_groups(
    account: LayerRun,
) -> None:
    via = {"kms:ViaService": f"logs.{REGION}.amazonaws.com"}
    kms = [
        s
        for s in role_statements(account)
        if any(a.startswith("kms:") for a in as_list(s["Action"]))
    ]
    by_action = {tuple(sorted(as_list(s["Action"]))): s["Condition"] for s in kms}
    groups = by_action[("kms:Decrypt", "kms:GenerateDataKey")]
    assert groups["StringEquals"] == via
    assert sorted(groups["StringLike"]["kms:EncryptionContext:aws:logs:arn"]) == sorted(
        [
            f"{LOGS}/txn/dev/api-access",
            f"{LOGS}/txn/prod/api-access",
            f"{LOGS}API-Gateway-Execution-Logs_*/v1",
            f"{LOGS}/aws/apigateway/welcome",
        ]
    )
    assert by_action[("kms:DescribeKey",)] == {"StringEquals": via}


def test_role_covers_the_groups_the_edge_layer_creates(
    system: dict[str, LayerRun], account: LayerRun
) -> None:
    """Names drift silently; API Gateway would then log nothing. Hold the two together."""
    writable = role_grants(account)["logs:PutLogEvents"]
    groups = system["edge"].of_type("aws:cloudwatch/logGroup:LogGroup")
    api_groups = [g.inputs["name"] for g in groups if not g.inputs["name"].startswith("aws-waf")]
    assert len(api_groups) == 2  # access and execution logs
    for name in api_groups:
        arn = f"{LOGS}{name}:log-stream:2026"
        assert any(fnmatch.fnmatchcase(arn, pattern) for pattern in writable), name


def test_role_serves_only_the_environments_configured_for_the_account() -> None:
    run = run_layer(contract.ACCOUNT, stack=REGION, config={"txn-account:environments": '["prod"]'})
    writable = role_grants(run)["logs:PutLogEvents"]
    assert f"{LOGS}/txn/prod/api-access:*" in writable
    assert not [arn for arn in writable if "/txn/dev/" in arn]


def test_setting_names_the_role_once_its_policy_exists(account: LayerRun) -> None:
    setting = account.one(ACCOUNT_SETTING)
    assert setting.inputs["cloudwatchRoleArn"] == account.exports["apigateway_cloudwatch_role_arn"]
    assert account.depends_on[setting.name] == {"apigateway-logging-role-policy"}


def test_application_signals_is_enabled_here_so_no_deploy_role_creates_service_linked_roles(
    account: LayerRun,
) -> None:
    # observability's SLOs need Application Signals' service-linked role (Discovery creates it)
    account.one("aws-native:applicationsignals:Discovery")
    grants = deploy_permissions.load()
    actions = {
        action
        for layer in grants.values()
        for statement in layer
        for action in as_list(statement["Action"])
    }
    assert not [a for a in actions if fnmatch.fnmatchcase("iam:createservicelinkedrole", a.lower())]
