from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.domain.cart import Cart, CartLine, Discount, WeightSource
from appliance.domain.errors import (
    DiscountOverCap,
    DomainError,
    InvalidDiscount,
    InvalidQuantity,
    TaxConfigError,
    UnknownProduct,
)
from appliance.domain.money import Money
from appliance.domain.pricing import price_cart
from appliance.domain.promotions import Promotion, PromotionKind, best_promotion
from appliance.domain.rules import StoreRules
from appliance.domain.tax import TaxComponent, TaxRounding, TaxTable, compute_taxes
from tests.domain.conftest import NOW, cad


def _cart(rules: StoreRules, *items: tuple[str, str]) -> Cart:
    cart = Cart()
    for sku, qty in items:
        cart = cart.add_item(rules.catalog.product(sku), Decimal(qty))
    return cart


def test_tier_presets_keep_their_own_price(rules: StoreRules) -> None:
    bd = rules.catalog.product("bd")
    cart = Cart().add_weighed(bd, Decimal(7), WeightSource.PRESET)
    cart = cart.add_weighed(bd, Decimal("3.5"), WeightSource.PRESET, Decimal(2))
    cart = cart.add_weighed(bd, Decimal(14), WeightSource.PRESET)  # no tier price: per gram
    cart = cart.add_weighed(bd, Decimal(7), WeightSource.MANUAL)  # typed: per gram
    lines = price_cart(cart, replace(rules, promotions=()), NOW).lines
    assert [li.base.minor for li in lines] == [5500, 6000, 14000, 7000]
    assert [li.tier_price for li in lines] == [cad(5500), cad(3000), None, None]


def test_best_promotion_wins_and_they_do_not_stack(rules: StoreRules) -> None:
    bd = rules.catalog.product("bd")
    big = Promotion("z-big", "Big", PromotionKind.AMOUNT, Decimal(1000), skus=frozenset({"bd"}))
    small = Promotion("a-small", "Small", PromotionKind.AMOUNT, Decimal(10), skus=frozenset({"bd"}))
    best = best_promotion((small, big), bd, cad(5500), Decimal(1), NOW)
    assert best is not None and best[0].id == "z-big" and best[1] == cad(1000)
    tie = Promotion("b-tie", "Tie", PromotionKind.AMOUNT, Decimal(1000), skus=frozenset({"bd"}))
    best = best_promotion((big, tie), bd, cad(5500), Decimal(1), NOW)
    assert best is not None and best[0].id == "b-tie", "ties go to the smaller id"
    capped = Promotion("cap", "Cap", PromotionKind.AMOUNT, Decimal(9999), skus=frozenset({"bd"}))
    assert capped.discount_on(cad(500), Decimal(1)) == cad(500)


def test_promotion_dates_are_start_inclusive_end_exclusive() -> None:
    start, end = datetime(2026, 11, 27, 6), datetime(2026, 11, 27, 23)
    promo = Promotion("bf", "BF", PromotionKind.PERCENT, Decimal(20), starts=start, ends=end)
    minute = timedelta(minutes=1)
    assert [promo.is_active(t) for t in (start - minute, start, end - minute, end)] == [
        False, True, True, False,
    ]  # fmt: skip


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"kind": PromotionKind.FREEBIE}, "needs a threshold"),
        ({"kind": PromotionKind.PERCENT, "value": Decimal(101)}, "out of range"),
        ({"kind": PromotionKind.AMOUNT, "value": Decimal(0)}, "out of range"),
        ({"kind": PromotionKind.AMOUNT, "value": Decimal(1), "starts": NOW, "ends": NOW},
         "ends before"),
    ],
)  # fmt: skip
def test_promotion_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(DomainError, match=message):
        Promotion("p", "P", **kwargs)  # type: ignore[arg-type]


def test_freebie_appears_and_disappears_with_the_spend(rules: StoreRules) -> None:
    milk = rules.catalog.product("milk")
    cart = _cart(rules, ("milk", "20"))  # 99.80: under the 100.00 threshold
    assert not any(li.free for li in price_cart(cart, rules, NOW).lines)
    cart = cart.add_item(milk)  # 104.79
    priced = price_cart(cart, rules, NOW)
    free = [li for li in priced.lines if li.free]
    assert [(li.sku, li.line_id, li.net.minor, li.base.minor) for li in free] == [
        ("mug", -1, 0, 800)
    ]
    assert priced.net_total == cad(10479)
    discounted = cart.set_order_discount(Discount.percent(10))
    assert not any(li.free for li in price_cart(discounted, rules, NOW).lines)


def test_an_unusable_freebie_warns_instead_of_blocking(rules: StoreRules) -> None:
    bad = Promotion("bad", "Bad", PromotionKind.FREEBIE, threshold=cad(1), free_sku="apples")
    gone = Promotion("gone", "Gone", PromotionKind.FREEBIE, threshold=cad(1), free_sku="nope")
    priced = price_cart(_cart(rules, ("milk", "1")), replace(rules, promotions=(bad, gone)), NOW)
    assert len(priced.warnings) == 2 and "apples" in priced.warnings[0]
    assert not any(li.free for li in priced.lines)


def test_manual_discounts_stack_after_promotions(rules: StoreRules) -> None:
    bd = rules.catalog.product("bd")
    cart = Cart().add_weighed(bd, Decimal(7), WeightSource.PRESET)
    cart = cart.set_line_discount(1, Discount.percent(10))
    line = price_cart(cart, rules, NOW).lines[0]
    # 55.00, flower 10% -> 49.50, then 10% of 49.50 = 4.95
    assert (line.promotion_discount, line.manual_discount, line.net) == (
        cad(550), cad(495), cad(4455),
    )  # fmt: skip


def test_order_discount_is_spread_by_largest_remainder(rules: StoreRules) -> None:
    cart = _cart(rules, ("milk", "1"), ("mug", "1"), ("vape", "1"))  # 4.99 + 8.00 + 30.00
    cart = cart.set_order_discount(Discount.amount(100))
    lines = price_cart(cart, rules, NOW).lines
    # 100 x 499/4299 = 11.607, x 800/4299 = 18.609, x 3000/4299 = 69.784: floors 11, 18, 69;
    # the 2 cents left go to the largest remainders (.784, then .609)
    assert [li.order_discount.minor for li in lines] == [11, 19, 70]
    assert sum(li.order_discount.minor for li in lines) == 100


def test_discount_cap_needs_a_manager(rules: StoreRules) -> None:
    cart = _cart(rules, ("mug", "1")).set_line_discount(1, Discount.percent(25))
    with pytest.raises(DiscountOverCap, match=r"line 1 \(Mug\).*25.0% .*20% cap"):
        price_cart(cart, rules, NOW)
    approved = replace(Discount.percent(25), approved_by="mgr")
    assert price_cart(cart.set_line_discount(1, approved), rules, NOW).total.minor > 0
    order = _cart(rules, ("mug", "1")).set_order_discount(Discount.amount(300))
    with pytest.raises(DiscountOverCap, match="the order"):
        price_cart(order, rules, NOW)


def test_an_amount_discount_larger_than_the_price_is_refused(rules: StoreRules) -> None:
    cart = _cart(rules, ("milk", "1")).set_line_discount(1, Discount.amount(500))
    with pytest.raises(InvalidDiscount, match="line 1 \\(Milk 2L\\): discount of 5.00 CAD"):
        price_cart(cart, rules, NOW)


def test_lines_that_no_longer_match_the_catalogue_are_named(rules: StoreRules) -> None:
    weighed_milk = Cart((CartLine(1, "milk", Decimal(1), Decimal(1), WeightSource.MANUAL),))
    with pytest.raises(InvalidQuantity, match="line 1: milk is not sold by weight"):
        price_cart(weighed_milk, rules, NOW)
    counted_apples = Cart((CartLine(1, "apples"),))
    with pytest.raises(InvalidQuantity, match="line 1: apples is sold by weight"):
        price_cart(counted_apples, rules, NOW)
    with pytest.raises(UnknownProduct, match="ghost"):
        price_cart(Cart((CartLine(1, "ghost"),)), rules, NOW)


def test_empty_cart_prices_to_zero(rules: StoreRules) -> None:
    priced = price_cart(Cart().set_order_discount(Discount.percent(5)), rules, NOW)
    assert priced.total.is_zero() and priced.lines == () and priced.taxes == ()


def _table(inclusive: bool, rounding: TaxRounding) -> TaxTable:
    return TaxTable(
        {"GST": TaxComponent("GST", "GST", Decimal("0.05")),
         "PST": TaxComponent("PST", "PST", Decimal("0.07"))},
        {"standard": ("GST", "PST"), "zero": ()},
        prices_include_tax=inclusive,
        rounding=rounding,
    )  # fmt: skip


def test_per_line_and_per_invoice_rounding_differ_as_documented() -> None:
    lines = [("standard", cad(10))] * 3  # GST 0.5 each: per line 1+1+1, per invoice 1.5 -> 2
    per_line = compute_taxes(lines, _table(False, TaxRounding.PER_LINE), "CAD")
    per_invoice = compute_taxes(lines, _table(False, TaxRounding.PER_INVOICE), "CAD")
    assert [t.amount.minor for t in per_line] == [3, 3]  # PST 0.7 -> 1 each
    assert [t.amount.minor for t in per_invoice] == [2, 2]  # 1.5 -> 2, 2.1 -> 2


def test_inclusive_tax_is_carved_out_of_the_price() -> None:
    taxes = compute_taxes([("standard", cad(11200))], _table(True, TaxRounding.PER_LINE), "CAD")
    assert [(t.code, t.taxable.minor, t.amount.minor) for t in taxes] == [
        ("GST", 10000, 500), ("PST", 10000, 700),
    ]  # fmt: skip
    assert compute_taxes([("zero", cad(100))], _table(True, TaxRounding.PER_LINE), "CAD") == ()


@pytest.mark.parametrize("rounding", list(TaxRounding))
def test_an_inclusive_share_of_exactly_half_a_cent_rounds_up(rounding: TaxRounding) -> None:
    """1.20 with GST 5% + PST 7% inside: PST is 120 x 0.07 / 1.12 = 7.5 cents exactly, so 8.
    Dividing first in decimals made it 7.4999...97, and 7."""
    taxes = compute_taxes([("standard", cad(120))], _table(True, rounding), "CAD")
    assert [(t.code, t.amount.minor) for t in taxes] == [("GST", 5), ("PST", 8)]


@given(st.lists(st.integers(1, 100_000), min_size=1, max_size=6))
def test_inclusive_tax_is_the_exact_share_rounded_half_up(nets: list[int]) -> None:
    """Against fractions worked out here: per line, each line's share rounded; per invoice,
    the sum of the exact shares rounded once."""
    lines = [("standard", cad(n)) for n in nets]
    half_up = lambda x: math.floor(x + Fraction(1, 2))  # noqa: E731  (all positive here)
    for code, rate in (("GST", Fraction(5, 100)), ("PST", Fraction(7, 100))):
        exact = [Fraction(n) * rate / Fraction(112, 100) for n in nets]
        per_line = compute_taxes(lines, _table(True, TaxRounding.PER_LINE), "CAD")
        per_invoice = compute_taxes(lines, _table(True, TaxRounding.PER_INVOICE), "CAD")
        assert next(t for t in per_line if t.code == code).amount.minor == sum(map(half_up, exact))
        assert next(t for t in per_invoice if t.code == code).amount.minor == half_up(sum(exact))


def test_tax_configuration_errors() -> None:
    with pytest.raises(TaxConfigError, match="unknown tax class 'nope'"):
        compute_taxes([("nope", cad(1))], _table(False, TaxRounding.PER_LINE), "CAD")
    with pytest.raises(TaxConfigError, match="names unknown tax 'HST'"):
        TaxTable({}, {"standard": ("HST",)})
    with pytest.raises(TaxConfigError, match="not in \\[0, 1\\)"):
        TaxComponent("X", "X", Decimal("1.5"))


def test_rules_currency(rules: StoreRules) -> None:
    assert rules.currency == "CAD" and isinstance(cad(1), Money)
