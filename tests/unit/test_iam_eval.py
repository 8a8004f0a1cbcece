"""The census's IAM evaluator against the examples of AWS's IAM User Guide.

Pages: "The difference between explicit and implicit denies"
(reference_policies_evaluation-logic_AccessPolicyLanguage_Interplay), "Conditions with multiple
context keys or values" (reference_policies_multi-value-conditions) and "IAM JSON policy
elements: Condition operators" (reference_policies_elements_condition_operators).
"""

from __future__ import annotations

import pytest

from tests.iam_eval import Request, Unsupported, arn_like, decide

# "The difference between explicit and implicit denies": allowed, implicitly and explicitly
# denied actions under one policy.
GET_LIST_NO_REPORTS = [
    {
        "Sid": "AllowGetList",
        "Effect": "Allow",
        "Action": ["iam:Get*", "iam:List*"],
        "Resource": "*",
    },
    {"Sid": "DenyReports", "Effect": "Deny", "Action": "iam:*Report", "Resource": "*"},
]


@pytest.mark.parametrize(
    ("action", "effect"),
    [
        ("iam:GetUser", "Allow"),
        ("iam:ListRoles", "Allow"),
        ("iam:CreatePolicy", "ImplicitDeny"),  # "all other actions in IAM ... implicitly denied"
        ("iam:GetOrganizationsAccessReport", "ExplicitDeny"),  # Get*, but *Report denies it
        ("iam:GenerateCredentialReport", "ExplicitDeny"),
        ("IAM:getuser", "Allow"),  # action names are not case-sensitive
    ],
)
def test_explicit_and_implicit_denies(action: str, effect: str) -> None:
    assert decide(GET_LIST_NO_REPORTS, Request(action, "*")).effect == effect


# "Condition operators", String condition operators: the principal must carry the
# iamuser-admin job category; a missing key makes the condition false.
JOB_CATEGORY = [
    {
        "Effect": "Allow",
        "Action": "iam:*AccessKey*",
        "Resource": "arn:aws:iam::111122223333:user/*",
        "Condition": {"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}},
    }
]


@pytest.mark.parametrize(
    ("context", "allowed"),
    [
        ({"aws:PrincipalTag/job-category": "iamuser-admin"}, True),
        ({"aws:PrincipalTag/job-category": "dev-ops"}, False),
        ({"aws:PrincipalTag/job-category": "IAMUSER-ADMIN"}, False),  # StringEquals: exact case
        ({"aws:principaltag/job-category": "iamuser-admin"}, True),  # key names ignore case
        ({}, False),  # "If the key ... is not present in the request context ... false"
    ],
)
def test_string_equals_and_a_missing_key(context: dict[str, str], allowed: bool) -> None:
    request = Request("iam:CreateAccessKey", "arn:aws:iam::111122223333:user/carlos", context)
    assert decide(JOB_CATEGORY, request).allowed is allowed


# "Condition operators", Condition operator to check existence of condition keys: Null "true"
# holds when the key is absent from the request context, "false" when it is present. Here: tag
# only a key that carries no Layer tag yet, and only with Layer=security.
UNTAGGED_KEYS = [
    {
        "Effect": "Allow",
        "Action": "kms:TagResource",
        "Resource": "arn:aws:kms:us-east-2:111122223333:key/*",
        "Condition": {
            "StringEquals": {"aws:RequestTag/Layer": "security"},
            "Null": {"aws:ResourceTag/Layer": "true"},
        },
    }
]


@pytest.mark.parametrize(
    ("context", "allowed"),
    [
        ({"aws:RequestTag/Layer": "security"}, True),  # a key being created has no tags
        ({"aws:RequestTag/Layer": "security", "aws:ResourceTag/Layer": "data"}, False),
        ({"aws:RequestTag/Layer": "security", "aws:ResourceTag/Layer": "security"}, False),
        ({}, False),
    ],
)
def test_null_holds_on_an_absent_key(context: dict[str, str], allowed: bool) -> None:
    request = Request("kms:TagResource", "arn:aws:kms:us-east-2:111122223333:key/k1", context)
    assert decide(UNTAGGED_KEYS, request).allowed is allowed


def test_null_with_anything_but_true_or_false_is_refused() -> None:
    statement = {**UNTAGGED_KEYS[0], "Condition": {"Null": {"aws:ResourceTag/Layer": ["true"]}}}
    with pytest.raises(Unsupported):
        decide(
            [statement], Request("kms:TagResource", "arn:aws:kms:us-east-2:111122223333:key/k", {})
        )


def test_null_false_holds_on_a_present_key() -> None:
    statement = {**UNTAGGED_KEYS[0], "Condition": {"Null": {"aws:ResourceTag/Layer": "false"}}}
    request = Request("kms:TagResource", "arn:aws:kms:us-east-2:111122223333:key/k1", {})
    assert not decide([statement], request).allowed
    tagged = Request(request.action, request.resource, {"aws:ResourceTag/Layer": "data"})
    assert decide([statement], tagged).allowed


def test_the_resource_pattern_must_match_too() -> None:
    context = {"aws:PrincipalTag/job-category": "iamuser-admin"}
    other_account = Request("iam:CreateAccessKey", "arn:aws:iam::444455556666:user/x", context)
    assert decide(JOB_CATEGORY, other_account).effect == "ImplicitDeny"


# "Conditions with multiple context keys or values": operators AND, keys AND, values OR.
MULTI = [
    {
        "Sid": "ExamplePolicy",
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": "arn:aws:s3:::amzn-s3-demo-bucket",
        "Condition": {
            "StringEquals": {
                "aws:PrincipalTag/department": ["finance", "hr", "legal"],
                "aws:PrincipalTag/role": ["audit", "security"],
            },
            "ArnLike": {
                "aws:PrincipalArn": [
                    "arn:aws:iam::222222222222:user/Ana",
                    "arn:aws:iam::222222222222:user/Mary",
                ]
            },
        },
    }
]
ANA = "arn:aws:iam::222222222222:user/Ana"


@pytest.mark.parametrize(
    ("context", "allowed"),
    [
        (
            {
                "aws:PrincipalTag/department": "hr",
                "aws:PrincipalTag/role": "audit",
                "aws:PrincipalArn": ANA,
            },
            True,
        ),
        (
            {
                "aws:PrincipalTag/department": "legal",
                "aws:PrincipalTag/role": "security",
                "aws:PrincipalArn": ANA,
            },
            True,
        ),
        (
            {
                "aws:PrincipalTag/department": "sales",
                "aws:PrincipalTag/role": "audit",
                "aws:PrincipalArn": ANA,
            },
            False,
        ),
        ({"aws:PrincipalTag/department": "hr", "aws:PrincipalArn": ANA}, False),  # a key missing
        (
            {
                "aws:PrincipalTag/department": "hr",
                "aws:PrincipalTag/role": "audit",
                "aws:PrincipalArn": "arn:aws:iam::222222222222:user/Bob",
            },
            False,
        ),
    ],
)
def test_operators_and_keys_are_anded_values_ored(context: dict[str, str], allowed: bool) -> None:
    request = Request("s3:ListBucket", "arn:aws:s3:::amzn-s3-demo-bucket", context)
    assert decide(MULTI, request).allowed is allowed


@pytest.mark.parametrize(
    ("pattern", "value", "matched"),
    [
        # "ArnLike ... Each of the six colon-delimited components of the ARN is checked
        # separately and each can include multi-character match wildcards (*) or
        # single-character match wildcards (?)."
        ("arn:aws:sns:us-east-2:*:txn-dev-*", "arn:aws:sns:us-east-2:123456789012:txn-dev-a", True),
        ("arn:aws:sns:*:123456789012:topic", "arn:aws:sns:us-east-2:123456789012:topic", True),
        ("arn:aws:sns:us-east-?:1*:t", "arn:aws:sns:us-east-2:123456789012:t", True),
        ("arn:aws:*", "arn:aws:sns:us-east-2:123456789012:t", False),  # * stays in its segment
        ("arn:aws:logs:r:1:log-group:/g:*", "arn:aws:logs:r:1:log-group:/g:log-stream:s", True),
        (
            "arn:aws:logs:r:1:log-group:/g:*",
            "arn:aws:logs:r:1:log-group:/other:log-stream:s",
            False,
        ),
        ("arn:aws:sqs:r:1:Queue", "arn:aws:sqs:r:1:queue", False),  # case-sensitive
        ("*", "anything", True),
    ],
)
def test_arn_like(pattern: str, value: str, matched: bool) -> None:
    assert arn_like(pattern, value) is matched


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::b"},
        {
            "Effect": "Allow",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "true"}},
        },
        {
            "Effect": "Allow",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {"StringEqualsIfExists": {"k": "v"}},
        },
        {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::${aws:username}"},
        {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"},
    ],
)
def test_what_it_does_not_implement_is_refused_not_guessed(statement: dict) -> None:
    with pytest.raises(Unsupported):
        decide([statement], Request("s3:GetObject", "arn:aws:s3:::b", {"k": "v"}))
