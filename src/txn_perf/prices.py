"""The one price and quota table: AWS list prices and default quotas in us-east-2.

Every figure the capacity and cost model uses comes from here, with the page it was read from.
Prices are US dollars, on-demand, as published on the AWS pricing pages on ``AS_OF``: the first
pricing tier, except where volume tiers move the cost per million at the platform's own volumes
(REST API requests: :data:`TIERS`, priced at the month's volume). Quotas are the default values
of a new account; most are adjustable through Service Quotas. Where a figure could not be checked
against the page offline it says so in ``note``: re-check those before quoting them.
"""

from __future__ import annotations

from dataclasses import dataclass

REGION = "us-east-2"
AS_OF = "2026-11-30"
HOURS_PER_MONTH = 730


@dataclass(frozen=True)
class Price:
    value: float
    unit: str
    source: str
    note: str = ""


@dataclass(frozen=True)
class Quota:
    value: float
    unit: str
    source: str
    adjustable: bool = True
    note: str = ""


# fmt: off
PRICES: dict[str, Price] = {
    # REST APIs, first 333 million a month; the tiers above it are in TIERS
    "apigw_rest_request": Price(3.50 / 1e6, "request", "https://aws.amazon.com/api-gateway/pricing/"),
    "waf_request": Price(0.60 / 1e6, "request", "https://aws.amazon.com/waf/pricing/"),
    "waf_web_acl_month": Price(5.00, "web ACL-month", "https://aws.amazon.com/waf/pricing/"),
    "waf_rule_month": Price(1.00, "rule-month", "https://aws.amazon.com/waf/pricing/",
                            "a managed rule group counts as one rule (no subscription fee for "
                            "the AWS baseline groups used here)"),
    # Arm, first 7.5 billion GB-s a month
    "lambda_request": Price(0.20 / 1e6, "request", "https://aws.amazon.com/lambda/pricing/"),
    "lambda_gb_second_arm64": Price(0.0000133334, "GB-s", "https://aws.amazon.com/lambda/pricing/"),
    "lambda_gb_second_x86_64": Price(0.0000166667, "GB-s", "https://aws.amazon.com/lambda/pricing/"),
    # SnapStart for Python: the snapshot of every active published version is cached (3 hours
    # at least; a version not invoked for 14 days is deactivated), and each restore is charged
    "lambda_snapstart_cache_gb_second": Price(0.0000015046, "GB-s",
                                              "https://aws.amazon.com/lambda/pricing/"),
    "lambda_snapstart_restore_gb": Price(0.0001397998, "GB restored",
                                         "https://aws.amazon.com/lambda/pricing/"),
    # standard queues; every 64 KB chunk is a request
    "sqs_request": Price(0.40 / 1e6, "64 KB request", "https://aws.amazon.com/sqs/pricing/"),
    # after the November 2024 price cut
    "dynamodb_wru": Price(0.625 / 1e6, "write request unit",
                          "https://aws.amazon.com/dynamodb/pricing/on-demand/"),
    "dynamodb_rru": Price(0.125 / 1e6, "read request unit",
                          "https://aws.amazon.com/dynamodb/pricing/on-demand/"),
    "dynamodb_storage_gb_month": Price(0.25, "GB-month",
                                       "https://aws.amazon.com/dynamodb/pricing/on-demand/"),
    "dynamodb_pitr_gb_month": Price(0.20, "GB-month",
                                    "https://aws.amazon.com/dynamodb/pricing/on-demand/"),
    # Pre-warming is charged once, for the units raised above the free default; the model
    # prices it like one hour of as many provisioned WCU ($0.00065 per WCU-hour).
    "dynamodb_warm_wru_once": Price(0.00065, "warm write unit/s raised (once)",
                                    "https://aws.amazon.com/dynamodb/pricing/on-demand/",
                                    "not verified: the pricing page was not in the offline copy "
                                    "(searched 2026-12-06); the DynamoDB guide says only that "
                                    "raising warm throughput is charged"),
    "kms_key_month": Price(1.00, "key-month", "https://aws.amazon.com/kms/pricing/"),
    "kms_request": Price(0.03 / 1e4, "request", "https://aws.amazon.com/kms/pricing/"),
    # Standard log class; vended WAF logs the same $0.50 in the first 10 TB tier
    "logs_ingest_gb": Price(0.50, "GB ingested", "https://aws.amazon.com/cloudwatch/pricing/"),
    # Infrequent Access log class: half the ingestion price; Logs Insights, KMS and retention
    # work, metric and subscription filters, Live Tail and EMF do not
    "logs_ingest_gb_infrequent": Price(0.25, "GB ingested (Infrequent Access class)",
                                       "https://aws.amazon.com/cloudwatch/pricing/"),
    "logs_storage_gb_month": Price(0.03, "GB-month", "https://aws.amazon.com/cloudwatch/pricing/"),
    "cw_alarm_metric_month": Price(0.10, "metric-month (standard alarm)",
                                   "https://aws.amazon.com/cloudwatch/pricing/"),
    "cw_dashboard_month": Price(3.00, "dashboard-month", "https://aws.amazon.com/cloudwatch/pricing/"),
    "cw_custom_metric_month": Price(0.30, "metric-month", "https://aws.amazon.com/cloudwatch/pricing/"),
    "xray_trace_recorded": Price(5.00 / 1e6, "trace recorded", "https://aws.amazon.com/xray/pricing/"),
    # interface endpoints
    "vpce_az_hour": Price(0.01, "endpoint-AZ-hour", "https://aws.amazon.com/privatelink/pricing/"),
    "vpce_gb": Price(0.01, "GB processed", "https://aws.amazon.com/privatelink/pricing/"),
    # email deliveries of alerts are $2 per 100,000
    "sns_publish": Price(0.50 / 1e6, "64 KB publish", "https://aws.amazon.com/sns/pricing/"),
    "sns_email": Price(2.00 / 1e5, "email delivered", "https://aws.amazon.com/sns/pricing/"),
}

# Volume tiers: (requests in the tier per month, price per request), lowest volume first. A month's
# requests are billed tier by tier, so the price per request falls as the month's volume grows.
TIERS: dict[str, tuple[tuple[float, float], ...]] = {
    # https://aws.amazon.com/api-gateway/pricing/ (REST APIs, us-east-2)
    "apigw_rest_request": (
        (333e6, 3.50 / 1e6),
        (667e6, 2.80 / 1e6),
        (19e9, 2.38 / 1e6),
        (float("inf"), 1.51 / 1e6),
    ),
}

# Pages several quotas were read from.
_SQS_SCALING = "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html"
_DDB_WARM = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput.html"
_DDB_SCENARIOS = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html"
_DDB_QUOTAS = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html"

QUOTAS: dict[str, Quota] = {
    # https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html: "10,000 requests
    # per second (RPS) with an additional burst capacity provided by the token bucket algorithm,
    # using a maximum bucket capacity of 5,000 requests" (read 2026-12-06; us-east-2 is not in
    # the list of Regions with 2,500/1,250)
    "apigw_account_rps": Quota(10_000, "requests/s per account and region",
                               "https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html"),
    "apigw_account_burst": Quota(5_000, "requests (token bucket)",
                                 "https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html"),
    "lambda_concurrency": Quota(1_000, "concurrent executions per region",
                                "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
                                note="new accounts may start lower: check Service Quotas"),
    # "Across all functions in your account, Lambda enforces a requests per second limit that's
    # equal to 10 times your account concurrency" (read 2026-12-07, "Understanding concurrency
    # and requests per second"): 10,000 invocations a second at the default 1,000
    "lambda_requests_per_concurrency": Quota(10, "invocations per second per unit of account "
                                             "concurrency, all functions",
                                             "https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html",
                                             adjustable=False,
                                             note="raise the concurrency quota to raise it"),
    "lambda_unreserved_minimum": Quota(100, "executions that reservations must leave unreserved",
                                       "https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html",
                                       adjustable=False),
    # "for each function, your concurrency scaling rate is 1,000 execution environment instances
    # every 10 seconds" (read 2026-12-06); refilled continuously, best effort
    "lambda_scaling_per_10s": Quota(1_000, "new execution environments per function per 10 s",
                                    "https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html",
                                    adjustable=False),
    # Standard queues: Lambda "starts processing five batches at a time with five concurrent
    # invocations", then adds "up to 300 more instances per minute"; at most 1,000 batches at
    # once (read 2026-12-06; 1,250 in older copies of the page)
    "lambda_sqs_start_batches": Quota(5, "concurrent batches an SQS event source starts with",
                                      _SQS_SCALING,
                                      adjustable=False),
    "lambda_sqs_scaling_per_minute": Quota(300, "batches an SQS event source adds a minute",
                                           _SQS_SCALING,
                                           adjustable=False),
    "lambda_sqs_max_pollers": Quota(1_000, "concurrent invocations per SQS event source",
                                    _SQS_SCALING,
                                    adjustable=False),
    # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html
    "dynamodb_new_table_wru": Quota(4_000, "write units/s a new on-demand table (or GSI) takes",
                                    _DDB_WARM,
                                    note="raised by warm throughput, or by DynamoDB after a peak; "
                                         "4,000/12,000 confirmed in warm-throughput-scenarios.html "
                                         "(read 2026-12-06)"),
    "dynamodb_new_table_rru": Quota(12_000, "read units/s a new on-demand table (or GSI) takes",
                                    _DDB_WARM),
    "dynamodb_table_max_wru": Quota(40_000, "write units/s per table (on-demand maximum)",
                                    _DDB_QUOTAS),
    "dynamodb_table_max_rru": Quota(40_000, "read units/s per table (on-demand maximum)",
                                    _DDB_QUOTAS),
    # "each individual partition is limited to 1,000 write units per second and 3,000 read units
    # per second" (read 2026-12-06), whatever the table's warm throughput
    "dynamodb_partition_wru": Quota(1_000, "write units/s per partition (per hot item)",
                                    _DDB_SCENARIOS,
                                    adjustable=False),
    "dynamodb_partition_rru": Quota(3_000, "read units/s per partition (per hot item)",
                                    _DDB_SCENARIOS,
                                    adjustable=False),
    # An on-demand table without warm throughput takes up to twice its previous peak at once;
    # "throttling can still occur if the throughput exceeds twice the previous peak within the
    # same 30 minutes" (read 2026-12-06)
    "dynamodb_peak_multiple": Quota(2, "x the previous peak an on-demand table takes at once",
                                    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/pre-warming-on-demand-capacity-mode.html",
                                    adjustable=False),
    "kms_symmetric_rps": Quota(20_000, "cryptographic requests/s (symmetric, shared)",
                               "https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html",
                               note="10,000 shared, 20,000 in us-east-2 and five other Regions "
                                    "(read 2026-12-06 in the Korean and amazonaws.cn copies; "
                                    "the English copy's table was cut off)"),
    "sqs_inflight": Quota(120_000, "in-flight messages per standard queue",
                          "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html"),
    "sns_publish_rps": Quota(1_500, "Publish/PublishBatch requests/s",
                             "https://docs.aws.amazon.com/general/latest/gr/sns.html",
                             note="us-east-2 value as last read (30,000 in us-east-1); "
                                  "not verified offline"),
    "xray_segments_per_second": Quota(2_600, "trace segments/s per region",
                                      "https://docs.aws.amazon.com/general/latest/gr/xray.html"),
}
# fmt: on


def price(key: str) -> float:
    return PRICES[key].value


def quota(key: str) -> float:
    return QUOTAS[key].value


def tiered_price(key: str, monthly_quantity: float) -> float:
    """Average price per unit of a month with ``monthly_quantity`` units, billed tier by tier.

    Without a tier table for ``key`` (or a zero volume) this is the flat first-tier price.
    """
    tiers = TIERS.get(key)
    if not tiers or monthly_quantity <= 0:
        return price(key)
    billed, left = 0.0, monthly_quantity
    for width, unit in tiers:
        take = min(left, width)
        billed += take * unit
        left -= take
        if left <= 0:
            break
    return billed / monthly_quantity
