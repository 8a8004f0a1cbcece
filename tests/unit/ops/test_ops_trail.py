"""The audit-trail check before ``data`` deploys, against moto's CloudTrail.

moto implements what the check calls (DescribeTrails with includeShadowTrails, GetTrailStatus,
GetEventSelectors, and PutEventSelectors with basic or advanced selectors). What moto cannot
play, AWS refusing or failing one call (an organisation trail read from a member account,
throttling), is answered on the real boto3 client through botocore's ``before-call`` event: the
client then raises exactly as it would on AWS's error response.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError

from tests.conftest import MOTO_REGION
from tests.iam_eval import Request, decide
from txn_infra import deploy_permissions
from txn_ops import trail
from txn_ops.trail import MISSING, NO_DATA_EVENTS, UNVERIFIED, WHY

REGION = MOTO_REGION
ACCOUNT = "123456789012"  # moto's account
BUCKET = "audit-logs"
TRANSACTIONS, MERCHANTS = TABLES = ["txn-prod-transactions", "txn-prod-merchants"]
ARNS = [f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}" for name in TABLES]
MANAGEMENT = {"ReadWriteType": "All", "IncludeManagementEvents": True}
ORG_TRAIL = "arn:aws:cloudtrail:us-east-1:111111111111:trail/org-audit"


@pytest.fixture
def aws(mocked_aws: str) -> None:
    boto3.client("s3", region_name=REGION).create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
    )


@pytest.fixture
def cloudtrail(aws) -> Any:
    return boto3.client("cloudtrail", region_name=REGION)


def check(cloudtrail: Any) -> list[trail.Finding]:
    sts = boto3.client("sts", region_name=REGION)
    return trail.check_audit_trail(TABLES, REGION, client=cloudtrail, sts=sts)


def add_trail(
    cloudtrail: Any,
    *,
    name: str = "audit",
    logging: bool = True,
    selectors: list[dict[str, Any]] | None = None,
    advanced: list[dict[str, Any]] | None = None,
) -> str:
    """A multi-Region trail homed in the stack's Region, with the given selectors."""
    arn = cloudtrail.create_trail(Name=name, S3BucketName=BUCKET, IsMultiRegionTrail=True)
    if logging:
        cloudtrail.start_logging(Name=name)
    if advanced is not None:
        cloudtrail.put_event_selectors(TrailName=name, AdvancedEventSelectors=advanced)
    else:
        cloudtrail.put_event_selectors(TrailName=name, EventSelectors=selectors or [MANAGEMENT])
    return str(arn["TrailARN"])


def tables_selector(values: list[str], read_write: str = "All") -> dict[str, Any]:
    resources = [{"Type": "AWS::DynamoDB::Table", "Values": values}]
    return {**MANAGEMENT, "ReadWriteType": read_write, "DataResources": resources}


def data_events(*fields: dict[str, Any]) -> list[dict[str, Any]]:
    """An advanced selector for DynamoDB table data events, with extra field selectors."""
    return [
        {
            "Name": "tables",
            "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Data"]},
                {"Field": "resources.type", "Equals": ["AWS::DynamoDB::Table"]},
                *fields,
            ],
        }
    ]


def answer(
    client: Any, operation: str, response: dict[str, Any] | None = None, error: str | None = None
) -> None:
    """AWS's answer to one operation of ``client``, in place of moto's."""
    status = 400 if error else 200
    body = response or {}
    if error:
        body = {"Error": {"Code": error, "Message": f"{error} (test)"}}
    http = AWSResponse("https://cloudtrail.us-east-2.amazonaws.com/", status, {}, None)
    client.meta.events.register(
        f"before-call.cloudtrail.{operation}", lambda **kwargs: (http, body)
    )


def codes(findings: list[trail.Finding]) -> list[str]:
    return [f.code for f in findings]


# -- what is checked ---------------------------------------------------------------------------


def test_the_checked_tables_are_the_transactions_and_merchants_tables_of_the_stack() -> None:
    assert trail.tables("txn", "prod") == TABLES


# -- no trail recording the tables -------------------------------------------------------------


def test_an_account_without_a_trail_is_warned_that_none_is_logging(cloudtrail) -> None:
    findings = check(cloudtrail)

    assert codes(findings) == [MISSING]
    assert str(findings[0]).startswith(
        f"audit-trail-missing: no CloudTrail trail is logging in {REGION}"
    )
    assert str(findings[0]).endswith(f"; {WHY}")


def test_a_trail_that_is_not_logging_is_no_trail(cloudtrail) -> None:
    arn = add_trail(cloudtrail, logging=False, selectors=[tables_selector(ARNS)])

    findings = check(cloudtrail)

    assert codes(findings) == [MISSING]
    assert f"({arn}: not logging)" in findings[0].message


def test_a_logging_trail_without_data_events_is_warned_for_each_table(cloudtrail) -> None:
    arn = add_trail(cloudtrail)

    findings = check(cloudtrail)

    assert codes(findings) == [NO_DATA_EVENTS, NO_DATA_EVENTS]
    for finding, table, table_arn in zip(findings, TABLES, ARNS, strict=True):
        assert f"({arn}) log no DynamoDB data events for {table}:" in finding.message
        # what to add: the selector, with the table's own ARN
        assert f'"Type": "AWS::DynamoDB::Table", "Values": ["{table_arn}"]' in finding.message


def test_a_multi_region_trail_homed_in_another_region_is_seen_here(cloudtrail) -> None:
    # its copy in this Region is a shadow trail, which DescribeTrails lists only when asked to
    west = boto3.client("cloudtrail", region_name="us-west-2")
    arn = west.create_trail(Name="west", S3BucketName=BUCKET, IsMultiRegionTrail=True)["TrailARN"]

    findings = check(cloudtrail)

    assert codes(findings) == [MISSING]
    assert f"({arn}: not logging)" in findings[0].message


def test_a_single_region_trail_homed_elsewhere_does_not_log_here(cloudtrail) -> None:
    # GIVEN an organisation trail of the management account, single-Region in us-east-1, as
    # DescribeTrails shows it to a member account; it would cover the tables
    home = {"IsMultiRegionTrail": False, "HomeRegion": "us-east-1", "IsOrganizationTrail": True}
    answer(cloudtrail, "DescribeTrails", {"trailList": [{"TrailARN": ORG_TRAIL, **home}]})
    answer(cloudtrail, "GetTrailStatus", {"IsLogging": True})
    answer(cloudtrail, "GetEventSelectors", {"EventSelectors": [tables_selector(ARNS)]})

    assert codes(check(cloudtrail)) == [MISSING]


# -- covered ---------------------------------------------------------------------------------------


def test_a_basic_selector_naming_both_tables_covers_them(cloudtrail) -> None:
    add_trail(cloudtrail, selectors=[tables_selector(ARNS)])

    assert check(cloudtrail) == []


def test_the_prefix_for_every_table_of_the_account_covers_them(cloudtrail) -> None:
    add_trail(cloudtrail, selectors=[tables_selector(["arn:aws:dynamodb"])])

    assert check(cloudtrail) == []


def test_reads_and_writes_in_two_selectors_cover_the_tables(cloudtrail) -> None:
    reads, writes = tables_selector(ARNS, "ReadOnly"), tables_selector(ARNS, "WriteOnly")
    add_trail(cloudtrail, selectors=[reads, writes])

    assert check(cloudtrail) == []


@pytest.mark.parametrize(
    "arn_field",
    [
        pytest.param(None, id="every-table"),
        pytest.param({"Field": "resources.ARN", "Equals": ARNS}, id="equals-both"),
        pytest.param(
            {"Field": "resources.ARN", "StartsWith": [f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:"]},
            id="starts-with-the-account",
        ),
    ],
)
def test_an_advanced_selector_for_the_tables_data_events_covers_them(cloudtrail, arn_field):
    add_trail(cloudtrail, advanced=data_events(*([arn_field] if arn_field else [])))

    assert check(cloudtrail) == []


def test_a_trail_covering_one_table_is_warned_about_the_other_only(cloudtrail) -> None:
    add_trail(cloudtrail, advanced=data_events({"Field": "resources.ARN", "Equals": ARNS[:1]}))

    findings = check(cloudtrail)

    assert codes(findings) == [NO_DATA_EVENTS]
    assert f"log no DynamoDB data events for {MERCHANTS}:" in findings[0].message


# -- reads are what 10.2.1.1 is about: writes alone do not cover a table ---------------------------


@pytest.mark.parametrize(
    "selectors",
    [
        pytest.param({"selectors": [tables_selector(ARNS, "WriteOnly")]}, id="basic-write-only"),
        pytest.param(
            {"advanced": data_events({"Field": "readOnly", "Equals": ["false"]})},
            id="advanced-readOnly-false",
        ),
    ],
)
def test_write_only_data_events_leave_the_reads_unrecorded(cloudtrail, selectors) -> None:
    add_trail(cloudtrail, **selectors)

    findings = check(cloudtrail)

    assert codes(findings) == [NO_DATA_EVENTS, NO_DATA_EVENTS]
    assert f"log only the writes of {TRANSACTIONS}, not its reads:" in findings[0].message


def test_an_advanced_selector_narrowed_to_some_calls_is_not_counted(cloudtrail) -> None:
    add_trail(cloudtrail, advanced=data_events({"Field": "eventName", "Equals": ["PutItem"]}))

    assert codes(check(cloudtrail)) == [NO_DATA_EVENTS, NO_DATA_EVENTS]


def test_a_table_excluded_by_not_starts_with_is_not_covered(cloudtrail) -> None:
    excluded = {"Field": "resources.ARN", "NotStartsWith": [ARNS[0]]}
    add_trail(cloudtrail, advanced=data_events(excluded))

    findings = check(cloudtrail)

    assert codes(findings) == [NO_DATA_EVENTS]
    assert TRANSACTIONS in findings[0].message


# -- what cannot be read is unverified, never an error ---------------------------------------------


def test_selectors_aws_refuses_to_show_leave_the_trail_unverified(cloudtrail) -> None:
    arn = add_trail(cloudtrail, selectors=[tables_selector(ARNS)])
    answer(cloudtrail, "GetEventSelectors", error="AccessDeniedException")

    findings = check(cloudtrail)

    assert codes(findings) == [UNVERIFIED]
    assert f"trail {arn} logs DynamoDB data events for {TRANSACTIONS}, {MERCHANTS}" in (
        findings[0].message
    )
    assert "(AccessDeniedException reading its event selectors)" in findings[0].message
    assert "confirm with whoever owns it" in findings[0].message


def test_an_organisation_trail_a_member_account_cannot_read_is_unverified_not_missing(
    cloudtrail,
) -> None:
    # GIVEN the account's own trail logging management events only, and the organisation's
    # trail, which DescribeTrails shows but whose status the member account may not read
    own = add_trail(cloudtrail)
    org = {"TrailARN": ORG_TRAIL, "IsMultiRegionTrail": True, "IsOrganizationTrail": True}
    listed = cloudtrail.describe_trails(includeShadowTrails=True)["trailList"]
    answer(cloudtrail, "DescribeTrails", {"trailList": [*listed, org]})
    status = cloudtrail.get_trail_status(Name=own)

    def status_of(params: dict[str, Any], **kwargs: Any) -> tuple[AWSResponse, dict[str, Any]]:
        if params["body"] == f'{{"Name": "{own}"}}'.encode():
            return AWSResponse("https://cloudtrail/", 200, {}, None), status
        return AWSResponse("https://cloudtrail/", 400, {}, None), {
            "Error": {"Code": "AccessDeniedException", "Message": "not yours"}
        }

    cloudtrail.meta.events.register("before-call.cloudtrail.GetTrailStatus", status_of)

    findings = check(cloudtrail)

    # THEN one line: the organisation trail may be the one that records the tables
    assert codes(findings) == [UNVERIFIED]
    assert f"organisation trail {ORG_TRAIL}" in findings[0].message
    assert "(AccessDeniedException reading its status)" in findings[0].message


@pytest.mark.parametrize("operation", ["DescribeTrails", "GetTrailStatus", "GetEventSelectors"])
def test_an_aws_error_such_as_throttling_is_a_warning_not_a_traceback(cloudtrail, operation):
    add_trail(cloudtrail, selectors=[tables_selector(ARNS)])
    answer(cloudtrail, operation, error="ThrottlingException")

    findings = check(cloudtrail)

    assert codes(findings) == [UNVERIFIED]
    assert "ThrottlingException" in findings[0].message


def test_an_unreachable_endpoint_is_a_warning(cloudtrail) -> None:
    def unreachable(**kwargs: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://cloudtrail.us-east-2.amazonaws.com")

    cloudtrail.meta.events.register("before-call.cloudtrail.DescribeTrails", unreachable)

    findings = check(cloudtrail)

    assert codes(findings) == [UNVERIFIED]
    assert "EndpointConnectionError" in findings[0].message
    assert "cloudtrail:DescribeTrails, cloudtrail:GetTrailStatus" in findings[0].message


# -- the step -------------------------------------------------------------------------------------


def test_the_step_prints_one_warning_line_per_finding_and_reports_their_codes(repo) -> None:
    printed: list[str] = []
    found = [trail.Finding(MISSING, "none"), trail.Finding(UNVERIFIED, "cannot tell")]

    result = trail.run_step(lambda tables, region: found, repo, "dev", printed.append)

    assert result == ("warning", f"{MISSING}, {UNVERIFIED}")
    assert printed[1:] == [f"warning: {MISSING}: none", f"warning: {UNVERIFIED}: cannot tell"]


def test_a_check_that_breaks_is_a_warning_and_never_stops_the_deploy(repo) -> None:
    printed: list[str] = []

    def broken(tables, region) -> list[trail.Finding]:
        raise KeyError("trailList")

    result, changes = trail.run_step(broken, repo, "dev", printed.append)

    assert (result, changes) == ("warning", UNVERIFIED)
    assert printed[-1].startswith("warning: audit-trail-unverified: the CloudTrail check failed")


# -- the permissions it needs ------------------------------------------------------------------


def test_only_datas_deploy_role_may_read_cloudtrail_and_an_organisation_trail_too() -> None:
    # the account stack deploys these statements (txn_infra.deploy_permissions)
    roles = deploy_permissions.load()
    requests = [Request("cloudtrail:DescribeTrails", "*")] + [
        Request(action, trail_arn)
        for action in trail.ACTIONS[1:]
        for trail_arn in (ORG_TRAIL, f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/audit")
    ]

    for layer, statements in roles.items():
        allowed = [r for r in requests if decide(statements, r).allowed]
        assert allowed == (requests if layer == "data" else []), layer
