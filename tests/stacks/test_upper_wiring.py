"""The six layers together: compute, edge and observability run after their real producers, and
what they create fits what security allowed for it."""

from __future__ import annotations

import fnmatch
import json

from tests.stacks.conftest import statements
from txn_infra.offline import LayerRun
from txn_spec import contract

UPPER = ("compute", "edge", "observability")


def test_all_six_layers_run_in_dag_order(system: dict[str, LayerRun]) -> None:
    assert list(system) == contract.deploy_order()
    assert len(system) == 6


def test_upper_layers_were_tested_against_real_producers(system: dict[str, LayerRun]) -> None:
    order = list(system)
    for name in UPPER:
        run = system[name]
        assert set(run.reads) == set(contract.layer(name).upstream)
        for producer, keys in run.reads.items():
            assert order.index(producer) < order.index(name)
            assert keys <= set(system[producer].exports)


def test_every_log_group_fits_the_logs_key_policy(system: dict[str, LayerRun]) -> None:
    """A group the logs key would refuse fails at creation in AWS; catch it here instead."""
    security = system["security"]
    (logs_key,) = [
        k
        for k in security.of_type("aws:kms/key:Key")
        if k.outputs["arn"] == security.exports["logs_key_arn"]
    ]
    context = "kms:EncryptionContext:aws:logs:arn"
    # The condition operator (ArnLike, StringLike) is security's choice; the patterns are ours.
    # Two statements carry them (the service's, its callers'): a group must fit each.
    pattern_lists = [
        values[context]
        for s in statements(json.loads(logs_key.inputs["policy"]))
        for values in s.get("Condition", {}).values()
        if context in values
    ]
    assert len(pattern_lists) == 2
    groups = [g for name in UPPER for g in system[name].of_type("aws:cloudwatch/logGroup:LogGroup")]
    assert len(groups) == 3 + 3 + 1
    for group in groups:
        assert group.inputs["kmsKeyId"] == security.exports["logs_key_arn"]
        for patterns in pattern_lists:
            assert any(fnmatch.fnmatchcase(group.outputs["arn"], p) for p in patterns), group.name


def test_every_alarm_and_the_alarm_topic_fit_the_alarms_key_policy(
    system: dict[str, LayerRun],
) -> None:
    """An alarm the alarms key would refuse deploys fine and then never notifies anyone."""
    security, observability = system["security"], system["observability"]
    key = security.one("aws:kms/key:Key", "keys-alarms")
    (cloudwatch,) = [
        s
        for s in statements(json.loads(key.inputs["policy"]))
        if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    (pattern,) = [
        values["aws:SourceArn"]
        for values in cloudwatch["Condition"].values()
        if "aws:SourceArn" in values
    ]
    topic = observability.one("aws:sns/topic:Topic")
    assert topic.inputs["kmsMasterKeyId"] == security.exports["alarms_key_arn"]
    context = "kms:EncryptionContext:aws:sns:topicArn"
    assert cloudwatch["Condition"]["StringEquals"][context] == topic.outputs["arn"]
    alarms = observability.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert alarms  # the check below is not vacuous
    for alarm in alarms:
        assert alarm.inputs["alarmActions"] == [topic.outputs["arn"]], alarm.name
        assert fnmatch.fnmatchcase(alarm.outputs["arn"], pattern), alarm.outputs["arn"]


def test_functions_run_as_the_roles_security_made_for_them(system: dict[str, LayerRun]) -> None:
    roles = {r.outputs["arn"] for r in system["security"].of_type("aws:iam/role:Role")}
    for fn in system["compute"].of_type("aws:lambda/function:Function"):
        assert fn.inputs["role"] in roles
