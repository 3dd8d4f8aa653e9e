"""Discovery: matching and hot-plug diffs from hand-made listings, plus one real scan."""

from __future__ import annotations

from pathlib import Path

import pytest
import usb.core  # type: ignore[import-untyped]

from hw.discovery import (
    DeviceAdded,
    DeviceRemoved,
    Found,
    SerialPortListing,
    Snapshot,
    UsbListing,
    UsbScan,
    by_id_links,
    diff,
    discover,
    list_serial_ports,
    list_usb_devices,
    match,
    serial_ids,
    usb_ids,
    usb_listing,
)
from hw.ports import DeviceInfo, DeviceKind
from hw.profiles import PACKAGED_DEVICES, ProfileIndex

# A scanner in USB virtual-COM mode: its own ids show on the tty (made-up ids).
CDC_SCANNER = """\
kind = "scanner"
manufacturer = "Acme"
model = "COM Scanner"
protocol = "serial"

[[usb]]
vid = "1234"
pid = "5678"

[serial]
baudrate = 9600
bytesize = 8
parity = "N"
stopbits = 1
"""

BY_ID = "/dev/serial/by-id/usb-Acme_COM_Scanner_SN42-if00"
NO_USB = UsbScan(())


@pytest.fixture
def index(tmp_path: Path) -> ProfileIndex:
    (tmp_path / "acme_com_scanner.toml").write_text(CDC_SCANNER)
    return ProfileIndex([*ProfileIndex.load(PACKAGED_DEVICES), *ProfileIndex.load(tmp_path)])


def cdc_port(device: str = "/dev/ttyACM0", **kw: object) -> SerialPortListing:
    fields: dict[str, object] = {
        "vid": 0x1234,
        "pid": 0x5678,
        "serial_number": "SN42",
        "location": "1-1.2:1.0",
        "by_id": BY_ID,
    }
    fields.update(kw)
    return SerialPortListing(device, **fields)  # type: ignore[arg-type]


def test_serial_port_matched_by_its_usb_ids_opens_by_id(index: ProfileIndex) -> None:
    snap = match([cdc_port()], NO_USB, index)
    assert snap.found == (
        Found(
            DeviceInfo(DeviceKind.SCANNER, "Acme COM Scanner", "usb:1234:5678:SN42/1.0", BY_ID),
            "acme_com_scanner",
        ),
    )
    assert snap.devices == (snap.found[0].info,)
    assert snap.unmatched == () and snap.notes == ()


@pytest.mark.parametrize(
    ("port", "stable_id", "url"),
    [
        (cdc_port(), "usb:1234:5678:SN42/1.0", BY_ID),
        (cdc_port(serial_number=None), "usb-port:1-1.2/1.0", BY_ID),
        (cdc_port(serial_number=None, by_id=None), "usb-port:1-1.2/1.0", "/dev/ttyACM0"),
        (cdc_port(location="1-4"), "usb:1234:5678:SN42", BY_ID),
        (SerialPortListing("/dev/ttyAMA0"), "/dev/ttyAMA0", "/dev/ttyAMA0"),
    ],
)
def test_stable_ids_never_rest_on_a_tty_number(
    port: SerialPortListing, stable_id: str, url: str
) -> None:
    assert serial_ids(port) == (stable_id, url)


def test_a_replug_on_another_tty_number_changes_nothing(index: ProfileIndex) -> None:
    before = match([cdc_port("/dev/ttyACM0")], NO_USB, index)
    after = match([cdc_port("/dev/ttyACM3")], NO_USB, index)
    assert after == before
    assert diff(before, after) == ((), ())


def test_unknown_serial_ports_are_listed_not_probed(index: ProfileIndex) -> None:
    ftdi = SerialPortListing(
        "/dev/ttyUSB0",
        vid=0x0403,
        pid=0x6001,
        location="1-1.3:1.0",
        by_id="/dev/serial/by-id/usb-FTDI_FT232R-if00-port0",
        description="FT232R USB UART",
    )
    onboard = SerialPortListing("/dev/ttyS0", description="n/a")
    snap = match([ftdi, onboard], NO_USB, index)
    assert snap.found == ()
    assert snap.unmatched == (
        "/dev/serial/by-id/usb-FTDI_FT232R-if00-port0 (0403:6001) FT232R USB UART: "
        "no device profile matches",
        "/dev/ttyS0: no device profile matches",
    )


def test_usb_devices_match_profiles_and_the_rest_are_ignored(index: ProfileIndex) -> None:
    scan = UsbScan(
        (
            UsbListing(0x0922, 0x8003, "1-1.4", "M10 #1"),
            UsbListing(0x04B8, 0x0202, "1-1.1"),
            UsbListing(0x1D6B, 0x0002, "1-0"),  # a root hub: no profile, not reported
        )
    )
    snap = match([], scan, index)
    assert [(f.profile, f.info.stable_id, f.info.url) for f in snap.found] == [
        ("epson_tm_t88v", "usb-port:1-1.1", "usb://04b8:0202?port=1-1.1"),
        ("dymo_m10", "usb:0922:8003:M10 #1", "usb://0922:8003?serial=M10%20%231"),
    ]
    assert snap.found[1].info.kind is DeviceKind.SCALE
    assert snap.found[1].info.model == "Dymo M10"


def test_a_usb_device_behind_a_listed_tty_is_found_once(index: ProfileIndex) -> None:
    scan = UsbScan((UsbListing(0x1234, 0x5678, "1-1.2", "SN42"),))
    snap = match([cdc_port()], scan, index)
    assert [f.info.url for f in snap.found] == [BY_ID]


def test_usb_that_cannot_be_listed_is_a_note_not_a_crash(index: ProfileIndex) -> None:
    snap = match([], UsbScan((), "no libusb backend (install libusb-1.0)"), index)
    assert snap.notes == ("USB devices not listed: no libusb backend (install libusb-1.0)",)


def test_usb_ids_without_a_serial_number_use_the_port() -> None:
    assert usb_ids(UsbListing(0x0A5F, 0x0081, "2-3")) == (
        "usb-port:2-3",
        "usb://0a5f:0081?port=2-3",
    )


def test_hot_plug_diff(index: ProfileIndex) -> None:
    printer = UsbListing(0x04B8, 0x0E28, "1-1.1", "X5ZF012345")
    scale = UsbListing(0x0922, 0x8004, "1-1.4")
    empty = Snapshot()
    one = match([], UsbScan((printer,)), index)
    two = match([], UsbScan((printer, scale)), index)
    [scale_found] = [f for f in two.found if f.profile == "dymo_m25"]
    added, removed = diff(empty, two)
    # Events come in stable-id order: "usb-port:..." sorts before "usb:...".
    assert [a.found.profile for a in added] == ["dymo_m25", "epson_tm_t20iii"]
    assert removed == ()
    assert diff(two, one) == ((), (DeviceRemoved(scale_found),))
    assert scale_found.info.stable_id == "usb-port:1-1.4"
    # The scale moved to another port: no serial number, so it is a new device there.
    moved = match([], UsbScan((printer, UsbListing(0x0922, 0x8004, "1-1.3"))), index)
    [moved_scale] = [f for f in moved.found if f.profile == "dymo_m25"]
    assert diff(two, moved) == ((DeviceAdded(moved_scale),), (DeviceRemoved(scale_found),))


def test_url_change_under_one_stable_id_is_remove_then_add(index: ProfileIndex) -> None:
    old = match([cdc_port("/dev/ttyACM0", by_id=None)], NO_USB, index)
    new = match([cdc_port("/dev/ttyACM1", by_id=None)], NO_USB, index)
    added, removed = diff(old, new)
    assert [a.found.info.url for a in added] == ["/dev/ttyACM1"]
    assert [r.found.info.url for r in removed] == ["/dev/ttyACM0"]
    assert added[0].found.info.stable_id == removed[0].found.info.stable_id


def test_by_id_links_map_device_paths_to_links(tmp_path: Path) -> None:
    target = tmp_path / "ttyUSB7"
    target.touch()
    links = tmp_path / "by-id"
    links.mkdir()
    (links / "usb-Acme_SN1-if00").symlink_to(target)
    assert by_id_links(links) == {str(target): str(links / "usb-Acme_SN1-if00")}
    assert by_id_links(tmp_path / "absent") == {}


class FakeUsbDevice:
    """A stand-in for a pyusb device: no USB hardware exists where the tests run."""

    def __init__(self, ports: tuple[int, ...] | None, serial: str | Exception | None) -> None:
        self.idVendor, self.idProduct, self.bus, self.address = 0x0922, 0x8003, 3, 9
        self.port_numbers = ports
        self._serial = serial

    @property
    def serial_number(self) -> str | None:
        if isinstance(self._serial, Exception):
            raise self._serial
        return self._serial


def test_usb_listing_from_a_pyusb_device() -> None:
    assert usb_listing(FakeUsbDevice((1, 4), "A1")) == UsbListing(0x0922, 0x8003, "3-1.4", "A1")
    refused = FakeUsbDevice(None, usb.core.USBError("Access denied"))
    assert usb_listing(refused) == UsbListing(0x0922, 0x8003, "3-9", None)
    assert usb_listing(FakeUsbDevice((2,), "")).serial_number is None


def test_real_enumeration_does_not_crash(index: ProfileIndex, tmp_path: Path) -> None:
    ports = list_serial_ports(tmp_path / "no-by-id")
    assert isinstance(ports, list)
    assert all(isinstance(p, SerialPortListing) for p in ports)
    scan = list_usb_devices()
    assert isinstance(scan.devices, tuple)
    assert scan.devices or scan.unavailable is None or "libusb" in scan.unavailable
    snap = discover(index)
    assert isinstance(snap, Snapshot)
    assert isinstance(snap.found, tuple)
