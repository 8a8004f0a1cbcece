"""The ledger's arithmetic and the leak scanner's policy (pure)."""

from __future__ import annotations

import json
import random

import pytest

from txn_resilience import cards
from txn_resilience.leaks import LeakScan
from txn_resilience.ledger import balance

PAN = "4111111111111111"


def item(txn_id: str, status: str = "APPROVED") -> dict:
    return {"transaction_id": txn_id, "timestamp": "2026-11-30T12:00:00.000Z", "status": status}


def test_every_accepted_transaction_decided_or_queued_balances() -> None:
    ledger = balance(
        ["a", "b", "c", "d"],
        [item("a"), item("b", "FLAGGED"), item("c", "FAILED")],
        [json.dumps({"transaction_id": "d"})],
    )
    assert ledger.balanced
    assert ledger.as_dict()["still_queued"] == 1


def test_an_accepted_transaction_found_nowhere_is_lost() -> None:
    ledger = balance(["a", "b"], [item("a")], [])
    assert not ledger.balanced
    assert ledger.lost == ["b"]


def test_a_transaction_stored_twice_is_a_duplicate() -> None:
    ledger = balance(["a"], [item("a"), item("a", "FLAGGED")], [])
    assert ledger.duplicates == 1
    assert not ledger.balanced


def test_a_stored_transaction_no_client_was_told_about_is_an_orphan() -> None:
    ledger = balance(["a"], [item("a"), item("z")], [])
    assert ledger.orphans == ["z"]
    assert not ledger.balanced


def test_poison_is_accounted_apart_from_transactions() -> None:
    ledger = balance(["a"], [item("a"), item("unparsed-m1", "FAILED")], ["not json"], 2)
    assert (ledger.poison_recorded, ledger.poison_queued) == (1, 1)
    assert ledger.balanced


@pytest.mark.parametrize("length", range(13, 20))
def test_a_generated_card_number_is_found_plain_spaced_and_dashed(length: int) -> None:
    pan = cards.make_pan(random.Random(length), length)
    for text in (pan, cards.spaced(pan), cards.spaced(pan, "-")):
        assert cards.find_pans(f"note: {text}."), text


def test_a_card_number_inside_a_longer_digit_run_is_found() -> None:
    assert cards.find_pans("000" + PAN + "999")


def test_an_epoch_in_milliseconds_is_not_a_card_number() -> None:
    epochs = [str(1_796_001_917_000 + i) for i in range(50)]
    assert not [e for e in epochs if cards.find_pans(e)]


def test_the_masked_form_and_a_bin_are_not_card_numbers() -> None:
    assert not cards.find_pans("411111******1111 and 41111111 and 1111")


def test_digits_of_other_scripts_are_read_as_digits() -> None:
    arabic = "".join(chr(0x0660 + int(d)) for d in PAN)
    assert cards.find_pans(arabic)


def test_a_card_number_in_a_log_line_is_a_finding_and_the_report_masks_it() -> None:
    scan = LeakScan()
    scan.log_lines([f'{{"message": "card {PAN}"}}'])
    assert [f.rule for f in scan.findings] == ["pan"]
    assert PAN not in str(scan.findings[0])


def test_a_token_is_allowed_in_a_table_but_not_in_a_log_or_an_alert() -> None:
    scan = LeakScan(tokens=frozenset({"tok_secret123"}))
    scan.items("transactions", [{"transaction_id": "t", "card_token": "tok_secret123"}])
    assert scan.clean
    scan.log_lines(['{"card_token": "tok_secret123"}'])
    scan.alerts([json.dumps({"transaction_id": "t", "note": "tok_secret123"})])
    assert [f.rule for f in scan.findings] == ["token_exposed", "token_exposed"]


@pytest.mark.parametrize(
    ("key", "value", "rule"),
    [
        ("card_number", "x", "card_key"),
        ("cvv", "123", "card_key"),
        ("cardExpiry", "12/29", "card_key"),
        ("card_bin", "4111111111", "bad_bin"),
        ("card_last4", "11111", "bad_last4"),
        ("card", "4111111111111111", "unmasked_card"),
    ],
)
def test_card_data_outside_its_allowed_form_is_a_finding(key: str, value: str, rule: str) -> None:
    scan = LeakScan()
    scan.alerts([json.dumps({"transaction_id": "t", key: value})])
    assert rule in {f.rule for f in scan.findings}


def test_the_allowed_card_fields_are_clean() -> None:
    scan = LeakScan()
    scan.alerts(
        [
            json.dumps(
                {"transaction_id": "t", "card": "411111******1111", "card_bin": "411111"}
                | {"card_last4": "1111", "card_country": "US"}
            )
        ]
    )
    assert scan.clean


def test_packed_velocity_counters_are_not_read_as_card_numbers() -> None:
    packed = next(2 * 10**15 + s for s in range(100) if cards.luhn_valid(str(2 * 10**15 + s)))
    assert cards.find_pans(str(packed))  # as text it would pass for a card number
    scan = LeakScan()
    scan.items("velocity", [{"pk": "card#tok_x", "a1": packed}], packed_numbers=True)
    assert scan.clean


def test_a_sha256_digest_is_not_read_as_a_card_number() -> None:
    digest = "3135680817820926168052a7062d16a98cd2695022dd9677c908afd6f00d9ceb"
    scan = LeakScan()
    scan.items("idempotency", [{"id": "k", "body_hash": digest}])
    assert scan.clean


def test_a_message_id_uuid_is_not_read_as_a_card_number_but_a_pan_beside_it_is() -> None:
    # the shape of the flaky finding: a FAILED record keyed by an SQS message id
    message_id = "4d90f551-8568-4935-821b-8cb9fa50ecd7"
    assert cards.find_pans(message_id) == ["551-8568-4935-821"]  # read bare, it passes
    scan = LeakScan()
    scan.items("transactions", [{"transaction_id": f"unparsed-{message_id}", "status": "FAILED"}])
    assert scan.clean
    scan.log_lines([f"{message_id} 4111 1111 1111 1111"])
    assert [f.rule for f in scan.findings] == ["pan"]
