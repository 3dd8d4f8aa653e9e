"""Tender: quick cash, split cash + card with change, balances, and "paid" only after the commit."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from appliance.config import TenderSection
from appliance.print_queue import QueueState
from appliance.store.errors import StorageFull, StorageTimeout
from appliance.ui.viewmodels.base import ERROR, INFO, WARNING
from appliance.ui.viewmodels.tender import TenderViewModel
from appliance.ui.viewmodels.tender_preview import quick_amounts
from hw.ports import DeviceOffline, KickResult
from tests.ui.conftest import (
    CASHIER_PIN,
    DeferredRunner,
    FakeClock,
    Shop,
    SyncRunner,
    cad,
    make_shop,
)


def ring_up(shop: Shop, *skus: str) -> None:
    for sku in skus:
        shop.session.sell.tap(sku)
    shop.session.tender.open()


def test_quick_amounts_are_exact_then_the_next_notes_above() -> None:
    assert [(q.label, q.value) for q in quick_amounts(1237, "CAD")] == [
        ("Exact", "12.37"),
        ("15.00", "15.00"),
        ("20.00", "20.00"),
        ("50.00", "50.00"),
        ("100.00", "100.00"),
    ]
    assert [q.value for q in quick_amounts(2000, "CAD")] == [
        "20.00",
        "25.00",
        "30.00",
        "40.00",
        "50.00",
        "100.00",
    ]
    assert quick_amounts(0, "CAD") == ()


def test_split_cash_and_card_pays_with_change_drawer_and_receipt(shop: Shop) -> None:
    tender = shop.session.tender
    ring_up(shop, "french-press", "avocado")
    assert (tender.state.total, tender.state.remaining) == ("41.80", "41.80")
    tender.card("credit", "A123", "20.00")
    assert tender.state.remaining == "21.80" and not tender.state.can_complete
    assert [(t.label, t.amount) for t in tender.state.tenders] == [("Card credit", "20.00")]
    tender.cash()
    assert tender.state.message_kind == INFO and "type the cash" in tender.state.message.lower()
    tender.key(".")
    tender.cash()  # "0." is no amount: a message, never an exception, never a tender
    assert (tender.state.message, tender.state.message_kind) == (
        "The amount must be more than zero",
        ERROR,
    )
    assert len(shop.register.tenders) == 1
    tender.key("clear")
    for key in "30":
        tender.key(key)
    tender.cash()
    assert tender.state.change_preview == "8.20" and tender.state.can_complete
    assert not tender.state.paid and shop.drawer.kicked_at_seq == [] and shop.printing.wakes == 0

    tender.complete()
    state = tender.state
    assert state.paid and (state.change, state.total, state.sale_number) == (
        "8.20",
        "41.80",
        "r1-1",
    )
    assert (state.drawer, state.drawer_ok) == ("drawer open", True)
    assert shop.printing.wakes == 1 and state.receipt == "receipt printing"
    (entry,) = shop.register.recent_sales()
    sale = shop.register.sale(entry.id)
    assert [(t.kind.value, t.applied.minor) for t in sale.tenders] == [
        ("card", 2000),
        ("cash", 2180),
    ]
    assert sale.change.minor == 820
    assert shop.session.cart.state.is_empty
    assert shop.session.header.state.pending == 1
    tender.new_sale()
    assert not tender.state.paid and tender.state.change == ""


def test_paid_shows_only_after_the_commit_returned(tmp_path: Path, clock: FakeClock) -> None:
    runner = DeferredRunner()
    shop = make_shop(tmp_path, clock, runner=runner)
    try:
        shop.register.login("ann", CASHIER_PIN)
        shop.register.open_till(cad(200_00))
        tender = shop.session.tender
        shop.session.sell.tap("avocado")
        tender.open()
        runner.run_all()
        assert tender.state.total == "1.49" and not tender.state.paid
        tender.quick("5.00")  # adds the cash, then completes
        assert tender.state.busy and not tender.state.paid
        runner.run_one()  # the cash tender is added; the commit is queued behind it
        assert len(runner.jobs) == 1 and tender.state.busy and not tender.state.paid
        assert shop.register.status().last_seq == 0 and shop.drawer.kicked_at_seq == []
        runner.run_one()  # the commit: "paid" only now
        assert tender.state.paid and tender.state.change == "3.50"
        assert shop.register.status().last_seq == 1 and shop.printing.wakes == 1
        runner.run_all()  # the drawer kick, on the device runner (the same one here)
        assert shop.drawer.kicked_at_seq == [1], "the drawer opened before the sale was saved"
        assert tender.state.drawer == "drawer open" and not tender.state.busy
    finally:
        shop.register.io.close()
        shop.storage.close()


def test_a_card_number_is_refused_with_the_registers_words(shop: Shop) -> None:
    tender = shop.session.tender
    ring_up(shop, "avocado")
    tender.card("credit", "4111111111111111")
    assert tender.state.message_kind == ERROR and "card number" in tender.state.message
    assert tender.state.tenders == () and shop.register.tenders == []


def test_store_credit_and_gift_card_from_the_cached_balances(shop: Shop) -> None:
    tender = shop.session.tender
    shop.session.discount.attach("c1")
    ring_up(shop, "french-press")  # 39.99 - 4.00 + 5% GST + 7% PST = 40.31
    assert [(b.label, b.account, b.available) for b in tender.state.balances] == [
        ("Store credit", "c1", "25.00")
    ]
    tender.balance("store_credit", "c1")  # all it holds, since it holds less than is due
    assert tender.state.remaining == "15.31"
    tender.gift_card("nope")
    assert tender.state.message_kind == ERROR
    tender.gift_card("g-100")
    assert ("Gift card", "g-100", "10.00") in [
        (b.label, b.account, b.available) for b in tender.state.balances
    ]
    tender.balance("gift_card", "g-100")
    assert tender.state.remaining == "5.31"
    tender.card("debit", "T99")  # the rest by card, no cash: no drawer
    assert tender.state.can_complete
    tender.complete()
    assert tender.state.paid and tender.state.change == "0.00"
    assert shop.session.discount.state.customer is None, "the next sale starts without Cy"
    assert shop.session.cart.state.customer == ""
    assert shop.drawer.kicked_at_seq == [] and "stays shut" in tender.state.drawer
    tender.new_sale()
    shop.session.discount.attach("c1")
    tender.open()
    assert [b.available for b in tender.state.balances] == ["0.00"], "the balance was drawn down"


def test_a_drawer_not_seen_to_open_says_use_the_key(shop: Shop) -> None:
    tender = shop.session.tender
    shop.drawer.result = KickResult(False, "no drawer status")
    ring_up(shop, "avocado")
    tender.quick("2.00")
    assert tender.state.paid and tender.state.drawer_ok is False
    assert "open it with the key" in tender.state.drawer
    shop.drawer.result = DeviceOffline("the printer does not answer")
    shop.printing.state = QueueState(1, "paper out")
    ring_up(shop, "avocado")
    tender.quick("2.00")
    assert tender.state.paid and "open it with the key" in tender.state.drawer
    assert tender.state.receipt == "receipt waits in the print queue: paper out"


def fill_storage(shop: Shop) -> None:
    """Fill the 1 MiB map to its cap with filler records, in smaller and smaller pieces."""
    storage, number = shop.storage, 0
    for size in (64 << 10, 8 << 10, 1 << 10, 128):
        while True:
            number += 1
            key, value = f"filler/{number}".encode(), b"x" * size
            try:
                storage.write(lambda t, k=key, v=value: t.put(k, v, db=storage.dbs["local"]))
            except StorageFull:
                break


@pytest.fixture
def tiny(tmp_path: Path, clock: FakeClock) -> Iterator[Shop]:
    made = make_shop(tmp_path, clock, extra="[storage]\nmap_size_mb = 1\nmap_max_mb = 1\n")
    made.login()
    made.open_till()
    yield made
    made.register.io.close()
    made.storage.close()


def test_full_storage_says_so_and_keeps_the_cart_until_there_is_room(tiny: Shop) -> None:
    tender = tiny.session.tender
    ring_up(tiny, "avocado", "lemons")
    tender.card("credit", "A1")
    fill_storage(tiny)
    tender.complete()
    state = tender.state
    assert not state.paid and state.message_kind == ERROR
    assert state.message.startswith("Storage full") and "nothing is lost" in state.message
    assert [li.name for li in tiny.session.cart.state.lines] == ["Avocado", "Lemon"]
    assert len(tiny.register.tenders) == 1 and tiny.register.status().last_seq == 0
    assert tiny.drawer.kicked_at_seq == [] and tiny.printing.wakes == 0

    tiny.storage.map_max = 4 << 20  # a technician made room
    tender.complete()
    assert tender.state.paid and tiny.register.status().last_seq == 1
    assert tiny.session.cart.state.is_empty


def test_a_sale_saved_after_a_timeout_is_shown_paid(shop: Shop) -> None:
    tender = shop.session.tender
    ring_up(shop, "avocado")
    tender.card("credit", "A7")
    release, hanging = threading.Event(), threading.Event()

    def hang() -> None:
        hanging.set()
        release.wait(10)

    def occupy() -> None:
        with contextlib.suppress(StorageTimeout):
            shop.register.io.call(hang, "hanging")

    shop.register.io.timeout_s = 0.2
    blocker = threading.Thread(target=occupy)
    blocker.start()
    assert hanging.wait(2)
    try:
        tender.complete()
        assert not tender.state.paid and tender.state.message_kind == WARNING
        assert "did not finish" in tender.state.message
    finally:
        release.set()
        blocker.join(5)
    shop.register.io.timeout_s = 5.0
    tender.complete()  # the retry learns the first attempt landed
    assert tender.state.paid and tender.state.message_kind == INFO
    assert "saved after all" in tender.state.message
    assert shop.register.status().last_seq == 1, "the sale was recorded once"
    assert shop.session.cart.state.is_empty and shop.printing.wakes == 1


def test_card_buttons_come_from_tender_card_methods(shop: Shop) -> None:
    tender = shop.session.tender
    assert tender.state.card_methods == (("debit", "Debit"), ("credit", "Credit"))
    ring_up(shop, "avocado")
    tender.card("visa", "A1")
    assert tender.state.message_kind == ERROR and "tender.card_methods" in tender.state.message
    assert not shop.register.tenders, "a method the shop does not take is not recorded"
    shop.register.config = replace(shop.config, tender=TenderSection(("interac", "gift_pass")))
    fresh = TenderViewModel(shop.register, SyncRunner(), None, None)
    assert fresh.state.card_methods == (("interac", "Interac"), ("gift_pass", "Gift Pass"))
