"""A card's behavioural profile (issue 17, item 1; ADR 0012): what is usual for the card."""

from __future__ import annotations

import pytest

from txn_domain.profile import (
    FLAGGED_PLACE_S,
    PENDING,
    PENDING_HOURS,
    PLACE_KM,
    UNKNOWN_IP_COUNTRY,
    Profile,
    fold,
    mark,
    shop_home,
)
from txn_domain.velocity import Counter

DAY = 86_400
HOUR = 3600
T0 = 1_796_000_000
NY = (40.71, -74.0)
LONDON = (51.5, -0.12)
BRIGHTON = (50.82, -0.14)  # 76 km from London


def spend(profile: Profile, n: int, amount: int = 2000, geo=NY, start: int = T0, **kw) -> Profile:
    for i in range(n):
        shop = (mark("m", f"m{i % 3}"),)
        profile = fold(profile, start + i * DAY, amount, geo, shop, None, present=True, **kw)
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
    after = fold(
        p, T0 + 7 * DAY, 90_000, LONDON, (mark("m", "thief"),), None, learn=False, present=True
    )
    assert (after.mean, after.var, after.places, after.known) == (p.mean, p.var, p.places, p.known)
    assert after.recent_novelty(T0 + 7 * DAY) > p.recent_novelty(T0 + 7 * DAY)


def test_a_first_visit_counts_as_new_with_coordinates_or_without_and_online_never():
    p = spend(Profile(), 6)
    now = T0 + 7 * DAY
    visit = fold(p, now, 2000, None, (mark("m", "new"),), None, present=True)
    online = fold(p, now, 2000, NY, (mark("m", "web"),), "US", present=False)
    before = p.recent_novelty(now)  # the first days' new shops, faded to nothing
    assert before < 0.01
    assert visit.recent_novelty(now) == pytest.approx(before + 1.0)
    assert online.recent_novelty(now) == pytest.approx(before)


def test_a_shops_country_is_usual_once_used_on_days_apart_and_an_ips_stays_apart():
    p = spend(Profile(), 6)  # New York, with coordinates: no country recorded
    day0 = T0 + 7 * DAY
    gb = lambda p, at, m: fold(p, at, 2000, None, (mark("m", m),), "GB", present=True)  # noqa: E731
    # card present without coordinates at a shop in Britain, twice on one day: not usual yet
    for h in (0, 5):
        p = gb(p, day0 + h * HOUR, f"gb{h}")
    assert shop_home(p.countries) == frozenset()
    assert Profile.parse(p.text()).countries == p.countries  # held as it is stored
    # an online sale from a British IP is usual at once as an IP's country, and settles nothing
    # for the shops (a VPN's country is no shop visit)
    p = fold(p, day0 + 6 * HOUR, 2000, None, (mark("m", "web"),), "GB", present=False)
    assert "GB" in p.countries
    assert shop_home(p.countries) == frozenset()
    # two days after the first visit, the shop's country is usual; the IP's entry stays
    p = gb(p, day0 + 2 * DAY, "gb9")
    assert shop_home(p.countries) == {"GB"}
    assert sorted(c for c in p.countries if c.startswith("GB")) == ["GB", "GB+"]


def test_a_profile_rebuilt_after_a_lost_race_folds_shop_visits_as_they_were_added():
    card = Counter(key="card#t")
    for i in range(4):  # a home shop, then new shops without coordinates
        card.add(T0 + i * HOUR, 2000, False, None, f"d{i}", (mark("m", f"s{i}"),), "GB", True)
        card.learn(False)
    rebuilt = card.profile_after(list(card.added[1:]))  # another writer stored the first
    assert rebuilt.novelty > 0  # the later shops are still visits
    assert rebuilt.countries == ("GB~" + str(T0 // DAY),)  # and their country still pending


def test_recent_first_uses_fade_within_hours():
    p = spend(Profile(), 6)
    for i in range(3):
        p = fold(p, T0 + 7 * DAY + i * 600, 2000, NY, (mark("m", f"new{i}"),), None, present=True)
    assert p.recent_novelty(T0 + 7 * DAY + 1200) >= 2.5
    assert p.recent_novelty(T0 + 7 * DAY + 12 * 3600) < 0.2


def caught(p: Profile, at: int, geo=LONDON) -> Profile:
    """``p`` after a flagged sale at ``geo``."""
    return fold(p, at, 9000, geo, (mark("m", f"{geo}{at}"),), None, learn=False, present=True)


T = T0 + 7 * DAY


def test_a_flagged_sale_makes_its_place_suspect_for_hours_either_side():
    p = caught(spend(Profile(), 6), T)
    assert p.near_flagged(*LONDON, T + 11 * HOUR)
    assert p.near_flagged(*LONDON, T - 11 * HOUR)  # delivered out of order
    assert not p.near_flagged(*LONDON, T + FLAGGED_PLACE_S + HOUR)
    assert not p.near_flagged(*LONDON, T - FLAGGED_PLACE_S - HOUR)


def test_a_suspect_place_is_the_flagged_place_only():
    p = caught(spend(Profile(), 6), T)
    assert not p.near_flagged(*NY, T + HOUR)  # the genuine cardholder, at home
    assert not p.near_flagged(*BRIGHTON, T + HOUR)  # the next town is another place


def test_each_flag_restarts_the_window_and_an_older_one_does_not_replace_it():
    p = caught(caught(spend(Profile(), 6), T), T + 10 * HOUR)
    assert p.near_flagged(*LONDON, T + 21 * HOUR)
    late = caught(p, T + 5 * HOUR, geo=BRIGHTON)  # an earlier sale, delivered late
    assert late.flagged == p.flagged


def test_a_learned_sale_keeps_the_flag_until_it_expires():
    p = caught(spend(Profile(), 6), T)
    home = (mark("m", "m0"),)
    assert fold(p, T + HOUR, 2000, NY, home, None).flagged == p.flagged
    assert fold(p, T + FLAGGED_PLACE_S + HOUR, 2000, NY, home, None).flagged is None


def test_a_flagged_sale_without_coordinates_marks_no_place():
    online = fold(spend(Profile(), 6), T, 9000, None, (mark("m", "web"),), "GB", learn=False)
    assert online.flagged is None


def test_a_profile_never_flagged_keeps_the_four_sections_older_items_have():
    before = spend(Profile(), 6).text()
    assert before.count("|") == 3
    assert Profile.parse(before).flagged is None


def test_the_flagged_place_round_trips_through_the_item_attribute():
    stored = caught(spend(Profile(), 6), T).text()
    assert Profile.parse(stored).text() == stored
    assert Profile.parse(stored).near_flagged(*LONDON, T + HOUR)


@pytest.mark.parametrize(
    ("countries", "online"),
    [
        ((), False),
        (("US~20400",), False),  # a shop's country, not yet usual
        (("US+", "CA~20401"), False),  # shops' countries only
        (("US+", "GB"), True),  # an IP's country
        ((UNKNOWN_IP_COUNTRY,), True),  # an IP sent without its country
    ],
)
def test_a_card_is_used_online_once_its_profile_holds_an_ips_country(countries, online):
    assert Profile(countries=countries).used_online() is online


HOME_IP = mark("i", "203.0.113.7")
OTHER_IP = mark("i", "198.51.100.99")


def online(p: Profile, when: int, ip: str, learn: bool = True, terminal: str | None = None):
    marks = (mark("m", "web"), *((mark("t", terminal),) if terminal else ()), ip)
    return fold(p, when, 2000, None, marks, "US", learn=learn, ip=ip)


def test_a_cards_first_ip_is_usual_at_once():
    p = online(spend(Profile(), 3), T0 + 4 * DAY, HOME_IP)
    assert HOME_IP in p.known
    assert p.ip_standing(HOME_IP, T0 + 4 * DAY) is True


def test_an_ip_met_beside_the_cards_own_is_pending_for_twelve_hours_from_its_first_use():
    p = online(spend(Profile(), 3), T0 + 4 * DAY, HOME_IP)
    first = T0 + 5 * DAY
    p = online(p, first, OTHER_IP)
    assert p.ip_standing(OTHER_IP, first + 11 * HOUR) is False  # used, not usual yet
    assert p.ip_standing(OTHER_IP, first - 11 * HOUR) is False  # a sale processed late
    assert p.ip_standing(OTHER_IP, first + (PENDING_HOURS + 1) * HOUR) is True
    assert f"{OTHER_IP}{PENDING}" in p.text()  # stored pending, with its hour, and read back
    assert Profile.parse(p.text()).ip_standing(OTHER_IP, first + HOUR) is False
    p = online(p, first + 3 * HOUR, OTHER_IP)  # within the hours: still pending, held once
    assert p.ip_standing(OTHER_IP, first + 11 * HOUR) is False
    assert sum(k.startswith(OTHER_IP) for k in p.known) == 1
    p = online(p, first + DAY, OTHER_IP)  # used after them: stored usual, pending entry gone
    assert OTHER_IP in p.known
    assert sum(k.startswith(OTHER_IP) for k in p.known) == 1


def test_an_ip_is_found_among_the_marks_whatever_else_the_sale_carries():
    # an online sale may name a terminal: the IP is the one passed as such, not a position
    p = online(spend(Profile(), 3), T0 + 4 * DAY, HOME_IP, terminal="m1/web-1")
    assert HOME_IP in p.known
    assert mark("t", "m1/web-1") in p.known
    p = online(p, T0 + 5 * DAY, OTHER_IP, terminal="m1/web-1")
    assert p.ip_standing(OTHER_IP, T0 + 5 * DAY + HOUR) is False
    # a shop's terminal is never pending, on a card used online or not
    p = fold(p, T0 + 5 * DAY, 2000, NY, (mark("m", "shop"), mark("t", "shop/1")), None, True, True)
    assert mark("t", "shop/1") in p.known


def test_a_flagged_sale_from_a_new_ip_leaves_it_unknown():
    p = online(spend(Profile(), 3), T0 + 4 * DAY, HOME_IP)
    p = online(p, T0 + 5 * DAY, OTHER_IP, learn=False)
    assert p.ip_standing(OTHER_IP, T0 + 5 * DAY) is None


def test_a_card_that_returns_to_its_shops_rarely_visits_a_new_one_and_an_explorer_often():
    # ADR 0026: the spree rules leave a card alone whose visits are often first ones
    loyal = spend(Profile(), 30)  # three shops, over and over
    explorer = Profile()
    for i in range(30):
        shop = (mark("m", f"shop-{i}"),)
        explorer = fold(explorer, T0 + i * DAY, 2000, NY, shop, None, present=True)
    assert loyal.explore < 0.1
    assert explorer.explore > 0.9


def test_only_a_learned_visit_moves_the_share_of_first_visits():
    p = spend(Profile(), 6)
    now = T0 + 7 * DAY
    new_shop = (mark("m", "new"),)
    learned = fold(p, now, 2000, NY, new_shop, None, present=True)
    flagged = fold(p, now, 2000, NY, new_shop, None, learn=False, present=True)
    online = fold(p, now, 2000, None, (mark("m", "web"),), "US", present=False)
    assert learned.explore == pytest.approx(p.explore + 0.1 * (1 - p.explore))
    assert flagged.explore == online.explore == p.explore


def test_the_share_of_first_visits_has_its_own_attribute_and_an_older_item_reads_zero():
    p = spend(Profile(), 6)
    assert p.explore > 0
    stored = p.text()
    assert stored.count("|") == 3  # the profile attribute an older build reads, unchanged
    assert Profile.parse(stored, f"{p.explore:.3f}").explore == pytest.approx(p.explore, abs=1e-3)
    assert Profile.parse(stored).explore == 0.0  # written by a build before the share
