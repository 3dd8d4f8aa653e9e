"""Properties that hold for every cart, sale and tender split the strategies can draw."""

from __future__ import annotations

from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.domain.cart import Cart
from appliance.domain.chain import GENESIS_HASH
from appliance.domain.money import Money, allocate, total
from appliance.domain.pricing import price_cart
from appliance.domain.rules import StoreRules
from appliance.domain.sale import SaleHeader, complete, decode, encode, rederive
from appliance.domain.tender import TenderKind, settle
from tests.domain.strategies import carts, nows, store_rules, tenders_for

DOMAIN = settings(max_examples=150)  # the money paths: more examples than the default 100


def _header(now: datetime) -> SaleHeader:
    return SaleHeader("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "s1", "r1", 7, GENESIS_HASH, "ann",
                      now, offline=True)  # fmt: skip


@DOMAIN
@given(store_rules(), carts(), nows())
def test_totals_equal_the_sum_of_the_lines(rules: StoreRules, cart: Cart, now: datetime) -> None:
    priced = price_cart(cart, rules, now)
    assert priced.subtotal == total([li.base for li in priced.lines], rules.currency)
    assert priced.net_total == total([li.net for li in priced.lines], rules.currency)
    for line in priced.lines:
        assert line.net == line.base - line.discount_total
    expected = (
        priced.net_total if priced.prices_include_tax else priced.net_total + priced.tax_total
    )
    assert priced.total == expected
    assert priced.tax_total == total([t.amount for t in priced.taxes], rules.currency)


@DOMAIN
@given(store_rules(), carts(), nows())
def test_tax_and_totals_are_never_negative(rules: StoreRules, cart: Cart, now: datetime) -> None:
    priced = price_cart(cart, rules, now)
    assert priced.total.minor >= 0 and priced.tax_total.minor >= 0
    for line in priced.lines:
        assert line.net.minor >= 0
        assert line.promotion_discount.minor >= 0 and line.manual_discount.minor >= 0
    for tax in priced.taxes:
        assert tax.amount.minor >= 0 and tax.taxable.minor >= 0
    if priced.prices_include_tax:
        assert priced.tax_total.minor <= priced.total.minor


@DOMAIN
@given(st.data(), store_rules(), carts(), nows())
def test_split_tenders_cover_the_total_exactly_and_change_is_never_negative(
    data: st.DataObject, rules: StoreRules, cart: Cart, now: datetime
) -> None:
    due = price_cart(cart, rules, now).total
    tenders = data.draw(tenders_for(due))
    settlement = settle(due, tenders, {}, rules.cash_increment)
    assert settlement.paid == due + settlement.rounding
    assert settlement.change.minor >= 0
    assert abs(settlement.rounding.minor) * 2 <= rules.cash_increment
    if not any(t.kind is TenderKind.CASH for t in tenders):
        assert settlement.rounding.is_zero() and settlement.change.is_zero()
    handed = total([t.amount for t in tenders], due.currency)
    assert handed == settlement.paid + settlement.change


@DOMAIN
@given(st.data(), store_rules(), carts(), nows())
def test_rederive_of_any_valid_sale_has_zero_drift_and_encoding_round_trips(
    data: st.DataObject, rules: StoreRules, cart: Cart, now: datetime
) -> None:
    due = price_cart(cart, rules, now).total
    sale = complete(cart, rules, data.draw(tenders_for(due)), _header(now))
    drift = rederive(sale, rules)
    assert drift.clean, drift.items
    raw = encode(sale)
    assert decode(raw) == sale
    assert encode(decode(raw)) == raw


@DOMAIN
@given(st.integers(0, 10**9), st.lists(st.integers(0, 10**6), min_size=1, max_size=20))
def test_allocate_is_exact_and_proportional(amount: int, weights: list[int]) -> None:
    shares = allocate(amount, weights)
    assert sum(shares) == amount
    whole = sum(weights)
    if whole:
        for share, weight in zip(shares, weights, strict=True):
            assert abs(share * whole - amount * weight) < whole


@DOMAIN
@given(st.integers(-(10**6), 10**6), st.sampled_from(["CAD", "JPY", "KWD"]))
def test_money_format_parse_round_trip(minor: int, currency: str) -> None:
    money = Money(minor, currency)
    assert Money.parse(money.format(), currency) == money
