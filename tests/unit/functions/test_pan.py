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


# The last three groups are all digits and hold Luhn-valid 13-19 digit windows: an SQS message id
# shaped like this made a FAILED record's key read as a PAN.
UUID_WITH_DIGIT_GROUPS = "0a1b2c3d-4e5f-4111-8111-111111111111"


def test_given_a_uuid_whose_digit_groups_pass_luhn_then_it_is_not_a_pan():
    digits = UUID_WITH_DIGIT_GROUPS.split("-", 2)[2]
    assert contains_pan(digits)  # the same digits outside a UUID are refused
    assert not contains_pan(UUID_WITH_DIGIT_GROUPS)
    assert not contains_pan(f"unparsed-{UUID_WITH_DIGIT_GROUPS}")
    assert not contains_pan(UUID_WITH_DIGIT_GROUPS.upper())
    assert redact_pans(f"id {UUID_WITH_DIGIT_GROUPS}") == f"id {UUID_WITH_DIGIT_GROUPS}"


def test_given_a_pan_next_to_a_uuid_then_the_pan_is_still_found_and_redacted():
    text = f"{UUID_WITH_DIGIT_GROUPS} 4111 1111 1111 1111"
    assert contains_pan(text)
    assert redact_pans(text) == f"{UUID_WITH_DIGIT_GROUPS} {REDACTED}"
    assert contains_pan(f"4111111111111111-{UUID_WITH_DIGIT_GROUPS}")


def test_given_a_uuid_shape_with_too_many_digits_then_it_is_scanned():
    # not a canonical UUID (13 characters in the last group): the run is read as usual
    assert contains_pan("0a1b2c3d-4e5f-4111-8111-1111111111111")


def test_random_uuids_are_never_read_as_pans():
    import random
    import uuid

    rng = random.Random(5)
    ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(20_000)]
    assert not any(contains_pan(i) for i in ids)  # 0.27% of them did before
