"""The tender screen and the paid screen.

Tender: what is left to pay, quick cash amounts, a keypad with Cash and card
buttons (type an amount first to split), the customer's balances and gift cards,
and Complete. Paid shows only once the view model says `paid` (the sale is
committed), with the change due in the largest type on the register.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.ui import theme
from appliance.ui.screens.base import ViewScreen, buttons, show_message
from appliance.ui.screens.cart import AmountRow
from appliance.ui.viewmodels.formatting import sentence
from appliance.ui.viewmodels.tender import TenderState

if TYPE_CHECKING:
    from appliance.ui.app import RegisterApp


class TenderScreen(ViewScreen):
    """Taking the money (see the module docstring)."""

    def attach(self, app: RegisterApp) -> None:
        """Bind to the tender view model."""
        super().attach(app)
        self.tender = app.session.tender
        self.ids.keypad.bind(on_key=lambda _, key: self.tender.key(key))
        self.tender.subscribe(self.render)
        self.render(self.tender.state)

    def opened(self) -> None:
        """Read the cart and tenders as they stand."""
        self.tender.open()

    def render(self, state: TenderState) -> None:
        """Draw a tender state."""
        ids = self.ids
        ids.total.text = state.total
        ids.remaining.text = state.remaining
        ids.cash_due.text = state.cash_due
        ids.change_preview.text = f"Change {state.change_preview}" if state.change_preview else ""
        ids.entry.text = state.entry_text or "0.00"
        ids.entry.color = theme.INK if state.entry_text else theme.INK_FAINT
        # While a call is under way (a commit may wait out the back office's pricing) the
        # button says so and takes no second tap.
        ids.complete.disabled = not state.can_complete or state.busy
        ids.complete.text = "Saving…" if state.busy and state.can_complete else "Complete sale"
        ids.clear_tenders.disabled = not state.tenders
        if self.changed("tenders", state.tenders):
            rows = ids.tenders
            rows.clear_widgets()
            for row in state.tenders:
                rows.add_widget(AmountRow(label=row.label, amount=row.amount, tone="strong"))
        if self.changed("cards", state.card_methods):  # from tender.card_methods
            cards = [(method, label, "primary", True) for method, label in state.card_methods]
            buttons(ids.cards, cards, self.card, size_hint_y=1)
        if self.changed("quick", state.quick):
            items = [(q.value, q.label, "tile", True) for q in state.quick]
            buttons(ids.quick, items, self.tender.quick, size_hint_y=1)
        if self.changed("balances", state.balances):
            items = [
                (f"{b.kind}|{b.account}", f"{b.label}  {b.available}", "neutral", True)
                for b in state.balances
            ]
            buttons(ids.balances, items, self.balance, base_height=theme.BUTTON_H * 0.85)
        show_message(ids.banner, [(state, self.tender)])

    def card(self, method: str) -> None:
        """A card payment for the amount typed (or all that is left); the terminal charges
        the card, the register records the method."""
        self.tender.card(method)

    def balance(self, tag: str) -> None:
        """Pay from a balance button's account."""
        kind, account = tag.split("|", 1)
        self.tender.balance(kind, account)

    def gift_card(self) -> None:
        """Ask for a gift card number, then look up its balance."""
        self.app.prompt_text("Gift card number", "", self.tender.gift_card)

    def back(self) -> None:
        """Back to the cart (tenders entered so far stay with the sale)."""
        self.app.show("sell")


class PaidScreen(ViewScreen):
    """The sale is committed: the change due, the drawer and the receipt."""

    def attach(self, app: RegisterApp) -> None:
        """Bind to the tender view model's paid state."""
        super().attach(app)
        self.tender = app.session.tender
        self.tender.subscribe(self.render)
        self.render(self.tender.state)

    def render(self, state: TenderState) -> None:
        """Draw the paid part of a tender state."""
        ids = self.ids
        ids.change.text = state.change
        ids.summary.text = f"Total {state.total}   ·   Sale {state.sale_number}"
        ids.drawer.text = sentence(state.drawer)
        ids.drawer.color = theme.INK if state.drawer_ok is not False else theme.RED
        ids.receipt.text = sentence(state.receipt)
        ids.notice.text = sentence(state.notice)

    def next_sale(self) -> None:
        """The change is counted out: clear for the next customer."""
        self.app.next_sale()
