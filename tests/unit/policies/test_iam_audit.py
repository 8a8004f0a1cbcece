"""What the pack's IAM reading adds to parliament: the '*' rule from IAM's own database, and
GitHub's OIDC provider known, without hiding any other unknown provider or key."""

from __future__ import annotations

from txn_policies import iam


def trust(provider: str, key: str) -> iam.Document:
    statement = {
        "Effect": "Allow",
        "Principal": {"Federated": f"arn:aws:iam::123456789012:oidc-provider/{provider}"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{provider}:{key}": "repo:acme/txn:ref:refs/heads/main"}},
    }
    return iam.Document(
        "assumeRolePolicy", "trust", {"Version": "2012-10-17", "Statement": [statement]}
    )


def test_githubs_documented_provider_and_claims_are_not_findings() -> None:
    assert iam.audit(trust(iam.GITHUB_OIDC, "sub")) == []


def test_any_other_unknown_provider_or_key_still_is() -> None:
    issues = {f.issue for f in iam.audit(trust("oidc.example.com", "sub"))}
    assert issues >= {"UNKNOWN_FEDERATION_SOURCE", "UNKNOWN_CONDITION_FOR_ACTION"}


def allow(action: str) -> iam.Document:
    statement = {"Effect": "Allow", "Action": action, "Resource": "arn:aws:logs:::log-group:x"}
    return iam.Document("policy", "identity", {"Version": "2012-10-17", "Statement": [statement]})


def test_an_action_aws_added_after_parliaments_database_is_not_a_finding_and_a_made_up_one_is() -> (
    None
):
    assert iam.audit(allow("logs:PutLogGroupDeletionProtection")) == []
    assert [f.issue for f in iam.audit(allow("logs:PutLogGroupDeletionProtectionX"))] == [
        "UNKNOWN_ACTION"
    ]


def test_star_is_allowed_exactly_for_actions_without_resource_level_permissions() -> None:
    assert iam.is_allowed_star_action("kms:CreateKey")  # no resource type in IAM's table
    assert iam.is_allowed_star_action("ec2:DescribeVpcs")
    assert not iam.is_allowed_star_action("kms:TagResource")  # key*
    assert not iam.is_allowed_star_action("dynamodb:PutItem")
    assert not iam.is_allowed_star_action("made-up:Action")  # unknown: treated as scoped
    assert iam.is_allowed_star_action("ec2:DeleteNetworkInterface", lambda_execution_role=True)
    assert not iam.is_allowed_star_action("ec2:DeleteNetworkInterface")
