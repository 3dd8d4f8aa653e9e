"""The sell screen: grid, search, scanning (serial and keyboard wedge), the cart, park/recall."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from appliance.domain.money import Money
from appliance.domain.tender import Tender
from appliance.ui.viewmodels.base import ERROR, INFO, WARNING
from tests.ui.conftest import (
    BANANAS,
    COLA,
    MANAGER_PIN,
    DeferredRunner,
    FakeClock,
    Shop,
    cad,
    make_shop,
)


def wedge(shop: Shop, text: str, start: float, gap: float) -> float:
    """Type `text` into the sell screen's key handler with `gap` seconds between keys."""
    now = start
    for char in text:
        shop.session.sell.key(char, now)
        now += gap
    return now


def test_categories_and_grid_come_from_the_cache(shop: Shop) -> None:
    sell = shop.session.sell
    assert [c.id for c in sell.state.categories] == [
        "bakery",
        "bulk",
        "dairy",
        "drinks",
        "produce",
        "snacks",
        "tea",
        "vapes",
    ]
    assert sum(c.selected for c in sell.state.categories) == 1
    sell.choose_category("produce")
    tiles = {t.sku: t for t in sell.state.tiles}
    assert [c.id for c in sell.state.categories if c.selected] == ["produce"]
    assert (tiles["bananas"].price, tiles["bananas"].by_weight) == ("1.74/kg", True)
    assert (tiles["avocado"].price, tiles["avocado"].by_weight) == ("1.49", False)
    assert all(t.sku in {p.sku for p in shop.register.category("produce")} for t in tiles.values())


def test_a_whole_sale_by_grid_shows_promotions_tax_and_total(shop: Shop) -> None:
    sell = shop.session.sell
    sell.choose_category("drinks")
    sell.tap("cola")
    sell.tap("cola")
    cart = sell.state.cart
    (line,) = cart.lines
    assert (line.name, line.quantity, line.detail, line.amount) == (
        "Cola 355 ml",
        "2",
        "2 x 1.49",
        "2.98",
    )
    assert [(a.label, a.amount) for a in line.adjustments] == [("Cola 30c off", "-0.60")]
    assert line.selected and cart.selected == line.line_id
    priced = shop.register.price()
    assert cart.total == priced.total.format() == "2.50"
    assert (cart.subtotal, cart.discounts, cart.tax) == ("2.98", "-0.60", "0.12")
    assert [(t.label, t.amount) for t in cart.taxes] == [("GST 5%", "0.12")]

    shop.session.tender.open()
    shop.session.tender.quick("5.00")
    assert shop.session.tender.state.paid and shop.session.tender.state.change == "2.50"
    assert sell.state.cart.is_empty and sell.state.cart.total == "0.00"


def test_scanned_codes_are_added_and_unknown_ones_explained(shop: Shop) -> None:
    sell = shop.session.sell
    sell.scanned(COLA)
    assert [line.name for line in sell.state.cart.lines] == ["Cola 355 ml"]
    sell.scanned("999999")
    assert sell.state.message_kind == ERROR and "999999" in sell.state.message
    assert len(sell.state.cart.lines) == 1, "a bad scan must leave the cart alone"
    sell.scanned(COLA)
    assert sell.state.message == "", "the next good action clears the message"
    assert sell.state.cart.lines[0].quantity == "2"


def test_a_weighed_scan_or_tap_opens_the_weight_screen(shop: Shop) -> None:
    sell, weight = shop.session.sell, shop.session.weight
    sell.scanned(BANANAS)
    assert weight.state.active and weight.state.sku == "bananas"
    assert sell.state.cart.is_empty and sell.state.message == ""
    weight.cancel()
    sell.choose_category("tea")
    sell.tap("sencha")
    assert weight.state.active and weight.state.name == "Sencha green tea"


def test_wedge_burst_is_a_scan_and_slow_typing_is_a_search(shop: Shop) -> None:
    sell = shop.session.sell
    end = wedge(shop, COLA + "\r", start=100.0, gap=0.004)
    assert [line.name for line in sell.state.cart.lines] == ["Cola 355 ml"]
    assert sell.state.search_text == "", "a scan must not leak into the search"
    assert sell.next_deadline() is None

    end = wedge(shop, "ban", start=end + 1.0, gap=0.3)  # a person typing
    assert sell.next_deadline() is not None, "the last key waits to see if more come fast"
    sell.tick(end + 0.1)
    assert sell.state.search_text == "ban"
    assert [t.name for t in sell.state.tiles] == ["Bananas"]

    end = wedge(shop, "\b\b\b4011\r", start=end + 1.0, gap=0.3)  # digits typed slowly
    sell.tick(end)
    assert sell.state.search_text == "4011"
    assert len(sell.state.cart.lines) == 1 and not shop.session.weight.state.active


def test_search_as_you_type_and_back_to_the_category(shop: Shop) -> None:
    sell = shop.session.sell
    sell.choose_category("bakery")
    bakery = sell.state.tiles
    sell.search("dark ch")
    assert [t.sku for t in sell.state.tiles] == ["chocolate"]
    sell.search("")
    assert sell.state.tiles == bakery and sell.state.search_text == ""


def test_quantity_plus_minus_and_void_at_one(shop: Shop) -> None:
    sell = shop.session.sell
    sell.plus()
    assert (sell.state.message, sell.state.message_kind) == ("Select a line first", INFO)
    sell.tap("avocado")
    sell.tap("lemons")
    sell.select(sell.state.cart.lines[0].line_id)
    sell.plus()
    sell.plus()
    assert [li.quantity for li in sell.state.cart.lines] == ["3", "1"]
    assert sell.state.cart.lines[0].selected
    sell.select(sell.state.cart.lines[1].line_id)
    sell.minus()
    assert [li.name for li in sell.state.cart.lines] == ["Avocado"]
    assert sell.state.cart.selected is None


def test_void_after_tender_needs_a_manager_and_is_retried_with_the_pin(shop: Shop) -> None:
    sell, override = shop.session.sell, shop.session.override
    sell.tap("avocado")
    sell.tap("lemons")
    shop.register.add_tender(Tender.cash(cad(1000)))
    sell.void()
    assert sell.state.override.active and "manager" in sell.state.override.reason
    assert sell.state.message_kind == WARNING and len(sell.state.cart.lines) == 2
    for digit in "1234":  # the cashier's own PIN is not a manager's
        override.key(digit)
    override.submit()
    assert override.state.active and "not a manager's PIN" in override.state.message
    assert len(sell.state.cart.lines) == 2
    for digit in MANAGER_PIN:
        override.key(digit)
    assert override.state.pin_mask == "••••"
    override.submit()
    assert not override.state.active and not sell.state.override.active
    assert [li.name for li in sell.state.cart.lines] == ["Avocado"]


def test_cancelling_the_override_keeps_the_line(shop: Shop) -> None:
    sell = shop.session.sell
    sell.tap("avocado")
    shop.register.add_tender(Tender.cash(cad(1000)))
    sell.void()
    shop.session.override.cancel()
    assert not sell.state.override.active and len(sell.state.cart.lines) == 1
    assert "cancelled" in shop.session.override.state.message.lower()


def test_park_and_recall(shop: Shop) -> None:
    sell = shop.session.sell
    sell.tap("avocado")
    sell.park("blue jacket")
    assert sell.state.cart.is_empty and "parked as ticket" in sell.state.message
    assert [p.label for p in sell.state.parked] == ["blue jacket"]
    sell.tap("lemons")
    sell.recall(sell.state.parked[0].ticket)
    assert sell.state.message_kind == ERROR and "park the current cart first" in sell.state.message
    sell.void()
    sell.recall(sell.state.parked[0].ticket)
    assert [li.name for li in sell.state.cart.lines] == ["Avocado"]
    assert sell.state.parked == ()


def test_server_only_features_say_plainly_they_need_a_connection(shop: Shop) -> None:
    sell = shop.session.sell
    sell.needs_connection("returns")
    assert sell.state.message_kind == WARNING
    assert sell.state.message.startswith("Returns: needs a connection to the back office")
    assert "offline right now" in sell.state.message


def test_subscribers_get_each_new_state(shop: Shop) -> None:
    sell = shop.session.sell
    seen: list[str] = []
    unsubscribe = sell.subscribe(lambda s: seen.append(s.cart.total))
    sell.tap("avocado")
    assert seen and seen[-1] == shop.register.price().total.format()
    unsubscribe()
    count = len(seen)
    sell.tap("avocado")
    assert len(seen) == count
    assert Money.parse(sell.state.cart.total, "CAD").minor > 0
    assert Decimal(sell.state.cart.lines[0].quantity) == 2


def test_a_programming_error_is_raised_not_shown(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(sku: str, quantity: Decimal = Decimal(1)) -> None:
        raise TypeError("a bug, not a refusal")

    monkeypatch.setattr(shop.register, "add_sku", broken)
    with pytest.raises(TypeError, match="a bug"):
        shop.session.sell.tap("avocado")
    assert not shop.session.sell.state.busy, "the busy flag is cleared even then"


def test_late_answers_never_overwrite_newer_tiles(tmp_path: Path, clock: FakeClock) -> None:
    runner = DeferredRunner()
    shop = make_shop(tmp_path, clock, runner=runner)
    try:
        sell = shop.session.sell
        sell.refresh()
        runner.run_all()
        shown: list[str] = []
        sell.subscribe(lambda s: shown.extend(t.sku for t in s.tiles))
        sell.choose_category("produce")
        sell.choose_category("snacks")  # before produce's products came back
        sell.search("ch")
        sell.search("chips")  # before the answer for "ch" came back
        assert sell.state.busy
        runner.run_all()
        assert "avocado" not in shown, "produce's late answer replaced the snacks grid"
        assert "chocolate" not in shown, "the answer for 'ch' flashed up after 'chips' was typed"
        assert sell.state.category == "snacks" and sell.state.search_text == "chips"
        assert [t.sku for t in sell.state.tiles] == ["chips"] and not sell.state.busy
    finally:
        shop.register.io.close()
        shop.storage.close()
