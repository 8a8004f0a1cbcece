"""observability: error-rate alarms at 1% as metric math, DLQ/age/5XX/throttle alarms with
runbooks, WAF or the access log stopping, the dashboard's metrics, notifications, flow logs,
SLOs and the two URLs."""

from __future__ import annotations

import functools
import json
import re
from fnmatch import fnmatch
from typing import Any

import pytest

from tests.stacks.conftest import upstream_exports
from txn_infra.offline import ACCOUNT_ID, REPO_ROOT, LayerRun, Resource
from txn_spec import contract, shapes
from txn_spec.dashboard import WIDGETS

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SLO = "aws-native:applicationsignals:ServiceLevelObjective"


@pytest.fixture(scope="module")
def obs(system: dict[str, LayerRun]) -> LayerRun:
    return system["observability"]


@pytest.fixture(scope="module")
def upstream(system: dict[str, LayerRun]) -> dict[str, dict]:
    return upstream_exports(system, contract.OBSERVABILITY)


def alarms(run: LayerRun) -> dict[str, Resource]:
    return {a.inputs["name"].removeprefix("txn-dev-"): a for a in run.of_type(ALARM)}


def queried_metrics(alarm: Resource) -> dict[str, tuple[str, str, str]]:
    """Query id -> (namespace, metric, statistic) of a metric-math alarm's metrics."""
    return {
        q["id"]: (q["metric"]["namespace"], q["metric"]["metricName"], q["metric"]["stat"])
        for q in alarm.inputs["metricQueries"]
        if q.get("metric")
    }


def queried_dimensions(alarm: Resource) -> dict[str, dict[str, Any]]:
    """Query id -> dimensions of a metric-math alarm's metrics."""
    return {
        q["id"]: q["metric"]["dimensions"] for q in alarm.inputs["metricQueries"] if q.get("metric")
    }


def alarm_value(alarm: Resource, **datapoints: float | None) -> float:
    """The value a metric-math alarm compares with its threshold for one period's datapoints
    (``None``: the metric published none). Evaluates CloudWatch's FILL, MAX and IF, and its
    comparison and logical operators (AND, OR as Python's ``and``, ``or``), which are all these
    alarms use, in dependency order."""
    functions = {
        "FILL": lambda value, fill: fill if value is None else value,
        "MAX": lambda values: max(values),
        "IF": lambda condition, then, otherwise: then if condition else otherwise,
    }
    values: dict[str, Any] = dict(datapoints)
    for query in alarm.inputs["metricQueries"]:
        if query.get("expression"):
            python = re.sub(r"\bAND\b", "and", re.sub(r"\bOR\b", "or", query["expression"]))
            values[query["id"]] = eval(python, {**functions}, values)  # noqa: S307
            if query.get("returnData"):
                return float(values[query["id"]])
    raise AssertionError(f"{alarm.name}: no query returns the alarm's value")


def runbook_anchors() -> set[str]:
    text = (REPO_ROOT / "docs" / "runbooks.md").read_text()
    headings = re.findall(r"^#{2,3} (.+)$", text, flags=re.MULTILINE)
    return {re.sub(r"[^a-z0-9 -]", "", h.lower()).strip().replace(" ", "-") for h in headings}


@pytest.mark.parametrize("shape", shapes.FUNCTIONS, ids=lambda s: s.component)
def test_error_rate_alarm_at_1_percent_per_function(
    obs: LayerRun, upstream: dict[str, dict], shape
) -> None:
    alarm = alarms(obs)[f"{shape.component}-error-rate"]
    assert alarm.inputs["threshold"] == 1
    assert alarm.inputs["comparisonOperator"] == "GreaterThanThreshold"
    queries = {q["id"]: q for q in alarm.inputs["metricQueries"]}
    function_name = upstream["compute"][f"{shape.package}_function_name"]
    for query_id, metric in (("errors", "Errors"), ("invocations", "Invocations")):
        stat = queries[query_id]["metric"]
        assert (stat["namespace"], stat["metricName"], stat["stat"]) == (
            "AWS/Lambda",
            metric,
            "Sum",
        )
        assert stat["dimensions"] == {"FunctionName": function_name}
    (result,) = [q for q in queries.values() if q["returnData"]]
    fed_by_a_queue = any(source.function == shape for source in shapes.EVENT_SOURCES)
    if not fed_by_a_queue:
        assert "100 * errors / invocations" in result["expression"]
        return
    # A queue consumer reports failed records to SQS instead of raising (Errors never sees
    # them): its rate is the larger of failed invocations and failed records.
    assert result["expression"] == "MAX([invocation_rate, record_rate])"
    assert "100 * errors / invocations" in queries["invocation_rate"]["expression"]
    assert "100 * failed / processed" in queries["record_rate"]["expression"]
    for query_id, metric in (
        ("failed", shapes.RECORDS_FAILED_METRIC),
        ("processed", shapes.RECORDS_PROCESSED_METRIC),
    ):
        stat = queries[query_id]["metric"]
        assert (stat["namespace"], stat["metricName"], stat["stat"]) == (
            shapes.METRICS_NAMESPACE,
            metric,
            "Sum",
        )
        assert stat["dimensions"] == {"service": function_name}


def test_any_message_in_a_dead_letter_queue_alarms(
    obs: LayerRun, upstream: dict[str, dict]
) -> None:
    for label, key in (
        ("transactions-dlq", "transactions_dlq_name"),
        ("transactions-parking", "parking_queue_name"),
    ):
        alarm = alarms(obs)[f"{label}-messages"]
        metrics = queried_metrics(alarm)
        assert metrics == {
            "visible": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum"),
            "received": ("AWS/SQS", "NumberOfMessagesReceived", "Sum"),
        }
        for query in alarm.inputs["metricQueries"]:
            if query.get("metric"):
                assert query["metric"]["dimensions"] == {"QueueName": upstream["data"][key]}
        assert (alarm.inputs["threshold"], alarm.inputs["comparisonOperator"]) == (
            0,
            "GreaterThanThreshold",
        )
        # The DLQ's consumer takes a message within seconds, so the minute's count of visible
        # messages is 0: the receive counts. The parking queue has no consumer.
        assert alarm_value(alarm, visible=0, received=1) > 0
        assert alarm_value(alarm, visible=2, received=None) > 0
        assert alarm_value(alarm, visible=0, received=None) == 0
        # FILL makes a late minute 0: one breaching minute of three alarms (M out of N)
        assert (alarm.inputs["datapointsToAlarm"], alarm.inputs["evaluationPeriods"]) == (1, 3)


def test_one_message_failing_again_and_again_does_not_page_queue_age(obs: LayerRun) -> None:
    """GIVEN SQS counts a failing message as the oldest until its third receive (two
    visibility timeouts) WHEN it is in flight and nothing waits THEN queue age stays quiet;
    messages waiting to be received past the threshold page."""
    age = alarms(obs)["queue-age"]
    assert queried_metrics(age) == {
        "age": ("AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum"),
        "waiting": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum"),
    }
    threshold = age.inputs["threshold"]
    assert alarm_value(age, age=450, waiting=0) <= threshold  # the poison message, in flight
    assert alarm_value(age, age=450, waiting=3) > threshold  # not drained
    # no FILL (a late minute is left out, not read as 0), and one late minute of four tolerated
    assert "FILL" not in age.inputs["metricQueries"][-1]["expression"]
    assert (age.inputs["datapointsToAlarm"], age.inputs["evaluationPeriods"]) == (3, 4)


def test_queue_age_api_5xx_and_throttle_alarms(obs: LayerRun, upstream: dict[str, dict]) -> None:
    found = alarms(obs)
    age = found["queue-age"]
    for query in age.inputs["metricQueries"]:
        if query.get("metric"):
            queue = upstream["data"]["transactions_queue_name"]
            assert query["metric"]["dimensions"] == {"QueueName": queue}
    assert age.inputs["threshold"] == 300
    api = found["api-5xx"]
    assert (api.inputs["namespace"], api.inputs["metricName"]) == ("AWS/ApiGateway", "5XXError")
    assert api.inputs["dimensions"] == {"ApiName": "txn-dev-transactions-api", "Stage": "v1"}
    assert (api.inputs["statistic"], api.inputs["threshold"]) == ("Average", 0.01)
    for shape in shapes.FUNCTIONS:
        assert found[f"{shape.component}-throttles"].inputs["metricName"] == "Throttles"
    for table in shapes.TABLES:
        expression = found[f"{table.component}-table-throttles"].inputs["metricQueries"][-1]
        assert expression["expression"].startswith("FILL(reads, 0) + FILL(writes, 0)")


@pytest.mark.parametrize("table", shapes.TABLES, ids=lambda t: t.component)
def test_a_table_alarms_on_its_own_and_each_index_throttles(
    obs: LayerRun, upstream: dict[str, dict], table: shapes.TableShape
) -> None:
    alarm = alarms(obs)[f"{table.component}-table-throttles"]
    queries = alarm.inputs["metricQueries"]
    metrics = {q["id"]: q["metric"] for q in queries if q.get("metric")}
    name = upstream["data"][f"{table.component}_table_name"]
    expected = [{"TableName": name}] + [
        {"TableName": name, "GlobalSecondaryIndexName": index.name} for index in table.indexes
    ]
    for dimensions in expected:  # the TableName dimension alone omits the indexes' throttles
        for metric in ("ReadThrottleEvents", "WriteThrottleEvents"):
            (found,) = [
                i for i, m in metrics.items()
                if m["metricName"] == metric and m["dimensions"] == dimensions
            ]  # fmt: skip
            assert metrics[found]["stat"] == "Sum"
    (result,) = [q for q in queries if q.get("returnData")]
    # each series filled with 0: DynamoDB publishes throttle events only when there are some
    assert sorted(result["expression"].split(" + ")) == sorted(f"FILL({m}, 0)" for m in metrics)
    assert (alarm.inputs["threshold"], alarm.inputs["comparisonOperator"]) == (
        0,
        "GreaterThanThreshold",
    )
    assert "docs/runbooks.md#dynamodb-throttles" in alarm.inputs["alarmDescription"]


def test_failed_transactions_metric_alarms(obs: LayerRun, upstream: dict[str, dict]) -> None:
    alarm = alarms(obs)["failed-transactions"]
    assert alarm.inputs["namespace"] == shapes.METRICS_NAMESPACE
    assert alarm.inputs["metricName"] == shapes.FAILED_TRANSACTIONS_METRIC
    assert alarm.inputs["dimensions"] == {
        "service": upstream["compute"]["failed_transactions_function_name"]
    }


def test_every_alarm_notifies_the_alarm_topic_and_names_an_existing_runbook(obs: LayerRun) -> None:
    topic = obs.one("aws:sns/topic:Topic").outputs["arn"]
    anchors = runbook_anchors()
    for name, alarm in alarms(obs).items():
        assert alarm.inputs["alarmActions"] == [topic], name
        anchor = re.search(r"docs/runbooks\.md#([a-z0-9-]+)", alarm.inputs["alarmDescription"])
        assert anchor, name
        assert anchor.group(1) in anchors, f"{name}: no runbook section {anchor.group(1)}"
    for slo in obs.of_type(SLO):
        anchor = re.search(r"docs/runbooks\.md#([a-z0-9-]+)", slo.inputs["description"])
        assert anchor
        assert anchor.group(1) in anchors


def test_a_key_acting_for_a_merchant_that_does_not_name_it_pages_on_call(
    obs: LayerRun, upstream: dict[str, dict]
) -> None:
    """ADR 0024: a sale refused or a report not counted for the key, either one, pages; the
    metrics are those the functions emit (tests/functional/functions: test_validator's metric
    line, test_fraud_reports' outcome)."""
    alarm = alarms(obs)["api-key-not-permitted"]
    assert queried_metrics(alarm) == {
        "sales": ("TxnPlatform", "TransactionsRejectedByCode", "Sum"),
        "reports": ("TxnPlatform", "FraudReportsByOutcome", "Sum"),
    }
    assert queried_dimensions(alarm) == {
        "sales": {
            "service": upstream["compute"]["validator_function_name"],
            "code": "merchant_not_permitted",
        },
        "reports": {
            "service": upstream["compute"]["fraud_detector_function_name"],
            "outcome": "not_permitted",
        },
    }
    assert (alarm.inputs["threshold"], alarm.inputs["evaluationPeriods"]) == (0, 1)
    assert alarm_value(alarm, sales=1, reports=None) == 1  # a report-less minute still pages
    assert alarm_value(alarm, sales=None, reports=2) == 2
    assert alarm_value(alarm, sales=None, reports=None) == 0


def test_a_provider_held_to_its_plan_or_quota_pages_on_call(
    obs: LayerRun, upstream: dict[str, dict]
) -> None:
    """ADR 0025: the requests refused 429, counted from the access log by edge's metric filter
    under the same name and error types (tests/stacks/test_edge.py): throttled over what the
    stage received, a burst's few stay quiet; a key's daily quota spent pages at once."""
    alarm = alarms(obs)["api-key-throttled"]
    counted = ("TxnPlatform", "txn-dev-api-requests-throttled", "Sum")
    assert queried_metrics(alarm) == {
        "requests": ("AWS/ApiGateway", "Count", "SampleCount"),
        "throttled": counted,
        "quota": counted,
    }
    stage = {"ApiName": "txn-dev-transactions-api", "Stage": upstream["edge"]["stage_name"]}
    assert queried_dimensions(alarm) == {
        "requests": stage,
        "throttled": {"error_type": "THROTTLED"},
        "quota": {"error_type": "QUOTA_EXCEEDED"},
    }
    threshold = alarm.inputs["threshold"]
    value = functools.partial(alarm_value, alarm, throttled=None, quota=None)
    assert value(requests=6000, throttled=120) > threshold  # 2%
    assert value(requests=6000, throttled=30) <= threshold  # a burst: 0.5%
    assert value(requests=6000, quota=3) > threshold  # a small provider's quota spent
    assert value(requests=6000) <= threshold
    assert value(requests=None) <= threshold
    assert (alarm.inputs["datapointsToAlarm"], alarm.inputs["evaluationPeriods"]) == (3, 5)


def test_alarm_topic_is_encrypted_and_both_topics_email(
    obs: LayerRun, upstream: dict[str, dict]
) -> None:
    topic = obs.one("aws:sns/topic:Topic")
    # Its own key: a disabled data key must not silence the alarms about it (ADR 0009).
    assert topic.inputs["kmsMasterKeyId"] == upstream["security"]["alarms_key_arn"]
    assert topic.inputs["name"] == "txn-dev-alarms"
    subscriptions = {
        s.inputs["topic"]: s for s in obs.of_type("aws:sns/topicSubscription:TopicSubscription")
    }
    assert set(subscriptions) == {topic.outputs["arn"], upstream["data"]["fraud_alerts_topic_arn"]}
    for subscription in subscriptions.values():
        assert subscription.inputs["protocol"] == "email"
        assert subscription.inputs["endpoint"] == "payments-oncall-dev@example.com"


def test_waf_blocking_a_share_of_the_requests_alarms(obs: LayerRun) -> None:
    alarm = alarms(obs)["waf-blocked-share"]
    queries = {q["id"]: q for q in alarm.inputs["metricQueries"]}
    acl = {"WebACL": "txn-dev-waf", "Rule": "ALL", "Region": "us-east-2"}
    for query, metric in (("blocked", "BlockedRequests"), ("allowed", "AllowedRequests")):
        stat = queries[query]["metric"]
        assert (stat["namespace"], stat["metricName"], stat["stat"]) == ("AWS/WAFV2", metric, "Sum")
        assert stat["dimensions"] == acl
    # the share of blocked requests, judged only from 100 requests a minute
    (value,) = [q for q in queries.values() if q.get("returnData")]
    assert value["expression"] == (
        "IF(FILL(allowed, 0) + FILL(blocked, 0) >= 100, "
        "100 * FILL(blocked, 0) / (FILL(allowed, 0) + FILL(blocked, 0)), 0)"
    )
    assert (alarm.inputs["threshold"], alarm.inputs["comparisonOperator"]) == (
        5.0,
        "GreaterThanThreshold",
    )
    assert alarm.inputs["treatMissingData"] == "notBreaching"


def test_waf_not_inspecting_reads_the_stages_requests_and_the_web_acls_totals(
    obs: LayerRun, upstream: dict[str, dict]
) -> None:
    alarm = alarms(obs)["waf-not-inspecting"]
    assert queried_metrics(alarm) == {
        "requests": ("AWS/ApiGateway", "Count", "SampleCount"),  # the statistic AWS documents
        "allowed": ("AWS/WAFV2", "AllowedRequests", "Sum"),
        "blocked": ("AWS/WAFV2", "BlockedRequests", "Sum"),
    }
    stage = {"ApiName": "txn-dev-transactions-api", "Stage": upstream["edge"]["stage_name"]}
    acl = {"WebACL": "txn-dev-waf", "Rule": "ALL", "Region": "us-east-2"}
    assert queried_dimensions(alarm) == {"requests": stage, "allowed": acl, "blocked": acl}


def test_requests_the_web_acl_never_saw_alarm_and_missing_waf_metrics_count_as_zero(
    obs: LayerRun,
) -> None:
    """GIVEN WAF publishes a metric only when it is not zero WHEN the web ACL is no longer in
    front of the stage (no WAF datapoint at all) THEN the stage's busy minutes breach; while it
    inspects, or below 100 requests a minute, the alarm stays quiet."""
    alarm = alarms(obs)["waf-not-inspecting"]
    queries = {q["id"]: q for q in alarm.inputs["metricQueries"]}
    # on the stage's own series: metric math counts a missing value as 0 in arithmetic, so the
    # condition holds even if FILL returns nothing for a metric with no datapoint at all
    assert queries["uninspected"]["expression"] == (
        "IF(FILL(requests, 0) >= 100 AND "
        "requests - FILL(allowed, 0) - FILL(blocked, 0) >= requests, requests, 0)"
    )
    threshold = alarm.inputs["threshold"]
    assert alarm_value(alarm, requests=2400, allowed=None, blocked=None) > threshold
    assert alarm_value(alarm, requests=2400, allowed=2390, blocked=10) <= threshold
    assert alarm_value(alarm, requests=2400, allowed=None, blocked=2400) <= threshold
    assert alarm_value(alarm, requests=99, allowed=None, blocked=None) <= threshold  # quiet
    assert alarm_value(alarm, requests=None, allowed=None, blocked=None) <= threshold
    assert (alarm.inputs["threshold"], alarm.inputs["comparisonOperator"]) == (
        0,
        "GreaterThanThreshold",
    )
    # a late WAF minute reads as 0 too: one minute alone does not page
    assert (alarm.inputs["datapointsToAlarm"], alarm.inputs["evaluationPeriods"]) == (3, 5)


def test_access_log_silent_reads_the_stages_requests_and_its_log_groups_events(
    obs: LayerRun, upstream: dict[str, dict]
) -> None:
    alarm = alarms(obs)["api-access-log-silent"]
    assert queried_metrics(alarm) == {
        "requests": ("AWS/ApiGateway", "Count", "SampleCount"),
        "events": ("AWS/Logs", "IncomingLogEvents", "Sum"),
    }
    stage = {"ApiName": "txn-dev-transactions-api", "Stage": upstream["edge"]["stage_name"]}
    # the group edge gives the stage's access log settings, read from edge's outputs
    group = {"LogGroupName": upstream["edge"]["access_log_group_name"]}
    assert queried_dimensions(alarm) == {"requests": stage, "events": group}
    assert upstream["edge"]["access_log_group_name"] == "/txn/dev/api-access"


def test_an_access_log_that_receives_nothing_while_the_api_serves_alarms(obs: LayerRun) -> None:
    """GIVEN the stage served at least 100 requests in a minute WHEN its access log group
    received no event THEN the minute breaches; three such minutes of five page, so events
    that arrive a minute late after a burst do not."""
    alarm = alarms(obs)["api-access-log-silent"]
    (value,) = [q for q in alarm.inputs["metricQueries"] if q.get("returnData")]
    assert value["expression"] == (
        "IF(FILL(requests, 0) >= 100 AND requests - FILL(events, 0) >= requests, requests, 0)"
    )
    threshold = alarm.inputs["threshold"]
    assert alarm_value(alarm, requests=2400, events=None) > threshold
    assert alarm_value(alarm, requests=2400, events=2400) <= threshold
    assert alarm_value(alarm, requests=60, events=None) <= threshold  # a quiet minute
    assert alarm_value(alarm, requests=None, events=None) <= threshold
    assert (alarm.inputs["threshold"], alarm.inputs["comparisonOperator"]) == (
        0,
        "GreaterThanThreshold",
    )
    assert (alarm.inputs["datapointsToAlarm"], alarm.inputs["evaluationPeriods"]) == (3, 5)


def test_a_flow_log_that_receives_nothing_for_15_minutes_while_the_api_serves_alarms(
    obs: LayerRun,
) -> None:
    """GIVEN the stage served at least 100 requests a minute WHEN the VPC's flow log group
    received no event in a 5-minute window THEN the window breaches; only three in a row page,
    since flow logs arrive in batches minutes apart."""
    alarm = alarms(obs)["vpc-flow-logs-silent"]
    assert queried_metrics(alarm) == {
        "requests": ("AWS/ApiGateway", "Count", "SampleCount"),
        "events": ("AWS/Logs", "IncomingLogEvents", "Sum"),
    }
    group = obs.one("aws:cloudwatch/logGroup:LogGroup", "flow-logs")
    assert queried_dimensions(alarm)["events"] == {"LogGroupName": group.inputs["name"]}
    periods = {q["metric"]["period"] for q in alarm.inputs["metricQueries"] if q.get("metric")}
    assert periods == {300}
    threshold = alarm.inputs["threshold"]
    assert alarm_value(alarm, requests=30_000, events=None) > threshold
    assert alarm_value(alarm, requests=30_000, events=12) <= threshold
    assert alarm_value(alarm, requests=400, events=None) <= threshold  # under 100 a minute
    assert alarm_value(alarm, requests=None, events=None) <= threshold
    assert (alarm.inputs["datapointsToAlarm"], alarm.inputs["evaluationPeriods"]) == (3, 3)


def test_a_card_number_found_in_any_masked_log_pages_on_call(obs: LayerRun) -> None:
    """PCI DSS 12.10.7: stored PAN where it is not expected starts the incident procedure. The
    data protection policies mask it, so an alarm must say it: any log event with a finding."""
    alarm = alarms(obs)["card-data-in-logs"]
    (query,) = alarm.inputs["metricQueries"]
    # a Metrics Insights query over the namespace: the metric whatever its dimensions
    assert query["expression"] == 'SELECT SUM(LogEventsWithFindings) FROM "AWS/Logs"'
    assert query["returnData"] is True
    assert query["period"] == 300
    assert (alarm.inputs["threshold"], alarm.inputs["comparisonOperator"]) == (
        0,
        "GreaterThanThreshold",
    )
    assert (alarm.inputs["datapointsToAlarm"], alarm.inputs["evaluationPeriods"]) == (1, 1)
    assert alarm.inputs["treatMissingData"] == "notBreaching"  # no finding, no datapoint


@pytest.mark.parametrize(
    "key",
    [
        "waf-not-inspecting",
        "api-access-log-silent",
        "vpc-flow-logs-silent",
        "card-data-in-logs",
        "api-key-not-permitted",
    ],
)
def test_a_failed_security_control_pages_on_call_and_back_with_its_runbook(
    obs: LayerRun, key: str
) -> None:
    """PCI DSS 10.7.2: a critical security control that stops is detected and alerted; each
    alarm's runbook section is named like the alarm."""
    topic = obs.one("aws:sns/topic:Topic").outputs["arn"]
    alarm = alarms(obs)[key]
    assert alarm.inputs["alarmActions"] == [topic]
    assert alarm.inputs["okActions"] == [topic]
    assert alarm.inputs["alarmDescription"].endswith(f"Runbook: docs/runbooks.md#{key}")
    assert key in runbook_anchors()


def test_only_this_environments_alarms_may_publish_to_the_alarm_topic(obs: LayerRun) -> None:
    topic = obs.one("aws:sns/topic:Topic").outputs["arn"]
    (policy,) = obs.of_type("aws:sns/topicPolicy:TopicPolicy")
    assert policy.inputs["arn"] == topic
    sids = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    # CloudWatch's, EventBridge's (test_control_changes) and the TLS deny: nobody else's
    assert set(sids) == {
        "ThisEnvironmentsAlarmsPublish",
        "EventBridgeRulesOfThisAccountPublish",
        "DenyInsecureTransport",
    }
    allow, deny = sids["ThisEnvironmentsAlarmsPublish"], sids["DenyInsecureTransport"]
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert (allow["Effect"], allow["Action"], allow["Resource"]) == ("Allow", "sns:Publish", topic)
    # the alarms the topic's key admits too (test_security): no other environment's or account's
    assert allow["Condition"] == {
        "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:us-east-2:{ACCOUNT_ID}:alarm:txn-dev-*"},
        "StringEquals": {"aws:SourceAccount": ACCOUNT_ID},
    }
    assert all(fnmatch(a.inputs["name"], "txn-dev-*") for a in alarms(obs).values())
    assert (deny["Effect"], deny["Condition"]) == (
        "Deny",
        {"Bool": {"aws:SecureTransport": "false"}},
    )


def test_only_high_severity_fraud_alerts_are_emailed(
    obs: LayerRun, upstream: dict[str, dict]
) -> None:
    (email,) = [
        s
        for s in obs.of_type("aws:sns/topicSubscription:TopicSubscription")
        if s.inputs["topic"] == upstream["data"]["fraud_alerts_topic_arn"]
    ]
    assert email.inputs["filterPolicyScope"] == "MessageAttributes"
    assert json.loads(email.inputs["filterPolicy"]) == {
        shapes.ALERT_SEVERITY_ATTRIBUTE: [shapes.ALERT_SEVERITY_HIGH]
    }
    (alarms_email,) = [
        s for s in obs.of_type("aws:sns/topicSubscription:TopicSubscription") if s is not email
    ]
    assert "filterPolicy" not in alarms_email.inputs  # every alarm reaches on-call


def test_api_stage_sampling_rule_takes_its_rate_from_config(
    obs: LayerRun, prod_system: dict[str, LayerRun], upstream: dict[str, dict]
) -> None:
    rule = obs.one("aws:xray/samplingRule:SamplingRule")
    assert rule.inputs["fixedRate"] == 0.05  # the default
    assert rule.inputs["reservoirSize"] == 1
    assert rule.inputs["serviceType"] == "AWS::ApiGateway::Stage"
    assert rule.inputs["serviceName"] == (
        f"txn-dev-{shapes.API_COMPONENT}/{upstream['edge']['stage_name']}"
    )
    assert rule.inputs["priority"] < 10_000  # evaluated before the Default rule
    assert len(rule.inputs["ruleName"]) <= 32
    prod = prod_system["observability"].one("aws:xray/samplingRule:SamplingRule")
    assert prod.inputs["fixedRate"] == 0.001  # Pulumi.prod.yaml


def test_prod_sends_fraud_alerts_to_the_fraud_team(prod_system: dict[str, LayerRun]) -> None:
    run = prod_system["observability"]
    endpoints = {
        s.inputs["endpoint"] for s in run.of_type("aws:sns/topicSubscription:TopicSubscription")
    }
    assert endpoints == {"payments-oncall@example.com", "fraud-operations@example.com"}


def test_dashboard_shows_every_required_metric(obs: LayerRun, upstream: dict[str, dict]) -> None:
    body = json.loads(obs.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])
    lines = [
        tuple(m[:-1])
        for w in body["widgets"]
        if w["type"] == "metric"
        for m in w["properties"]["metrics"]
    ]
    stats = {
        (m[1], m[-2] if len(m) > 3 else None, s)
        for w in body["widgets"]
        if w["type"] == "metric"
        for m in w["properties"]["metrics"]
        for s in [m[-1].get("stat")]
    }
    for shape in shapes.FUNCTIONS:
        fn = upstream["compute"][f"{shape.package}_function_name"]
        for metric in ("Invocations", "Errors", "Throttles", "ConcurrentExecutions"):
            assert ("AWS/Lambda", metric, "FunctionName", fn) in lines
        assert ("Duration", fn, "p50") in stats
        assert ("Duration", fn, "p99") in stats
    api = ("ApiName", "txn-dev-transactions-api", "Stage", "v1")
    for metric in ("Count", "4XXError", "5XXError", "Latency"):
        assert ("AWS/ApiGateway", metric, *api) in lines
    assert ("Count", "v1", "SampleCount") in stats  # the statistic AWS documents for Count
    # the web ACL's totals, by the name the edge layer gives it (test_edge holds that name)
    waf = ("WebACL", "txn-dev-waf", "Rule", "ALL", "Region", "us-east-2")
    for metric in ("AllowedRequests", "BlockedRequests"):
        assert ("AWS/WAFV2", metric, *waf) in lines
    queue = upstream["data"]["transactions_queue_name"]
    for metric in ("ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"):
        assert ("AWS/SQS", metric, "QueueName", queue) in lines
    # accepted = what the validator queued (it writes no metric line for them); refused = its own
    assert ("AWS/SQS", "NumberOfMessagesSent", "QueueName", queue) in lines
    validator = upstream["compute"]["validator_function_name"]
    for metric in (shapes.REJECTED_TRANSACTIONS_METRIC, shapes.REJECTED_REPORTS_METRIC):
        assert (shapes.METRICS_NAMESPACE, metric, "service", validator) in lines
    fraud = upstream["compute"]["fraud_detector_function_name"]
    assert (shapes.METRICS_NAMESPACE, shapes.FLAGGED_TRANSACTIONS_METRIC, "service", fraud) in lines
    for key in ("transactions_dlq_name", "parking_queue_name"):
        assert (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "QueueName",
            upstream["data"][key],
        ) in lines
    for table in shapes.TABLES:
        name = upstream["data"][f"{table.component}_table_name"]
        for dims in [("TableName", name)] + [
            ("TableName", name, "GlobalSecondaryIndexName", index.name) for index in table.indexes
        ]:
            for metric in ("ReadThrottleEvents", "WriteThrottleEvents"):
                assert ("AWS/DynamoDB", metric, *dims) in lines
    # every table is on-demand: no provisioned capacity to graph
    assert not [line for line in lines if line[1].startswith("Provisioned")]
    (alarm_widget,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    assert set(alarm_widget["properties"]["alarms"]) == {
        a.outputs["arn"] for a in obs.of_type(ALARM)
    }


def test_the_dashboard_draws_the_shared_widget_list(obs: LayerRun) -> None:
    # txn_spec.dashboard is the one list: the local runtime's /_dashboard page draws it too.
    body = json.loads(obs.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])
    titles = [w["properties"]["title"] for w in body["widgets"] if w["type"] == "metric"]
    expected = [
        w.title.format(function=f)
        for w in WIDGETS
        for f in ([s.component for s in shapes.FUNCTIONS] if "{function}" in w.title else [None])
    ]
    assert sorted(titles) == sorted(expected)


def test_flow_logs_capture_all_traffic_to_an_encrypted_group(
    obs: LayerRun, upstream: dict[str, dict]
) -> None:
    flow = obs.one("aws:ec2/flowLog:FlowLog")
    group = obs.one("aws:cloudwatch/logGroup:LogGroup", "flow")
    assert flow.inputs["vpcId"] == upstream["network"]["vpc_id"]
    assert flow.inputs["trafficType"] == "ALL"
    assert flow.inputs["iamRoleArn"] == upstream["security"]["flow_logs_role_arn"]
    assert flow.inputs["logDestination"] == group.outputs["arn"]
    assert group.inputs["kmsKeyId"] == upstream["security"]["logs_key_arn"]
    assert group.inputs["retentionInDays"] >= 365
    assert group.inputs["deletionProtectionEnabled"] is False  # dev; prod below


def test_prod_refuses_to_delete_the_flow_log_group(prod_system: dict[str, LayerRun]) -> None:
    group = prod_system["observability"].one("aws:cloudwatch/logGroup:LogGroup", "flow")
    assert group.inputs["deletionProtectionEnabled"] is True


def test_slos_use_the_aws_native_provider_in_the_stack_region(obs: LayerRun) -> None:
    (provider,) = obs.of_type("pulumi:providers:aws-native")
    assert provider.inputs["region"] == "us-east-2"
    assert json.loads(provider.inputs["defaultTags"])["tags"]["Layer"] == "observability"
    slos = {s.inputs["name"]: s for s in obs.of_type(SLO)}
    assert set(slos) == {"txn-dev-api-availability", "txn-dev-api-latency"}
    for slo in slos.values():
        assert slo.provider.endswith(f"::{provider.id}")
    availability = slos["txn-dev-api-availability"].inputs
    assert availability["goal"]["attainmentGoal"] == 99.9
    metric = availability["requestBasedSli"]["requestBasedSliMetric"]
    assert (
        metric["monitoredRequestCountMetric"]["badCountMetric"][0]["metricStat"]["metric"][
            "metricName"
        ]
        == "5XXError"
    )
    latency = slos["txn-dev-api-latency"].inputs["sli"]
    assert (latency["metricThreshold"], latency["comparisonOperator"]) == (
        1000,
        "LessThanOrEqualTo",
    )
    # every query reads POST /transaction's own metrics, not the stage's (which count
    # POST /fraud-reports too); Count by SampleCount, the statistic AWS documents for it
    (total,) = metric["totalRequestCountMetric"]
    (bad,) = metric["monitoredRequestCountMetric"]["badCountMetric"]
    (p99,) = latency["sliMetric"]["metricDataQueries"]
    route = {
        "ApiName": "txn-dev-transactions-api",
        "Method": "POST",
        "Resource": "/transaction",
        "Stage": "v1",
    }
    for query in (total, bad, p99):
        dimensions = query["metricStat"]["metric"]["dimensions"]
        assert {d["name"]: d["value"] for d in dimensions} == route
    stats = [q["metricStat"]["stat"] for q in (total, bad, p99)]
    assert stats == ["SampleCount", "Sum", "p99"]
    assert "POST /transaction" in slos["txn-dev-api-latency"].inputs["description"]


def test_exports_the_dashboard_url_and_re_exports_the_api_url(
    obs: LayerRun, upstream: dict[str, dict]
) -> None:
    assert obs.exports["dashboard_url"] == (
        "https://us-east-2.console.aws.amazon.com/cloudwatch/home?region=us-east-2"
        "#dashboards:name=txn-dev-operations"
    )
    assert obs.exports["transaction_endpoint_url"] == upstream["edge"]["transaction_endpoint_url"]
    assert set(obs.exports) == contract.OBSERVABILITY.outputs
