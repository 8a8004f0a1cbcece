"""What the capacity and cost figures rest on but this machine cannot measure.

The traffic mix, and the AWS latencies, item sizes, log volumes and shares in
:data:`ASSUMPTIONS`, each with why it is what it is; the report prints them all with its result.
"""

from __future__ import annotations

# The representative traffic mix, shared with the benchmark's traffic generator.
MIX = {
    "approved": 0.93,  # valid, no rule fires
    "flagged": 0.02,  # valid, a fraud rule fires (an alert is published and emailed)
    "invalid": 0.03,  # 400 (API Gateway's model or the validator)
    "unknown_merchant": 0.02,  # 422 from the validator
}
IDEMPOTENCY_KEY_SHARE = 0.5  # requests carrying an Idempotency-Key header
# Accepted transactions that are e-commerce (the rest card-present): only they count into a
# customer-IP velocity item (``txn_domain.fraud.customer_ip``). The generator draws half and half.
ECOMMERCE_SHARE = 0.5

# What cannot be measured here: each value, and why it is what it is.
ASSUMPTIONS: dict[str, tuple[float, str]] = {
    "sqs_send_ms": (8.0, "SQS SendMessage p50 in-region through an interface endpoint"),
    "ddb_put_ms": (5.0, "DynamoDB PutItem (idempotency claim) p50"),
    "ddb_batch_get_ms": (6.0, "DynamoDB BatchGetItem of ~25 counter items p50"),
    "ddb_statements_ms": (
        10.0,
        "BatchExecuteStatement of ~11-20 independent writes p50 (two calls per batch: "
        "card/IP counters, then records + merchant shard; no two-phase commit)",
    ),
    "sns_publish_ms": (15.0, "SNS PublishBatch p50"),
    "powertools_ms": (1.0, "Powertools logger/tracer/metrics per invocation, incl. flush"),
    "record_bytes": (700.0, "stored transaction record (< 1 KB: 1 WU, 2 in a transaction)"),
    "counter_bytes": (
        650.0,
        "card or IP counter item with its guard set (8-byte digests of the last 3 hours; < 1 KB)",
    ),
    "merchant_counter_bytes": (1_000.0, "a busy merchant's shard item (~1 KB)"),
    "idempotency_item_bytes": (
        750.0,
        "idempotency record: key, body hash, the answer and the queued message (745 bytes for "
        "the sample body with a 32-character card token)",
    ),
    "distinct_merchants_per_batch": (1.0, "merchants in one batch of 10 (worst case for reads)"),
    "fraud_report_share": (
        0.002,
        "confirmed-fraud reports and chargebacks per accepted transaction (POST /fraud-reports, "
        "ADR 0013): card fraud runs at 0.05-0.1% of sales by count; twice the top for headroom",
    ),
    "risk_item_bytes": (
        450.0,
        "a merchant's risk item (ADR 0013): its score, its riskiest terminals, its last 32 "
        "reports' digests (411 bytes the largest in 5 weeks of generated traffic; < 1 KB)",
    ),
    "failed_share": (
        0.001,
        "accepted transactions recorded FAILED after 5 receives (poison messages, a dependency "
        "down for 25 minutes); any one raises the DLQ alarm, so far above this is an incident",
    ),
    "lambda_platform_log_bytes": (
        420.0,
        "START + END + REPORT lines (with the XRAY line); ingested only if a function's "
        "systemLogLevel lets INFO through",
    ),
    "refusal_log_bytes": (450.0, "validator's INFO line for a request it refuses (422)"),
    "validator_emf_bytes": (
        380.0,
        "one EMF metrics line; the validator writes two for a refusal (TransactionsRejected, "
        "the by-code line) and one for a replayed Idempotency-Key, none for an accepted "
        "transaction (counted by the queue's NumberOfMessagesSent instead)",
    ),
    "replayed_share": (0.01, "accepted requests that replay an Idempotency-Key already used"),
    "fraud_emf_bytes": (700.0, "EMF lines per fraud batch (approved/flagged/duplicates/rule)"),
    "access_log_bytes": (680.0, "API Gateway access log line (edge ACCESS_LOG_FORMAT filled)"),
    "waf_log_bytes": (1_400.0, "WAF log record per request (headers, rule group matches)"),
    "waf_acted_share": (
        0.01,
        "requests WAF blocks or counts (all its filtered log keeps): ~0 of a provider's own "
        "traffic; 1% leaves room for scans and floods",
    ),
    "message_bytes": (800.0, "queued transaction message"),
    "xray_segments_per_trace": (4.0, "API stage, validator function + invocation, SQS hop"),
    "kms_requests_per_second": (
        1.0,
        "data-key refreshes: SQS (reuse 24 h), DynamoDB table keys (5 min), SNS, Lambda env "
        "at cold start; independent of traffic",
    ),
    "api_metrics_per_method": (
        5.0,
        "API Gateway's detailed metrics per method: Count, 4XXError, 5XXError, Latency, "
        "IntegrationLatency (the cache metrics only with a cache, which the stage has not); "
        "priced as custom metrics, as AWS's console warns they may be: an upper bound if they "
        "are not billed",
    ),
    "custom_metrics_besides_rules": (
        31.0,
        "EMF metric x dimension combinations other than FlaggedByRule (one per rule of the "
        "rule document, added by the capacity tool): validator 3 (TransactionsRejected, "
        "FraudReportsRejected, IdempotentReplays) + TransactionsRejectedByCode per code it can "
        "answer behind the gateway's schema check (12), fraud detector 6 (approved, flagged, "
        "duplicates, merchant drift, RecordsProcessed/Failed) + FraudReportsByOutcome (4), "
        "failed-transaction 6; never per id",
    ),
    "high_severity_share": (
        0.2,
        "flagged transactions with a blocklist match or a score >= 100 (the ones emailed)",
    ),
    "xray_default_reservoir_per_s": (
        1.0,
        "X-Ray default rule (1 trace/s, then 5%): the API stage's without a rule of ours, and "
        "always Lambda's for the traces it starts (not configurable)",
    ),
    "xray_default_fixed_rate": (0.05, "X-Ray default rule fixed rate"),
}


def assumption(key: str) -> float:
    return ASSUMPTIONS[key][0]


def review_share() -> float:
    """Share of accepted transactions stored FLAGGED or FAILED: the sparse index's writes."""
    return MIX["flagged"] / (MIX["approved"] + MIX["flagged"]) + assumption("failed_share")
