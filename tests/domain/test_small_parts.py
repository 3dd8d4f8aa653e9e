"""Loyalty, limits, card-number detection, UUIDv7, the time clock and the till."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.domain.cart import Cart, WeightSource
from appliance.domain.errors import (
    BalanceOverdrawn,
    CashDropError,
    DomainError,
    InvalidTransition,
    PurchaseLimitExceeded,
)
from appliance.domain.ids import uuid7, uuid7_time_ms
from appliance.domain.limits import LimitClass, enforce, usage
from appliance.domain.loyalty import LoyaltyProgram, LoyaltyTier
from appliance.domain.pan import (
    card_number_at,
    contains_card_number,
    luhn_valid,
    may_hold_card_number,
    scrub,
)
from appliance.domain.rules import StoreRules
from appliance.domain.till import Till, TillState
from appliance.domain.timeclock import ClockAction, ClockState, TimeClock
from tests.domain.conftest import NOW, cad


def test_loyalty_tiers_and_points(rules: StoreRules) -> None:
    program = rules.loyalty
    assert program is not None
    assert program.tier_for(999).name == "Member" and program.tier_for(1000).name == "Gold"
    assert program.points_earned(cad(1999), 0) == 19  # floor(19.99 x 1)
    assert program.points_earned(cad(1999), 1500) == 39  # floor(19.99 x 2)
    assert program.points_earned(cad(-5), 0) == 0
    assert program.check_redeem("r5", 100).value == cad(500)
    with pytest.raises(BalanceOverdrawn, match="needs 100 points; the customer has 99"):
        program.check_redeem("r5", 99)
    with pytest.raises(DomainError, match="unknown loyalty reward 'r9'"):
        program.reward("r9")
    with pytest.raises(DomainError, match="starts at 0"):
        LoyaltyProgram((LoyaltyTier("Gold", 10, Decimal(1)),))


def test_limits_count_grams_and_item_equivalents(rules: StoreRules) -> None:
    bd, preroll = rules.catalog.product("bd"), rules.catalog.product("preroll")
    cart = Cart().add_weighed(bd, Decimal(7), WeightSource.PRESET, Decimal(2))
    cart = cart.add_item(preroll, Decimal(4)).add_item(rules.catalog.product("milk"))
    (use,) = usage(cart.lines, rules.catalog, rules.limits, {"cannabis": Decimal(15)})
    assert (use.before, use.in_cart, use.after) == (15, 16, 31)  # 2 x 7 g + 4 x 0.5 g
    with pytest.raises(PurchaseLimitExceeded, match="Cannabis: 15 g .* 16 g .* limit of 30 g"):
        enforce([use])
    enforce(usage(cart.lines, rules.catalog, rules.limits, {}))  # 16 g alone is fine
    # a counter over the limit does not block a sale without that class
    over = usage(Cart().lines, rules.catalog, rules.limits, {"cannabis": Decimal(40)})
    enforce(over)


def test_limits_by_item_count(rules: StoreRules) -> None:
    each = {"cannabis": LimitClass("cannabis", "Packs", Decimal(2), "each")}
    bd = rules.catalog.product("bd")
    cart = Cart().add_weighed(bd, Decimal(7), WeightSource.PRESET, Decimal(3))
    with pytest.raises(PurchaseLimitExceeded, match="3 items"):
        enforce(usage(cart.lines, rules.catalog, each, {}))


@pytest.mark.parametrize(
    "text, found",
    [
        ("4111111111111111", True),
        ("ref 4111 1111 1111 1111 ok", True),
        ("5500-0000-0000-0004", True),
        ("4111111111111112", False),  # fails Luhn
        ("123456789012", False),  # too short
        ("A1B2C3", False),
        ("0062639000024", False),  # an EAN-13 that fails Luhn
        ("0062639000017", True),  # one that passes: 13 digits can be a card number
        # a card number among more digit groups: every span of whole groups is tried
        ("4111111111111111 1", True),
        ("4111 1111 1111 1111 7", True),
        ("12 4111-1111-1111-1111", True),
        ("99 4111111111111111 1 2", True),
        ("4111 1111 1111 1112 7", False),  # no span of 13-19 digits passes
        ("41111111111111110", False),  # 17 unbroken digits: one number, no card's
        ("4111111111111111 12345678901234567890", True),  # the card before a long group
        ("٤١١١١١١١١١١١١١١١", True),  # Arabic-Indic digits are digits
    ],
)
def test_card_numbers_are_recognised(text: str, found: bool) -> None:
    assert contains_card_number(text) is found


_TEXT = st.text() | st.text("0123456789 -٤４x", min_size=12)
_KEYS = st.sampled_from(["id", "prev", "previous_hash", "note", "line_id", '"id', 'x"prev'])
_DOCUMENT = st.recursive(
    _TEXT | st.integers() | st.none(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=8,
)


@given(_DOCUMENT, st.booleans(), st.booleans())
def test_the_raw_first_look_never_misses_a_card_number(
    document: Any, ascii: bool, compact: bool
) -> None:
    separators = (",", ":") if compact else None  # identifiers are passed over in compact JSON
    raw = json.dumps(document, ensure_ascii=ascii, separators=separators).encode()
    if card_number_at(document, "doc") is not None:
        assert may_hold_card_number(raw), raw


def test_the_full_check_passes_over_identifiers_and_finds_the_rest() -> None:
    card = "4111 1111 1111 1111"
    assert card_number_at({"id": card, "lines": [{"previous_hash": card}]}, "body") is None
    assert card_number_at({"lines": [{"id": "x", "note": card}]}, "body") == "body.lines[0].note"
    assert card_number_at({"id": {"note": card}}, "body") is None  # the whole value is passed


@pytest.mark.parametrize(
    ("raw", "maybe"),
    [
        (b'{"total": 1234, "id": "01a2-00ff", "name": "cola"}', False),
        (b'{"reason": "4111 1111 1111 1111"}', True),
        (b'{"reason": "\\u0034111111111111111"}', True),  # an escaped digit
        ('{"reason": "４１１１"}'.encode(), True),  # not ASCII: the full check decides
        (b'{"id":"01a21000-0000-7000-8000-000000000006","n":1}', False),  # an identifier
        (b'{"prev":"30974165923874561239abcdef"}', False),
        (b'{"id": "01a21000-0000-7000-8000-000000000006"}', True),  # not compact: looked at
        (b'{"note":"01a21000-0000-7000-8000-000000000006"}', True),  # not an identifier
        (b'{"id":"x","n":12345678901234}', True),  # a number: the walk decides
        (b'[{"id":""},12345678901234]', True),  # the quote before closes a string
        (b'{"\\"id":"4111111111111111"}', True),  # a key ending in an escaped quote and id
        (b'{"a":1,"prev":"30974165923874561239abcdef"}', False),  # after a comma
    ],
)
def test_the_raw_first_look(raw: bytes, maybe: bool) -> None:
    assert may_hold_card_number(raw) is maybe


def test_scrub_hides_card_numbers_and_keeps_other_digits() -> None:
    text = "ref 4111 1111 1111 1111, order 4111111111111112, barcode 0062639000024"
    assert scrub(text) == "ref [card number], order 4111111111111112, barcode 0062639000024"
    # the whole run holding one goes, so no part of the card is left beside it
    assert scrub("at 12 4111111111111111 1 end") == "at [card number] end"


@given(st.text("0123456789 -x", max_size=40))
def test_scrub_leaves_nothing_the_check_would_find(text: str) -> None:
    assert not contains_card_number(scrub(text))
    assert (scrub(text) != text) is contains_card_number(text)


def test_luhn() -> None:
    assert luhn_valid("79927398713") and not luhn_valid("79927398710")


def test_uuid7_layout() -> None:
    value = uuid7(1_764_000_000_123, bytes(range(10)))
    assert value.version == 7 and value.variant == uuid.RFC_4122
    assert uuid7_time_ms(value) == 1_764_000_000_123
    assert uuid7(1, bytes(10)) < uuid7(2, bytes(10))
    with pytest.raises(DomainError, match="10 random bytes"):
        uuid7(1, b"x")
    with pytest.raises(DomainError, match="out of range"):
        uuid7(-1, bytes(10))
    with pytest.raises(DomainError, match="not a version-7"):
        uuid7_time_ms(uuid.UUID(int=0))


def test_time_clock_walks_its_table() -> None:
    clock = TimeClock("ann")
    t = NOW
    clock, punch = clock.punch(ClockAction.CLOCK_IN, t)
    assert punch.action is ClockAction.CLOCK_IN and clock.state is ClockState.WORKING
    clock, _ = clock.punch(ClockAction.START_BREAK, t + timedelta(hours=2))
    with pytest.raises(InvalidTransition, match="ann is on break; cannot clock out"):
        clock.punch(ClockAction.CLOCK_OUT, t + timedelta(hours=3))
    clock, _ = clock.punch(ClockAction.END_BREAK, t + timedelta(hours=2, minutes=30))
    assert clock.worked(t + timedelta(hours=3)) == timedelta(hours=2, minutes=30)
    clock, _ = clock.punch(ClockAction.CLOCK_OUT, t + timedelta(hours=4))
    assert clock.state is ClockState.OFF
    assert clock.worked(t + timedelta(hours=9)) == timedelta(hours=3, minutes=30)
    with pytest.raises(InvalidTransition, match="allowed: clock_in"):
        clock.punch(ClockAction.START_BREAK, t + timedelta(hours=5))
    with pytest.raises(InvalidTransition, match="before the last punch"):
        clock.punch(ClockAction.CLOCK_IN, t)


def test_till_drops_and_close() -> None:
    till = Till("CAD")
    with pytest.raises(InvalidTransition, match="till is closed; cannot drop cash"):
        till.drop("ann", cad(100), "bag1", NOW)
    with pytest.raises(InvalidTransition, match="cannot take cash"):
        till.cash_sale(cad(100))
    with pytest.raises(CashDropError, match="negative"):
        till.open(cad(-1))
    till = till.open(cad(10000)).cash_sale(cad(5000))
    with pytest.raises(InvalidTransition, match="till is open; cannot open"):
        till.open(cad(1))
    with pytest.raises(CashDropError, match="more than the 150.00 CAD in the till"):
        till.drop("ann", cad(20000), "bag1", NOW)
    with pytest.raises(CashDropError, match="must be positive"):
        till.drop("ann", cad(0), "bag1", NOW)
    with pytest.raises(CashDropError, match="card number"):
        till.drop("ann", cad(1), "4111111111111111", NOW)
    till, drop = till.drop("ann", cad(12000), "bag1", NOW)
    assert drop.amount == cad(12000) and till.expected == cad(3000)
    closed, count = till.close(cad(2950))
    assert closed.state is TillState.CLOSED and count.over_short == cad(-50)
    assert isinstance(datetime.now(), datetime)
