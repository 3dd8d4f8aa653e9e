"""The connection indicator and pending badge, and the pending list behind them."""

from __future__ import annotations

from appliance.store.outbox import EntryState
from tests.ui.conftest import Shop


def sell_one(shop: Shop, sku: str = "avocado") -> str:
    shop.session.sell.tap(sku)
    shop.session.tender.open()
    shop.session.tender.quick(shop.session.tender.state.quick[0].value)
    assert shop.session.tender.state.paid, shop.session.tender.state.message
    shop.session.tender.new_sale()
    return shop.register.recent_sales(1)[0].id


def test_offline_is_amber_and_sales_go_on_with_the_badge_counting_up(shop: Shop) -> None:
    header = shop.session.header
    shop.link.state = "online"
    header.refresh()
    assert (header.state.connection, header.state.connection_color) == ("Online", "green")
    assert (header.state.pending, header.state.pending_text) == (0, "")

    shop.link.state = "offline"  # the network drops mid-shift
    header.refresh()
    assert (header.state.connection, header.state.connection_color) == ("Offline", "amber")
    first = sell_one(shop)
    assert shop.session.sell.state.header.pending == 1, "the badge follows each commit"
    second = sell_one(shop, "lemons")
    assert (header.state.pending, header.state.pending_text) == (2, "2")

    shop.link.state = "syncing"  # back: the link drains the outbox
    shop.register.settle_entry(first, EntryState.CONFIRMED)
    header.refresh()
    assert (header.state.connection, header.state.connection_color) == ("Syncing", "blue")
    assert header.state.pending == 1
    shop.register.settle_entry(second, EntryState.CONFIRMED)
    shop.link.state = "online"
    header.refresh()
    assert (header.state.connection, header.state.pending, header.state.pending_text) == (
        "Online",
        0,
        "",
    )


def test_a_rejected_sale_stays_on_the_badge_and_the_list_with_its_reason(shop: Shop) -> None:
    sold = sell_one(shop)
    sell_one(shop, "lemons")
    shop.register.settle_entry(sold, EntryState.REJECTED, "store s1 is closed")
    shop.session.header.refresh()
    assert (shop.session.header.state.unsent, shop.session.header.state.rejected) == (1, 1)
    assert shop.session.header.state.pending == 2

    pending = shop.session.pending
    pending.refresh()
    rows = pending.state.rows
    assert [(r.kind, r.total, r.state, r.rejected) for r in rows] == [
        ("Sale", "1.49", "rejected", True),
        ("Sale", "0.89", "waiting to send", False),
    ]
    assert rows[0].reason == "store s1 is closed" and rows[0].time == "2026-11-25 09:00"
    assert pending.state.summary == "1 waiting to send, 1 rejected"


def test_no_link_means_offline_and_an_empty_pending_list_says_so(fresh: Shop) -> None:
    from appliance.ui.viewmodels.header import HeaderViewModel
    from appliance.ui.viewmodels.runner import SyncRunner

    header = HeaderViewModel(fresh.register, SyncRunner(), None)
    header.refresh()
    assert header.state.connection == "Offline" and header.state.cashier == ""
    fresh.session.pending.refresh()
    assert fresh.session.pending.state.rows == ()
    assert fresh.session.pending.state.summary.startswith("nothing waiting")
