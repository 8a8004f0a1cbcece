"""Every alarm of the platform, each pointing to its runbook section."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from txn_infra.components.observability.watched import PERIOD, Watched, runbook_link
from txn_spec import api_responses, shapes

NS = shapes.METRICS_NAMESPACE
# The functions fed by a queue, which report failed records instead of raising.
QUEUE_CONSUMERS = frozenset(source.function.component for source in shapes.EVENT_SOURCES)
# WAF: the share of requests it blocks above which on-call is told, and the traffic a minute
# below which the share is not judged (a scanner's few requests at night are not an incident),
# nor whether WAF inspected the requests and the access log received them.
WAF_BLOCKED_PERCENT = 5.0
WAF_MIN_REQUESTS = 100
# The share of the requests received that were throttled 429 (a key's usage plan, the stage's or
# the account's throttle) above which on-call is told: a burst's few are the token bucket at
# work. A daily quota spent pages whatever the share.
THROTTLED_PERCENT = 1.0
# Flow logs arrive in batches minutes apart: their silence is judged in 5-minute windows.
FLOW_LOGS_PERIOD = 300
# What CloudWatch Logs data protection counts: log events in which it found sensitive data;
# any one pages, within a 5-minute window.
CARD_FINDINGS_QUERY = 'SELECT SUM(LogEventsWithFindings) FROM "AWS/Logs"'  # Metrics Insights
FINDINGS_PERIOD = 300


@dataclass(frozen=True)
class AlarmsArgs:
    name_prefix: str
    watched: Watched
    topic_arn: pulumi.Input[str]
    error_rate_threshold_percent: float
    queue_age_threshold_seconds: int


def _metric(
    id_: str,
    namespace: str,
    metric: str,
    dimensions: Mapping[str, pulumi.Input[str]],
    stat: str,
    period: int = PERIOD,
) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
    return aws.cloudwatch.MetricAlarmMetricQueryArgs(
        id=id_,
        return_data=False,
        metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
            namespace=namespace,
            metric_name=metric,
            dimensions=dict(dimensions),
            period=period,
            stat=stat,
        ),
    )


def _expression(
    id_: str, expression: str, label: str | None = None
) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
    """A metric math query; only the one labelled is the alarm's value."""
    return aws.cloudwatch.MetricAlarmMetricQueryArgs(
        id=id_, expression=expression, label=label, return_data=label is not None
    )


class ServiceAlarms(pulumi.ComponentResource):
    """Every alarm of the platform; each one's description names its runbook section."""

    def __init__(self, name: str, args: AlarmsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("txn:observability:ServiceAlarms", name, None, opts)
        self._name = name
        self._args = args
        self.alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}
        w = args.watched
        for component, function_name in w.function_names.items():
            self._error_rate(component, function_name)
            self._alarm(
                f"{component}-throttles",
                f"{component} invocations are throttled (concurrency exhausted)",
                "function-throttles",
                namespace="AWS/Lambda",
                metric_name="Throttles",
                dimensions={"FunctionName": function_name},
                statistic="Sum",
                threshold=0,
                evaluation_periods=3,
                datapoints_to_alarm=2,
            )
        for label, queue in w.dead_letter_queue_names.items():
            # The DLQ has a consumer (failed-transactions) that takes a message within seconds,
            # so the once-a-minute count of visible messages rarely sees one: a message received
            # from it counts too. The parking queue has none: its messages stay visible.
            dims = {"QueueName": queue}
            self._alarm(
                f"{label}-messages",
                f"Messages reached {label}: transactions or fraud reports that could not be "
                "processed",
                "messages-in-a-dead-letter-queue",
                metric_queries=[
                    _metric(
                        "visible", "AWS/SQS", "ApproximateNumberOfMessagesVisible", dims, "Maximum"
                    ),
                    _metric("received", "AWS/SQS", "NumberOfMessagesReceived", dims, "Sum"),
                    _expression(
                        "arrived", "MAX([FILL(visible, 0), FILL(received, 0)])", "Messages"
                    ),
                ],
                threshold=0,
                # FILL makes a late minute 0 (AWS's metric math guide: "a M out of N alarm"
                # avoids an alarm stuck in OK); any one of the last three minutes alarms.
                evaluation_periods=3,
                datapoints_to_alarm=1,
            )
        # A message that fails stays the oldest until its third receive (SQS then leaves it out
        # of this metric), about two visibility timeouts: judged alone, one poison message
        # would page. A queue that is not drained has messages waiting to be received. No FILL:
        # the event source polls the queue, so its metrics come every minute, and a late one is
        # left out rather than read as 0; 3 of 4 tolerates one more.
        queue = {"QueueName": w.queue_name}
        self._alarm(
            "queue-age",
            f"The oldest transaction waits more than {args.queue_age_threshold_seconds}s",
            "transactions-queue-age",
            metric_queries=[
                _metric("age", "AWS/SQS", "ApproximateAgeOfOldestMessage", queue, "Maximum"),
                _metric(
                    "waiting", "AWS/SQS", "ApproximateNumberOfMessagesVisible", queue, "Maximum"
                ),
                _expression("age_waiting", "IF(waiting > 0, age, 0)", "Oldest waiting (s)"),
            ],
            threshold=args.queue_age_threshold_seconds,
            evaluation_periods=4,
            datapoints_to_alarm=3,
        )
        # 5XXError is 1 for a failed request and 0 otherwise: its Average is the 5XX rate. The
        # stage's: both routes, since a failing validator fails them both.
        self._alarm(
            "api-5xx",
            f"More than {args.error_rate_threshold_percent}% of the API's requests "
            "(POST /transaction, POST /fraud-reports) end in 5XX",
            "api-5xx-responses",
            namespace="AWS/ApiGateway",
            metric_name="5XXError",
            dimensions=w.api_dimensions,
            statistic="Average",
            threshold=args.error_rate_threshold_percent / 100,
            evaluation_periods=5,
            datapoints_to_alarm=3,
        )
        self._waf_blocked_share()
        self._waf_not_inspecting()
        self._access_log_silent()
        self._flow_logs_silent()
        self._card_data_in_logs()
        self._key_not_permitted()
        self._key_throttled()
        for component, table in w.table_names.items():
            # The TableName dimension alone leaves out the indexes' throttles, and an index that
            # throttles (above its warm throughput) throttles its table's writes too.
            sources = [("", {"TableName": table})] + [
                (f"index{n}_", {"TableName": table, "GlobalSecondaryIndexName": index})
                for n, index in enumerate(w.table_indexes.get(component, ()))
            ]
            queries = [
                _metric(f"{prefix}{kind}", "AWS/DynamoDB", metric, dims, "Sum")
                for prefix, dims in sources
                for kind, metric in (
                    ("reads", "ReadThrottleEvents"),
                    ("writes", "WriteThrottleEvents"),
                )
            ]
            # Throttle events are published only when there are some: each series is filled
            # with 0, so one throttled series is a sum on its own, and once throttling stops the
            # sum is 0 and the alarm returns to OK (alarms on AWS/DynamoDB metrics ignore
            # treat_missing_data and would keep their state).
            total = " + ".join(f"FILL({q.id}, 0)" for q in queries)
            self._alarm(
                f"{component}-table-throttles",
                f"DynamoDB throttles requests to the {component} table or its indexes",
                "dynamodb-throttles",
                metric_queries=[*queries, _expression("throttles", total, "Throttle events")],
                threshold=0,
                evaluation_periods=3,
                datapoints_to_alarm=2,
            )
        self._alarm(
            "failed-transactions",
            "Transactions were recorded as FAILED after exhausting their retries",
            "failed-transactions",
            namespace=NS,
            metric_name=shapes.FAILED_TRANSACTIONS_METRIC,
            dimensions={"service": w.function_names[shapes.FAILED_TRANSACTIONS.component]},
            statistic="Sum",
            threshold=0,
            evaluation_periods=1,
        )
        self.register_outputs({"alarm_arns": [a.arn for a in self.alarms.values()]})

    def _waf_blocked_share(self) -> None:
        """WAF blocking a share of the requests: an outage seen from the client (a provider's
        release without a User-Agent, a managed rule that misfires) answers 403 to every payment,
        which neither the 5XX alarm nor the functions see; or an attack WAF is holding off."""
        acl = self._args.watched.web_acl_dimensions
        total = "FILL(allowed, 0) + FILL(blocked, 0)"
        share = f"IF({total} >= {WAF_MIN_REQUESTS}, 100 * FILL(blocked, 0) / ({total}), 0)"
        self._alarm(
            "waf-blocked-share",
            f"WAF blocks more than {WAF_BLOCKED_PERCENT:g}% of the API's requests",
            "waf-blocked-requests",
            metric_queries=[
                _metric("blocked", "AWS/WAFV2", "BlockedRequests", acl, "Sum"),
                _metric("allowed", "AWS/WAFV2", "AllowedRequests", acl, "Sum"),
                _expression("share", share, "Blocked (%)"),
            ],
            threshold=WAF_BLOCKED_PERCENT,
            evaluation_periods=5,
            datapoints_to_alarm=3,
        )

    def _served(self, period: int = PERIOD) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
        """The requests the stage served, ``requests``: API Gateway documents ``SampleCount`` as
        the statistic of ``Count``."""
        w = self._args.watched
        dims = w.api_dimensions
        return _metric("requests", "AWS/ApiGateway", "Count", dims, "SampleCount", period)

    def _waf_not_inspecting(self) -> None:
        """The stage serving requests the web ACL never saw (PCI DSS 6.4.2, 10.7.2): its
        association was removed, or its metrics turned off. In front of the stage, WAF allows or
        blocks every request (a rule's Count does not end the evaluation, so CountedRequests adds
        nothing), so a busy minute in which it allowed and blocked nothing was not inspected.
        WAF publishes a metric only when it is not zero: a web ACL that inspects nothing has no
        datapoints at all (which the blocked share reads as 0% blocked, OK). The condition is
        arithmetic on the stage's own series, in which metric math counts a missing value as 0,
        so it holds whether FILL fills a series that returned nothing or not. A WAF minute that
        comes late reads as 0 too, so one minute alone does not page: 3 of 5."""
        acl = self._args.watched.web_acl_dimensions
        seen = "requests - FILL(allowed, 0) - FILL(blocked, 0) >= requests"  # allowed+blocked 0
        uninspected = f"IF(FILL(requests, 0) >= {WAF_MIN_REQUESTS} AND {seen}, requests, 0)"
        self._alarm(
            "waf-not-inspecting",
            f"WAF inspected none of the {WAF_MIN_REQUESTS} or more requests a minute the API "
            "served (web ACL not in front of the stage)",
            "waf-not-inspecting",
            metric_queries=[
                self._served(),
                _metric("allowed", "AWS/WAFV2", "AllowedRequests", acl, "Sum"),
                _metric("blocked", "AWS/WAFV2", "BlockedRequests", acl, "Sum"),
                _expression("uninspected", uninspected, "Served, not inspected by WAF"),
            ],
            threshold=0,
            evaluation_periods=5,
            datapoints_to_alarm=3,
        )

    def _access_log_silent(self) -> None:
        """The API's access log, the audit trail of every request (PCI DSS 10.2, 10.7.2),
        receiving nothing while the stage serves: the stage's access log settings removed, the
        log group deleted, its key disabled, or the account's API Gateway CloudWatch role reset.
        CloudWatch Logs counts an event when it is uploaded, not when its request was served, so
        a burst's lines can land in the next minute: one busy minute without events is no
        outage. Three of the last five is more than that delay explains; under steady traffic a
        log that stopped breaches every minute and pages within three."""
        self._log_silent(
            "api-access-log-silent",
            "The API's access log received no event while the API served "
            f"{WAF_MIN_REQUESTS} or more requests a minute",
            self._args.watched.access_log_group_name,
            "Served, not in the access log",
            PERIOD,
            (5, 3),
        )

    def _flow_logs_silent(self) -> None:
        """The VPC's flow log, the network's audit trail (PCI DSS 10.2, 10.7.2), receiving nothing
        while the functions serve the API (every request crosses the VPC to its endpoints): the
        flow log deleted, its role or the logs key broken. Flow logs reach CloudWatch Logs in
        batches minutes apart, so it is judged in 5-minute windows, and only the three windows of
        the last 15 minutes all silent page."""
        self._log_silent(
            "vpc-flow-logs-silent",
            "The VPC's flow log received no event for 15 minutes while the API served "
            f"{WAF_MIN_REQUESTS} or more requests a minute",
            self._args.watched.flow_log_group_name,
            "Served, no flow log",
            FLOW_LOGS_PERIOD,
            (3, 3),
        )

    def _log_silent(
        self,
        key: str,
        what: str,
        group_name: pulumi.Input[str],
        label: str,
        period: int,
        of: tuple[int, int],
    ) -> None:
        """``key`` alarms when the stage served WAF_MIN_REQUESTS a minute while ``group_name``
        received no event, in ``of`` = (periods evaluated, breaching ones that page). As in
        _waf_not_inspecting, judged on the stage's own series: events 0 or missing alike."""
        busy = WAF_MIN_REQUESTS * period // PERIOD
        none = "requests - FILL(events, 0) >= requests"
        group = {"LogGroupName": group_name}
        self._alarm(
            key,
            what,
            key,
            metric_queries=[
                self._served(period),
                _metric("events", "AWS/Logs", "IncomingLogEvents", group, "Sum", period),
                _expression(
                    "unlogged", f"IF(FILL(requests, 0) >= {busy} AND {none}, requests, 0)", label
                ),
            ],
            threshold=0,
            evaluation_periods=of[0],
            datapoints_to_alarm=of[1],
        )

    def _card_data_in_logs(self) -> None:
        """A card number (or expiry, or security code) written to a log (PCI DSS 12.10.7: stored
        PAN where it is not expected starts the incident procedure). Every log group that may see
        card data has a data protection policy (components/masking.py) that masks it and counts
        each log event with a finding as ``AWS/Logs`` ``LogEventsWithFindings``. Masking hides it
        from the people who would notice, so this alarm says it. A Metrics Insights query over
        the namespace takes the metric whatever dimension set it is published with (the policy's
        name and the log group among them); it counts every data protection policy's findings
        in the account and region: this platform's are card data, another team's policy would
        page too, and with dev and prod in one account both stacks page for either."""
        self._alarm(
            "card-data-in-logs",
            "A data protection policy found sensitive data in a log group of this account and "
            "region (this platform's: a card number, expiry or security code; masked)",
            "card-data-in-logs",
            metric_queries=[
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="findings",
                    expression=CARD_FINDINGS_QUERY,
                    period=FINDINGS_PERIOD,
                    label="Log events with card data",
                    return_data=True,
                )
            ],
            threshold=0,
            evaluation_periods=1,
        )

    def _key_not_permitted(self) -> None:
        """An API key used for a merchant that does not name it (ADR 0024): a transaction refused
        ``merchant_not_permitted``, or a fraud report not counted. A provider's key probing
        other merchants is a leaked or misused credential; a merchant onboarded without its
        binding refuses every sale. Either is someone's to look at now, so any one pages."""
        names = self._args.watched.function_names
        validator = {
            "service": names[shapes.VALIDATOR.component],
            "code": shapes.KEY_NOT_PERMITTED_CODE,
        }
        detector = {
            "service": names[shapes.FRAUD_DETECTOR.component],
            "outcome": shapes.KEY_NOT_PERMITTED_OUTCOME,
        }
        self._alarm(
            "api-key-not-permitted",
            "An API key acted for a merchant that does not name it",
            "api-key-not-permitted",
            metric_queries=[
                _metric("sales", NS, shapes.REJECTED_BY_CODE_METRIC, validator, "Sum"),
                _metric("reports", NS, shapes.REPORTS_BY_OUTCOME_METRIC, detector, "Sum"),
                _expression("refused", "FILL(sales, 0) + FILL(reports, 0)", "Refused for the key"),
            ],
            threshold=0,
            evaluation_periods=1,
        )

    def _key_throttled(self) -> None:
        """Requests refused 429 (ADR 0025), counted from the access log by error type: throttled
        by a key's usage plan, the stage or the account (a runaway retry loop, a leaked key, or
        a plan too small for its sales: that provider's payments are refused either way), or
        over a key's daily quota, which refuses every request of that key until 00:00 UTC. A
        burst's few throttled requests are the token bucket at work; more than
        THROTTLED_PERCENT of the requests received, in 3 of 5 minutes, is not. A quota spent
        pages however small its provider's share (the value is then 100). The counts come only
        when there are some: filled with 0, as is a minute without requests."""
        metric = self._args.watched.throttled_metric_name
        by_type = {
            query: {shapes.ERROR_TYPE_DIMENSION: response.response_type}
            for query, response in (
                ("throttled", api_responses.THROTTLED),
                ("quota", api_responses.QUOTA_EXCEEDED),
            )
        }
        share = "IF(FILL(requests, 0) > 0, 100 * FILL(throttled, 0) / FILL(requests, 1), 0)"
        self._alarm(
            "api-key-throttled",
            f"More than {THROTTLED_PERCENT:g}% of the API's requests are throttled 429 (a key's "
            "usage plan, the stage or the account), or a key's daily quota is spent",
            "api-key-throttled",
            metric_queries=[
                self._served(),
                *(_metric(query, NS, metric, dims, "Sum") for query, dims in by_type.items()),
                _expression("share", share),
                _expression("refused", "IF(FILL(quota, 0) > 0, 100, share)", "Refused 429 (%)"),
            ],
            threshold=THROTTLED_PERCENT,
            evaluation_periods=5,
            datapoints_to_alarm=3,
        )

    def _error_rate(self, component: str, function_name: pulumi.Input[str]) -> None:
        dims = {"FunctionName": function_name}
        threshold = self._args.error_rate_threshold_percent
        queries = [
            _metric("errors", "AWS/Lambda", "Errors", dims, "Sum"),
            _metric("invocations", "AWS/Lambda", "Invocations", dims, "Sum"),
        ]
        rate, fail = "IF(invocations > 0, 100 * errors / invocations, 0)", "invocations"
        if component in QUEUE_CONSUMERS:
            # A queue consumer reports a failed record to SQS instead of raising, so Errors
            # never counts it: the rate is the larger of failed invocations and failed records.
            service = {"service": function_name}
            queries += [
                _metric("failed", NS, shapes.RECORDS_FAILED_METRIC, service, "Sum"),
                _metric("processed", NS, shapes.RECORDS_PROCESSED_METRIC, service, "Sum"),
                _expression("invocation_rate", rate),
                _expression("record_rate", "IF(processed > 0, 100 * failed / processed, 0)"),
            ]
            rate, fail = "MAX([invocation_rate, record_rate])", "invocations or records"
        self._alarm(
            f"{component}-error-rate",
            f"More than {threshold}% of {component} {fail} fail",
            "function-error-rate",
            metric_queries=[*queries, _expression("error_rate", rate, "Error rate (%)")],
            threshold=threshold,
            evaluation_periods=5,
            datapoints_to_alarm=3,
        )

    def _alarm(
        self,
        key: str,
        what: str,
        runbook: str,
        *,
        threshold: float,
        evaluation_periods: int,
        datapoints_to_alarm: int | None = None,
        **metric: Any,
    ) -> None:
        args = self._args
        if "metric_queries" not in metric:
            metric["period"] = PERIOD
        self.alarms[key] = aws.cloudwatch.MetricAlarm(
            f"{self._name}-{key}",
            name=f"{args.name_prefix}-{key}",
            alarm_description=f"{what}. {runbook_link(runbook)}",
            comparison_operator="GreaterThanThreshold",
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints_to_alarm or evaluation_periods,
            treat_missing_data="notBreaching",
            alarm_actions=[args.topic_arn],
            ok_actions=[args.topic_arn],
            opts=pulumi.ResourceOptions(parent=self),
            **metric,
        )
