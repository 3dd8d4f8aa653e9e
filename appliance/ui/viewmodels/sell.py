"""The sell screen: header, categories, product grid, search, scanning, and the cart.

Scanning needs no field to focus. A serial or HID scanner's codes come to
`scanned(code)`. A keyboard-wedge scanner types: every key goes to `key(char,
now)`, where a `WedgeDecoder` tells a burst ended by Enter (a scan) from a
person typing (the search text). Typed keys reach the search `max_gap` late, so
the Kivy layer calls `tick(now)` at `next_deadline()`.

A weighed product (scanned, tapped, or found) opens the weight screen: the
register refuses it with `WeightRequired`, and the session's `weigh` hook takes
the product there. Voiding a line after tendering began needs a manager: the
register says so, the override asks for a PIN, and the void is retried with it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from appliance.domain.catalog import Category, Product
from appliance.domain.pricing import PricedCart
from appliance.register import Register, WeightRequired
from appliance.ui.viewmodels.base import INFO, ScreenState, ViewModel
from appliance.ui.viewmodels.cart import CartState, CartViewModel
from appliance.ui.viewmodels.formatting import unit_price
from appliance.ui.viewmodels.header import HeaderState, HeaderViewModel
from appliance.ui.viewmodels.manager import ManagerOverride, OverrideState
from appliance.ui.viewmodels.runner import Runner
from hw.protocols.scanner import ScannedCode, WedgeDecoder, WedgeEvent, WedgeTiming

BACKSPACE = "\b"


@dataclass(frozen=True, slots=True)
class CategoryTab:
    """A category button."""

    id: str
    name: str
    selected: bool


@dataclass(frozen=True, slots=True)
class ProductTile:
    """A product on the grid: name, price text ("1.49", "1.74/kg"), sold by weight or not."""

    sku: str
    name: str
    price: str
    by_weight: bool


@dataclass(frozen=True, slots=True)
class ParkedTicket:
    """A parked cart that can be recalled."""

    ticket: str
    label: str


@dataclass(frozen=True, slots=True)
class SellState(ScreenState):
    """The whole sell screen: its own fields plus the header, cart and override it shows."""

    header: HeaderState = field(default_factory=HeaderState)
    cart: CartState = field(default_factory=CartState)
    override: OverrideState = field(default_factory=OverrideState)
    categories: tuple[CategoryTab, ...] = ()
    category: str = ""
    search_text: str = ""
    tiles: tuple[ProductTile, ...] = ()
    parked: tuple[ParkedTicket, ...] = ()


def _tile(product: Product) -> ProductTile:
    return ProductTile(product.sku, product.name, unit_price(product), product.sold_by_weight)


class SellViewModel(ViewModel[SellState]):
    """The sell screen (see the module docstring)."""

    def __init__(
        self,
        register: Register,
        runner: Runner,
        header: HeaderViewModel,
        cart: CartViewModel,
        override: ManagerOverride,
        wedge: WedgeTiming | None = None,
    ) -> None:
        super().__init__(
            register,
            runner,
            SellState(header=header.state, cart=cart.state, override=override.state),
        )
        self.header, self.cart, self.approver = header, cart, override
        header.subscribe(lambda s: self._update(header=s))
        cart.subscribe(lambda s: self._update(cart=s))
        override.subscribe(lambda s: self._update(override=s))
        self.decoder = WedgeDecoder(wedge or WedgeTiming())
        # Opens the weight screen for a weighed product (the session wires it).
        self.weigh: Callable[[Product], None] | None = None
        self._categories: list[Category] = []

    # --- browsing ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Load the categories (the first one's products), the cart and the header."""
        self._call(self.register.categories, self._listed_categories, keep_message=True)
        self.cart.refresh()
        self.header.refresh()
        self.show_parked()

    def _listed_categories(self, found: list[Category]) -> None:
        self._categories = found
        current = self.state.category
        if current not in {c.id for c in found}:
            current = found[0].id if found else ""
        self.choose_category(current)

    def choose_category(self, category: str) -> None:
        """Show a category's products on the grid (and leave any search)."""
        tabs = tuple(CategoryTab(c.id, c.name, c.id == category) for c in self._categories)
        self._update(categories=tabs, category=category, search_text="")
        if category:
            self._call(
                lambda: self.register.category(category),
                lambda found: self._show_tiles(found, "", category),
                keep_message=True,
            )

    def search(self, text: str) -> None:
        """Search as you type; an empty text shows the category again."""
        self._update(search_text=text)
        if not text.strip():
            self.choose_category(self.state.category)
            return
        category = self.state.category
        self._call(
            lambda: self.register.search(text),
            lambda found: self._show_tiles(found, text, category),
            keep_message=True,
        )

    def _show_tiles(self, found: list[Product], text: str, category: str) -> None:
        if (text, category) != (self.state.search_text, self.state.category):
            return  # the cashier typed on or picked another shelf: newer tiles are coming
        self._update(tiles=tuple(_tile(p) for p in found))

    # --- scanning and typing ----------------------------------------------------------------

    def key(self, char: str, now: float | None = None) -> None:
        """A key from the keyboard (or a wedge scanner) at `now` (monotonic seconds)."""
        self._decoded(self.decoder.key(char, time.monotonic() if now is None else now))

    def tick(self, now: float | None = None) -> None:
        """The decoder's deadline passed: keys held back were typed by a person."""
        self._decoded(self.decoder.handle_timeout(time.monotonic() if now is None else now))

    def next_deadline(self) -> float | None:
        """When to call `tick` if no key comes (None: nothing held back)."""
        return self.decoder.next_deadline()

    def _decoded(self, events: list[WedgeEvent]) -> None:
        for event in events:
            if isinstance(event, ScannedCode):
                self.scanned(event.code)
            else:
                text = self.state.search_text
                for char in event.text:
                    if char == BACKSPACE:
                        text = text[:-1]
                    elif char not in "\r\n":
                        text += char
                if text != self.state.search_text:
                    self.search(text)

    def scanned(self, code: str) -> None:
        """A barcode from any scanner: added at once (a weighed item opens the weight screen)."""
        self._call(lambda: self.register.add_barcode(code), self.cart.show)

    def tap(self, sku: str) -> None:
        """A product tile (or search result) was touched."""
        self._call(lambda: self.register.add_sku(sku), self.cart.show)

    def _failed(self, exc: Exception, retry: Callable[[str], None] | None) -> None:
        if isinstance(exc, WeightRequired) and self.weigh is not None:
            self.weigh(exc.product)
            return
        super()._failed(exc, retry)

    # --- the cart -----------------------------------------------------------------------------

    def select(self, line_id: int | None) -> None:
        """Select a cart line."""
        self.cart.select(line_id)

    def _selected(self) -> int | None:
        line_id = self.cart.state.selected
        if line_id is None:
            self._say("select a line first", INFO)
        return line_id

    def plus(self) -> None:
        """One more of the selected line (or one more preset pack)."""
        self._step(1)

    def minus(self) -> None:
        """One less of the selected line; at one, the line is voided."""
        self._step(-1)

    def _step(self, delta: int) -> None:
        line_id = self._selected()
        if line_id is None:
            return
        priced = self.cart.priced
        lines = [li for li in priced.lines if li.line_id == line_id] if priced else []
        quantity = (lines[0].quantity if lines else Decimal(1)) + delta
        if quantity < 1:
            self.void()
            return
        self._set_quantity(line_id, quantity, None)

    def _set_quantity(self, line_id: int, quantity: Decimal, manager_pin: str | None) -> None:
        self._call(
            lambda: self.register.set_quantity(line_id, quantity, manager_pin),
            self.cart.show,
            retry=lambda pin: self._set_quantity(line_id, quantity, pin),  # after tender
            approving=manager_pin is not None,
        )

    def void(self, manager_pin: str | None = None) -> None:
        """Void the selected line (a manager's PIN once tendering has begun)."""
        line_id = self._selected()
        if line_id is not None:
            self._void(line_id, manager_pin)

    def _void(self, line_id: int, manager_pin: str | None) -> None:
        self._call(
            lambda: self.register.void_line(line_id, manager_pin),
            self.cart.show,
            retry=lambda pin: self._void(line_id, pin),
            approving=manager_pin is not None,
        )

    # --- parking ----------------------------------------------------------------------------

    def park(self, label: str = "") -> None:
        """Park the cart (kept on disk) and start a new one."""

        def run() -> tuple[str, PricedCart]:
            name = label or f"parked at {self.register.clock():%H:%M}"
            return self.register.park(name), self.register.price()

        self._call(run, self._parked)

    def _parked(self, result: tuple[str, PricedCart]) -> None:
        ticket, priced = result
        self.cart.show(priced)
        self._say(f"cart parked as ticket {ticket}", INFO)
        self.show_parked()

    def show_parked(self) -> None:
        """List the parked carts."""
        self._call(
            self.register.parked,
            lambda found: self._update(parked=tuple(ParkedTicket(t, label) for t, label in found)),
            keep_message=True,
        )

    def recall(self, ticket: str) -> None:
        """Bring a parked cart back (the current one must be empty)."""
        self._call(lambda: self.register.recall(ticket), self._recalled)

    def _recalled(self, priced: PricedCart) -> None:
        self.cart.show(priced)
        self.show_parked()
