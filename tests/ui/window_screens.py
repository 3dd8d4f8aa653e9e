"""The README's screenshots: the main screens at 1280x800 and the sell screen at 800x480.

    python -m tests.ui.window_driver --screens docs/screens [--all]

Each size is a process of its own (the window is made once). `--all` keeps every
screen at 800x480 too, for a person to check that the small display shows it all.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.ui.window_driver import BANANAS, CHIPS, stable, weigh_for_label
from tests.ui.window_harness import Driver, Wait


class Camera:
    """Saves the walk's screenshots: every one at 1280x800; at 800x480 the sell screen
    (and the rest with `everything`), named with the size."""

    def __init__(self, d: Driver, docs: Path, suffix: str, everything: bool) -> None:
        self.d, self.docs, self.suffix, self.everything = d, docs, suffix, everything

    def __call__(self, name: str) -> Iterator[Wait]:
        if not self.suffix or self.everything or name == "sell":
            yield from self.d.shot(name + self.suffix, self.docs)


def full_cart(d: Driver, shop: Any) -> Iterator[Wait]:
    """A cart a cashier meets at noon: a promotion, a scan, a weighed item, a preset,
    a customer and an order discount."""
    yield from d.tap("drinks")
    yield from d.tap("cola")
    yield from d.tap("cola")
    yield from d.wedge(CHIPS)
    shop.scale.event = stable("1.234")
    yield from d.wedge(BANANAS)
    yield d.until(lambda: not d.find("use_scale").disabled, "a stable reading")
    yield from d.tap("use_scale")
    yield d.screen_is("sell")
    yield from d.tap("tea")
    yield from d.tap("sencha")
    yield d.screen_is("weight")
    yield d.until(lambda: bool(d.session.weight.state.presets), "the presets")
    yield from d.idle()
    yield from d.tap("100")
    yield d.screen_is("sell")
    yield from d.idle()
    yield from d.tap("discount")
    yield from d.tap("find")
    for char in "cy":
        d.window.dispatch("on_textinput", char)
    yield from d.idle()
    yield from d.tap("done")
    yield d.until(lambda: bool(d.session.discount.state.customers), "the customer search")
    yield from d.tap("c1")
    yield d.until(lambda: d.session.discount.state.customer is not None, "the customer")
    yield from d.tap("order")
    yield from d.tap("percent")
    yield from d.keys("1", "0")
    yield from d.tap("apply")
    yield d.until(lambda: bool(d.session.cart.state.discounts), "the discount")


def screens(
    d: Driver, shop: Any, docs: Path, suffix: str = "", everything: bool = False
) -> Iterator[Wait]:
    """Walk through the main screens, shooting each."""
    shoot = Camera(d, docs, suffix, everything)
    yield d.screen_is("login")
    yield d.until(lambda: bool(d.session.login.state.cashiers), "the cashier list")
    yield from d.idle()
    yield from d.tap("ann")
    yield from d.keys("1", "2")
    yield from shoot("login")
    yield from d.keys("3", "4")
    yield from d.tap("enter")
    yield d.screen_is("sell")
    d.session.backroom.open_till()
    yield from d.idle()
    yield from full_cart(d, shop)
    yield from shoot("discount")
    yield from d.tap("back")
    yield d.screen_is("sell")
    yield from d.idle()
    yield from shoot("sell")

    yield from d.tap("produce")
    shop.scale.event = stable("0.862")
    yield from d.tap("apples-gala")
    yield d.screen_is("weight")
    yield d.until(lambda: not d.find("use_scale").disabled, "a stable reading")
    yield from shoot("weight")
    yield from d.tap("cancel")
    yield d.screen_is("sell")

    yield from paying(d, shoot)
    yield from pending(d, shop, shoot)
    yield from d.tap("sell")
    yield d.screen_is("sell")
    yield from d.tap("backroom")
    yield d.screen_is("backroom")
    yield from d.idle()
    yield from d.tap("clock_in")
    yield from shoot("backroom")
    yield from manager(d, shoot)
    yield from back_office(d, shop, shoot)


def pending(d: Driver, shop: Any, shoot: Camera) -> Iterator[Wait]:
    """Two more sales with the network down, one refused by the back office."""
    from tests.ui.window_driver import sell_exact

    shop.link.state = "offline"
    yield from sell_exact(d, "lemons")
    yield from sell_exact(d, "avocado")
    first = shop.register.recent_sales(3)[-1].id
    from appliance.store.outbox import EntryState

    reason = "price of Sencha green tea changed at 11:02; recount at the back office"
    shop.register.settle_entry(first, EntryState.REJECTED, reason)
    yield from d.tap("badge")
    yield d.screen_is("pending")
    yield d.until(lambda: len(d.session.pending.state.rows) == 3, "three pending rows")
    yield d.until(lambda: "pending" in d.find("badge").text, "the badge")
    yield from shoot("pending")


def manager(d: Driver, shoot: Camera) -> Iterator[Wait]:
    """A no sale from the back room: the register asks for a manager over the screen."""
    yield from d.tap("no_sale")
    for char in "float check":
        d.window.dispatch("on_textinput", char)
    yield from d.tap("done")
    yield d.until(lambda: d.session.override.state.active, "the manager prompt")
    yield from d.idle()
    yield from d.keys("9", "9")
    yield from shoot("manager")
    yield from d.tap("override_cancel")
    yield d.until(lambda: not d.session.override.state.active, "the prompt to close")


def back_office(d: Driver, shop: Any, shoot: Camera) -> Iterator[Wait]:
    """The X report (which warns of what is unsent), the devices, recent sales and a
    server-only feature asked for while offline."""
    yield from d.tap("shift")
    yield from d.tap("x_report")
    yield d.until(lambda: bool(d.session.shift.state.lines), "the X report")
    yield from shoot("shift")
    yield from d.tap("devices")
    yield d.until(lambda: bool(d.session.devices.state.drawer), "the devices' status")
    yield from shoot("devices")
    yield from d.tap("back")
    yield d.screen_is("sell")
    yield from weigh_for_label(d, shop, "chedd", "cheddar", "0.412")
    yield from shoot("labels")
    yield from d.tap("back")
    yield d.screen_is("sell")
    yield from d.tap("recent")
    yield d.screen_is("recent")
    yield d.until(lambda: bool(d.session.recent.state.rows), "the recent sales")
    yield from d.tap("returns")
    yield from shoot("recent")


def paying(d: Driver, shoot: Camera) -> Iterator[Wait]:
    """Part by card, the rest by a quick cash amount (which completes the sale)."""
    yield from d.tap("pay")
    yield d.screen_is("tender")
    yield from d.idle()
    yield from d.keys("2", "0")
    yield from d.tap("debit")
    yield d.until(lambda: len(d.session.tender.state.tenders) == 1, "the card tender")
    yield from shoot("tender")
    yield from d.tap(d.session.tender.state.quick[2].value)
    yield d.screen_is("paid")
    yield from shoot("paid")
    yield from d.tap("next_sale")
    yield d.screen_is("sell")
