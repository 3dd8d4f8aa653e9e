"""Discounts (with and without a manager), customers from the cache, purchase limits."""

from __future__ import annotations

from appliance.ui.viewmodels.base import ERROR, INFO
from appliance.ui.viewmodels.discount import AMOUNT, LINE
from tests.ui.conftest import CASHIER_PIN, MANAGER_PIN, Shop


def type_value(shop: Shop, text: str) -> None:
    for key in text:
        shop.session.discount.key(key)


def test_an_order_discount_under_the_cap_needs_no_manager(shop: Shop) -> None:
    discount = shop.session.discount
    shop.session.sell.tap("avocado")
    shop.session.sell.tap("lemons")
    before = shop.session.cart.state.total
    discount.open()
    type_value(shop, "10")
    discount.set_reason("regular")
    discount.apply()
    assert not discount.state.override.active
    assert (discount.state.message, discount.state.message_kind) == ("Discount applied", INFO)
    cart = shop.session.cart.state
    assert cart.total != before and cart.total == shop.register.price().total.format()
    assert cart.discounts == "-0.24"  # 10% of 1.49 + 0.89
    assert [a.label for a in cart.lines[0].adjustments] == ["Order discount"]
    assert shop.register.cart.order_discount is not None
    assert shop.register.cart.order_discount.approved_by is None


def test_a_line_discount_over_the_cap_asks_a_manager_and_retries(shop: Shop) -> None:
    discount, override = shop.session.discount, shop.session.override
    shop.session.sell.tap("avocado")
    line_id = shop.session.cart.state.selected
    discount.open(line_id)
    assert discount.state.target == LINE
    type_value(shop, "30")
    discount.set_reason("bruised")
    discount.apply()
    assert discount.state.override.active and "cap" in discount.state.override.reason
    assert shop.register.cart.lines[0].discount is None, "nothing applied before approval"

    for digit in CASHIER_PIN:
        override.key(digit)
    override.submit()
    assert override.state.active and override.state.message_kind == ERROR
    for digit in MANAGER_PIN:
        override.key(digit)
    override.submit()
    assert not discount.state.override.active
    applied = shop.register.cart.lines[0].discount
    assert applied is not None and applied.approved_by == "mo" and applied.reason == "bruised"
    (line,) = shop.session.cart.state.lines
    assert [(a.label, a.amount) for a in line.adjustments] == [("bruised", "-0.45")]


def test_an_amount_discount_and_its_removal(shop: Shop) -> None:
    discount = shop.session.discount
    shop.session.sell.tap("french-press")  # 39.99
    discount.open(shop.session.cart.state.selected)
    discount.set_kind(AMOUNT)
    type_value(shop, "5.009")  # a third decimal is refused by the keypad
    assert discount.state.value_text == "5.00"
    discount.apply()
    (line,) = shop.session.cart.state.lines
    assert [(a.label, a.amount) for a in line.adjustments] == [
        ("Tea week 10% off", "-4.00"),
        ("Discount", "-5.00"),
    ]
    assert shop.session.cart.state.discounts == "-9.00"
    discount.remove()
    assert shop.session.cart.state.discounts == "-4.00"


def test_a_card_number_as_reason_is_refused_with_the_registers_words(shop: Shop) -> None:
    discount = shop.session.discount
    shop.session.sell.tap("avocado")
    discount.open()
    type_value(shop, "5")
    discount.set_reason("4111 1111 1111 1111")
    discount.apply()
    assert discount.state.message_kind == ERROR and "card number" in discount.state.message
    assert shop.register.cart.order_discount is None


def test_customer_search_attach_shows_points_and_balances(shop: Shop) -> None:
    discount = shop.session.discount
    shop.session.sell.tap("avocado")
    discount.search_customers("c")
    assert [c.name for c in discount.state.customers] == ["Cy"]
    discount.search_customers("zz")
    assert discount.state.customers == ()
    discount.search_customers("c1")  # by id
    assert [(c.id, c.points) for c in discount.state.customers] == [("c1", "300 points")]
    discount.attach("c1")
    card = discount.state.customer
    assert card is not None and (card.name, card.points, card.tier) == (
        "Cy",
        "300 points",
        "Member",
    )
    assert [(b.label, b.amount) for b in card.balances] == [("Store credit", "25.00")]
    assert shop.session.sell.state.cart.customer == "Cy"
    assert shop.register.cart.customer_id == "c1"
    discount.detach()
    assert discount.state.customer is None and shop.session.sell.state.cart.customer == ""


def test_an_unknown_customer_is_a_message_not_a_crash(shop: Shop) -> None:
    shop.session.discount.attach("nobody")
    state = shop.session.discount.state
    assert state.message_kind == ERROR and "nobody" in state.message and state.customer is None


def test_purchase_limit_warnings_then_the_register_refuses(shop: Shop) -> None:
    discount = shop.session.discount
    shop.session.sell.tap("pod-mint")
    discount.open()
    assert discount.state.limits == ("Vape products: 1 of 6 items today",)
    assert not discount.state.over_limit
    for _ in range(6):
        shop.session.sell.tap("pod-mint")
    discount.refresh_limits()
    assert discount.state.over_limit
    assert discount.state.limits == ("Vape products: 7 of 6 items today: over the daily limit",)
    tender = shop.session.tender
    tender.open()
    tender.quick(tender.state.quick[-1].value)
    assert not tender.state.paid and "over the daily limit" in tender.state.message
    assert len(shop.register.cart.lines) == 1, "the cart is kept"
