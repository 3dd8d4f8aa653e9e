"""Drive the register's real window in this process; see tests/ui/window_harness.py.

    python -m tests.ui.window_driver --scenario sale --out DIR
    python -m tests.ui.window_driver --screens docs/screens      # the README's screenshots
    python -m tests.ui.window_driver --interactive               # try it (needs a display)

Each scenario writes DIR/results.json (what it saw, where its screenshots are, any
error) for tests/ui/test_window.py to judge. With no DISPLAY the window renders
offscreen (SDL + Mesa); with one, you can watch it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.ui.window_harness import Driver, Wait, prepare_process

CHIPS = "0060410000014"  # Potato chips, by scan
BANANAS = "4011"  # 1.74/kg, weighed on the (fake) scale


def build_app(work: Path, size: tuple[int, int], link_state: str = "offline") -> tuple[Any, Any]:
    """A session over a fresh demo register with fakes, and the app over it."""
    from appliance.labels import SHIPPED, import_templates
    from appliance.ui.launch import configure, ui_runner

    configure(size)
    from kivy.config import Config

    Config.set("graphics", "maxfps", "0")  # frames as fast as they draw: the script waits on them
    from appliance.ui.app import RegisterApp
    from appliance.ui.viewmodels.session import Session
    from tests.ui.conftest import FakeClock, make_shop

    shop = make_shop(work, FakeClock(), runner=ui_runner())
    shop.link.state = link_state
    import_templates(shop.storage, [SHIPPED], now=shop.clock(), version="demo")
    # The scale and drawer answer on a worker of their own, as in production.
    session = Session(
        shop.register,
        shop.session.runner,
        link=shop.link,
        print_queue=shop.printing,
        scale=shop.scale,
        drawer=shop.drawer,
        device_runner=ui_runner("device-worker"),
        label_printer=shop.label_printer,
    )
    shop.session = session
    return RegisterApp(session, header_every=0.15, scale_every=0.1), shop


def stable(kilograms: str) -> Any:
    from hw.protocols.scale import ScaleReading, ScaleStatus, WeightUnit

    return ScaleReading(Decimal(kilograms), WeightUnit.KG, ScaleStatus.STABLE)


# --- steps shared by the scenarios ---------------------------------------------------------------


def log_in(d: Driver, cashier: str = "ann", pin: str = "1234") -> Iterator[Wait]:
    """Pick the cashier and type the PIN on the pad."""
    yield d.screen_is("login")
    yield d.until(lambda: bool(d.session.login.state.cashiers), "the cashier list")
    yield from d.idle()
    yield from d.tap(cashier)
    yield from d.keys(*pin)
    yield from d.tap("enter")
    yield d.screen_is("sell")
    yield from d.idle()


def open_till(d: Driver) -> Iterator[Wait]:
    """Through the back room: count the default float in."""
    yield from d.tap("backroom")
    yield d.screen_is("backroom")
    yield from d.idle()
    yield from d.tap("open_till")
    yield d.until(lambda: d.session.backroom.state.till_open, "the till to open")
    yield from d.tap("back")
    yield d.screen_is("sell")


def cart_lines(d: Driver) -> int:
    return len(d.app.screens["sell"].ids.cart.ids.lines.children)


def ring_up(d: Driver, shop: Any) -> Iterator[Wait]:
    """By grid, by scan, by scale weight and by preset: four lines."""
    yield from d.tap("drinks")
    yield d.until(lambda: any(t.sku == "cola" for t in d.session.sell.state.tiles), "drinks")
    yield from d.tap("cola")
    yield d.until(lambda: cart_lines(d) == 1, "cola in the cart")
    yield from d.wedge(CHIPS)
    yield d.until(lambda: cart_lines(d) == 2, "the scanned chips in the cart")
    d.results["search_after_scan"] = d.session.sell.state.search_text
    shop.scale.event = stable("1.234")
    yield from d.wedge(BANANAS)
    yield d.screen_is("weight")
    yield d.until(lambda: not d.find("use_scale").disabled, "a stable reading")
    d.results["weight_reading"] = d.app.screens["weight"].ids.reading.text
    yield from d.tap("use_scale")
    yield d.screen_is("sell")
    yield d.until(lambda: cart_lines(d) == 3, "the weighed bananas")
    yield from d.tap("tea")
    yield from d.tap("sencha")
    yield d.screen_is("weight")
    yield d.until(lambda: bool(d.session.weight.state.presets), "the presets")
    yield from d.idle()
    yield from d.tap("100")
    yield d.screen_is("sell")
    yield d.until(lambda: cart_lines(d) == 4, "100 g of sencha")


def order_discount(d: Driver, percent: str = "10") -> Iterator[Wait]:
    yield from d.tap("discount")
    yield d.screen_is("discount")
    yield from d.tap("order")
    yield from d.tap("percent")
    yield from d.keys(*percent)
    yield from d.tap("apply")
    yield d.until(lambda: bool(d.session.cart.state.discounts), "the discount in the cart")
    yield from d.tap("back")
    yield d.screen_is("sell")
    yield from d.idle()


def sell_exact(
    d: Driver, sku: str = "avocado", category: str = "produce", leave: bool = True
) -> Iterator[Wait]:
    """One quick sale: a tile, Pay, the exact cash button (which completes), next sale."""
    yield from d.tap(category)
    yield from d.tap(sku)
    yield from d.tap("pay")
    yield d.screen_is("tender")
    yield d.until(lambda: bool(d.session.tender.state.quick), "quick amounts")
    yield from d.idle()
    yield from d.tap(d.session.tender.state.quick[0].value)
    yield d.screen_is("paid")
    if leave:
        yield from d.tap("next_sale")
        yield d.screen_is("sell")
        yield from d.idle()


# --- scenarios -----------------------------------------------------------------------------------


def sale(d: Driver, shop: Any) -> Iterator[Wait]:
    """Login by PIN pad, four ways to add, a discount, cash + card, paid, empty cart."""
    yield from log_in(d)
    yield from open_till(d)
    yield from ring_up(d, shop)
    yield from order_discount(d)
    sell_ids = d.app.screens["sell"].ids
    d.results["cart_total_before"] = sell_ids.cart.ids.total.text
    d.results["total_box"] = d.box(sell_ids.cart.ids.total)
    yield from d.shot("sell_full")
    yield from d.tap("pay")
    yield d.screen_is("tender")
    yield from d.idle()
    yield from d.keys("2", "0")
    yield from d.tap("debit")
    yield d.until(lambda: len(d.session.tender.state.tenders) == 1, "the card tender")
    yield from d.keys("2", "0")
    yield from d.tap("cash")
    yield d.until(lambda: d.session.tender.state.can_complete, "the tenders to cover the sale")
    yield from d.tap("complete")
    yield d.screen_is("paid")
    paid = d.app.screens["paid"].ids
    d.results["paid"] = {
        "change": paid.change.text,
        "change_font": paid.change.font_size,
        "change_box": d.box(paid.change),
        "summary": paid.summary.text,
        "drawer": paid.drawer.text,
    }
    (entry,) = shop.register.recent_sales(5)
    sold = shop.register.sale(entry.id)
    d.results["sale"] = {
        "change": sold.change.format(),
        "total": sold.total.format(),
        "tenders": [t.kind.value for t in sold.tenders],
        "lines": len(sold.lines),
    }
    d.results["cart_lines_at_paid"] = len(d.session.cart.state.lines)
    yield from d.shot("paid")
    yield from d.tap("next_sale")
    yield d.screen_is("sell")
    yield from d.idle()
    d.results["after"] = {"cart_rows": cart_lines(d), "total": sell_ids.cart.ids.total.text}
    d.results["window"] = list(d.window.size)
    yield from searches_and_errors(d)
    yield from label_by_touch(d, shop)


def weigh_for_label(d: Driver, shop: Any, query: str, sku: str, kilograms: str) -> Iterator[Wait]:
    """In the back room's labels panel: find a product by the on-screen keyboard, pick
    it, and weigh it on the (fake) scale for its label."""
    yield from d.tap("backroom")
    yield d.screen_is("backroom")
    yield from d.tap("labels")
    yield d.until(lambda: bool(d.session.labels.state.templates), "the label templates")
    yield from d.tap("label_search")
    for char in query:
        d.window.dispatch("on_textinput", char)
    yield from d.idle()
    yield from d.tap("done")
    yield d.until(lambda: bool(d.session.labels.state.results), "the products to label")
    yield from d.idle()
    shop.scale.event = stable(kilograms)
    yield from d.tap(sku)
    yield d.screen_is("weight")
    yield d.until(lambda: not d.find("use_scale").disabled, "a stable reading")
    yield from d.tap("use_scale")
    yield d.screen_is("backroom")
    yield d.until(lambda: bool(d.session.labels.state.preview), "the label's preview")
    yield from d.idle()


def label_by_touch(d: Driver, shop: Any) -> Iterator[Wait]:
    """Weigh bananas for a label, print two, and scan one at the till: the line is
    sold at the label's weight."""
    yield from weigh_for_label(d, shop, "banan", "bananas", "0.500")
    yield from d.tap("label_more")
    yield from d.tap("label_print")
    yield d.until(lambda: bool(shop.label_printer.printed), "the label printer")
    panel = d.app.screens["backroom"].panels["labels"].ids
    lines, copies = shop.label_printer.printed[0]
    d.results["label"] = {"lines": lines, "copies": copies, "preview": panel.preview.text}
    yield from d.shot("labels")
    code = next(line.split()[1] for line in lines if line.startswith("EAN13"))
    yield from d.tap("back")
    yield d.screen_is("sell")
    yield from d.wedge(code)
    yield d.until(lambda: cart_lines(d) == 1, "the labelled item in the cart")
    (line,) = shop.register.cart.lines
    d.results["label_line"] = [line.sku, str(line.weight), line.weight_source.value]
    yield from park_and_recall(d)


def park_and_recall(d: Driver) -> Iterator[Wait]:
    """Park the cart (the customer went back for milk), then recall it by touch."""
    yield from d.tap("park")
    yield d.until(lambda: cart_lines(d) == 0, "the cart parked")
    yield d.until(lambda: d.find("park").text.startswith("Recall"), "the recall button")
    button = d.find("park").text
    yield from d.tap("park")
    (ticket,) = d.session.sell.state.parked
    yield from d.idle()  # the list of parked carts opens
    yield from d.tap(ticket.ticket)
    yield d.until(lambda: cart_lines(d) == 1, "the cart recalled")
    d.results["park"] = {"button": button, "parked_after": len(d.session.sell.state.parked)}


def searches_and_errors(d: Driver) -> Iterator[Wait]:
    """Slow typing is a search (released by the decoder's deadline), the on-screen
    keyboard searches too, and an unknown scan is a red banner that OK dismisses."""
    sell = d.session.sell
    for char in "ban":  # a person at the keyboard: a key every 80 ms, no Enter
        d.window.dispatch("on_textinput", char)
        yield from d.pause(0.08)
    yield d.until(lambda: sell.state.search_text == "ban", "the typed search")
    yield from d.idle()
    d.results["typed_search"] = [d.find(t.sku).text.split("\n")[0] for t in sell.state.tiles]
    yield from d.tap("clear_search")
    yield from d.tap("search")  # the on-screen keyboard
    yield from d.keys("C", "H", "I")
    yield d.until(lambda: sell.state.search_text == "chi", "the on-screen search")
    yield from d.idle()
    d.results["keyboard_search"] = [t.sku for t in sell.state.tiles]
    yield from d.tap("done")
    yield from d.wedge("999999")
    banner = d.app.screens["sell"].ids.banner
    d.results["banner"] = {"text": banner.text, "kind": banner.kind}
    yield from d.shot("error")
    d.results["banner_box"] = d.box(banner)
    yield from d.tap("dismiss")
    d.results["banner_after"] = banner.text


def offline(d: Driver, shop: Any) -> Iterator[Wait]:
    """Online, the network drops (amber, sales go on, the badge counts up), then it
    comes back (blue while syncing, the badge counts down to zero, green)."""
    seen: list[dict[str, Any]] = []
    d.results["seen"] = seen
    header = d.app.screens["sell"].ids.header.ids

    def look(label: str) -> Iterator[Wait]:
        yield from d.shot(f"header_{label}")
        seen.append(
            {
                "label": label,
                "indicator": header.connection.text,
                "role": header.connection.role,
                "badge": header.badge.text,
                "box": d.box(d.find("connection")),
                "shot": d.results["shots"][f"header_{label}"],
            }
        )

    def shows(indicator: str, badge: str) -> Wait:
        return d.until(
            lambda: (header.connection.text, header.badge.text) == (indicator, badge),
            f"the header to show {indicator} / {badge}",
        )

    shop.link.state = "online"
    yield from log_in(d)
    d.session.backroom.open_till()
    yield d.until(lambda: d.session.backroom.state.till_open, "the till to open")
    yield shows("Online", "All sent")
    yield from look("online")
    shop.link.state = "offline"  # the network drops mid-shift
    yield shows("Offline", "All sent")
    yield from look("offline")
    yield from sell_exact(d)
    yield shows("Offline", "1 pending")
    yield from look("offline_1")
    yield from sell_exact(d, "lemons", leave=False)
    yield from d.wedge(CHIPS)  # the next customer's first scan, on the paid screen
    yield d.screen_is("sell")
    yield d.until(lambda: cart_lines(d) == 1, "the scan to start the next sale")
    d.results["scan_on_paid"] = [line.name for line in d.session.cart.state.lines]
    yield shows("Offline", "2 pending")
    yield from look("offline_2")
    yield from back_online(d, shop, shows, look)
    d.results["sales"] = len(shop.register.recent_sales(10))


def back_online(d: Driver, shop: Any, shows: Any, look: Any) -> Iterator[Wait]:
    """The link drains the outbox: each ack settles an entry and the badge counts down."""
    from appliance.store.outbox import EntryState

    first, second = [e.id for e in reversed(shop.register.recent_sales(2))]
    shop.link.state = "syncing"
    settle = shop.register.settle_entry
    d.session.runner.run(lambda: settle(first, EntryState.CONFIRMED), ignore, fail)
    yield shows("Syncing", "1 pending")
    yield from look("syncing_1")
    d.session.runner.run(lambda: settle(second, EntryState.CONFIRMED), ignore, fail)
    shop.link.state = "online"
    yield shows("Online", "All sent")
    yield from look("online_again")


def ignore(_result: Any) -> None:
    """The answer of a call made only for its effect."""


def fail(exc: Exception) -> None:
    raise exc


SCENARIOS = {"sale": sale, "offline": offline}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--screens", type=Path, help="write the main screens' PNGs here")
    parser.add_argument("--all", action="store_true", help="with --screens: all at 800x480 too")
    parser.add_argument("--out", type=Path, help="results and screenshots (default: a temp dir)")
    parser.add_argument("--size", help="WxH (default 1280x800; --screens: both Pi displays)")
    parser.add_argument(
        "--interactive", action="store_true", help="just open the demo register (needs a display)"
    )
    args = parser.parse_args(argv)
    if args.screens is not None and args.size is None:
        # One process per size: Kivy's window is made once, at the size it starts with.
        again = [sys.executable, "-m", "tests.ui.window_driver", "--screens", str(args.screens)]
        extra = ["--all"] if args.all else []
        large = subprocess.call([*again, "--size", "1280x800"])
        return large or subprocess.call([*again, "--size", "800x480", *extra])
    width, height = (int(n) for n in (args.size or "1280x800").split("x"))
    with tempfile.TemporaryDirectory(prefix="window-") as temp:
        work = Path(temp)
        out = args.out or work / "out"
        out.mkdir(parents=True, exist_ok=True)
        prepare_process(work / "kivy")
        if args.screens is not None:
            from tests.ui.window_screens import screens

            docs = args.screens.resolve()
            compact = (width, height) != (1280, 800)

            def walk(d: Driver, shop: Any) -> Iterator[Wait]:
                return screens(d, shop, docs, f"_{width}x{height}" if compact else "", args.all)

            return run(work, out, (width, height), walk, "online")
        if args.interactive:
            return run(work, out, (width, height), lambda d, s: iter(()), "online", stay=True)
        return run(work, out, (width, height), SCENARIOS[args.scenario or "sale"])


def run(
    work: Path,
    out: Path,
    size: tuple[int, int],
    scenario: Any,
    link: str = "offline",
    stay: bool = False,
) -> int:
    """Open the window, drive it with `scenario(driver, shop)`, close everything
    (`stay`: leave the window to a person instead)."""
    app, shop = build_app(work, size, link)
    driver = Driver(app, out)
    if not stay:
        app.bind(on_start=lambda _app: driver.start(scenario(driver, shop)))
    try:
        app.run()
    finally:
        shop.register.io.close()
        shop.storage.close()
    for error in driver.results["errors"]:
        print(error, file=sys.stderr)
    return 0 if driver.ok or stay else 1


if __name__ == "__main__":
    sys.exit(main())
