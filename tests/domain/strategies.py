"""Hypothesis strategies: random carts over the case store, and tenders that pay them."""

from __future__ import annotations

import tomllib
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from hypothesis import strategies as st

from appliance.catalog_file import parse_store, parse_tax
from appliance.domain.cart import Cart, Discount, DiscountKind, WeightSource
from appliance.domain.money import Money
from appliance.domain.rules import StoreRules
from appliance.domain.tender import Tender, TenderKind

STORE = tomllib.loads(
    (Path(__file__).resolve().parent.parent / "cases" / "_store.toml").read_text()
)
DATA = parse_store(STORE)
TAXES = {name: parse_tax(spec) for name, spec in STORE["taxes"].items()}
SKUS = sorted(DATA.catalog.products)


@st.composite
def store_rules(draw: st.DrawFn) -> StoreRules:
    """Rules with a random tax setup, promotions subset and cash increment."""
    promos = draw(st.lists(st.sampled_from(DATA.promotions), unique_by=lambda p: p.id))
    return StoreRules(
        catalog=DATA.catalog,
        tax=TAXES[draw(st.sampled_from(sorted(TAXES)))],
        promotions=tuple(promos),
        max_discount_percent=Decimal(100),
        cash_increment=draw(st.sampled_from([1, 5, 10, 25])),
        loyalty=DATA.loyalty,
        limits={},
    )


def discounts(max_amount: int = 5000) -> st.SearchStrategy[Discount | None]:
    """No discount, a percent one or an amount one (may exceed the price: callers filter)."""
    percent = st.decimals(min_value=Decimal("0.5"), max_value=100, places=1).map(
        lambda v: Discount(DiscountKind.PERCENT, v)
    )
    amount = st.integers(1, max_amount).map(lambda v: Discount(DiscountKind.AMOUNT, Decimal(v)))
    return st.one_of(st.none(), percent, amount)


@st.composite
def carts(draw: st.DrawFn) -> Cart:
    """A non-empty cart of random lines over the store's catalogue."""
    cart = Cart()
    for _ in range(draw(st.integers(1, 8))):
        product = DATA.catalog.product(draw(st.sampled_from(SKUS)))
        if not product.sold_by_weight:
            cart = cart.add_item(product, Decimal(draw(st.integers(1, 12))))
        elif product.presets and draw(st.booleans()):
            weight = draw(st.sampled_from(product.presets))
            packs = Decimal(draw(st.integers(1, 3)))
            cart = cart.add_weighed(product, weight, WeightSource.PRESET, packs)
        else:
            weight = draw(st.decimals(min_value=Decimal("0.005"), max_value=40, places=3))
            cart = cart.add_weighed(product, weight, WeightSource.SCALE)
        discount = draw(discounts(500))
        if discount is not None and discount.kind is DiscountKind.PERCENT:
            cart = cart.set_line_discount(cart.lines[-1].line_id, discount)
    order = draw(discounts(300))
    if order is not None and order.kind is DiscountKind.PERCENT:
        cart = cart.set_order_discount(order)
    return cart


def nows() -> st.SearchStrategy[datetime]:
    """Local times around the store's campaigns."""
    return st.datetimes(min_value=datetime(2026, 11, 18), max_value=datetime(2026, 12, 2))


@st.composite
def tenders_for(draw: st.DrawFn, due: Money) -> list[Tender]:
    """Card parts then cash (with some over-tender) that pay `due` in full."""
    tenders: list[Tender] = []
    left = due.minor
    while left > 0 and draw(st.booleans()):
        part = draw(st.integers(1, left))
        tenders.append(Tender.card(Money(part, due.currency), "visa"))
        left -= part
    if left > 0 or draw(st.booleans()):
        extra = draw(st.integers(0, 10000))
        tenders.append(Tender(TenderKind.CASH, Money(left + extra + 25, due.currency)))
    return tenders
