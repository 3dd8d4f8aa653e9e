"""The cart as shown: lines with what came off them, running tax and total, the selection.

Every screen that changes the cart (sell, weight, discount, tender) hands the
register's answer, a `PricedCart`, to `show`; nothing here prices anything.
A line that a change adds or alters becomes the selected one, so +/- and void
act on what the cashier just rang up.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.domain.codec import decimal_text
from appliance.domain.pricing import PricedCart, PricedLine
from appliance.register import Register
from appliance.ui.viewmodels.base import ScreenState, ViewModel
from appliance.ui.viewmodels.formatting import (
    Adjustment,
    adjustments,
    line_detail,
    minus,
    money,
    weight_text,
)
from appliance.ui.viewmodels.runner import Runner


@dataclass(frozen=True, slots=True)
class CartLineView:
    """One cart line as shown.

    `amount` is the line before anything came off it, `net` after; `free` marks a
    freebie the promotion added (it cannot be changed or voided).
    """

    line_id: int
    name: str
    quantity: str
    detail: str
    amount: str
    net: str
    adjustments: tuple[Adjustment, ...]
    free: bool
    selected: bool


@dataclass(frozen=True, slots=True)
class TaxRow:
    """One tax on the running totals: "GST 5%" and its amount."""

    label: str
    amount: str


@dataclass(frozen=True, slots=True)
class CartState(ScreenState):
    """The cart and its running totals (`total` is the large figure)."""

    lines: tuple[CartLineView, ...] = ()
    selected: int | None = None
    items: str = ""
    subtotal: str = "0.00"
    discounts: str = ""
    taxes: tuple[TaxRow, ...] = ()
    tax: str = "0.00"
    total: str = "0.00"
    currency: str = ""
    customer: str = ""
    warnings: tuple[str, ...] = ()
    is_empty: bool = True


def _view(line: PricedLine, selected: int | None) -> CartLineView:
    if line.weight is not None and line.unit is not None and line.tier_price is None:
        quantity = weight_text(line.weight, line.unit)
    else:
        quantity = decimal_text(line.quantity)
    return CartLineView(
        line.line_id,
        line.name,
        quantity,
        line_detail(line),
        money(line.base),
        money(line.net),
        adjustments(line),
        line.free,
        line.line_id == selected,
    )


def _tax_label(name: str, rate: str) -> str:
    return f"{name} {rate}%"


class CartViewModel(ViewModel[CartState]):
    """The cart shown on the sell screen (see the module docstring)."""

    def __init__(self, register: Register, runner: Runner) -> None:
        super().__init__(register, runner, CartState(currency=register.currency))
        self.priced: PricedCart | None = None
        self._customer_name = ""

    def show(self, priced: PricedCart) -> None:
        """Show the register's latest pricing of the cart."""
        old_ids = {line.line_id for line in self.priced.lines} if self.priced else set()
        old = {line.line_id: line for line in self.priced.lines} if self.priced else {}
        changed = [
            li.line_id
            for li in priced.lines
            if li.line_id > 0 and (li.line_id not in old_ids or old[li.line_id] != li)
        ]
        self.priced = priced
        ids = {li.line_id for li in priced.lines}
        selected = self.state.selected
        if changed:
            selected = max(changed)
        elif selected not in ids:
            selected = None
        if priced.customer_id is None:
            self._customer_name = ""
        self._render(selected)

    def customer(self, name: str) -> None:
        """The attached customer's name, as the discount screen found it."""
        self._customer_name = name
        if self.priced is not None:
            self._render(self.state.selected)

    def select(self, line_id: int | None) -> None:
        """Select a line (None: no selection); +/- and void act on it."""
        if self.priced is not None and line_id in {li.line_id for li in self.priced.lines}:
            self._render(line_id)
        else:
            self._render(None)

    def refresh(self) -> None:
        """Ask the register for the cart's pricing again (after a recall, a sale...)."""
        self._call(self.register.price, self.show, keep_message=True)

    def _render(self, selected: int | None) -> None:
        priced = self.priced
        if priced is None:
            return
        count = sum(1 for li in priced.lines if not li.free)
        customer = self._customer_name or (priced.customer_id or "")
        self._update(
            lines=tuple(_view(li, selected) for li in priced.lines),
            selected=selected,
            items=f"{count} line{'s' if count != 1 else ''}" if count else "",
            subtotal=money(priced.subtotal),
            discounts=minus(priced.discount_total) if not priced.discount_total.is_zero() else "",
            taxes=tuple(
                TaxRow(_tax_label(t.name, decimal_text(t.rate * 100)), money(t.amount))
                for t in priced.taxes
                if not t.amount.is_zero()
            ),
            tax=money(priced.tax_total),
            total=money(priced.total),
            customer=customer,
            warnings=priced.warnings,
            is_empty=not priced.lines,
        )
