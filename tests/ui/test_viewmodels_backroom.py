"""The back room: time clock, till, cash drop, no sale, shift reports, recent sales, devices."""

from __future__ import annotations

import threading
from collections.abc import Callable

from appliance.print_queue import QueueState
from appliance.ui.viewmodels.base import ERROR, INFO, WARNING
from appliance.ui.viewmodels.devices import DevicesViewModel
from appliance.ui.viewmodels.runner import SyncRunner, WorkerRunner
from hw.ports import DeviceOffline, PrinterStatus
from tests.ui.conftest import MANAGER_PIN, Shop


def manager_approves(shop: Shop, pin: str = MANAGER_PIN) -> None:
    for digit in pin:
        shop.session.override.key(digit)
    shop.session.override.submit()


def test_time_clock_buttons_follow_the_registers_state(shop: Shop) -> None:
    room = shop.session.backroom
    room.refresh()
    enabled = lambda: [b.action for b in room.state.clock_buttons if b.enabled]  # noqa: E731
    assert room.state.clock == "Clocked out" and enabled() == ["clock_in"]
    room.punch("clock_in")
    assert room.state.clock == "Working" and room.state.message == "Clock in at 09:00"
    assert shop.session.header.state.pending == 1, "the punch waits to be sent, on the badge"
    assert enabled() == ["start_break", "clock_out"]
    shop.clock.advance(hours=2)
    room.punch("start_break")
    room.punch("clock_out")  # refused: on a break
    assert room.state.message_kind == ERROR and "on break" in room.state.message
    assert room.state.clock == "On break"


def test_till_float_cash_drop_and_count_out(shop: Shop) -> None:
    room = shop.session.backroom
    room.refresh()
    assert room.state.till_open and room.state.expected == "200.00"  # the default float
    for key in "250":
        room.key(key)
    room.set_bag("B-17")
    room.drop()
    assert room.state.message_kind == ERROR and "more than" in room.state.message
    room.key("clear")
    for key in "150":
        room.key(key)
    room.drop()
    assert room.state.message == "Cash drop of 150.00 in bag B-17 recorded"
    assert room.state.expected == "50.00" and room.state.amount_text == ""
    for key in "49.5":
        room.key(key)
    room.close_till()
    assert room.state.count_result == "short by 0.50" and not room.state.till_open


def test_no_sale_needs_a_manager_then_kicks_the_drawer(shop: Shop) -> None:
    room = shop.session.backroom
    room.no_sale("change for the float")
    assert room.state.override.active and shop.drawer.kicked_at_seq == []
    manager_approves(shop)
    assert not room.state.override.active and room.state.message == "No sale approved by Mo"
    assert (room.state.drawer, room.state.drawer_ok) == ("drawer open", True)
    assert shop.drawer.kicked_at_seq == [1], "kicked only after the no sale was recorded"


def test_shift_reports_warn_of_pending_and_z_needs_a_manager(shop: Shop) -> None:
    shift = shop.session.shift
    shop.session.sell.tap("avocado")
    shop.session.tender.open()
    shop.session.tender.quick("2.00")
    shift.x_report()
    assert shift.state.title == "Shift 1, X report: running" and not shift.state.clean
    assert shift.state.message_kind == WARNING and "1 not yet sent" in shift.state.message
    assert "Sales: 1" in shift.state.lines
    shift.z_report()
    assert shift.state.override.active and not shift.state.closed
    manager_approves(shop)
    assert shift.state.closed and shift.state.title == "Shift 1, Z report: shift closed"
    shift.x_report()
    assert shift.state.title.startswith("Shift 2") and "Sales: 0" in shift.state.lines


def test_recent_sales_and_reprint(shop: Shop) -> None:
    recent = shop.session.recent
    for sku in ("avocado", "lemons"):
        shop.session.sell.tap(sku)
        shop.session.tender.open()
        shop.session.tender.quick("2.00")
    recent.refresh()
    assert [(r.number, r.total, r.state) for r in recent.state.rows] == [
        ("r1-2", "0.89", "waiting to send"),
        ("r1-1", "1.49", "waiting to send"),
    ]
    wakes = shop.printing.wakes
    recent.reprint(recent.state.rows[1].id)
    assert recent.state.message_kind == INFO and "job 3" in recent.state.message
    assert shop.printing.wakes == wakes + 1
    assert [j["ref"] for j in shop.register.print_jobs()][-1] == recent.state.rows[1].id
    recent.reprint("no-such-sale")
    assert recent.state.message_kind == ERROR


class Printer:
    def __init__(self, status: PrinterStatus | None) -> None:
        self.value = status

    def status(self) -> PrinterStatus:
        if self.value is None:
            raise DeviceOffline("the printer does not answer at 10.0.0.9:9100")
        return self.value


def test_device_status_for_a_technician(shop: Shop) -> None:
    printer = Printer(PrinterStatus(online=True, paper_near_end=True))
    page = DevicesViewModel(
        shop.register,
        SyncRunner(),
        scale=shop.scale,
        printer=printer,
        print_queue=shop.printing,
        drawer=shop.drawer,
    )
    page.refresh()
    assert page.state.scale == "0.000 kg stable" and page.state.printer == "paper near its end"
    assert page.state.print_queue == "all printed" and page.state.drawer == "connected"
    printer.value, shop.printing.state = None, QueueState(2, "paper out")
    shop.scale.event = DeviceOffline("the scale's cable is out")
    page.refresh()
    assert page.state.printer == "the printer does not answer at 10.0.0.9:9100"
    assert page.state.print_queue == "2 waiting: paper out"
    assert page.state.scale == "the scale's cable is out"
    page.wake_printer()
    assert shop.printing.wakes == 1
    bare = DevicesViewModel(shop.register, SyncRunner())
    bare.refresh()
    assert bare.state.scale == bare.state.printer == bare.state.drawer == "none configured"


def test_worker_runner_runs_off_the_caller_and_posts_results_back(shop: Shop) -> None:
    posted: list[Callable[[], None]] = []
    ran_on: list[str] = []
    done = threading.Event()

    def post(callback: Callable[[], None]) -> None:
        posted.append(callback)
        done.set()

    runner = WorkerRunner(post)
    try:

        def work() -> str:
            ran_on.append(threading.current_thread().name)
            return "ok"

        results: list[str] = []
        runner.run(work, results.append, lambda exc: results.append(repr(exc)))
        assert done.wait(5)
        assert ran_on == ["ui-worker"] and results == [], "callbacks wait for the UI thread"
        posted.pop()()
        assert results == ["ok"]
        done.clear()
        runner.run(lambda: 1 / 0, results.append, lambda exc: results.append(type(exc).__name__))
        assert done.wait(5)
        posted.pop()()
        assert results == ["ok", "ZeroDivisionError"]
    finally:
        runner.close()
