"""The network receipt printer and its cash drawer, against the simulator over real TCP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hw.document import PrintDocument, QRCode
from hw.drivers.network_printer import NetworkPrinter, PrinterDrawer
from hw.escpos_render import RenderError, render_pages
from hw.paper import PAPER_58MM
from hw.ports import (
    CashDrawer,
    DeviceError,
    DeviceKind,
    DeviceOffline,
    PrinterStatus,
    ReceiptPrinter,
)
from hw.protocols.escpos_parse import DrawerKick
from hw.protocols.escpos_status import ErrorCause
from hw.sim.printer import EscposPrinterSimulator
from tests.hw.drivers.helpers import ANSWER, RECEIPT, SILENCE, free_port, not_a_printer


@pytest.fixture
def sim() -> Iterator[EscposPrinterSimulator]:
    with EscposPrinterSimulator() as simulator:
        yield simulator


@pytest.fixture
def printer(sim: EscposPrinterSimulator) -> Iterator[NetworkPrinter]:
    device = NetworkPrinter.from_url(sim.url, status_timeout=ANSWER)
    yield device
    device.close()


@pytest.fixture
def impatient(sim: EscposPrinterSimulator) -> Iterator[NetworkPrinter]:
    """A printer driver that waits only `SILENCE` for a status answer."""
    device = NetworkPrinter.from_url(sim.url, status_timeout=SILENCE)
    yield device
    device.close()


def drawer(
    printer: NetworkPrinter, level_high: bool | None = True, confirm_timeout: float = ANSWER
) -> PrinterDrawer:
    return PrinterDrawer(printer, drawer_open_level_high=level_high,
                         confirm_timeout=confirm_timeout, poll_interval=0.01)  # fmt: skip


def test_satisfies_the_ports(printer: NetworkPrinter) -> None:
    as_printer: ReceiptPrinter = printer
    as_drawer: CashDrawer = drawer(printer)
    assert as_printer.info.kind is DeviceKind.RECEIPT_PRINTER
    assert as_drawer.info.kind is DeviceKind.CASH_DRAWER
    assert printer.info.url.startswith("socket://127.0.0.1:")
    assert printer.info.stable_id == printer.where


def test_from_url() -> None:
    assert NetworkPrinter.from_url("socket://10.0.0.9").where == "10.0.0.9:9100"
    with pytest.raises(ValueError, match="not a socket://host:port"):
        NetworkPrinter.from_url("usb://04b8:0202")


def test_prints_a_document_and_it_reads_back(
    sim: EscposPrinterSimulator, printer: NetworkPrinter
) -> None:
    printer.print(RECEIPT)
    assert sim.pages == render_pages(RECEIPT, 42)
    assert "Crème brûlée" in sim.pages[0] and "€6.70" in sim.pages[0]
    assert sim.current_page == ""
    assert sim.errors == []


def test_58mm_paper() -> None:
    with EscposPrinterSimulator(paper=PAPER_58MM) as sim:
        printer = NetworkPrinter.from_url(sim.url, paper=PAPER_58MM, status_timeout=ANSWER)
        printer.print(RECEIPT)
        printer.close()
        assert sim.pages == render_pages(RECEIPT, 32)


def test_status_paper_ok(printer: NetworkPrinter) -> None:
    assert printer.status() == PrinterStatus(online=True)


def test_status_faults(sim: EscposPrinterSimulator, printer: NetworkPrinter) -> None:
    sim.paper_near_end = True
    assert printer.status() == PrinterStatus(online=True, paper_near_end=True)
    sim.cover_open = True
    assert printer.status() == PrinterStatus(online=False, cover_open=True, paper_near_end=True)


def test_paper_near_end_still_prints(sim: EscposPrinterSimulator, printer: NetworkPrinter) -> None:
    sim.paper_near_end = True
    printer.print(RECEIPT)
    assert len(sim.pages) == 1


def test_paper_out_before_printing(sim: EscposPrinterSimulator, printer: NetworkPrinter) -> None:
    sim.paper_out = True
    assert printer.status().paper_out
    with pytest.raises(DeviceError, match="out of paper: load a roll, the receipt will print then"):
        printer.print(RECEIPT)
    assert sim.pages == [] and sim.current_page == ""
    assert b"Corner Shop" not in sim.received  # checked before a byte was sent
    sim.paper_out = False
    printer.print(RECEIPT)
    assert sim.pages == render_pages(RECEIPT, 42)


def test_cover_open_before_printing(sim: EscposPrinterSimulator, printer: NetworkPrinter) -> None:
    sim.cover_open = True
    with pytest.raises(DeviceError, match="cover is open: close it"):
        printer.print(RECEIPT)
    assert sim.pages == []


def test_paper_out_mid_receipt_raises(sim: EscposPrinterSimulator, printer: NetworkPrinter) -> None:
    sim.paper_lines_left = 3
    with pytest.raises(DeviceError, match="out of paper during the receipt: load a roll"):
        printer.print(RECEIPT)
    assert sim.pages == []  # never cut: the receipt is incomplete
    assert len(sim.current_page.splitlines()) == 3
    # The job stayed pending; a new roll and it prints whole.
    sim.paper_lines_left = None
    sim.paper_out = False
    printer.print(RECEIPT)
    assert sim.pages[-1].endswith(render_pages(RECEIPT, 42)[0])


def test_dropped_connection_then_prints_after_the_fault_clears(
    sim: EscposPrinterSimulator, printer: NetworkPrinter
) -> None:
    printer.print(RECEIPT)
    sim.drop_connection = True
    with pytest.raises(DeviceOffline, match=f"{printer.where} closed the connection"):
        printer.print(RECEIPT)
    sim.drop_connection = False
    printer.print(RECEIPT)
    assert sim.pages == render_pages(RECEIPT, 42) * 2


def test_connection_the_printer_closed_while_idle_is_replaced(
    sim: EscposPrinterSimulator, printer: NetworkPrinter
) -> None:
    assert printer.status().online
    sim.drop_connection = True
    sim.drop_connection = False
    assert printer.status().online  # no error: a fresh connection


def test_connection_that_dies_on_use_is_replaced_once(
    sim: EscposPrinterSimulator, printer: NetworkPrinter
) -> None:
    assert printer.status().online
    sim.hang_up = True  # the old connection looks open, and dies on the next request
    printer.print(RECEIPT)
    assert sim.pages == render_pages(RECEIPT, 42)


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (ErrorCause(autocutter=True), "the cutter is jammed: open the cover, clear the paper"),
        (ErrorCause(unrecoverable=True), "unrecoverable error: switch it off and on"),
        (ErrorCause(auto_recoverable=True), "print head is too hot"),
        (ErrorCause(), "check its lights"),
    ],
)
def test_printer_errors_name_the_fix(
    sim: EscposPrinterSimulator, printer: NetworkPrinter, error: ErrorCause, message: str
) -> None:
    sim.error_cause = error
    assert not printer.status().online
    with pytest.raises(DeviceError, match=f"{printer.where} is offline: .*{message}"):
        printer.print(RECEIPT)
    assert sim.pages == []


def test_stall_is_offline_within_the_timeout(
    sim: EscposPrinterSimulator, impatient: NetworkPrinter
) -> None:
    sim.stall = True
    with pytest.raises(DeviceOffline, match=f"{impatient.where} did not answer .* within 0.25 s"):
        impatient.status()
    with pytest.raises(DeviceOffline):
        impatient.print(RECEIPT)
    assert sim.pages == []
    sim.stall = False
    assert impatient.status().online  # the late answers were not taken for new ones


def test_nothing_listening_is_offline_naming_the_address() -> None:
    port = free_port()
    printer = NetworkPrinter("127.0.0.1", port, connect_timeout=ANSWER)
    with pytest.raises(
        DeviceOffline, match=f"cannot reach the receipt printer at 127.0.0.1:{port}"
    ):
        printer.status()


def test_a_device_that_is_not_an_escpos_printer() -> None:
    with not_a_printer() as port:
        printer = NetworkPrinter("127.0.0.1", port, status_timeout=ANSWER)
        with pytest.raises(DeviceError, match="does not answer like an ESC/POS printer .*0x48"):
            printer.status()


def test_render_errors_come_before_the_printer_is_touched(
    sim: EscposPrinterSimulator, printer: NetworkPrinter
) -> None:
    with pytest.raises(RenderError):
        printer.print(PrintDocument((QRCode(""),)))
    assert sim.received == b""


# --- the drawer ---------------------------------------------------------------------------


def test_kick_confirmed_by_the_drawer_sensor(
    sim: EscposPrinterSimulator, printer: NetworkPrinter
) -> None:
    cash = drawer(printer)
    assert cash.is_open() is False
    result = cash.kick()
    assert result.confirmed, result.detail
    assert sim.kicks == [DrawerKick(pin=2, on_ms=100, off_ms=500)]
    assert cash.is_open() is True
    sim.close_drawer()
    assert cash.is_open() is False


def test_kick_with_low_meaning_open(printer: NetworkPrinter) -> None:
    with EscposPrinterSimulator(drawer_open_level_high=False) as sim:
        printer = NetworkPrinter.from_url(sim.url, status_timeout=ANSWER)
        assert drawer(printer, level_high=False).kick().confirmed
        printer.close()


def test_kick_on_a_model_without_a_drawer_sensor_is_reported_unconfirmed(
    sim: EscposPrinterSimulator, printer: NetworkPrinter
) -> None:
    sim.drawer_reports = False
    result = drawer(printer, level_high=None).kick()
    assert (result.confirmed, result.detail) == (False, "this printer does not report the drawer")
    # A status round trip: the kick, sent before it on the same connection, is done.
    assert drawer(printer, level_high=None).is_open() is None
    assert len(sim.kicks) == 1  # kicked all the same


def test_kick_not_seen_open_is_unconfirmed(
    sim: EscposPrinterSimulator, printer: NetworkPrinter
) -> None:
    sim.drawer_reports = False  # a sensor profile on a drawer without the switch
    result = drawer(printer, confirm_timeout=SILENCE).kick()
    assert not result.confirmed
    assert "did not report open within 0.25 s" in result.detail
    assert len(sim.kicks) == 1


def test_kick_while_offline_is_not_sent(
    sim: EscposPrinterSimulator, printer: NetworkPrinter
) -> None:
    sim.paper_out = True
    result = drawer(printer).kick()
    assert not result.confirmed and "offline" in result.detail and "key" in result.detail
    assert sim.kicks == [] and b"\x1bp" not in sim.received


def test_printer_stops_answering_after_the_kick(
    sim: EscposPrinterSimulator, impatient: NetworkPrinter
) -> None:
    cash = PrinterDrawer(
        impatient,
        drawer_open_level_high=True,
        confirm_timeout=ANSWER,
        poll_interval=0.01,
        sleep=lambda _: setattr(sim, "stall", True),  # the printer hangs right after the kick
    )
    result = cash.kick()
    assert not result.confirmed
    assert "the kick was sent but the printer stopped answering" in result.detail


def test_kick_on_an_unreachable_printer_raises() -> None:
    cash = drawer(NetworkPrinter("127.0.0.1", free_port(), connect_timeout=ANSWER))
    with pytest.raises(DeviceOffline):
        cash.kick()


def test_bad_drawer_pin_fails_at_setup(printer: NetworkPrinter) -> None:
    with pytest.raises(ValueError, match="pin 4"):
        PrinterDrawer(printer, pin=4)
