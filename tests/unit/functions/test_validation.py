import json
from datetime import UTC, datetime

import pytest
from hypothesis import given

from tests.factories import transaction_body
from txn_domain.errors import (
    BadRequestError,
    ForbiddenError,
    MerchantRejectedError,
    PanDetectedError,
)
from txn_domain.validation import (
    MAX_BODY_BYTES,
    check_caller,
    check_merchant,
    check_reported_at,
    check_timestamp,
    parse_report,
    parse_request,
)
from txn_resilience.strategies import any_rfc3339

PAN = "4111111111111111"


def test_given_the_contract_example_when_parsed_then_timestamp_is_normalised_to_utc(make_json):
    txn = parse_request(make_json(timestamp="2026-11-30T13:00:00+01:00"))
    assert txn.timestamp == "2026-11-30T12:00:00.000Z"


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("2026-11-30T12:00:00.000Z", "2026-11-30T12:00:00.000Z"),  # the form kept as it is
        ("2026-11-30T12:00:00Z", "2026-11-30T12:00:00.000Z"),
        ("2026-11-30T12:00:00.1234Z", "2026-11-30T12:00:00.123Z"),
        ("2026-11-30T12:00:00.000+00:00", "2026-11-30T12:00:00.000Z"),
        ("0999-11-30T12:00:00Z", "0999-11-30T12:00:00.000Z"),  # four digits, as sent
    ],
)
def test_given_any_rfc3339_form_when_parsed_then_one_utc_millisecond_form(make_json, sent, stored):
    assert parse_request(make_json(timestamp=sent)).timestamp == stored


@pytest.mark.parametrize(
    "sent", ["0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01", "0001-01-01T00:59:00+01:00"]
)
def test_given_a_time_whose_utc_falls_outside_years_1_to_9999_then_a_bad_request(make_json, sent):
    # a datetime holds neither year 0 nor year 10000: the parse once raised OverflowError (503)
    with pytest.raises(BadRequestError) as refused:
        parse_request(make_json(timestamp=sent))
    assert (refused.value.code, refused.value.field) == ("invalid_value", "timestamp")


def _stored_or_refused(parse, check, field: str) -> str:
    """What a parse and its time check keep of ``field``, or ``refused:<field>``; any other
    exception (one the handler would answer with a 5XX) propagates."""
    try:
        parsed = parse()
        check(parsed, datetime.now(UTC))
    except BadRequestError as refused:
        return f"refused:{refused.field}"
    return getattr(parsed, field)


@given(sent=any_rfc3339())
def test_given_any_string_the_pattern_admits_then_the_utc_form_or_a_bad_request(sent):
    report = {"transaction_id": "01M8N1NNYJS2B5AFV296R7EKB8", "kind": "chargeback"}
    outcomes = {
        "timestamp": _stored_or_refused(
            lambda: parse_request(json.dumps(transaction_body(timestamp=sent))),
            check_timestamp,
            "timestamp",
        ),
        "reported_at": _stored_or_refused(
            lambda: parse_report(json.dumps({**report, "reported_at": sent})),
            check_reported_at,
            "reported_at",
        ),
    }
    for field, outcome in outcomes.items():
        if outcome.startswith("refused:"):
            assert outcome == f"refused:{field}"
            continue
        # the same instant, to the millisecond, in the one stored form
        assert len(outcome) == 24
        assert outcome.endswith("Z")
        instant = datetime.fromisoformat(sent)
        assert datetime.fromisoformat(outcome) == instant.replace(
            microsecond=instant.microsecond // 1000 * 1000
        )


def test_given_an_impossible_date_in_the_stored_form_when_parsed_then_refused(make_json):
    with pytest.raises(BadRequestError):
        parse_request(make_json(timestamp="2026-02-30T12:00:00.000Z"))


def test_given_base_bytes_when_parsed_then_accepted(make_json):
    assert parse_request(make_json().encode()).amount == 1999


@pytest.mark.parametrize("sent", ["411111", "4111112", "41111122"])
def test_given_a_bin_of_6_to_8_digits_then_only_the_first_six_are_kept(make_json, sent):
    # PCI DSS 3.5.1: with the last four, more than six leading digits would leave too few of a
    # 15-digit card unknown; the queue, the tables and the alerts never see the seventh
    assert parse_request(make_json(card_bin=sent)).card_bin == "411111"


def test_given_only_required_fields_when_parsed_then_optional_ones_are_none(make_body):
    body = {
        k: v
        for k, v in make_body().items()
        if k
        in {
            "merchant_id",
            "amount",
            "currency",
            "card_token",
            "card_bin",
            "card_last4",
            "channel",
            "timestamp",
        }
    }
    assert parse_request(json.dumps(body)).geo is None


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"amount": ...}, "missing_field", "amount"),
        ({"amount": "1999"}, "invalid_type", "amount"),
        ({"amount": 19.99}, "invalid_type", "amount"),
        ({"amount": True}, "invalid_type", "amount"),
        ({"amount": 0}, "out_of_range", "amount"),
        ({"amount": -5}, "out_of_range", "amount"),
        ({"amount": 100_000_000_000}, "out_of_range", "amount"),
        ({"currency": "usd"}, "invalid_format", "currency"),
        ({"currency": "XXX"}, "invalid_value", "currency"),
        ({"card_country": "ZZ"}, "invalid_value", "card_country"),
        ({"card_bin": "41111"}, "invalid_format", "card_bin"),
        ({"card_last4": "11a1"}, "invalid_format", "card_last4"),
        ({"card_token": "tok 1"}, "invalid_format", "card_token"),
        ({"merchant_id": "m" * 65}, "invalid_format", "merchant_id"),
        ({"channel": "moto"}, "invalid_value", "channel"),
        ({"timestamp": "30/11/2026"}, "invalid_format", "timestamp"),
        ({"timestamp": "2026-02-30T12:00:00Z"}, "invalid_value", "timestamp"),
        ({"ip_address": "999.1.1.1"}, "invalid_value", "ip_address"),
        ({"geo": {"lat": 91, "lon": 0}}, "out_of_range", "geo.lat"),
        ({"geo": {"lat": 1}}, "missing_field", "geo.lon"),
        ({"cvv": "123"}, "unknown_field", "cvv"),
    ],
)
def test_given_a_bad_field_when_parsed_then_400_names_it(make_json, overrides, code, field):
    with pytest.raises(BadRequestError) as err:
        parse_request(make_json(**overrides))
    assert (err.value.status, err.value.code, err.value.field) == (400, code, field)


@pytest.mark.parametrize("body", ["{", "[]", "null", '"text"', b"\xff\xfe"])
def test_given_a_body_that_is_not_an_object_when_parsed_then_400(body):
    with pytest.raises(BadRequestError) as err:
        parse_request(body)
    assert err.value.status == 400


@pytest.mark.parametrize("body", [None, ""])
def test_given_no_body_when_parsed_then_missing_body(body):
    with pytest.raises(BadRequestError, match="no body"):
        parse_request(body)


def test_given_an_oversized_body_when_parsed_then_refused(make_json):
    with pytest.raises(BadRequestError) as err:
        parse_request(make_json(external_id="x" * MAX_BODY_BYTES))
    assert err.value.code == "body_too_large"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"external_id": PAN}, "external_id"),
        ({"card_token": f"tok_{PAN}"}, "card_token"),
        ({"pan": "4111 1111 1111 1111"}, "pan"),
        ({"amount": int(PAN)}, "amount"),
    ],
)
def test_given_a_pan_anywhere_when_parsed_then_refused_without_echo(make_json, overrides, field):
    with pytest.raises(PanDetectedError) as err:
        parse_request(make_json(**overrides))
    assert err.value.field == field
    assert "1111 1111" not in json.dumps(err.value.to_body())
    assert PAN not in json.dumps(err.value.to_body())


def test_given_a_pan_in_an_invalid_json_when_parsed_then_still_refused():
    with pytest.raises(PanDetectedError) as err:
        parse_request('{"x": ' + PAN)
    assert err.value.field is None


def test_given_a_future_timestamp_when_checked_then_refused(make_json):
    txn = parse_request(make_json(timestamp="2026-11-30T12:10:00Z"))
    with pytest.raises(BadRequestError):
        check_timestamp(txn, datetime(2026, 11, 30, 12, 0, tzinfo=UTC))


def test_given_small_clock_skew_when_checked_then_allowed(make_json):
    txn = parse_request(make_json(timestamp="2026-11-30T12:01:00Z"))
    check_timestamp(txn, datetime(2026, 11, 30, 12, 0, tzinfo=UTC))


@pytest.mark.parametrize(
    ("merchant_kw", "body_kw", "code"),
    [
        (None, {}, "merchant_unknown"),
        ({"active": False}, {}, "merchant_inactive"),
        ({}, {"currency": "GBP"}, "currency_not_allowed"),
        ({}, {"amount": 500001}, "amount_over_limit"),
    ],
)
def test_given_merchant_terms_broken_when_checked_then_422(
    make_json, make_merchant, merchant_kw, body_kw, code
):
    txn = parse_request(make_json(**body_kw))
    merchant = None if merchant_kw is None else make_merchant(**merchant_kw)
    with pytest.raises(MerchantRejectedError) as err:
        check_merchant(txn, merchant)
    assert (err.value.status, err.value.code) == (422, code)


@pytest.mark.parametrize(
    ("bound", "caller", "admitted"),
    [
        (["k-acme", "k-next"], "k-next", True),  # either of two keys, as during a rotation
        (["k-acme"], "k-other", False),  # another provider's key
        (["k-acme"], None, False),  # no key at all (never, behind API Gateway)
        ([], "k-acme", False),  # a merchant that names no key: refused for every key
    ],
)
def test_a_caller_may_act_only_for_a_merchant_that_names_its_key(
    make_merchant, bound, caller, admitted
):
    merchant = make_merchant(api_key_ids=bound)
    assert merchant.admits(caller) is admitted
    if admitted:
        check_caller(merchant, caller)
    else:
        with pytest.raises(ForbiddenError) as err:
            check_caller(merchant, caller)
        assert (err.value.status, err.value.code) == (403, "merchant_not_permitted")
    check_caller(None, caller)  # an unknown merchant is check_merchant's (422 merchant_unknown)


def test_given_amount_exactly_at_limit_when_checked_then_allowed(make_json, make_merchant):
    check_merchant(parse_request(make_json(amount=500000)), make_merchant())


def test_given_zero_exponent_currency_when_checked_then_limit_is_in_major_units(
    make_json, make_merchant
):
    merchant = make_merchant(allowed_currencies=["JPY"], per_transaction_limit=100000)
    check_merchant(parse_request(make_json(currency="JPY", amount=100000)), merchant)
