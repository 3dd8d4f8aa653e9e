"""What needs a manager at the register, and what a change of cart or customer takes back.

Discounts over the cap, voids once tendering has begun (a lowered quantity is one too,
and taking the tenders back does not undo the rule), an approved amount that would grow
as the cart shrinks, a drawer opened without a sale; store credit is its customer's own.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from appliance.domain.cart import Discount
from appliance.domain.errors import (
    DiscountOverCap,
)
from appliance.domain.tender import Tender, TenderKind
from appliance.register import (
    NeedsManager,
    Register,
    RegisterError,
)
from tests.store.conftest import (
    CASHIER_PIN,
    MANAGER_PIN,
    cad,
)


def test_a_discount_over_the_cap_needs_a_manager(register: Register) -> None:
    register.add_sku("french-press")
    with pytest.raises(NeedsManager, match=r"line 1 \(French press 1 L\).*manager's PIN"):
        register.discount_line(1, Discount.percent(30))
    with pytest.raises(NeedsManager, match="not a manager's PIN"):
        register.discount_line(1, Discount.percent(30), manager_pin=CASHIER_PIN)
    assert register.cart.lines[0].discount is None, "a refused discount leaves the cart"
    priced = register.discount_line(1, Discount.percent(30), manager_pin=MANAGER_PIN)
    assert priced.lines[0].discount is not None and priced.lines[0].discount.approved_by == "mo"
    register.discount_order(Discount.percent(5))
    assert register.discount_order(None).order_discount is None
    assert register.discount_line(1, None).lines[0].discount is None


def test_void_after_tender_needs_a_manager(register: Register) -> None:
    register.add_sku("cola")
    register.add_sku("chips")
    register.void_line(1)  # before tender: fine
    register.add_tender(Tender.cash(cad(500)))
    with pytest.raises(NeedsManager, match="voiding a line after tender"):
        register.void_line(2)
    assert register.void_line(2, manager_pin=MANAGER_PIN).lines == ()


def test_taking_items_off_after_tender_needs_a_manager_even_with_the_tenders_back(
    register: Register,
) -> None:
    """Five colas paid for, then down to one with the minus button, or the tenders taken
    back and the line voided: each a void, once with no PIN."""
    register.add_sku("cola", Decimal(5))
    register.add_sku("chips")
    register.add_tender(Tender.cash(cad(2000)))
    assert register.set_quantity(1, Decimal(6)).lines[0].quantity == 6  # more is no void
    with pytest.raises(NeedsManager, match="taking items off a line after tender"):
        register.set_quantity(1, Decimal(1))
    assert register.set_quantity(1, Decimal(1), MANAGER_PIN).lines[0].quantity == 1
    register.clear_tenders()
    with pytest.raises(NeedsManager, match="voiding a line after tender"):
        register.void_line(2)
    register.park("later")
    register.recall(register.parked()[0][0])
    assert register.void_line(2).lines[0].sku == "cola", "a cart recalled starts untendered"


def test_another_customer_takes_no_store_credit_entered_for_the_first(
    open_till: Register,
) -> None:
    """Store credit is the customer's own: switching the customer (or detaching them) takes
    it off the tenders, and a gift card stays."""
    register = open_till
    register.attach_customer("c1")
    register.add_sku("cola")
    register.add_tender(Tender.balance(TenderKind.STORE_CREDIT, "c1", cad(100)))
    register.add_tender(Tender.balance(TenderKind.GIFT_CARD, "g-100", cad(25)))
    register.attach_customer(None)
    assert [(t.kind, t.account) for t in register.tenders] == [(TenderKind.GIFT_CARD, "g-100")]
    register.attach_customer("c1")
    register.add_tender(Tender.balance(TenderKind.STORE_CREDIT, "c1", cad(100)))
    register.attach_customer("c1")  # the same customer again: theirs stays
    assert len(register.tenders) == 2


def test_a_drawer_opened_without_a_sale_needs_a_manager_and_is_recorded(register: Register) -> None:
    with pytest.raises(NeedsManager, match="opening the drawer without a sale"):
        register.no_sale(None, "change for the float")
    with pytest.raises(RegisterError, match="card number"):
        register.no_sale(MANAGER_PIN, "4111 1111 1111 1111")
    assert register.no_sale(MANAGER_PIN, "change for the float").id == "mo"
    (entry,) = register.pending()
    assert (entry.kind, entry.summary) == ("nosale", {"reason": "change for the float"})


def test_an_approved_amount_off_does_not_grow_as_the_cart_shrinks(register: Register) -> None:
    """11.00 off 47.68 (23%) is approved; with the press voided it would be 94% of what is
    left. The void is refused until the discount is taken off or approved again."""
    register.add_sku("french-press")
    register.add_sku("mug")
    with pytest.raises(NeedsManager):
        register.discount_order(Discount.amount(11_00, "damaged box"))
    register.discount_order(Discount.amount(11_00, "damaged box"), MANAGER_PIN)
    with pytest.raises(DiscountOverCap, match="94.1% of 11.69 CAD, over the 20% cap"):
        register.void_line(1)
    assert len(register.cart.lines) == 2, "the cart is as it was"
    register.discount_order(None)
    assert [li.sku for li in register.void_line(1).lines] == ["mug"]
    register.add_sku("french-press")  # a bigger cart keeps the approval
    register.discount_order(Discount.amount(11_00, "damaged box"), MANAGER_PIN)
    assert register.add_sku("cola").order_discount is not None
