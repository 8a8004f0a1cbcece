"""``txn_ops merchants``: merchant items written checked, and bound to API keys by name (ADR 0024),
on moto's DynamoDB and API Gateway."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from txn_domain.models import MerchantConfig
from txn_ops import cli
from txn_spec import shapes

FIXTURE = Path(__file__).resolve().parents[3] / "fixtures" / "merchants.json"
TABLE = "txn-dev-merchants"


@pytest.fixture
def aws(mocked_aws: str) -> dict[str, str]:
    """The dev stack's merchants table and two API keys (``provider``, ``acme-pay``): their ids."""
    boto3.client("dynamodb", region_name=mocked_aws).create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "merchant_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "merchant_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    apigateway = boto3.client("apigateway", region_name=mocked_aws)
    return {
        key: apigateway.create_api_key(
            name=f"txn-dev-{shapes.api_key_component(key)}", enabled=True
        )["id"]
        for key in ("provider", "acme-pay")
    }


def run(*args: str) -> tuple[int, list[str]]:
    lines: list[str] = []
    return cli.main(["merchants", *args], emit=lines.append), lines


def stored() -> dict[str, dict[str, Any]]:
    table = boto3.resource("dynamodb", region_name="us-east-2").Table(TABLE)
    return {item["merchant_id"]: item for item in table.scan()["Items"]}


def test_load_writes_every_merchant_bound_to_the_named_key_and_says_so(aws) -> None:
    code, lines = run("load", str(FIXTURE), "--stack", "dev", "--key", "provider")

    assert code == 0
    items = stored()
    assert set(items) == {m["merchant_id"] for m in json.loads(FIXTURE.read_text())}
    for item in items.values():
        assert item["api_key_ids"] == {aws["provider"]}
        assert MerchantConfig.model_validate(item).admits(aws["provider"])  # as the functions read
    assert lines[0] == "  1/5 m_1001"
    assert lines[-1] == f"loaded 5 merchants into {TABLE} (us-east-2)"


def test_load_checks_every_item_first_and_writes_nothing_when_one_is_wrong(
    aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    merchants = json.loads(FIXTURE.read_text())
    merchants[1]["api_key_ids"] = "not-a-set"  # a string written by hand
    del merchants[3]["mcc"]
    merchants.append(dict(merchants[0]))
    merchants += [{"name": "no id"}, "not an object"]
    path = tmp_path / "merchants.json"
    path.write_text(json.dumps(merchants))

    code, _ = run("load", str(path), "--stack", "dev", "--key", "provider")

    assert code == 2
    error = capsys.readouterr().err
    assert error.startswith("txn-ops: error: merchants-file-invalid:")
    assert "nothing written" in error
    assert "item 2 (m_1002): api_key_ids:" in error
    assert "item 4 (m_2001): mcc: Field required" in error
    assert "merchant m_1001 is listed more than once" in error
    assert "item 7 (?): merchant_id: Field required" in error
    assert "item 8 (?): item: Input should be a valid dictionary" in error
    assert len(error.splitlines()) == 1  # one line, no traceback
    assert stored() == {}


def test_a_key_the_stack_does_not_have_stops_before_anything_is_written(
    aws, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run("load", str(FIXTURE), "--stack", "dev", "--key", "provider-2027")

    assert code == 2
    assert (
        "api-key-unknown: stack dev has no API key txn-dev-transactions-api-key-provider-2027"
        in (capsys.readouterr().err)
    )
    assert stored() == {}


def test_bind_and_unbind_change_only_the_keys_of_the_merchants_named(aws) -> None:
    # GIVEN the merchants loaded for the first provider
    assert run("load", str(FIXTURE), "--stack", "dev", "--key", "provider")[0] == 0
    before = stored()

    # WHEN a second key is bound to every merchant (a rotation's first step), then the first
    # key removed from two of them, and an unknown merchant named
    code, lines = run("bind", "--stack", "dev", "--key", "acme-pay", "--all")
    assert code == 0
    assert lines[-1] == f"5 of 5 merchants bound to acme-pay in {TABLE}"
    code, lines = run(
        "unbind", "--stack", "dev", "--key", "provider", "--merchant", "m_1001", "m_nope", "m_1002"
    )

    # THEN each item holds exactly its keys, and nothing else of it changed
    assert code == 0
    assert "  m_nope: no such merchant, skipped" in lines
    assert lines[-1] == f"2 of 3 merchants unbound from provider in {TABLE}"
    after = stored()
    assert "m_nope" not in after
    for merchant_id, item in after.items():
        both = {aws["provider"], aws["acme-pay"]}
        expected = {aws["acme-pay"]} if merchant_id in ("m_1001", "m_1002") else both
        assert item.pop("api_key_ids") == expected
        assert item == {k: v for k, v in before[merchant_id].items() if k != "api_key_ids"}


def test_unbinding_a_merchants_last_key_warns_that_its_sales_are_refused(aws) -> None:
    assert run("load", str(FIXTURE), "--stack", "dev", "--key", "provider")[0] == 0

    code, lines = run("unbind", "--stack", "dev", "--key", "provider", "--merchant", "m_1003")

    assert code == 0
    assert "  warning: m_1003 names no API key now: every sale refused" in lines
    assert "api_key_ids" not in stored()["m_1003"]


def test_a_merchant_whose_keys_are_not_a_set_is_named_and_the_others_are_bound(
    aws, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN merchants loaded, one of which then had api_key_ids written by hand as a string
    assert run("load", str(FIXTURE), "--stack", "dev", "--key", "provider")[0] == 0
    boto3.resource("dynamodb", region_name="us-east-2").Table(TABLE).update_item(
        Key={"merchant_id": "m_1002"},
        UpdateExpression="SET api_key_ids = :s",
        ExpressionAttributeValues={":s": aws["provider"]},
    )

    # WHEN a key is bound to all of them, named twice by mistake
    code, lines = run("bind", "--stack", "dev", "--key", "acme-pay", "--key", "acme-pay", "--all")

    # THEN the others are bound, and the broken one is named with what to do
    assert code == 2
    assert "  m_1002: its api_key_ids is not a string set, skipped" in lines
    assert lines[-1] == f"4 of 5 merchants bound to acme-pay in {TABLE}"
    assert capsys.readouterr().err.strip() == (
        "txn-ops: error: merchant-item-invalid: m_1002: api_key_ids is not a string set; "
        "rewrite each item whole with `merchants load`"
    )
    keys = {m: item.get("api_key_ids") for m, item in stored().items()}
    assert keys.pop("m_1002") == aws["provider"]
    assert list(keys.values()) == [{aws["provider"], aws["acme-pay"]}] * 4


def test_review_lists_each_keys_merchants_the_unbound_and_the_stale(
    aws, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the merchants bound to provider, acme-pay bound to one, m_1003 left with no key, and
    # m_2001 bound to the id of a key deleted since
    assert run("load", str(FIXTURE), "--stack", "dev", "--key", "provider")[0] == 0
    assert run("bind", "--stack", "dev", "--key", "acme-pay", "--merchant", "m_1002")[0] == 0
    assert run("unbind", "--stack", "dev", "--key", "provider", "--merchant", "m_1003")[0] == 0
    boto3.client("dynamodb", region_name="us-east-2").update_item(
        TableName=TABLE,
        Key={"merchant_id": {"S": "m_2001"}},
        UpdateExpression="ADD api_key_ids :gone",
        ExpressionAttributeValues={":gone": {"SS": ["deleted-key-id"]}},
    )

    code, lines = run("review", "--stack", "dev")

    assert code == 0
    assert lines == [
        "API keys of stack dev and the merchants each may act for:",
        f"  acme-pay ({aws['acme-pay']}, enabled): 1: m_1002",
        f"  provider ({aws['provider']}, enabled): 4: m_1001, m_1002, m_2001, m_9001",
        "Merchants no key may act for: m_1003",
        "  warning: deleted-key-id, no API key of this stack, is bound to ['m_2001']",
    ]
    capsys.readouterr()
    code, lines = run("review", "--stack", "dev", "--json")
    report = json.loads("\n".join(lines))  # stdout holds the JSON alone
    assert report["keys"]["acme-pay"] == {
        "id": aws["acme-pay"],
        "enabled": True,
        "merchants": ["m_1002"],
    }
    assert report["merchants_without_key"] == ["m_1003"]
    assert report["unknown_key_ids"] == {"deleted-key-id": ["m_2001"]}
    assert "API keys of stack dev" in capsys.readouterr().err
