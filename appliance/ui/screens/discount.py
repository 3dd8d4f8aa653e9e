"""The discount and customer screen.

Left: percent or amount, on the order or the selected line, a reason, the keypad and
Apply (a discount over the store's cap opens the manager prompt; the register decides).
Right: find a cached customer, attach them, and see their loyalty, balances and where
the cart stands on each purchase limit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.ui import theme
from appliance.ui.screens.base import ViewScreen, buttons, show_message
from appliance.ui.viewmodels.discount import AMOUNT, LINE, ORDER, PERCENT, DiscountState

if TYPE_CHECKING:
    from appliance.ui.app import RegisterApp


class DiscountScreen(ViewScreen):
    """Discounts and the customer (see the module docstring)."""

    def attach(self, app: RegisterApp) -> None:
        """Bind to the discount view model."""
        super().attach(app)
        self.discount = app.session.discount
        self.ids.keypad.bind(on_key=lambda _, key: self.discount.key(key))
        self.discount.subscribe(self.render)
        self.render(self.discount.state)

    def render(self, state: DiscountState) -> None:
        """Draw a discount state."""
        ids = self.ids
        ids.percent.role = "selected" if state.kind == PERCENT else "neutral"
        ids.amount.role = "selected" if state.kind == AMOUNT else "neutral"
        ids.order.role = "selected" if state.target == ORDER else "neutral"
        ids.line.role = "selected" if state.target == LINE else "neutral"
        ids.line.disabled = state.line_id is None
        unit = "%" if state.kind == PERCENT else ""
        ids.value.text = f"{state.value_text or '0'} {unit}".strip()
        ids.value.color = theme.INK if state.value_text else theme.INK_FAINT
        ids.reason.text = state.reason or "Reason (tap to type)"
        ids.apply.disabled = not state.can_apply
        self._customer(state)
        show_message(ids.banner, [(state, self.discount)])

    def _customer(self, state: DiscountState) -> None:
        ids = self.ids
        ids.find.text = state.customer_query or "Find a customer: tap to type"
        if self.changed("customers", state.customers):
            items = [(c.id, f"{c.name}   {c.points}", "tile", True) for c in state.customers]
            buttons(ids.customers, items, self.discount.attach, base_height=theme.BUTTON_H * 0.85)
        card = state.customer
        ids.detach.disabled = card is None
        if card is None:
            ids.card.text = "No customer on this sale"
        else:
            tier = f", {card.tier}" if card.tier else ""
            held = "".join(f"\n{b.label}: {b.amount}" for b in card.balances)
            ids.card.text = f"[b]{card.name}[/b]\n{card.points}{tier}{held}"
        limits = "\n".join(state.limits)
        ids.limits.text = limits
        ids.limits.color = theme.RED if state.over_limit else theme.INK

    def target(self, target: str) -> None:
        """Order or the selected line."""
        self.discount.set_target(target, self.discount.state.line_id)

    def reason(self) -> None:
        """Type the reason printed on the receipt."""
        self.app.prompt_text("Reason", self.discount.state.reason, self.discount.set_reason)

    def find(self) -> None:
        """Type a name or id; the customer list follows as you type."""
        self.app.prompt_text(
            "Customer",
            self.discount.state.customer_query,
            self.discount.search_customers,
            on_change=self.discount.search_customers,
        )

    def back(self) -> None:
        """Back to the sale."""
        self.app.show("sell")
