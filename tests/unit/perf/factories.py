"""A deployment and a workload to vary one knob of at a time."""

from __future__ import annotations

from dataclasses import replace

from txn_perf import model


def deployment(**overrides: object) -> model.Deployment:
    base = model.Deployment(
        architecture="arm64", validator_memory_mb=512, fraud_memory_mb=512, fraud_batch_size=10,
        fraud_batching_window_s=0, fraud_max_concurrency=100, fraud_reserved_concurrency=100,
        other_unreserved_concurrency=5, api_rate_limit=5000, api_key_rate_limits=(5000,),
        waf_rate_limit_per_ip_5min=1_500_000, interface_endpoints=7, availability_zones=3,
        waf_web_acls=1, waf_rules=5, kms_keys=2, alarm_metrics=22, dashboards=1,
        custom_metrics=40, xray_reservoir_per_s=1, xray_fixed_rate=0.05,
    )  # fmt: skip
    return replace(base, **overrides)


def workload(**overrides: object) -> model.Workload:
    base = model.Workload(
        validator_ms=10.0, fraud_batch_ms=40.0, requests_per_accepted=1.0,
        tables={"transactions": model.TableLoad(wru=2.0),
                "velocity": model.TableLoad(wru=4.0, rru=1.0)},
        sqs_requests=1.2, sns_publishes=0.0, sns_emails=0.0, log_bytes={"logs": 1e3},
        endpoint_bytes=0.0, xray_segments_per_trace=4,
    )  # fmt: skip
    return replace(base, **overrides)
