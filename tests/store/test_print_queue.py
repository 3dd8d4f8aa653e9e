"""The print queue against the ESC/POS printer simulator over real TCP.

A receipt prints only after its sale is committed, from the persisted queue; a printer
that is out of paper, runs out mid-receipt or drops its connection holds the queue with
a reason the screen can show, nothing is lost, and once the fault clears every receipt
comes out whole, once, in order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from appliance.domain.money import Money
from appliance.domain.tender import Tender
from appliance.print_queue import PrintQueue
from appliance.register import Register, RegisterError
from hw.drivers.network_printer import NetworkPrinter
from hw.sim.printer import EscposPrinterSimulator


@pytest.fixture
def sim() -> Iterator[EscposPrinterSimulator]:
    with EscposPrinterSimulator() as printer:
        yield printer


@pytest.fixture
def queue(register: Register, sim: EscposPrinterSimulator) -> Iterator[PrintQueue]:
    register.open_till(Money(100_00, "CAD"))
    printer = NetworkPrinter.from_url(sim.url, status_timeout=0.5)
    yield PrintQueue(register, printer, register.config.receipt, retry_s=0.05)
    printer.close()


def sell(register: Register, sku: str = "cola") -> str:
    register.add_sku(sku)
    register.add_tender(Tender.cash(Money(20_00, "CAD")))
    return register.complete().sale.id


def sale_ids(sim: EscposPrinterSimulator) -> list[str]:
    """The sale id printed under the QR code of each receipt that came out whole (cut)."""
    return [next(li.strip() for li in page.splitlines() if li.strip().startswith("01a2"))
            for page in sim.pages]  # fmt: skip


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_a_committed_sale_prints_once(
    register: Register, queue: PrintQueue, sim: EscposPrinterSimulator
) -> None:
    sold = sell(register)
    state = queue.print_pending()
    assert state.ok and state.waiting == 0
    assert sale_ids(sim) == [sold]
    assert queue.print_pending().ok and len(sim.pages) == 1, "printed jobs are not printed again"


def test_paper_out_holds_the_queue_and_it_prints_in_order_after(
    register: Register, queue: PrintQueue, sim: EscposPrinterSimulator
) -> None:
    sim.paper_out = True
    sold = [sell(register), sell(register, "oj")]
    state = queue.print_pending()
    assert (state.waiting, state.ok) == (2, False)
    assert "out of paper" in state.problem and "load a roll" in state.problem
    jobs = register.print_jobs()
    assert [j["state"] for j in jobs] == ["failed", "pending"] and "paper" in jobs[0]["error"]
    assert sim.pages == []
    sim.paper_out = False
    assert queue.print_pending().ok
    assert sale_ids(sim) == sold, "both, once each, in the order sold"


def test_paper_running_out_mid_receipt_reprints_it_whole(
    register: Register, queue: PrintQueue, sim: EscposPrinterSimulator
) -> None:
    sold = sell(register)
    sim.paper_lines_left = 8
    assert not queue.print_pending().ok
    assert sim.pages == [] and register.print_jobs()[0]["state"] == "failed"
    sim.paper_lines_left, sim.paper_out = None, False
    assert queue.print_pending().ok
    assert sale_ids(sim) == [sold]
    assert "TOTAL CAD" in sim.pages[0] and sim.pages[0].count("TOTAL CAD") == 1


def test_a_dropped_connection_holds_the_queue_until_it_is_back(
    register: Register, queue: PrintQueue, sim: EscposPrinterSimulator
) -> None:
    sim.drop_connection = True
    sold = sell(register)
    state = queue.print_pending()
    assert not state.ok and "closed the connection" in state.problem
    sim.drop_connection = False
    assert queue.print_pending().ok and sale_ids(sim) == [sold]


def test_no_printer_keeps_every_job(register: Register) -> None:
    register.open_till(Money(100_00, "CAD"))
    sell(register)
    state = PrintQueue(register, None, register.config.receipt).print_pending()
    assert (state.waiting, state.problem) == (1, "no receipt printer is configured")
    assert len(register.print_jobs()) == 1


def test_reprint_queues_the_receipt_again(
    register: Register, queue: PrintQueue, sim: EscposPrinterSimulator
) -> None:
    sold = sell(register)
    queue.print_pending()
    register.reprint(sold)
    queue.print_pending()
    assert sale_ids(sim) == [sold, sold]
    with pytest.raises(RegisterError, match="no sale"):
        register.reprint("01a21000-0000-7000-8000-999999999999")


def test_the_printer_thread_prints_after_each_commit_and_retries(
    register: Register, queue: PrintQueue, sim: EscposPrinterSimulator
) -> None:
    queue.start()
    try:
        sim.paper_out = True
        sold = sell(register)
        queue.wake()
        assert wait_until(lambda: not queue.state.ok), "the fault is shown"
        sim.paper_out = False  # a new roll: the retry prints it without being asked
        assert wait_until(lambda: len(sim.pages) == 1)
        assert sale_ids(sim) == [sold] and wait_until(lambda: queue.state.ok)
    finally:
        queue.stop()
