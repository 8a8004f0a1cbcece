"""What one accepted transaction costs in each service: from the measured handler CPU, the
deployment, what the stacks declare and the assumptions."""

from __future__ import annotations

import json
from pathlib import Path

from txn_domain.velocity import MERCHANT_SHARDS
from txn_perf import model
from txn_perf.assumptions import (
    ECOMMERCE_SHARE,
    IDEMPOTENCY_KEY_SHARE,
    MIX,
    assumption,
    review_share,
)
from txn_perf.bench import ROOT
from txn_perf.discovery import Declared
from txn_perf.goals import TARGET_TPS
from txn_spec import shapes


class BenchFileError(ValueError):
    """The benchmark file given is not one ``nox -s bench`` or ``handler_cost`` writes."""


def measured_cpu(bench: Path | None) -> tuple[dict[str, float], str]:
    """CPU us per transaction of the validator and the fraud detector, and where it came from."""
    if bench is not None and bench.exists():
        try:
            data = json.loads(bench.read_text())
            results = data.get("handler_cpu", data)["results"]  # bench.json or handler_cost.json
            cpu = {k: float(results[k]["us_per_txn_cpu"]) for k in ("validator", "fraud_detector")}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BenchFileError(
                f"{bench} is not the JSON `nox -s bench` writes (bench-results/bench.json) or "
                f"handler_cost.json: {type(exc).__name__}: {exc}"
            ) from exc
        source = f"{bench.relative_to(ROOT) if bench.is_relative_to(ROOT) else bench}"
        return cpu, source
    from txn_perf.bench import handler_cost  # the handlers' imports, only when measuring

    results = {
        "validator": handler_cost.validator_case(3_000),
        "fraud_detector": handler_cost.fraud_case(3_000),
    }
    source = "measured now (3,000 iterations; run `nox -s bench` for the full figures)"
    return {k: results[k]["us_per_txn_cpu"] for k in ("validator", "fraud_detector")}, source


def workload(
    d: model.Deployment,
    cpu_us: dict[str, float],
    warm: dict[str, float],
    trims: Declared | None = None,
    tps: float = TARGET_TPS,
) -> model.Workload:
    """What one accepted transaction costs in each service, at a steady ``tps``."""
    trims = trims or Declared()
    review = f"transactions {shapes.REVIEW_INDEX.name}"
    accepted = MIX["approved"] + MIX["flagged"]
    per_accepted = 1.0 / accepted
    batch = d.fraud_batch_size
    validator_ms = (
        model.lambda_cpu_ms(cpu_us["validator"], d.validator_memory_mb)
        + assumption("powertools_ms")
        + accepted * assumption("sqs_send_ms")
        + accepted * IDEMPOTENCY_KEY_SHARE * assumption("ddb_put_ms")
    )
    flagged_batch = 1 - (1 - MIX["flagged"] / accepted) ** batch  # a batch with >= 1 alert
    fraud_batch_ms = (
        model.lambda_cpu_ms(cpu_us["fraud_detector"] * batch, d.fraud_memory_mb)
        + assumption("powertools_ms")
        + assumption("ddb_batch_get_ms")
        + 2 * assumption("ddb_statements_ms")
        + flagged_batch * assumption("sns_publish_ms")
    )
    merchants = assumption("distinct_merchants_per_batch")
    # ADR 0003: PartiQL batches, each statement conditional on its own (1x, not 2x): the record
    # INSERT, one guarded statement per card and IP item, one per merchant shard per batch.
    record = model.write_units(assumption("record_bytes"), transactional=False)
    counter = model.write_units(assumption("counter_bytes"), transactional=False)
    merchant = model.write_units(assumption("merchant_counter_bytes"), transactional=False)
    # card per txn, customer IP per e-commerce txn, every shard of the merchant read per batch
    counters_per_txn = 1 + ECOMMERCE_SHARE
    counter_reads = (counters_per_txn * batch + MERCHANT_SHARDS * merchants) / batch
    merchant_read = model.read_units(assumption("merchant_counter_bytes"))
    # ADR 0013: the merchant's risk item is read with them (one per merchant per batch); each
    # fraud report reads its record (Query), reads and writes the card and the risk item.
    risk_read = model.read_units(assumption("risk_item_bytes"))
    reports = assumption("fraud_report_share")
    report_writes = counter + model.write_units(assumption("risk_item_bytes"), transactional=False)
    tables = {
        "transactions": model.TableLoad(
            wru=record,
            # the batch's read also probes each record's key (a redelivery is skipped whole);
            # a report's Query is strongly consistent (it must not miss a fresh record)
            rru=model.read_units(assumption("record_bytes"))
            + reports * model.read_units(assumption("record_bytes"), consistent=True),
            warm_wru=warm.get("transactions"),
        ),
        # sparse: only FLAGGED and FAILED records carry the index key (shapes.REVIEW_INDEX)
        shapes.REVIEW_INDEX.name: model.TableLoad(
            wru=review_share() * record,
            warm_wru=warm.get(review),
        ),
        "velocity": model.TableLoad(
            wru=counters_per_txn * counter + merchants * merchant / batch + reports * report_writes,
            rru=counter_reads * model.read_units(assumption("counter_bytes"))
            + merchants * risk_read / batch
            + reports * (model.read_units(assumption("counter_bytes")) + risk_read),
            warm_wru=warm.get("velocity"),
        ),
        "idempotency": model.TableLoad(
            # claimed only once the request is valid: per accepted transaction, not request
            wru=IDEMPOTENCY_KEY_SHARE
            * model.write_units(assumption("idempotency_item_bytes"), transactional=False),
            warm_wru=warm.get("idempotency"),
        ),
    }
    waf_logged = assumption("waf_acted_share") if trims.waf_logs_only_acted_on else 1.0
    platform = assumption("lambda_platform_log_bytes") if trims.platform_lines_ingested else 0.0
    log_bytes = {
        "WAF logs": per_accepted * waf_logged * assumption("waf_log_bytes"),
        "API access logs": per_accepted * assumption("access_log_bytes"),
        "validator logs": per_accepted * platform
        + MIX["unknown_merchant"]
        / accepted
        * (assumption("refusal_log_bytes") + 2 * assumption("validator_emf_bytes"))
        + assumption("replayed_share") * assumption("validator_emf_bytes"),
        "fraud detector logs": (platform + assumption("fraud_emf_bytes")) / batch,
    }
    # Fraud batches start their own traces (SQS-fed), sampled at Lambda's fixed rate.
    lambda_sampling = model.replace_sampling(
        d, assumption("xray_default_reservoir_per_s"), assumption("xray_default_fixed_rate")
    )
    batches_per_s = tps / batch
    lambda_traces = model.traced_share(lambda_sampling, batches_per_s) / batch
    flagged = MIX["flagged"] / accepted
    emailed = flagged * (
        assumption("high_severity_share") if trims.emails_high_severity_only else 1.0
    )
    # SendMessage; ReceiveMessage + DeleteMessageBatch per batch; a report's SendMessage
    sqs = 1.0 + 2.0 / batch + reports
    return model.Workload(
        validator_ms=validator_ms,
        fraud_batch_ms=fraud_batch_ms,
        requests_per_accepted=per_accepted + reports,  # POST /fraud-reports too
        tables=tables,
        sqs_requests=sqs,
        sns_publishes=flagged_batch / batch,
        sns_emails=emailed,
        log_bytes=log_bytes,
        # The SendMessage and the alerts cross the SQS and SNS endpoints; Lambda delivers logs
        # and segments and polls the queue itself, outside the VPC (stacks/network/README.md).
        endpoint_bytes=assumption("message_bytes") * (1.0 + flagged),
        xray_segments_per_trace=assumption("xray_segments_per_trace"),
        kms_requests_per_second=assumption("kms_requests_per_second"),
        lambda_started_traces=lambda_traces,
        infrequent_access_logs=frozenset(
            {"API access logs"} if trims.access_logs_infrequent else ()
        ),
        # Worst case for one key: each of its transactions in a batch of its own (a batch with
        # several adds them in one write). A batch writes one merchant shard, drawn at random,
        # and reads all of them; a card or IP has one item; the review index one key a merchant.
        hot_keys={
            f"merchant ({MERCHANT_SHARDS} velocity shards)": model.TableLoad(
                wru=merchant / MERCHANT_SHARDS, rru=merchant_read
            ),
            "merchant (review index key)": model.TableLoad(wru=review_share() * record),
            "card or customer IP (velocity item)": model.TableLoad(
                wru=counter, rru=model.read_units(assumption("counter_bytes"))
            ),
        },
    )
