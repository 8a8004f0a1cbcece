"""Property tests of the request validation (pure domain, no network).

Whatever the body, ``parse_request`` answers with a request or a :class:`BadRequestError`
carrying a machine-readable code; a card number anywhere is refused as ``pan_not_allowed``;
the error never echoes the input.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from txn_domain.errors import BadRequestError, DomainError
from txn_domain.models import GEO_DECIMALS
from txn_domain.validation import check_timestamp, parse_request
from txn_resilience import cards, strategies

CODES = {
    "missing_body",
    "body_too_large",
    "malformed_json",
    "malformed_body",
    "pan_not_allowed",
    "missing_field",
    "unknown_field",
    "invalid_type",
    "invalid_format",
    "out_of_range",
    "invalid_value",
}
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def answer(body: str | bytes) -> BadRequestError | None:
    """The error ``parse_request`` raises for ``body``, or ``None`` when it is accepted."""
    try:
        parse_request(body)
    except BadRequestError as err:
        return err
    return None


def refusal(body: str | bytes) -> BadRequestError:
    with pytest.raises(DomainError) as caught:
        parse_request(body)
    err = caught.value
    assert isinstance(err, BadRequestError), type(err)
    assert err.code in CODES, err.code
    assert err.message
    assert err.status == 400
    return err


@FAST
@given(strategies.raw_bodies())
def test_any_body_gets_a_request_or_a_coded_400(body: str | bytes) -> None:
    # GIVEN any bytes or text, WHEN parsed, THEN no exception but BadRequestError escapes
    outcome = answer(body)
    assert outcome is None or outcome.code in CODES, outcome


@FAST
@given(strategies.domain_bodies())
def test_a_schema_valid_body_is_accepted_as_sent(body: dict) -> None:
    request = parse_request(json.dumps(body))
    sent = {k: v for k, v in body.items() if k not in {"timestamp", "geo"}}
    got = request.model_dump(exclude_none=True)
    assert {k: v for k, v in got.items() if k in sent} == sent
    if "geo" in body:  # coordinates are kept to GEO_DECIMALS places
        assert got["geo"] == {k: round(v, GEO_DECIMALS) for k, v in body["geo"].items()}


@FAST
@given(
    strategies.valid_bodies(),
    strategies.pans(),
    st.sampled_from((*strategies.STRING_FIELDS, "key", "notes")),
    st.sampled_from(("plain", "escaped")),
)
def test_a_card_number_anywhere_is_refused_and_not_echoed(
    body: dict, pan: str, where: str, how: str
) -> None:
    # GIVEN a PAN in a field, an extra field, a key name, plain or as \u escapes
    err = refusal(strategies.with_pan(body, pan, where, how))
    # THEN it is refused for what it is, and the answer holds no digits of it
    assert err.code == "pan_not_allowed"
    assert not cards.find_pans(json.dumps(err.to_body()))


@FAST
@given(strategies.mutated_bodies())
def test_a_hostile_field_value_is_refused_by_name(case: tuple) -> None:
    field, value, body = case
    err = answer(json.dumps(body))
    if err is None:
        # a few hostile values are valid for some fields (None for an optional one, a valid id)
        request = parse_request(json.dumps(body))
        assert getattr(request, field) is not None or value is None
        return
    assert err.code in CODES
    # THEN the error names the field, unless the value hid a card number or broke the JSON
    named = err.field is not None and err.field.split(".")[0] == field
    assert named or err.code in {"pan_not_allowed", "malformed_json"}


@pytest.mark.parametrize("amount", strategies.BAD_AMOUNTS, ids=repr)
def test_amount_that_is_not_a_positive_integer_in_range_is_refused(amount, make_body) -> None:
    err = refusal(json.dumps(make_body(amount=amount)))
    # 20 digits and more are refused as a possible card number (a window may pass Luhn)
    assert err.field == "amount"
    assert err.code in {"out_of_range", "invalid_type", "missing_field", "pan_not_allowed"}


def test_nan_amount_is_refused(make_body) -> None:
    # json.dumps writes NaN (not JSON); a client library might too
    err = refusal(json.dumps(make_body(amount=float("nan"))))
    assert err.code in {"malformed_json", "invalid_type"}


@pytest.mark.parametrize("currency", strategies.NOT_A_CURRENCY)
def test_a_currency_that_does_not_exist_is_refused(currency, make_body) -> None:
    err = refusal(json.dumps(make_body(currency=currency)))
    assert err.field == "currency"


@pytest.mark.parametrize("field", ["card_country", "ip_country", "billing_country"])
@pytest.mark.parametrize("country", strategies.NOT_A_COUNTRY)
def test_a_country_that_does_not_exist_is_refused(field, country, make_body) -> None:
    err = refusal(json.dumps(make_body(**{field: country})))
    assert err.field == field


@pytest.mark.parametrize("trick", strategies.UNICODE_TRICKS, ids=ascii)
@pytest.mark.parametrize("field", ["merchant_id", "currency", "card_bin", "card_token"])
def test_unicode_lookalikes_are_refused(trick, field, make_body) -> None:
    err = refusal(json.dumps(make_body(**{field: trick})))
    # a lone surrogate is not valid JSON text at all: the body is refused as such
    assert (err.field, err.code) in {(field, err.code), (None, "malformed_json")}


@pytest.mark.parametrize("injection", strategies.INJECTIONS, ids=ascii)
@pytest.mark.parametrize("field", ["merchant_id", "external_id", "terminal_id", "ip_address"])
def test_injection_strings_are_refused_without_echo(injection, field, make_body) -> None:
    err = refusal(json.dumps(make_body(**{field: injection})))
    assert err.field == field
    assert injection not in err.message


def test_deeply_nested_body_with_a_card_number_is_a_400_not_a_crash() -> None:
    # regression: naming the PAN's field parsed with json and hit the recursion limit
    pan = cards.make_pan(__import__("random").Random(1), 16)
    err = refusal("[" * 3000 + pan + "]" * 3000)
    assert err.code == "pan_not_allowed"


def test_card_number_in_json_unicode_escapes_is_refused(make_body) -> None:
    # regression: the raw-text scan saw "\u0034\u0031..." and let the PAN into external_id
    body = strategies.with_pan(make_body(), "4111111111111111", "external_id", "escaped")
    assert refusal(body).code == "pan_not_allowed"


def test_a_precise_coordinate_is_not_mistaken_for_a_card_number(make_body) -> None:
    # regression: 1.746091004276984 holds 15 digits that pass Luhn; the raw-text scan refused it
    request = parse_request(json.dumps(make_body(geo={"lat": 0.0, "lon": 1.746091004276984})))
    assert request.geo is not None
    assert request.geo.lon == 1.746091


def test_a_card_number_used_as_a_key_is_not_echoed_as_the_field(make_body) -> None:
    # regression: the error named the offending key, i.e. sent the card number back
    err = refusal(json.dumps({**make_body(), "4111111111111111": "x"}))
    assert err.code == "pan_not_allowed"
    assert err.field is None


def test_escaped_separators_do_not_hide_a_card_number(make_body) -> None:
    escaped = "4111\\u002d1111\\u002d1111\\u002d1111"
    body = json.dumps(make_body(external_id="__X__")).replace("__X__", escaped)
    assert refusal(body).code == "pan_not_allowed"


@pytest.mark.parametrize("size", [8 * 1024 + 1, 64 * 1024, 1024 * 1024])
def test_huge_bodies_are_refused_before_parsing(size) -> None:
    assert refusal("{" + " " * size + "}").code == "body_too_large"


def test_non_utf8_bytes_are_refused() -> None:
    assert refusal(b'{"merchant_id": "\xff\xfe"}').code == "malformed_json"


@FAST
@given(st.integers(min_value=6 * 60, max_value=10**8))
def test_a_timestamp_far_in_the_future_is_refused(ahead: int) -> None:
    now = datetime.now(UTC)
    body = {**strategies_body(), "timestamp": strategies.now_rfc3339(ahead)}
    with pytest.raises(BadRequestError) as caught:
        check_timestamp(parse_request(json.dumps(body)), now)
    assert caught.value.field == "timestamp"


def strategies_body() -> dict:
    return {
        "merchant_id": "m_1001",
        "amount": 1999,
        "currency": "USD",
        "card_token": "tok_abcdefgh",
        "card_bin": "411111",
        "card_last4": "1111",
        "channel": "ecommerce",
        "timestamp": strategies.now_rfc3339(),
    }


def test_error_codes_are_snake_case() -> None:
    assert all(re.fullmatch(r"[a-z]+(_[a-z0-9]+)*", code) for code in CODES)
