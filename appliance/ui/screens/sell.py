"""The sell screen: header, search, category tabs, product grid, the cart and Pay.

Scanning needs nothing focused: the app routes every key to `SellViewModel.key`
while this screen is up. The on-screen keyboard (for a counter without a physical
one) types into the same search through `SellViewModel.search`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kivy.factory import Factory  # type: ignore[import-untyped]

from appliance.ui import theme
from appliance.ui.screens.base import ViewScreen, buttons, show_message
from appliance.ui.viewmodels.base import ScreenState, ViewModel
from appliance.ui.viewmodels.sell import ProductTile, SellState
from appliance.ui.widgets import DONE, ChoicePrompt, Keyboard, typed

if TYPE_CHECKING:
    from appliance.ui.app import RegisterApp

SEARCH_HINT = "Search: tap to type, or just scan"
MENU = [("recent", "Recent"), ("backroom", "Back room"), ("logout", "Log out")]


def tile_text(tile: ProductTile, scale: float) -> str:
    """A tile's label: the name, then the price in the accent colour (markup)."""
    accent = "".join(f"{round(c * 255):02x}" for c in theme.NAVY[:3])
    small = round(theme.font(theme.SMALL, scale))
    weigh = f"  [size={small}]weigh[/size]" if tile.by_weight else ""
    return f"{tile.name}\n[color={accent}]{tile.price}{weigh}[/color]"


class SellScreen(ViewScreen):
    """The sell screen (see the module docstring)."""

    def attach(self, app: RegisterApp) -> None:
        """Bind to the sell view model (which carries the header, cart and override)."""
        super().attach(app)
        self.sell = app.session.sell
        self.keyboard: Keyboard | None = None
        self.tabs = self.ids.tabs.__self__  # a strong reference: kv ids are weak proxies
        header = self.ids.header
        header.actions(MENU, app.menu)
        header.on_badge = lambda: app.show("pending")
        self.ids.cart.on_pick = self.sell.select
        self.sell.subscribe(self.render)
        self.render(self.sell.state)

    def opened(self) -> None:
        """Back on the sell screen: the header's counts may have moved."""
        self.app.session.header.refresh()

    def render(self, state: SellState) -> None:
        """Draw a sell state."""
        self.ids.header.render(state.header)
        if self.changed("tabs", state.categories):
            tabs = [
                (c.id, c.name, "selected" if c.selected else "neutral", True)
                for c in state.categories
            ]
            buttons(self.ids.tabs, tabs, self.sell.choose_category, cls=Factory.Tab)
        if self.changed("tiles", state.tiles):
            items = [(t.sku, tile_text(t, self.app.scale), "tile", True) for t in state.tiles]
            buttons(self.ids.grid, items, self.sell.tap, markup=True, base_height=theme.TILE_H)
        search = self.ids.search
        search.text = state.search_text or SEARCH_HINT
        search.color = theme.INK if state.search_text else theme.INK_MUTED
        self.ids.clear_search.disabled = not state.search_text
        cart = state.cart
        self.ids.cart.render(cart)
        self.ids.pay.disabled = cart.is_empty
        self.ids.pay.text = f"Pay  {cart.total}" if not cart.is_empty else "Pay"
        self.ids.line_tools.disabled = cart.selected is None
        park = self.ids.park
        park.text = f"Recall ({len(state.parked)})" if cart.is_empty and state.parked else "Park"
        park.disabled = cart.is_empty and not state.parked
        session = self.app.session
        sources: list[tuple[ScreenState, ViewModel[Any]]] = [
            (state, self.sell),
            (cart, session.cart),
            (state.header, session.header),
        ]
        show_message(self.ids.banner, sources)

    # --- the on-screen keyboard ---------------------------------------------------------------

    def toggle_keyboard(self) -> None:
        """Show or hide the on-screen keyboard; it takes the category tabs' place (a search
        looks in every category, and the small display has no room for both)."""
        left, tabs = self.ids.left, self.tabs
        if self.keyboard is None:
            self.keyboard = Keyboard()
            self.keyboard.bind(on_key=lambda _, key: self.typed(key))
            left.remove_widget(tabs)
            left.add_widget(self.keyboard)
        else:
            left.remove_widget(self.keyboard)
            self.keyboard = None
            left.add_widget(tabs, index=len(left.children) - 1)  # back under the search row

    def typed(self, key: str) -> None:
        """An on-screen key: the search follows as you type."""
        if key == DONE:
            self.toggle_keyboard()
            return
        self.sell.search(typed(self.sell.state.search_text, key))

    def clear_search(self) -> None:
        """Back to the category's products."""
        self.sell.search("")

    # --- cart actions ------------------------------------------------------------------------

    def discount(self) -> None:
        """The discount and customer screen, on the selected line if there is one."""
        self.app.session.discount.open(self.sell.state.cart.selected)
        self.app.show("discount")

    def park(self) -> None:
        """Park the cart (a customer stepped away), or pick a parked one to recall."""
        sell = self.sell
        if not sell.state.cart.is_empty:
            sell.park()
        elif sell.state.parked:
            choices = [(p.ticket, f"Ticket {p.ticket}: {p.label}") for p in sell.state.parked]
            ChoicePrompt("Recall a parked cart", choices, sell.recall).open(animation=False)

    def pay(self) -> None:
        """To the tender screen."""
        self.app.show("tender")
