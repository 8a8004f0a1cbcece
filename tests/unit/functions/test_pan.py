import pytest

from txn_domain.pan import REDACTED, contains_pan, luhn_ok, mask_card, redact_pans

VISA = "4111111111111111"
AMEX = "378282246310005"


@pytest.mark.parametrize("pan", [VISA, AMEX, "5555555555554444", "6011111111111117"])
def test_luhn_accepts_valid_test_card_numbers(pan):
    assert luhn_ok(pan)


def test_luhn_rejects_a_changed_digit():
    assert not luhn_ok("4111111111111112")


@pytest.mark.parametrize(
    "text",
    [
        VISA,
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        f'{{"note": "card {VISA} here"}}',
        f"tok_{VISA}",
        f"99{AMEX}77",  # hidden inside a longer digit run
    ],
)
def test_given_text_with_a_pan_when_scanned_then_found(text):
    assert contains_pan(text)


@pytest.mark.parametrize(
    "text",
    [
        "4111111111111112",  # fails Luhn
        "411111",  # a BIN
        "2026-11-30T12:00:00Z",
        "203.0.113.7",
        '{"amount": 99999999999}',
        "123456789012",  # 12 digits: too short for a PAN
    ],
)
def test_given_text_without_a_pan_when_scanned_then_clean(text):
    assert not contains_pan(text)


def test_redact_replaces_only_the_pan():
    assert redact_pans(f"card {VISA} amount 1999") == f"card {REDACTED} amount 1999"


def test_mask_card_shows_bin_and_last4_only():
    assert mask_card("411111", "1111") == "411111******1111"
