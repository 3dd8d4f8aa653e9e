from __future__ import annotations

from decimal import Decimal

import pytest

from appliance.domain.cart import Cart, Discount, DiscountKind, WeightSource
from appliance.domain.catalog import Catalog, Category, Product, WeightUnit
from appliance.domain.errors import (
    DomainError,
    InvalidDiscount,
    InvalidQuantity,
    UnknownLine,
    UnknownProduct,
)
from appliance.domain.money import Money
from tests.domain.conftest import cad


def test_lookup_by_sku_and_barcode(catalog: Catalog) -> None:
    assert catalog.by_barcode("0601").sku == "milk"
    with pytest.raises(UnknownProduct, match="barcode '999'"):
        catalog.by_barcode("999")
    with pytest.raises(UnknownProduct, match="sku 'nope'"):
        catalog.product("nope")


def test_duplicates_are_refused() -> None:
    a = Product("a", "A", "x", cad(1), "standard", ("1",))
    with pytest.raises(DomainError, match="duplicate sku 'a'"):
        Catalog.build("CAD", [a, a])
    b = Product("b", "B", "x", cad(1), "standard", ("1",))
    with pytest.raises(DomainError, match="barcode '1' is on both 'a' and 'b'"):
        Catalog.build("CAD", [a, b])
    with pytest.raises(DomainError, match="priced in USD"):
        Catalog.build("CAD", [Product("u", "U", "x", Money(1, "USD"), "standard")])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"sku": ""}, "needs a sku"),
        ({"price": cad(-1)}, "negative"),
        ({"presets": (Decimal(1),)}, "need a weight unit"),
        ({"unit": WeightUnit.G, "presets": (Decimal(0),)}, "not positive"),
    ],
)
def test_product_validation(kwargs: dict[str, object], message: str) -> None:
    base: dict[str, object] = {"sku": "x", "name": "X", "category": "c", "price": cad(1),
                               "tax_class": "standard"}  # fmt: skip
    with pytest.raises(DomainError, match=message):
        Product(**{**base, **kwargs})  # type: ignore[arg-type]


def test_preset_price_and_units(catalog: Catalog) -> None:
    bd = catalog.product("bd")
    assert catalog.preset_price(bd, Decimal(7)) == cad(5500)
    assert catalog.preset_price(bd, Decimal(14)) is None  # the tier has no 14 g price
    assert catalog.preset_price(catalog.product("milk"), Decimal(1)) is None
    orphan = Product("o", "O", "c", cad(1), "standard", unit=WeightUnit.G, price_tier="gone")
    assert catalog.preset_price(orphan, Decimal(1)) is None
    assert WeightUnit.LB.grams == Decimal("453.59237")
    assert Category("c", "C").parent is None


def test_scanning_again_adds_to_the_line(catalog: Catalog) -> None:
    milk = catalog.product("milk")
    cart = Cart().add_item(milk).add_item(milk, Decimal(2))
    assert len(cart.lines) == 1 and cart.lines[0].quantity == 3
    discounted = cart.set_line_discount(1, Discount.percent(10))
    again = discounted.add_item(milk)
    assert len(again.lines) == 2, "a discounted line is not merged into"


def test_weighed_lines_never_merge(catalog: Catalog) -> None:
    bd = catalog.product("bd")
    cart = Cart().add_weighed(bd, Decimal(14), WeightSource.PRESET)
    cart = cart.add_weighed(bd, Decimal(7), WeightSource.PRESET)
    assert [li.weight for li in cart.lines] == [Decimal(14), Decimal(7)]
    assert [li.line_id for li in cart.lines] == [1, 2]


@pytest.mark.parametrize("qty", ["0", "-1", "1.5", "NaN"])
def test_bad_quantities_name_the_product(catalog: Catalog, qty: str) -> None:
    with pytest.raises(InvalidQuantity, match="milk"):
        Cart().add_item(catalog.product("milk"), Decimal(qty))


def test_weight_rules(catalog: Catalog) -> None:
    with pytest.raises(InvalidQuantity, match="sold by weight; weigh it"):
        Cart().add_item(catalog.product("apples"))
    with pytest.raises(InvalidQuantity, match="is not sold by weight"):
        Cart().add_weighed(catalog.product("milk"), Decimal(1), WeightSource.MANUAL)
    with pytest.raises(InvalidQuantity, match="weight must be positive"):
        Cart().add_weighed(catalog.product("apples"), Decimal(-1), WeightSource.SCALE)
    with pytest.raises(InvalidQuantity, match="not one of its presets"):
        Cart().add_weighed(catalog.product("bd"), Decimal(5), WeightSource.PRESET)
    with pytest.raises(InvalidQuantity, match="only preset packs"):
        Cart().add_weighed(catalog.product("apples"), Decimal(1), WeightSource.SCALE, Decimal(2))


def test_line_edits(catalog: Catalog) -> None:
    bd, apples = catalog.product("bd"), catalog.product("apples")
    cart = Cart().add_weighed(bd, Decimal(7), WeightSource.PRESET, Decimal(2))
    cart = cart.add_weighed(apples, Decimal("0.5"), WeightSource.SCALE)
    cart = cart.set_quantity(1, Decimal(3))
    assert cart.line(1).quantity == 3
    with pytest.raises(InvalidQuantity, match="quantity is its weight"):
        cart.set_quantity(2, Decimal(2))
    reweighed = cart.set_weight(1, bd, Decimal(5), WeightSource.MANUAL)
    assert reweighed.line(1).quantity == 1 and reweighed.line(1).weight == 5
    kept = cart.set_weight(1, bd, Decimal("3.5"), WeightSource.PRESET)
    assert kept.line(1).quantity == 3
    voided = cart.void_line(1)
    assert [li.line_id for li in voided.lines] == [2]
    with pytest.raises(UnknownLine, match="no line 9"):
        cart.void_line(9)
    assert cart.set_order_discount(Discount.amount(100)).order_discount is not None
    assert cart.attach_customer("c1").customer_id == "c1"
    assert Cart().is_empty and not cart.is_empty


@pytest.mark.parametrize(
    "kind, value, message",
    [
        (DiscountKind.PERCENT, "0", "must be positive"),
        (DiscountKind.PERCENT, "101", "cannot exceed 100"),
        (DiscountKind.AMOUNT, "1.5", "whole minor units"),
    ],
)
def test_discount_validation(kind: DiscountKind, value: str, message: str) -> None:
    with pytest.raises(InvalidDiscount, match=message):
        Discount(kind, Decimal(value))


def test_a_discount_reason_holding_a_card_number_is_refused() -> None:
    from appliance.domain.errors import CardNumberRefused

    with pytest.raises(CardNumberRefused, match="reason"):
        Discount.percent(5, reason="card 4111 1111 1111 1111 declined")
