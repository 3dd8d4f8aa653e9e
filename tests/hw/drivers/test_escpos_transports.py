"""The ESC/POS printer over a serial line (a real pty) and over USB (a fake pyusb device).

The same behaviours as test_network_printer.py, on the other two transports:
the serial simulator is opened by pyserial through a real pseudo-terminal,
exactly as /dev/serial/by-id/... is; the USB printer is `FakeUsbPrinter`
behind `FakeUsbBus`, the two objects pyusb would otherwise be.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import usb.core  # type: ignore[import-untyped]

from hw.drivers.escpos_printer import EscposPrinter, PrinterDrawer, open_escpos_printer
from hw.drivers.network_printer import NetworkPrinter
from hw.drivers.transports import SerialTransport, TcpTransport, TransportLost
from hw.drivers.usb_transport import PyUsbBus, UsbTransport, parse_usb_url
from hw.escpos_render import render_pages
from hw.ports import DeviceError, DeviceKind, DeviceOffline, PrinterStatus, ReceiptPrinter
from hw.protocols.escpos_parse import DrawerKick
from hw.protocols.escpos_status import ErrorCause
from hw.serial_settings import SerialSettings
from hw.sim.printer import EscposPrinterSimulator
from hw.sim.serial_printer import ByteFedPrinter, SerialPrinterSimulator
from hw.sim.usb import FakeUsbBus, FakeUsbPrinter
from tests.hw.drivers.helpers import ANSWER, RECEIPT, SILENCE

PAGE = render_pages(RECEIPT, 42)


@dataclass
class Rig:
    """A simulated printer and how to open a driver on it."""

    sim: ByteFedPrinter
    open: Callable[[float], EscposPrinter]
    unplugged: str  # what the driver says while the printer is unplugged


@pytest.fixture(params=["serial", "usb"])
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    if request.param == "serial":
        with SerialPrinterSimulator() as serial_sim:
            yield Rig(
                serial_sim,
                lambda timeout: open_escpos_printer(serial_sim.url, status_timeout=timeout),
                "cannot open the receipt printer's port .*: check it is plugged in",
            )
    else:
        usb_sim = FakeUsbPrinter()
        bus = FakeUsbBus(usb_sim)
        yield Rig(
            usb_sim,
            lambda timeout: open_escpos_printer(usb_sim.url, usb_bus=bus, status_timeout=timeout),
            "no USB device 04b8:0e28 serial FAKE0001: is it plugged in",
        )


@pytest.fixture
def sim(rig: Rig) -> ByteFedPrinter:
    return rig.sim


@pytest.fixture
def printer(rig: Rig) -> Iterator[EscposPrinter]:
    device = rig.open(ANSWER)
    yield device
    device.close()


@pytest.fixture
def impatient(rig: Rig) -> Iterator[EscposPrinter]:
    device = rig.open(SILENCE)
    yield device
    device.close()


def test_satisfies_the_port(sim: ByteFedPrinter, printer: EscposPrinter) -> None:
    as_printer: ReceiptPrinter = printer
    assert as_printer.info.kind is DeviceKind.RECEIPT_PRINTER
    assert printer.info.url == sim.url


def test_prints_a_document_and_it_reads_back(sim: ByteFedPrinter, printer: EscposPrinter) -> None:
    printer.print(RECEIPT)
    assert sim.pages == PAGE
    assert "Crème brûlée" in sim.pages[0] and "€6.70" in sim.pages[0]
    assert sim.current_page == "" and sim.errors == []


def test_status_faults(sim: ByteFedPrinter, printer: EscposPrinter) -> None:
    assert printer.status() == PrinterStatus(online=True)
    sim.paper_near_end = True
    assert printer.status() == PrinterStatus(online=True, paper_near_end=True)
    sim.cover_open = True
    assert printer.status() == PrinterStatus(online=False, cover_open=True, paper_near_end=True)


def test_paper_out_before_printing(sim: ByteFedPrinter, printer: EscposPrinter) -> None:
    sim.paper_out = True
    with pytest.raises(DeviceError, match="out of paper: load a roll, the receipt will print then"):
        printer.print(RECEIPT)
    assert sim.pages == [] and b"Corner Shop" not in sim.received  # checked before sending
    sim.paper_out = False
    printer.print(RECEIPT)
    assert sim.pages == PAGE


def test_paper_out_mid_receipt(sim: ByteFedPrinter, printer: EscposPrinter) -> None:
    sim.paper_lines_left = 3
    with pytest.raises(DeviceError, match="out of paper during the receipt: load a roll"):
        printer.print(RECEIPT)
    assert sim.pages == [] and len(sim.current_page.splitlines()) == 3
    sim.paper_lines_left = None
    sim.paper_out = False
    printer.print(RECEIPT)
    assert sim.pages[-1].endswith(PAGE[0])


def test_printer_error_names_the_fix(sim: ByteFedPrinter, printer: EscposPrinter) -> None:
    sim.error_cause = ErrorCause(autocutter=True)
    with pytest.raises(DeviceError, match=f"{printer.where} is offline: the cutter is jammed"):
        printer.print(RECEIPT)
    assert sim.pages == []


def test_unplugged_then_prints_after_the_replug(rig: Rig, printer: EscposPrinter) -> None:
    printer.print(RECEIPT)
    rig.sim.drop_connection = True
    with pytest.raises(DeviceOffline, match=rig.unplugged):
        printer.print(RECEIPT)
    with pytest.raises(DeviceOffline, match=rig.unplugged):
        printer.status()
    rig.sim.drop_connection = False
    printer.print(RECEIPT)
    assert rig.sim.pages == PAGE * 2


def test_a_replug_while_idle_goes_unnoticed(sim: ByteFedPrinter, printer: EscposPrinter) -> None:
    assert printer.status().online
    sim.drop_connection = True
    sim.drop_connection = False
    assert printer.status().online  # no error: a fresh link


def test_a_link_that_dies_on_use_is_replaced_once(
    sim: ByteFedPrinter, printer: EscposPrinter
) -> None:
    assert printer.status().online
    sim.hang_up = True  # the printer restarts on the next request
    printer.print(RECEIPT)
    assert sim.pages == PAGE


def test_stall_is_offline_within_the_timeout(sim: ByteFedPrinter, impatient: EscposPrinter) -> None:
    sim.stall = True
    with pytest.raises(DeviceOffline, match=f"{impatient.where} did not answer .* within 0.25 s"):
        impatient.status()
    with pytest.raises(DeviceOffline):
        impatient.print(RECEIPT)
    assert sim.pages == []
    sim.stall = False
    assert impatient.status().online


def test_the_drawer_works_over_any_transport(sim: ByteFedPrinter, printer: EscposPrinter) -> None:
    cash = PrinterDrawer(
        printer, drawer_open_level_high=True, confirm_timeout=ANSWER, poll_interval=0.01
    )
    assert cash.is_open() is False
    result = cash.kick()
    assert result.confirmed, result.detail
    assert sim.kicks == [DrawerKick(pin=2, on_ms=100, off_ms=500)]


# --- serial only ----------------------------------------------------------------------------


def test_the_serial_link_survives_the_by_id_path_moving_to_a_new_tty() -> None:
    with SerialPrinterSimulator() as sim:
        printer = open_escpos_printer(sim.url, status_timeout=ANSWER)
        assert printer.status().online  # the driver holds the first tty open
        first = Path(sim.url).resolve()
        sim.drop_connection = True
        assert not Path(sim.url).exists()  # unplugged: the by-id link is gone
        sim.drop_connection = False
        assert Path(sim.url).resolve() != first
        printer.print(RECEIPT)
        printer.close()
        assert sim.pages == PAGE


def test_a_serial_url_that_echoes_is_not_a_printer() -> None:
    printer = open_escpos_printer("loop://", status_timeout=ANSWER)
    with pytest.raises(DeviceError, match="loop:// does not answer like an ESC/POS printer"):
        printer.status()


def test_spy_url_logs_the_traffic(tmp_path: Path) -> None:
    log = tmp_path / "spy.txt"
    with SerialPrinterSimulator() as sim:
        printer = open_escpos_printer(f"spy://{sim.url}?file={log}", status_timeout=ANSWER)
        printer.print(RECEIPT)
        printer.close()
        assert sim.pages == PAGE
    assert "10 04 01" in log.read_text()  # DLE EOT 1, as pyserial's hexdump shows it


def test_serial_transport_over_pyserials_socket_url() -> None:
    with EscposPrinterSimulator() as sim:
        printer = EscposPrinter(SerialTransport(sim.url), status_timeout=ANSWER)
        printer.print(RECEIPT)
        printer.close()
        assert sim.pages == PAGE


def test_serial_port_that_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "ttyUSB9"
    printer = open_escpos_printer(str(missing), settings=SerialSettings(38400, dtr=True))
    assert printer.info.stable_id == str(missing)
    with pytest.raises(DeviceOffline, match=f"port {missing} .*: check it is plugged in"):
        printer.status()


def test_bad_serial_url_fails_at_setup() -> None:
    with pytest.raises(ValueError):
        open_escpos_printer("nosuchscheme://x")


def test_serial_bytes_nobody_asked_for_are_dropped() -> None:
    transport = SerialTransport("loop://")  # echoes what is sent: an answer nobody awaits
    transport.connect()
    transport.send(b"\x12\x12", ANSWER)
    assert transport.is_open()
    assert transport.receive(64, 0.01) == b""
    transport.close()
    assert not transport.is_open()


def test_serial_send_on_a_pulled_adapter_is_lost() -> None:
    with SerialPrinterSimulator() as sim:
        transport = SerialTransport(sim.url)
        transport.connect()
        sim.drop_connection = True
        with pytest.raises(TransportLost, match="Input/output error"):
            transport.send(b"hello\n", ANSWER)
        with pytest.raises(TransportLost):
            transport.receive(1, ANSWER)
        transport.close()


# --- TCP, what the network tests do not reach ---------------------------------------------


def test_tcp_bytes_nobody_asked_for_are_dropped() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        transport = TcpTransport("127.0.0.1", server.getsockname()[1], connect_timeout=ANSWER)
        with pytest.raises(TransportLost, match="not connected"):
            transport.receive(1, 0.01)
        transport.connect()
        conn, _ = server.accept()
        with conn:
            conn.sendall(b"\x12late")
            assert transport.is_open()
            assert transport.receive(64, 0.01) == b""
            transport.close()


def test_a_printer_that_stops_taking_data() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        printer = NetworkPrinter("127.0.0.1", port, send_timeout=0.05)
        # Accepted by the kernel and never read: the buffers fill and the send times out.
        with pytest.raises(DeviceOffline, match="stopped taking data .*network cable is out"):
            printer.send(b"\n" * 32_000_000)
        printer.close()


# --- USB only -------------------------------------------------------------------------------


@pytest.fixture
def fake() -> FakeUsbPrinter:
    return FakeUsbPrinter()


def usb_printer(fake: FakeUsbPrinter, url: str | None = None) -> EscposPrinter:
    return open_escpos_printer(url or fake.url, usb_bus=FakeUsbBus(fake), status_timeout=ANSWER)


def test_usblp_is_detached_and_again_after_a_replug(fake: FakeUsbPrinter) -> None:
    printer = usb_printer(fake)
    printer.print(RECEIPT)
    assert (fake.kernel_driver_active, fake.claimed, fake.detaches) == (False, True, 1)
    fake.unplug()
    fake.plug_in()  # usblp binds it again as it comes back
    printer.print(RECEIPT)
    assert (fake.kernel_driver_active, fake.detaches) == (False, 2)
    printer.close()
    assert not fake.claimed
    assert fake.pages == PAGE * 2


def test_usb_permission_denied_names_the_udev_rule(fake: FakeUsbPrinter) -> None:
    fake.permission_denied = True
    denied = "permission denied on USB 04b8:0e28.*udev rule .* `lp` group; is the register user"
    with pytest.raises(DeviceOffline, match=denied):  # found by serial: the string is refused
        usb_printer(fake).status()
    with pytest.raises(DeviceOffline, match=denied):  # found by ids alone: the open is refused
        usb_printer(fake, "usb://04b8:0e28").status()
    fake.permission_denied = False
    assert usb_printer(fake).status().online


def test_usb_printer_held_by_another_program(fake: FakeUsbPrinter) -> None:
    fake.busy = True
    with pytest.raises(DeviceOffline, match="held by another program \\(CUPS"):
        usb_printer(fake).status()
    assert not fake.claimed


def test_usb_device_is_found_by_serial_and_port(fake: FakeUsbPrinter) -> None:
    assert usb_printer(fake, "usb://04b8:0e28?port=1-1").status().online
    with pytest.raises(DeviceOffline, match="no USB device 04b8:0e28 at port 1-2: is it plugged"):
        usb_printer(fake, "usb://04b8:0e28?port=1-2").status()
    with pytest.raises(DeviceOffline, match="no USB device 04b8:0e28 serial OTHER: is it"):
        usb_printer(fake, "usb://04b8:0e28?serial=OTHER").status()
    with pytest.raises(DeviceOffline, match="no USB device 04b8:0202: is it plugged in"):
        usb_printer(fake, "usb://04b8:0202").status()


def test_usb_printer_without_a_status_endpoint_is_refused() -> None:
    fake = FakeUsbPrinter(status_endpoint=False)
    with pytest.raises(DeviceError, match="no bulk IN endpoint, so its status cannot be read"):
        usb_printer(fake).status()
    assert not fake.claimed


def test_usb_unplugged_mid_use(fake: FakeUsbPrinter) -> None:
    transport = UsbTransport.from_url(fake.url, bus=FakeUsbBus(fake))
    transport.connect()
    fake.unplug()
    with pytest.raises(TransportLost, match="No such device"):
        transport.send(b"hello\n", ANSWER)
    with pytest.raises(TransportLost, match="No such device"):
        transport.receive(1, ANSWER)
    assert not transport.is_open()  # noticed, and let go
    printer = usb_printer(fake)
    with pytest.raises(DeviceOffline, match="no USB device 04b8:0e28 serial FAKE0001"):
        printer.send(b"hello\n")


def test_usb_errors_keep_their_errno() -> None:
    fake = FakeUsbPrinter()
    fake.unplug()
    with pytest.raises(usb.core.USBError) as caught:
        fake.get_active_configuration()
    assert caught.value.errno == errno.ENODEV


def test_real_usb_bus_without_a_device_is_offline_not_a_crash() -> None:
    transport = UsbTransport(0xFFFF, 0xFFFE, bus=PyUsbBus())
    # No libusb on a build machine; with libusb, no such device: either way, named.
    with pytest.raises(DeviceOffline, match="libusb-1.0 is missing|no USB device ffff:fffe"):
        transport.connect()


def test_usb_urls() -> None:
    address = parse_usb_url("usb://04b8:0E28?serial=A%20B")
    assert (address.vid, address.pid, address.serial_number) == (0x04B8, 0x0E28, "A B")
    assert address.stable_id == "usb:04b8:0e28:A B"
    assert parse_usb_url("usb://04b8:0e28?port=1-1.2").stable_id == "usb-port:1-1.2"
    for bad in ("usb://4b8:e28", "usb://04b8", "usb://zzzz:0e28", "socket://04b8:0e28"):
        with pytest.raises(ValueError, match="is not a USB address"):
            parse_usb_url(bad)
    with pytest.raises(ValueError, match="unknown key 'sn'"):
        parse_usb_url("usb://04b8:0e28?sn=1")


# --- the factory ------------------------------------------------------------------------------


def test_the_url_picks_the_transport() -> None:
    tcp = open_escpos_printer("socket://10.0.0.9")
    assert isinstance(tcp.transport, TcpTransport) and tcp.where == "10.0.0.9:9100"
    usb = open_escpos_printer("usb://04b8:0e28?serial=X1")
    assert isinstance(usb.transport, UsbTransport) and usb.info.stable_id == "usb:04b8:0e28:X1"
    serial = open_escpos_printer("/dev/serial/by-id/usb-EPSON-if00")
    assert isinstance(serial.transport, SerialTransport)
    assert serial.info.url == "/dev/serial/by-id/usb-EPSON-if00"
    with pytest.raises(ValueError, match="not a socket://host:port"):
        open_escpos_printer("socket://:9100")
    assert isinstance(NetworkPrinter("10.0.0.9"), EscposPrinter)
