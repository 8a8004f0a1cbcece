"""A card's behavioural profile (issue 17, item 1; ADR 0012): what is usual for the card."""

from __future__ import annotations

from txn_domain.profile import FLAGGED_PLACE_S, PLACE_KM, Profile, fold, mark

DAY = 86_400
T0 = 1_796_000_000
NY = (40.71, -74.0)
LONDON = (51.5, -0.12)
HOUR = 3600


def spend(profile: Profile, n: int, amount: int = 2000, geo=NY, start: int = T0, **kw) -> Profile:
    for i in range(n):
        profile = fold(profile, start + i * DAY, amount, geo, (mark("m", f"m{i % 3}"),), None, **kw)
    return profile


def test_a_profile_round_trips_through_its_item_attributes():
    p = spend(Profile(), 6)
    p = fold(p, T0 + 7 * DAY, 5000, None, (mark("m", "web"), mark("i", "1.2.3.4")), "US")
    stored = p.text()
    assert Profile.parse(stored).text() == stored
    assert len(stored) < 200  # a small item stays small


def test_the_usual_amount_is_the_cards_own():
    p = spend(Profile(), 10, amount=2000)
    z_same, z_ten_times = p.amount_z(3.0), p.amount_z(5.3)  # ln(20), ln(200)
    assert z_same is not None
    assert abs(z_same) < 0.1
    assert z_ten_times is not None
    assert z_ten_times > 3
    big_spender = spend(Profile(), 10, amount=200_000)
    assert (big_spender.amount_z(5.3) or 0) < -3  # $200 is small for this card


def test_a_place_is_usual_once_used_on_two_days_apart_not_after_a_days_spree():
    home = spend(Profile(), 3)  # New York, three days running
    now = T0 + 10 * DAY
    assert (home.home_km(*NY, now) or 0) < PLACE_KM
    spree = home
    for i in range(4):  # a cloned card, four times in London within a day
        spree = fold(spree, now + i * 3600, 9000, LONDON, (mark("m", f"l{i}"),), None)
    assert (spree.home_km(*LONDON, now + 5 * 3600) or 0) > 5000  # London is not home yet
    assert (spree.home_km(*NY, now + 5 * 3600) or 0) < PLACE_KM


def test_a_flagged_sale_teaches_nothing_usual_but_counts_as_a_recent_new_shop():
    p = spend(Profile(), 6)
    after = fold(p, T0 + 7 * DAY, 90_000, LONDON, (mark("m", "thief"),), None, learn=False)
    assert (after.mean, after.var, after.places, after.known) == (p.mean, p.var, p.places, p.known)
    assert after.recent_novelty(T0 + 7 * DAY) > p.recent_novelty(T0 + 7 * DAY)


def test_recent_first_uses_fade_within_hours():
    p = spend(Profile(), 6)
    for i in range(3):
        p = fold(p, T0 + 7 * DAY + i * 600, 2000, NY, (mark("m", f"new{i}"),), None)
    assert p.recent_novelty(T0 + 7 * DAY + 1200) >= 2.5
    assert p.recent_novelty(T0 + 7 * DAY + 12 * 3600) < 0.2


def test_a_flagged_card_present_sale_is_remembered_where_and_when_for_hours():
    p = spend(Profile(), 6)
    t = T0 + 7 * DAY
    caught = fold(p, t, 9000, LONDON, (mark("m", "l1"),), None, learn=False)
    assert caught.near_flagged(*LONDON, t + 11 * HOUR)
    assert not caught.near_flagged(*LONDON, t + FLAGGED_PLACE_S + HOUR)
    assert not caught.near_flagged(*NY, t + HOUR)  # the genuine cardholder, at home
    later = fold(caught, t + DAY, 2000, NY, (mark("m", "m0"),), None)  # learned: kept
    assert later.flagged == caught.flagged
    online = fold(p, t, 9000, None, (mark("m", "web"),), "GB", learn=False)
    assert online.flagged is None  # no place to remember


def test_the_flagged_place_round_trips_and_an_older_item_without_it_still_reads():
    p = spend(Profile(), 6)
    before = p.text()
    assert before.count("|") == 3  # never flagged: the item is as it was before the field
    assert Profile.parse(before).flagged is None
    caught = fold(p, T0 + 7 * DAY, 9000, LONDON, (mark("m", "l1"),), None, learn=False)
    stored = caught.text()
    assert Profile.parse(stored).text() == stored
    assert Profile.parse(stored).near_flagged(*LONDON, T0 + 7 * DAY + HOUR)
