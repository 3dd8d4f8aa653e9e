"""The cart panel on the sell screen: lines, what came off them, taxes and the total.

Rows are kept per line id and redrawn only when their line changed, so ringing up
one more item adds one row instead of rebuilding the cart.
"""

from __future__ import annotations

from typing import Any

from kivy.clock import Clock  # type: ignore[import-untyped]
from kivy.factory import Factory  # type: ignore[import-untyped]
from kivy.properties import (  # type: ignore[import-untyped]
    BooleanProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior  # type: ignore[import-untyped]
from kivy.uix.boxlayout import BoxLayout  # type: ignore[import-untyped]

from appliance.ui.viewmodels.cart import CartLineView, CartState


class AmountRow(BoxLayout):  # type: ignore[misc]
    """A label on the left, an amount on the right (adjustments, taxes, subtotals)."""

    label = StringProperty("")
    amount = StringProperty("")
    tone = StringProperty("muted")  # muted | saving | strong


class CartRow(ButtonBehavior, BoxLayout):  # type: ignore[misc]
    """One cart line: name and amount, how it was measured, then what came off it."""

    line_id = NumericProperty(0)
    name = StringProperty("")
    detail = StringProperty("")
    amount = StringProperty("")
    selected = BooleanProperty(False)
    free = BooleanProperty(False)
    on_pick = ObjectProperty(None, allownone=True)

    def show(self, line: CartLineView) -> None:
        """Draw a line (its adjustments rebuilt only when they changed)."""
        self.line_id, self.name, self.detail = line.line_id, line.name, line.detail
        self.amount, self.selected, self.free = line.amount, line.selected, line.free
        box = self.ids.adjustments
        wanted = [(a.label, a.amount) for a in line.adjustments]
        if [(row.label, row.amount) for row in reversed(box.children)] != wanted:
            box.clear_widgets()
            for label, amount in wanted:
                box.add_widget(AmountRow(label=label, amount=amount, tone="saving"))

    def on_release(self) -> None:
        """A tap selects the line (+/-, void and line discounts act on it)."""
        if self.on_pick is not None:
            self.on_pick(self.line_id)


class CartPanel(BoxLayout):  # type: ignore[misc]
    """The cart column of the sell screen."""

    on_pick = ObjectProperty(None, allownone=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._rows: dict[int, CartRow] = {}
        self._order: list[int] = []

    def render(self, state: CartState) -> None:
        """Draw a cart state."""
        self._lines(state)
        ids = self.ids
        ids.customer.text = f"Customer: {state.customer}" if state.customer else ""
        ids.count.text = state.items or "Empty cart"
        ids.total.text = state.total
        self._totals(state)
        warnings = ids.warnings
        warnings.clear_widgets()
        for text in state.warnings:
            warnings.add_widget(Factory.CartWarning(text=text))

    def _lines(self, state: CartState) -> None:
        box = self.ids.lines
        ids = [line.line_id for line in state.lines]
        for gone in set(self._rows) - set(ids):
            box.remove_widget(self._rows.pop(gone))
        for line in state.lines:
            row = self._rows.get(line.line_id)
            if row is None:
                row = self._rows[line.line_id] = CartRow(on_pick=self._picked)
            row.show(line)
        if ids != self._order:  # new lines, or a different order: lay them out again
            box.clear_widgets()
            for line_id in ids:
                box.add_widget(self._rows[line_id])
            self._order = ids
        chosen = self._rows.get(state.selected) if state.selected is not None else None
        if chosen is not None:  # once laid out: the line just rung up is in view
            scroll = self.ids.scroll
            Clock.schedule_once(lambda _dt: scroll.scroll_to(chosen, padding=4, animate=False))

    def _totals(self, state: CartState) -> None:
        rows: list[tuple[str, str, str]] = [("Subtotal", state.subtotal, "muted")]
        if state.discounts:
            rows.append(("Discounts", state.discounts, "saving"))
        rows += [(t.label, t.amount, "muted") for t in state.taxes]
        if not state.taxes:
            rows.append(("Tax", state.tax, "muted"))
        box = self.ids.totals
        if [(r.label, r.amount, r.tone) for r in reversed(box.children)] != rows:
            box.clear_widgets()
            for label, amount, tone in rows:
                box.add_widget(AmountRow(label=label, amount=amount, tone=tone))

    def _picked(self, line_id: int) -> None:
        if self.on_pick is not None:
            self.on_pick(line_id)
