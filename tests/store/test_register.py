"""The application services over real LMDB files: what a cashier and a manager do."""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from appliance.bootstrap import open_storage
from appliance.config import Config
from appliance.domain.cart import WeightSource
from appliance.domain.errors import (
    BalanceOverdrawn,
    DomainError,
    InvalidTransition,
    TenderShort,
    UnknownProduct,
)
from appliance.domain.money import Money
from appliance.domain.tender import Tender, TenderKind
from appliance.domain.timeclock import ClockAction, ClockState
from appliance.register import (
    NeedsConnection,
    NeedsManager,
    NotLoggedIn,
    Register,
    RegisterError,
    WeightRequired,
    WrongPin,
)
from appliance.store import cache, local, outbox
from appliance.store.cache import dump
from appliance.store.errors import CorruptRecord, EntryTooLarge
from appliance.store.outbox import EntryState
from appliance.sync.wire import MAX_PAYLOAD, RpcResponse
from tests.store.conftest import (
    CASHIER_PIN,
    DEMO_CATALOG,
    MANAGER_PIN,
    FakeClock,
    cad,
    make_register,
    seed,
    write_config,
)

COLA = "0067000000010"


def sell(register: Register, *skus: str, cash: int = 100_00) -> str:
    """Ring up items, pay cash, complete; the sale id."""
    for sku in skus:
        register.add_sku(sku)
    register.add_tender(Tender.cash(cad(cash)))
    return register.complete().sale.id


def test_login_and_slowing_wrong_pins(config: Config, clock: FakeClock) -> None:
    storage = open_storage(config)
    seed(storage, config)
    reg = make_register(config, clock, storage)
    with pytest.raises(NotLoggedIn):
        reg.add_sku("cola")
    with pytest.raises(WrongPin, match="wrong PIN for ann"):
        reg.login("ann", "0000")
    with pytest.raises(WrongPin, match="wrong PIN for nobody"):
        reg.login("nobody", CASHIER_PIN)
    for pin in ("1111", "2222"):
        with pytest.raises(WrongPin):
            reg.login("ann", pin)
    with pytest.raises(WrongPin, match="too many wrong PINs: try again in"):
        reg.login("ann", CASHIER_PIN)  # locked for a while, even with the right PIN
    reg._locked_until.clear()  # the wait is over
    assert reg.login("ann", CASHIER_PIN).name == "Ann"
    reg.io.close()
    storage.close()


def test_scan_search_and_weigh(register: Register) -> None:
    assert register.add_barcode(COLA).lines[0].sku == "cola"
    with pytest.raises(WeightRequired, match="Aged cheddar is sold by weight") as info:
        register.add_sku("cheddar")
    assert info.value.product.sku == "cheddar"
    with pytest.raises(UnknownProduct, match="barcode '999'"):
        register.add_barcode("999")
    priced = register.add_weighed("cheddar", Decimal("0.412"), WeightSource.SCALE)
    assert priced.lines[-1].base == cad(1359)
    assert [p.sku for p in register.search("ched")] == ["cheddar"]
    assert [p.sku for p in register.search("gre tea")] == ["sencha"]
    assert register.search(COLA)[0].sku == "cola"
    assert {p.sku for p in register.category("vapes")} >= {"vape-pen", "pod-mint"}
    register.set_weight(2, Decimal("0.5"), WeightSource.MANUAL)
    assert register.set_quantity(1, Decimal(3)).lines[0].quantity == 3


def test_park_recall_and_logout_keep_the_cart(register: Register) -> None:
    register.add_sku("cola")
    ticket = register.park("blue coat")
    assert register.cart.is_empty and register.parked() == [(ticket, "blue coat")]
    register.add_sku("chips")
    with pytest.raises(RegisterError, match="park the current cart first"):
        register.recall(ticket)
    left = register.logout()
    assert left is not None and register.cashier is None
    register.login("ann", CASHIER_PIN)
    assert [li.sku for li in register.recall(ticket).lines] == ["cola"]
    assert [t for t, _ in register.parked()] == [left]


def test_complete_commits_the_sale_with_its_effects(open_till: Register) -> None:
    register = open_till
    register.attach_customer("c1")
    register.add_sku("cola", Decimal(2))
    register.add_weighed("cheddar", Decimal("0.5"), WeightSource.SCALE)
    register.add_tender(Tender.balance(TenderKind.STORE_CREDIT, "c1", cad(1000)))
    register.add_tender(Tender.cash(cad(5000)))
    done = register.complete()
    assert done.seq == 1 and register.cart.is_empty and register.tenders == []
    sale = done.sale
    with register.storage.read() as txn:
        storage = register.storage
        assert cache.stock_level(txn, storage, "cola") == -2  # no stock sent: oversell shows
        assert cache.stock_level(txn, storage, "cheddar") == Decimal("-0.5")
        held = local.balances(txn, storage, [(TenderKind.STORE_CREDIT, "c1")], "CAD")
        assert held[(TenderKind.STORE_CREDIT, "c1")] == cad(1500)
        customer = local.customer_record(txn, storage, "c1")
        assert sale.loyalty is not None and customer["points"] == 300 + sale.loyalty.earned
        jobs = local.print_jobs(txn, storage)
        assert [(j["kind"], j["ref"], j["state"]) for j in jobs] == [
            ("receipt", sale.id, "pending")
        ]
    cash_in = sum(t.applied.minor for t in sale.tenders if t.kind is TenderKind.CASH)
    assert register.till().expected == cad(200_00 + cash_in)
    assert register.sale(sale.id) == sale


def test_a_second_offline_sale_sees_the_first_ones_deduction(open_till: Register) -> None:
    register = open_till
    for _ in range(2):
        register.attach_customer("c1")
        register.add_sku("french-press")  # 39.99 + tax, more than half the 25.00 credit
        register.add_tender(Tender.balance(TenderKind.STORE_CREDIT, "c1", cad(1500)))
        register.add_tender(Tender.cash(cad(5000)))
        if register.status().last_seq == 0:
            register.complete()
        else:
            with pytest.raises(BalanceOverdrawn, match="store credit c1: 15.00 CAD asked, 10.00"):
                register.complete()
    assert not register.cart.is_empty, "the refused cart is kept for another tender"


def test_a_refused_sale_writes_nothing(open_till: Register) -> None:
    register = open_till
    register.add_sku("french-press")
    register.add_tender(Tender.cash(cad(100)))
    with pytest.raises(TenderShort, match="short of the"):
        register.complete()
    status = register.status()
    assert (status.last_seq, status.unsent) == (0, 0)
    register.clear_tenders()
    register.add_tender(Tender.cash(cad(5000)))
    assert register.complete().seq == 1


def test_an_entry_too_large_for_the_wire_is_refused_before_the_commit(
    open_till: Register,
) -> None:
    storage, queue = open_till.storage, open_till.queue

    def append(txn: object, size: int) -> None:
        outbox.append(txn, storage, queue, entry_id=f"01a21000-0000-7000-8001-{size:012d}",
                      kind="timeclock", at=datetime(2026, 11, 25, 10), body={"note": "x" * size},
                      summary={})  # fmt: skip

    with pytest.raises(EntryTooLarge, match=r"too large to send .* limit is 256 KiB"):
        storage.write(lambda t: append(t, MAX_PAYLOAD))
    assert open_till.status().last_seq == 0, "nothing of it was committed"
    storage.write(lambda t: append(t, MAX_PAYLOAD - 1024))  # just under the limit: kept
    assert open_till.status().last_seq == 1


def test_cash_needs_an_open_till(register: Register) -> None:
    register.add_sku("cola")
    register.add_tender(Tender.cash(cad(500)))
    with pytest.raises(InvalidTransition, match="till is closed; cannot take cash"):
        register.complete()
    register.clear_tenders()
    register.add_tender(Tender.card(register.price().total, "visa", "A1"))
    assert register.complete().seq == 1, "card sales need no till"


def test_the_chain_and_sequence_go_on_across_a_restart(
    config: Config, clock: FakeClock, open_till: Register
) -> None:
    first = sell(open_till, "cola")
    open_till.io.close()
    open_till.storage.close()
    again = make_register(config, clock)
    again.login("ann", CASHIER_PIN)
    second = sell(again, "chips")
    with again.storage.read() as txn:
        assert outbox.verify(txn, again.storage, again.queue) == 2
        entries = outbox.entries(txn, again.storage, again.queue)
    assert [(e.seq, e.id) for e in entries] == [(1, first), (2, second)]
    assert again.sale(second).previous_hash != again.sale(first).previous_hash
    again.io.close()
    again.storage.close()


def test_a_queue_belongs_to_its_store(tmp_path: Path, clock: FakeClock) -> None:
    mine = write_config(tmp_path, store="s1")
    register = make_register(mine, clock)
    seed(register.storage, mine)
    register.login("ann", CASHIER_PIN)
    register.open_till(cad(100_00))
    sold = sell(register, "cola")
    register.logout()
    register.io.close()
    register.storage.close()

    other = make_register(write_config(tmp_path, store="s2"), clock)  # same device, same data
    other.login("ann", CASHIER_PIN)
    assert other.pending() == [] and other.status().unsent == 0 and other.recent_sales() == []
    with pytest.raises(RegisterError, match="no sale"):
        other.sale(sold)
    assert other.settle_entry(sold, EntryState.CONFIRMED) is False, "nor can it settle it"
    other.io.close()
    other.storage.close()

    back = make_register(mine, clock)
    assert [e.id for e in back.pending()] == [sold], "logging out kept the queue"
    back.io.close()
    back.storage.close()


def test_time_clock_and_cash_drops_travel_in_the_outbox(
    open_till: Register, clock: FakeClock
) -> None:
    register = open_till
    register.punch(ClockAction.CLOCK_IN)
    clock.advance(hours=2)
    register.punch(ClockAction.START_BREAK)
    with pytest.raises(InvalidTransition, match="on break; cannot clock out"):
        register.punch(ClockAction.CLOCK_OUT)
    drop = register.cash_drop(cad(150_00), "bag-7")
    assert drop.bag == "bag-7" and register.till().expected == cad(50_00)
    kinds = [(e.kind, e.summary) for e in register.pending()]
    assert kinds == [
        ("timeclock", {"action": "clock_in"}),
        ("timeclock", {"action": "start_break"}),
        ("cashdrop", {"total": 15000, "bag": "bag-7"}),
    ]
    result = register.close_till(cad(49_00))
    assert result.over_short == cad(-100) and register.till().state.value == "closed"


def test_shift_report_is_clean_only_when_everything_is_confirmed(
    open_till: Register, clock: FakeClock
) -> None:
    register = open_till
    a, b = sell(register, "cola"), sell(register, "chips")
    register.cash_drop(cad(50_00), "bag-1")
    report = register.shift_report()
    assert report.sales == 2 and not report.clean and report.unsent == 3
    assert "NOT CLEAN: 3 not yet sent" in report.lines()
    with pytest.raises(NeedsManager, match="closing the shift"):
        register.shift_report(close=True)
    for entry in register.pending():
        register.settle_entry(entry.id, EntryState.CONFIRMED)
    register.settle_entry(b, EntryState.REJECTED, "store closed")  # a confirmed entry stays so
    assert register.shift_report().clean
    clock.advance(hours=1)
    z = register.shift_report(close=True, manager_pin=MANAGER_PIN)
    assert z.closed and z.number == 1 and z.drops == cad(50_00) and z.tenders["cash"].minor > 0
    assert z.total == register.sale(a).total + register.sale(b).total
    sell(register, "cola")
    x = register.shift_report()
    assert (x.number, x.sales, x.unsent) == (2, 1, 1)


def test_a_rejected_entry_stays_visible_with_its_reason(open_till: Register) -> None:
    register = open_till
    sale_id = sell(register, "cola")
    assert register.settle_entry(sale_id, EntryState.REJECTED, "unknown store")
    (entry,) = register.pending()
    assert (entry.state, entry.reason) == (EntryState.REJECTED, "unknown store")
    report = register.shift_report()
    assert report.rejected == 1 and report.rejected_reasons == (f"sale {sale_id}: unknown store",)
    assert register.status().rejected == 1 and register.status().unsent == 0


def test_server_features_say_they_need_a_connection(register: Register) -> None:
    with pytest.raises(NeedsConnection, match="returns: needs a connection.*offline right now"):
        register.needs_server("returns")


def test_recent_sales_newest_first(open_till: Register) -> None:
    ids = [sell(open_till, "cola") for _ in range(3)]
    assert [e.id for e in open_till.recent_sales(2)] == ids[::-1][:2]


def test_outbox_states_counts_and_pruning(open_till: Register, clock: FakeClock) -> None:
    register = open_till
    ids = [sell(register, "cola") for _ in range(3)]
    storage, queue = register.storage, register.queue
    keys = [queue.key(n) for n in (1, 2)]
    storage.write(lambda t: outbox.mark_sent(t, storage, queue, keys, clock()))
    with storage.read() as txn:
        states = [e.state for e in outbox.entries(txn, storage, queue)]
        assert states == [EntryState.IN_FLIGHT, EntryState.IN_FLIGHT, EntryState.PENDING]
        assert outbox.unsent_count(txn, storage, queue) == 3
    assert storage.write(lambda t: outbox.requeue_in_flight(t, storage, queue)) == 2
    register.settle_entry(ids[0], EntryState.CONFIRMED)
    assert register.settle_entry(ids[0], EntryState.REJECTED, "late") is False
    assert (
        register.settle_entry("01a21000-0000-7000-8000-999999999999", EntryState.CONFIRMED) is False
    )
    clock.advance(days=100)
    removed = storage.write(lambda t: outbox.prune(t, storage, queue, clock() - timedelta(days=90)))
    assert removed == 1
    with storage.read() as txn:
        assert [e.id for e in outbox.entries(txn, storage, queue)] == ids[1:]
        assert outbox.verify(txn, storage, queue) == 2, "the chain verifies from the oldest kept"
        assert outbox.unsent_count(txn, storage, queue) == 2


def test_a_corrupt_record_is_reported_with_its_key_and_skipped(open_till: Register) -> None:
    register = open_till
    ids = [sell(register, "cola") for _ in range(3)]
    storage, queue = register.storage, register.queue
    storage.write(lambda t: t.put(queue.key(2), b"{not json", db=storage.dbs["outbox_state"]))
    with storage.read() as txn:
        corrupt: list[CorruptRecord] = []
        found = outbox.entries(txn, storage, queue, index="unsent", corrupt=corrupt)
        assert [e.id for e in found] == [ids[0], ids[2]]
        assert len(corrupt) == 1 and corrupt[0].key == queue.key(2)
        assert "corrupt record in outbox_state at key" in str(corrupt[0])
        with pytest.raises(CorruptRecord):
            outbox.entries(txn, storage, queue)
        assert outbox.unsent_count(txn, storage, queue) == 3, "still counted: never dropped"
    storage.write(
        lambda t: (
            t.put(b"cola", dump({"sku": 1}), db=storage.dbs["products"]),
            cache.bump_cache_version(t, storage),
        )
    )
    with pytest.raises(CorruptRecord, match="products at key b'cola'"):
        register.add_sku("cola")


def test_storage_errors_do_not_lose_the_cart(open_till: Register) -> None:
    register = open_till
    register.add_sku("cola")
    register.add_tender(Tender.cash(cad(500)))

    def broken(txn: object) -> None:
        raise DomainError("simulated")

    with pytest.raises(DomainError):
        register.storage.write(broken)
    assert register.complete().sale.lines[0].sku == "cola"


def test_history_is_pruned_by_age_and_only_when_confirmed(
    open_till: Register, clock: FakeClock
) -> None:
    old, kept = sell(open_till, "cola"), sell(open_till, "chips")
    open_till.settle_entry(old, EntryState.CONFIRMED)
    clock.advance(days=open_till.config.storage.history_days + 1)
    assert open_till.prune_history() == 1
    assert [e.id for e in open_till.recent_sales()] == [kept]


def test_store_settings_are_cached_with_their_sync_metadata(register: Register) -> None:
    storage = register.storage
    storage.write(
        lambda t: cache.replace_settings(
            t, storage, {"store": {"name": "Corner Shop"}}, now=register.clock(), version="7"
        )
    )
    with storage.read() as txn:
        assert cache.setting(txn, storage, "store") == {"name": "Corner Shop"}
        assert cache.setting(txn, storage, "nothing") is None
    assert register.status().sync["settings"]["version"] == "7"


@pytest.mark.parametrize(
    "answer, offline, notice",
    [
        (RpcResponse("ok", {"version": 0}), False, ""),  # the office prices with our version
        (RpcResponse("ok", {"version": 7}), True, ""),  # our cache is older: drift recorded
        (None, True, ""),  # no answer in time: the local price stands
        (RpcResponse("error", error="database down"), True, ""),
        (RpcResponse("invalid", error="unknown product cola"), True, "unknown product cola"),
    ],
)
def test_a_sale_is_online_only_when_the_office_priced_it_like_our_cache(
    open_till: Register, answer: RpcResponse | None, offline: bool, notice: str
) -> None:
    asked: list[tuple[str, dict[str, object]]] = []

    def ask(method: str, params: dict[str, object]) -> RpcResponse | None:
        asked.append((method, params))
        return answer

    open_till.ask, open_till.online = ask, lambda: True
    open_till.add_sku("cola", Decimal(2))
    open_till.add_weighed("cheddar", Decimal("0.25"), WeightSource.SCALE)
    open_till.add_tender(Tender.cash(cad(50_00)))
    done = open_till.complete()
    assert done.sale.offline is offline and notice in done.notice
    ((method, params),) = asked
    assert method == "price_cart" and params["lines"] == [
        {"sku": "cola", "quantity": "2"},
        {"sku": "cheddar", "quantity": "1", "weight": "0.25", "weight_source": "scale"},
    ]


def test_offline_means_no_question_to_the_office(open_till: Register) -> None:
    open_till.ask = lambda method, params: pytest.fail("asked while offline")
    assert sell(open_till, "cola") and open_till.recent_sales()[0].kind == "sale"


def test_what_the_screens_look_up(register: Register) -> None:
    assert [(c.id, c.role) for c in register.cashiers()] == [("ann", "cashier"), ("mo", "manager")]
    assert len(register.categories()) >= 8
    assert [c["id"] for c in register.find_customers("cy")] == ["c1"]
    assert [c["id"] for c in register.find_customers("c1")] == ["c1"], "by id too"
    assert register.find_customers("nobody") == [] and register.find_customers("  ") == []
    held = register.balances([(TenderKind.STORE_CREDIT, "c1"), (TenderKind.GIFT_CARD, "nope")])
    assert held[(TenderKind.STORE_CREDIT, "c1")].minor == 2500
    assert (TenderKind.GIFT_CARD, "nope") not in held, "an absent account holds nothing"
    assert register.time_clock() is ClockState.OFF
    with pytest.raises(RegisterError, match="customer c9 is not known at this register"):
        register.attach_customer("c9")


def test_a_refresh_applies_only_over_an_empty_outbox_and_a_snapshot_holding_it(
    open_till: Register,
) -> None:
    """Else a snapshot of balances taken before a sale (another consumer's, or a slow
    one's) would put back what the sale drew on a gift card."""
    register = open_till
    register.add_sku("cola")
    register.add_tender(Tender.balance(TenderKind.GIFT_CARD, "g-100", cad(100)))
    register.add_tender(Tender.cash(cad(500)))
    sale = register.complete().sale
    before = {"customers": [], "balances": [{"kind": "gift_card", "account": "g-100",
                                             "amount": 1000}]}  # fmt: skip

    def card() -> Money:
        with register.storage.read() as txn:
            held = local.balances(txn, register.storage, [(TenderKind.GIFT_CARD, "g-100")], "CAD")
        return held[(TenderKind.GIFT_CARD, "g-100")]

    assert not register.apply_refresh({**before, "watermark": 1}), "the sale is unsent"
    register.settle_entry(sale.id, EntryState.CONFIRMED)
    assert not register.apply_refresh({**before, "watermark": 0}), "a snapshot from before it"
    assert card() == cad(900)
    after = {"customers": [], "balances": [{"kind": "gift_card", "account": "g-100",
                                            "amount": 850}]}  # fmt: skip
    assert register.apply_refresh({**after, "watermark": 1})
    assert card() == cad(850)  # drawn at another till meanwhile: the office's word stands


def test_a_recalled_cart_loses_only_the_products_no_longer_sold(register: Register) -> None:
    """Else the cart came back invisible (it could not be priced) and refused everything."""
    register.add_sku("cola")
    register.add_sku("chips")
    ticket = register.park("back in a minute")
    data = tomllib.loads(DEMO_CATALOG.read_text())
    data["products"] = [p for p in data["products"] if p["sku"] != "chips"]
    register.apply_catalog_changes({"version": 2, "catalog": data})
    priced = register.recall(ticket)
    assert [li.sku for li in priced.lines] == ["cola"]
    assert "no longer sold, taken off the recalled cart: chips" in priced.warnings
    register.void_line(priced.lines[0].line_id)
    with pytest.raises(RegisterError, match=f"there is no parked cart {ticket}"):
        register.recall(ticket)
