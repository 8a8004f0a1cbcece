"""Resource shapes shared by the stacks, the functions and the local runtime.

A shape is what must be the same everywhere a resource is declared or emulated: key schemas,
indexes, TTL attributes, queue timings and redrive counts, function sizes. The ``data`` and
``compute`` stacks build their resources from these values, the local runtime creates the same
resources on the embedded AWS from them, and the functions read attribute names from them.
Pure Python, no Pulumi import: it ships inside the Lambda bundle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

AttributeType = Literal["S", "N", "B"]

DAY = 24 * 60 * 60
SQS_MAX_RETENTION = 14 * DAY


@dataclass(frozen=True)
class Index:
    """A global secondary index."""

    name: str
    hash_key: str
    range_key: str | None = None
    projection: Literal["ALL", "KEYS_ONLY", "INCLUDE"] = "ALL"
    non_key_attributes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableShape:
    """Key schema, attribute types, indexes and TTL of a DynamoDB table (every table is
    on-demand: capacity is neither shape nor config)."""

    component: str
    hash_key: str
    range_key: str | None
    attributes: dict[str, AttributeType]
    indexes: tuple[Index, ...] = ()
    ttl_attribute: str | None = None
    # Written on the path of every transaction (or request): the table (not its indexes) is
    # pre-warmed when the data layer's ``warmWriteUnitsPerSecond`` is set, so a new table takes
    # the peak from its first second.
    hot_path: bool = False

    def __post_init__(self) -> None:
        keys = {key for key in (self.hash_key, self.range_key) if key is not None}
        for index in self.indexes:
            keys |= {key for key in (index.hash_key, index.range_key) if key is not None}
        missing = keys - set(self.attributes)
        if missing:
            raise ValueError(f"{self.component}: key attributes without a type: {sorted(missing)}")
        extra = set(self.attributes) - keys
        if extra:  # DynamoDB rejects attribute definitions that are not keys
            raise ValueError(f"{self.component}: non-key attributes declared: {sorted(extra)}")


@dataclass(frozen=True)
class QueueShape:
    """Timings and redrive of an SQS queue. ``dead_letter`` names the queue's DLQ shape."""

    component: str
    visibility_timeout_seconds: int
    message_retention_seconds: int
    receive_wait_time_seconds: int = 20
    dead_letter: QueueShape | None = None
    max_receive_count: int | None = None

    def __post_init__(self) -> None:
        if (self.dead_letter is None) != (self.max_receive_count is None):
            raise ValueError(f"{self.component}: dead_letter and max_receive_count go together")
        if self.dead_letter is not None:
            # SQS keeps a message's original enqueue time when it moves to a DLQ, so a DLQ that
            # keeps messages for less time than its source would silently drop them. At the
            # 14-day SQS maximum the two may be equal.
            dlq = self.dead_letter.message_retention_seconds
            if dlq < self.message_retention_seconds or (
                dlq == self.message_retention_seconds and dlq != SQS_MAX_RETENTION
            ):
                raise ValueError(
                    f"{self.component}: DLQ retention {dlq}s must exceed the queue's "
                    f"{self.message_retention_seconds}s"
                )


@dataclass(frozen=True)
class TopicShape:
    component: str


@dataclass(frozen=True)
class FunctionShape:
    """Size and limits of a Lambda function; ``handler`` is ``<package>.app.lambda_handler``."""

    component: str
    package: str
    memory_mb: int = 512
    # A queue consumer's: the queues' 300 s visibility (the mission's) is 6x it, as AWS advises
    # for SQS event sources (invariants.VISIBILITY_MULTIPLIER); a batch of 10 takes milliseconds.
    timeout_seconds: int = 50
    reserved_concurrency: int | None = None
    environment: tuple[str, ...] = field(default_factory=tuple)

    @property
    def handler(self) -> str:
        return f"{self.package}.app.lambda_handler"


# --- DynamoDB ---------------------------------------------------------------------------------

# The records a person must look at: a merchant's FLAGGED (fraud) and FAILED (not processed)
# transactions, newest first. The index is sparse: only those records carry its hash key
# (``txn_adapters.transactions`` adds it from ``merchant_id`` when it stores one), so DynamoDB
# copies about 2% of the writes into it instead of every one (1 write unit a transaction, the
# cost of the full ``by-merchant`` index this replaces). Nothing lists all of a merchant's
# transactions today; a merchant listing API would add a full index on ``merchant_id`` back
# (``merchant_id`` as a key attribute, one more write unit a transaction; DynamoDB fills a new
# index from the stored items itself). See docs/decisions/0006-sparse-review-index.md.
REVIEW_KEY = "review_merchant_id"
REVIEW_STATUSES = frozenset({"FLAGGED", "FAILED"})
REVIEW_INDEX = Index(name="review-by-merchant", hash_key=REVIEW_KEY, range_key="timestamp")

# How long a transaction record (card token, BIN and last four, IP) is kept after the platform
# received it; DynamoDB's TTL then deletes it, typically within two days. PCI DSS 3.2.1 asks for
# a defined retention period: disputes and chargebacks arrive months after a sale, and this is
# also how long the audit logs are kept (400 days in prod). Change it here: records written
# after compute's next deploy carry the new period, earlier ones keep theirs.
TRANSACTION_RETENTION_DAYS = 400
TRANSACTION_EXPIRY = "expires_at"  # the TTL attribute: epoch seconds

TRANSACTIONS_TABLE = TableShape(
    component="transactions",
    hash_key="transaction_id",
    range_key="timestamp",
    attributes={"transaction_id": "S", "timestamp": "S", REVIEW_KEY: "S"},
    indexes=(REVIEW_INDEX,),
    ttl_attribute=TRANSACTION_EXPIRY,
    hot_path=True,
)

MERCHANTS_TABLE = TableShape(
    component="merchants",
    hash_key="merchant_id",
    range_key=None,
    attributes={"merchant_id": "S"},
)

IDEMPOTENCY_TABLE = TableShape(
    component="idempotency",
    hash_key="id",
    range_key=None,
    attributes={"id": "S"},
    ttl_attribute="expiration",
    hot_path=True,  # 0.5 WRU per accepted transaction: above 4,000 WRU/s past 8,000 TPS
)

VELOCITY_TABLE = TableShape(
    component="velocity",
    hash_key="pk",
    range_key="sk",
    attributes={"pk": "S", "sk": "S"},
    ttl_attribute="expires_at",
    hot_path=True,
)

TABLES = (TRANSACTIONS_TABLE, MERCHANTS_TABLE, IDEMPOTENCY_TABLE, VELOCITY_TABLE)

# --- SQS ----------------------------------------------------------------------------------------

# The last stop: messages the failed-transaction function itself could not record.
PARKING_QUEUE = QueueShape(
    component="transactions-parking",
    visibility_timeout_seconds=300,
    message_retention_seconds=SQS_MAX_RETENTION,
)

TRANSACTIONS_DLQ = QueueShape(
    component="transactions-dlq",
    # 6x the failed-transaction function's 50 s timeout, like the main queue.
    visibility_timeout_seconds=300,
    message_retention_seconds=SQS_MAX_RETENTION,
    dead_letter=PARKING_QUEUE,
    # 10, not 5: whether a message keeps its receive count when SQS moves it into this DLQ is
    # not something we could confirm (moto keeps it). With 10, the failed-transaction function
    # gets at least 5 tries of its own either way, the same number locally and in AWS.
    max_receive_count=10,
)

TRANSACTIONS_QUEUE = QueueShape(
    component="transactions",
    # Mission requirement: 300 s, which is 6x the fraud detector's 50 s timeout with no
    # batching window, as AWS advises (docs/decisions/0002-queue-timings.md).
    visibility_timeout_seconds=300,
    message_retention_seconds=4 * DAY,
    dead_letter=TRANSACTIONS_DLQ,
    max_receive_count=5,
)

QUEUES = (TRANSACTIONS_QUEUE, TRANSACTIONS_DLQ, PARKING_QUEUE)

# --- SNS ----------------------------------------------------------------------------------------

FRAUD_ALERTS_TOPIC = TopicShape(component="fraud-alerts")
# Every alarm notifies it. observability creates it; security's alarms key names it (ADR 0009).
ALARMS_TOPIC = TopicShape(component="alarms")

# A queued message's kind (a message attribute): absent for a transaction, FRAUD_REPORT_KIND for
# a fraud report (ADR 0013). The queue consumers dispatch on it without parsing the body.
MESSAGE_KIND_ATTRIBUTE = "kind"
FRAUD_REPORT_KIND = "fraud_report"
# A queued transaction's API key (a message attribute, not in the body, so a consumer from before
# it ignores it rather than refusing the message): stored with the record (ADR 0024).
POSTED_BY_ATTRIBUTE = "api_key_id"

# --- Lambda -------------------------------------------------------------------------------------


class Env:
    """Environment variable names the functions read; ``compute`` sets them."""

    TRANSACTIONS_TABLE = "TRANSACTIONS_TABLE"
    MERCHANTS_TABLE = "MERCHANTS_TABLE"
    IDEMPOTENCY_TABLE = "IDEMPOTENCY_TABLE"
    VELOCITY_TABLE = "VELOCITY_TABLE"
    TRANSACTIONS_QUEUE_URL = "TRANSACTIONS_QUEUE_URL"
    FRAUD_ALERTS_TOPIC_ARN = "FRAUD_ALERTS_TOPIC_ARN"
    # Powertools settings, the same for every function (values set by ``compute``).
    POWERTOOLS_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
    POWERTOOLS_METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
    POWERTOOLS_LOG_LEVEL = "POWERTOOLS_LOG_LEVEL"
    POWERTOOLS_LOGGER_SAMPLE_RATE = "POWERTOOLS_LOGGER_SAMPLE_RATE"


# The CloudWatch namespace of the functions' own (EMF) metrics. Powertools adds the dimension
# ``service`` = POWERTOOLS_SERVICE_NAME, which ``compute`` sets to the function's physical name,
# so dev and prod metrics stay apart in one account.
METRICS_NAMESPACE = "TxnPlatform"
# Emitted by the fraud detector per batch: the transactions it stored as FLAGGED.
FLAGGED_TRANSACTIONS_METRIC = "TransactionsFlagged"
# Emitted by the failed-transaction function for every transaction it records as FAILED.
FAILED_TRANSACTIONS_METRIC = "FailedTransactions"
# Emitted by the validator for every request it refuses. Accepted ones emit nothing: the queue's
# NumberOfMessagesSent counts them (one EMF line per accepted request would cost more than the
# rest of the function's logs).
REJECTED_TRANSACTIONS_METRIC = "TransactionsRejected"
# Likewise for every fraud report (POST /fraud-reports) it refuses.
REJECTED_REPORTS_METRIC = "FraudReportsRejected"
# The validator's refusals by error code (dimension ``code``), and the fraud detector's reports
# by outcome (dimension ``outcome``); an API key acting for a merchant that does not name it is
# code KEY_NOT_PERMITTED_CODE, or outcome KEY_NOT_PERMITTED_OUTCOME for a report (ADR 0024).
REJECTED_BY_CODE_METRIC = "TransactionsRejectedByCode"
REPORTS_BY_OUTCOME_METRIC = "FraudReportsByOutcome"
KEY_NOT_PERMITTED_CODE = "merchant_not_permitted"
KEY_NOT_PERMITTED_OUTCOME = "not_permitted"
# Requests API Gateway refused 429 for a key's usage plan or the stage's throttle (error types
# THROTTLED, QUOTA_EXCEEDED), counted from the stage's access log by edge's metric filters, in
# METRICS_NAMESPACE under the physical name of this component: one series per error type
# (ERROR_TYPE_DIMENSION, the API Gateway response type), and one per API key and error type
# (THROTTLE_DIMENSIONS). A provider held to its plan is told apart from the others (ADR 0025).
THROTTLED_REQUESTS_COMPONENT = "api-requests-throttled"
ERROR_TYPE_DIMENSION = "error_type"
API_KEY_DIMENSION = "api_key_id"
THROTTLE_DIMENSIONS = (API_KEY_DIMENSION, ERROR_TYPE_DIMENSION)
# Emitted by each queue consumer per batch: the records it received, and those it reported back
# to SQS as failed (retried, not raised: Lambda's Errors never counts them). Their ratio is the
# consumer's error rate.
RECORDS_PROCESSED_METRIC = "RecordsProcessed"
RECORDS_FAILED_METRIC = "RecordsFailed"

# The fraud-alerts message attribute that says how urgent an alert is. The fraud detector sets
# it on every alert; the email subscription (observability) takes only the high ones, while a
# machine subscriber (queue, SIEM) can take them all.
ALERT_SEVERITY_ATTRIBUTE = "severity"
ALERT_SEVERITY_HIGH = "high"
ALERT_SEVERITY_NORMAL = "normal"


VALIDATOR = FunctionShape(
    component="validator",
    package="validator",
    # API Gateway waits at most 29 s for a Lambda integration, then answers 504: a validator
    # still running after that would be paid for and answer no one.
    timeout_seconds=28,
    environment=(
        Env.MERCHANTS_TABLE,
        Env.IDEMPOTENCY_TABLE,
        Env.TRANSACTIONS_QUEUE_URL,
    ),
)

FRAUD_DETECTOR = FunctionShape(
    component="fraud-detector",
    package="fraud_detector",
    reserved_concurrency=100,
    environment=(
        Env.TRANSACTIONS_TABLE,
        Env.MERCHANTS_TABLE,
        Env.VELOCITY_TABLE,
        Env.FRAUD_ALERTS_TOPIC_ARN,
    ),
)

FAILED_TRANSACTIONS = FunctionShape(
    component="failed-transactions",
    package="failed_transactions",
    # the topic: a FLAGGED transaction dead-lettered by an SNS outage gets its alert from here
    environment=(Env.TRANSACTIONS_TABLE, Env.FRAUD_ALERTS_TOPIC_ARN),
)

FUNCTIONS = (VALIDATOR, FRAUD_DETECTOR, FAILED_TRANSACTIONS)


@dataclass(frozen=True)
class EventSourceShape:
    """An SQS event source mapping: which queue feeds which function, and how."""

    queue: QueueShape
    function: FunctionShape
    batch_size: int = 10
    maximum_batching_window_seconds: int = 0
    maximum_concurrency: int | None = None


FRAUD_DETECTOR_SOURCE = EventSourceShape(
    queue=TRANSACTIONS_QUEUE, function=FRAUD_DETECTOR, maximum_concurrency=100
)
FAILED_TRANSACTIONS_SOURCE = EventSourceShape(
    queue=TRANSACTIONS_DLQ, function=FAILED_TRANSACTIONS, maximum_concurrency=5
)
EVENT_SOURCES = (FRAUD_DETECTOR_SOURCE, FAILED_TRANSACTIONS_SOURCE)

# --- API Gateway --------------------------------------------------------------------------------

API_COMPONENT = "transactions-api"
API_KEY_COMPONENT = "transactions-api-key"


def api_key_component(key: str) -> str:
    """The component of the API key named ``key`` in edge's config (``apiKeys``)."""
    return f"{API_KEY_COMPONENT}-{key}"


USAGE_PLAN_COMPONENT = "transactions-api-plan"


def usage_plan_component(key: str) -> str:
    """The component of the usage plan of the API key named ``key`` (its own: ADR 0025)."""
    return f"{USAGE_PLAN_COMPONENT}-{key}"


API_STAGE = "v1"
# The stage's web ACL: its name is also its CloudWatch metric name (the WebACL dimension).
WAF_COMPONENT = "waf"
API_PATH = "transaction"
# Confirmed fraud and chargebacks (issue 17, ADR 0013): the same API, key and WAF; the validator
# queues each report on the transactions queue, marked by a message attribute.
FRAUD_REPORTS_PATH = "fraud-reports"
API_PATHS = (API_PATH, FRAUD_REPORTS_PATH)
# Each route's resource as API Gateway's proxy event names it (``resource``).
API_RESOURCE = f"/{API_PATH}"
FRAUD_REPORTS_RESOURCE = f"/{FRAUD_REPORTS_PATH}"
# The stage's access log group: naming.log_group(app, environment, API_ACCESS_LOG_COMPONENT).
API_ACCESS_LOG_COMPONENT = "api-access"
