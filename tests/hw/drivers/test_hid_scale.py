"""The HID scale driver against `FakeHidScale`, a FIFO standing in for /dev/hidrawN, and sysfs text.

No mocks: the fake is the package's own (hw.sim.scale), the hidraw device is
read through a real file descriptor and select(), and the sysfs walk runs on
a directory tree laid out as the kernel lays out /sys/class/hidraw.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from hw.drivers.hid_scale import (
    HidDevice,
    HidrawDevice,
    HidScale,
    find_hidraw,
    open_hid_scale,
    parse_hid_uevent,
    usb_port_of,
)
from hw.ports import DeviceError, DeviceKind, DeviceOffline, Scale
from hw.protocols import hid_scale as codec
from hw.protocols.scale import ScaleFault, ScaleReading, ScaleStatus, WeightUnit
from hw.sim.scale import FakeHidScale, SimFault

WAIT = 0.05  # what a test that expects no report waits for one
G = WeightUnit.G


class Plug:
    """Opens the fake as the hidraw node would be opened: not while it is unplugged."""

    def __init__(self, fake: FakeHidScale) -> None:
        self.fake = fake
        self.opens = 0

    def __call__(self) -> HidDevice:
        self.opens += 1
        if not self.fake.connected:
            raise DeviceOffline("no USB scale 0922:8003: is it plugged in?")
        return self.fake


@pytest.fixture
def fake() -> FakeHidScale:
    return FakeHidScale(weight="1165", unit=G, capacity="5000")


@pytest.fixture
def plug(fake: FakeHidScale) -> Plug:
    return Plug(fake)


@pytest.fixture
def scale(plug: Plug) -> Iterator[HidScale]:
    driver = HidScale(plug, where="the USB scale 0922:8003")
    yield driver
    driver.close()


def test_satisfies_the_port(scale: HidScale) -> None:
    as_scale: Scale = scale
    assert as_scale.info.kind is DeviceKind.SCALE


def test_a_stable_reading(scale: HidScale) -> None:
    event = scale.read(WAIT)
    assert event == ScaleReading(Decimal("1165"), G, ScaleStatus.STABLE)
    assert isinstance(event, ScaleReading) and event.can_price()


def test_in_motion_is_never_priceable(fake: FakeHidScale, scale: HidScale) -> None:
    fake.stable = False
    event = scale.read(WAIT)
    assert event.status is ScaleStatus.IN_MOTION
    assert not (isinstance(event, ScaleReading) and event.can_price())


def test_over_capacity_is_a_fault(fake: FakeHidScale, scale: HidScale) -> None:
    fake.weight = "6000"
    event = scale.read(WAIT)
    assert isinstance(event, ScaleFault) and event.status is ScaleStatus.OVER_CAPACITY


def test_garbage_is_a_fault_never_a_weight(fake: FakeHidScale, scale: HidScale) -> None:
    fake.fault = SimFault.GARBAGE
    event = scale.read(WAIT)
    assert isinstance(event, ScaleFault)
    assert "garbled report from the USB scale 0922:8003" in event.reason
    fake.fault = None
    assert isinstance(scale.read(WAIT), ScaleReading)


def test_unplugged_mid_weigh_then_back(fake: FakeHidScale, plug: Plug, scale: HidScale) -> None:
    assert isinstance(scale.read(WAIT), ScaleReading)
    fake.fault = SimFault.HANG_UP  # pulled out during the next read
    event = scale.read(WAIT)
    assert isinstance(event, ScaleFault) and event.status is None
    assert "lost the USB scale 0922:8003" in event.reason and "USB cable" in event.reason
    fake.fault = None
    event = scale.read(WAIT)  # still out: the open fails, named
    assert isinstance(event, ScaleFault) and "is it plugged in" in event.reason
    fake.connected = True  # plugged back in
    assert scale.read(WAIT) == ScaleReading(Decimal("1165"), G, ScaleStatus.STABLE)
    assert plug.opens == 3  # opened anew after the unplug, not read from a dead handle


def test_stall_is_a_fault_within_the_timeout(fake: FakeHidScale, scale: HidScale) -> None:
    fake.fault = SimFault.STALL
    event = scale.read(WAIT)
    assert isinstance(event, ScaleFault)
    assert event.reason.startswith("the USB scale 0922:8003 sent no weight within 0.05 s")


def test_zero(fake: FakeHidScale, scale: HidScale) -> None:
    fake.weight = "3"
    scale.zero()
    assert scale.read(WAIT) == ScaleReading(Decimal("0"), G, ScaleStatus.ZERO)


def test_zero_while_unplugged_raises(fake: FakeHidScale, scale: HidScale) -> None:
    assert isinstance(scale.read(WAIT), ScaleReading)
    fake.disconnect()
    with pytest.raises(DeviceOffline, match="lost the USB scale 0922:8003"):
        scale.zero()
    with pytest.raises(DeviceOffline, match="is it plugged in"):
        scale.zero()


class Queued:
    """A device whose reports queued up while nobody read, as hidraw queues them."""

    def __init__(self, *reports: bytes, written: int | None = None) -> None:
        self.reports = list(reports)
        self.written = written

    def read(self, size: int, timeout_ms: int) -> bytes:
        return self.reports.pop(0) if self.reports else b""

    def write(self, report: bytes) -> int:
        return len(report) if self.written is None else self.written


def reading(weight: str, status: ScaleStatus = ScaleStatus.STABLE) -> ScaleReading:
    return ScaleReading(Decimal(weight), G, status)


def test_the_newest_queued_report_wins() -> None:
    queue = Queued(
        codec.encode(reading("10", ScaleStatus.IN_MOTION)),
        b"junk",
        codec.encode(reading("250")),
    )
    assert HidScale(lambda: queue).read(WAIT) == reading("250")
    assert queue.reports == []


def test_a_short_write_of_the_zero_report_is_an_error() -> None:
    with pytest.raises(DeviceError, match="took 1 of the 2 bytes"):
        HidScale(lambda: Queued(written=1)).zero()


def test_an_opener_that_fails_with_an_os_error() -> None:
    def missing() -> HidDevice:
        raise FileNotFoundError(2, "No such file or directory")

    event = HidScale(missing, where="the USB scale on /dev/hidraw7").read(WAIT)
    assert isinstance(event, ScaleFault)
    assert event.reason.startswith("cannot open the USB scale on /dev/hidraw7")


# --- /dev/hidrawN, through a FIFO -----------------------------------------------------------


@pytest.fixture
def node(tmp_path: Path) -> Path:
    path = tmp_path / "hidraw0"
    os.mkfifo(path)
    return path


def test_hidraw_device_reads_writes_and_times_out(node: Path) -> None:
    scale = open_hid_scale(str(node))
    assert scale.info.url == str(node)
    event = scale.read(WAIT)
    assert isinstance(event, ScaleFault) and "sent no weight within 0.05 s" in event.reason
    kernel = os.open(node, os.O_RDWR | os.O_NONBLOCK)  # the other end: the "scale"
    try:
        os.write(kernel, codec.encode(reading("42")))
        assert scale.read(WAIT) == reading("42")
        scale.zero()
        assert os.read(kernel, 64) == codec.zero_request()
    finally:
        scale.close()
        os.close(kernel)


def test_hidraw_device_after_close(node: Path) -> None:
    device = HidrawDevice(str(node))
    device.close()
    device.close()
    with pytest.raises(OSError, match="is closed"):
        device.read(64, 0)


def test_hidraw_node_that_does_not_exist(tmp_path: Path) -> None:
    event = open_hid_scale(str(tmp_path / "hidraw9")).read(WAIT)
    assert isinstance(event, ScaleFault) and "is it plugged in" in event.reason


# --- finding the node in sysfs ---------------------------------------------------------------

DYMO_UEVENT = """\
DRIVER=hid-generic
HID_ID=0003:00000922:00008003
HID_NAME=DYMO M10 10 kg USB Postal Scale
HID_PHYS=usb-0000:00:14.0-1.2/input0
HID_UNIQ=12345678
MODALIAS=hid:b0003g0001v00000922p00008003
"""


def test_parse_hid_uevent() -> None:
    identity = parse_hid_uevent(DYMO_UEVENT)
    assert identity is not None
    assert (identity.bus, identity.vid, identity.pid) == (3, 0x0922, 0x8003)
    assert identity.name == "DYMO M10 10 kg USB Postal Scale"
    assert identity.serial_number == "12345678"
    assert parse_hid_uevent("DRIVER=hid-generic\n") is None
    assert parse_hid_uevent("HID_ID=0003:zz:8003\n") is None
    assert parse_hid_uevent("HID_ID=0003:00000922\n") is None


def test_usb_port_of_a_sysfs_path() -> None:
    path = "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1.2/1-1.2:1.0/0003:0922:8003.0001"
    assert usb_port_of(path) == "1-1.2"
    assert usb_port_of("/sys/devices/virtual/misc/uhid/0003:0922:8003.0002") is None


def fake_sysfs(root: Path, nodes: dict[str, tuple[str, str]]) -> Path:
    """`/sys/class/hidraw` with `name -> (usb interface dir, uevent)` entries."""
    klass = root / "class" / "hidraw"
    klass.mkdir(parents=True)
    for name, (interface, uevent) in nodes.items():
        device = root / "devices" / "usb1" / interface / f"0003:{name}"
        device.mkdir(parents=True)
        (device / "uevent").write_text(uevent)
        (klass / name).mkdir()
        (klass / name / "device").symlink_to(device)
    return klass


def test_find_hidraw_walks_sysfs(tmp_path: Path) -> None:
    keyboard = DYMO_UEVENT.replace("00000922:00008003", "0000046d:0000c31c")
    bluetooth = DYMO_UEVENT.replace("HID_ID=0003", "HID_ID=0005")
    klass = fake_sysfs(
        tmp_path,
        {
            "hidraw0": ("1-1/1-1:1.0", keyboard),
            "hidraw1": ("1-3/1-3:1.0", bluetooth),
            "hidraw10": ("1-4/1-4:1.0", DYMO_UEVENT.replace("12345678", "OTHER")),
            "hidraw2": ("1-1.2/1-1.2:1.0", DYMO_UEVENT),
        },
    )
    (klass / "hidraw3").mkdir()  # a node that vanished mid-walk: no uevent
    assert find_hidraw(0x0922, 0x8003, sys_class=klass) == "/dev/hidraw2"  # 2 before 10
    assert find_hidraw(0x0922, 0x8003, serial_number="OTHER", sys_class=klass) == "/dev/hidraw10"
    assert find_hidraw(0x0922, 0x8003, port_path="1-4", sys_class=klass) == "/dev/hidraw10"
    assert find_hidraw(0x0922, 0x8003, port_path="1-9", sys_class=klass) is None
    assert find_hidraw(0x0922, 0x8004, sys_class=klass) is None
    assert find_hidraw(0x0922, 0x8003, sys_class=tmp_path / "nowhere") is None


def test_find_hidraw_on_this_machine_does_not_crash() -> None:
    found = find_hidraw(0x0922, 0x8003)
    assert found is None or found.startswith("/dev/hidraw")


def test_open_hid_scale_by_usb_id(tmp_path: Path) -> None:
    klass = fake_sysfs(tmp_path, {"hidraw0": ("1-1/1-1:1.0", DYMO_UEVENT)})
    dev = tmp_path / "dev"
    dev.mkdir()
    url = "usb://0922:8003?serial=12345678"
    scale = open_hid_scale(url, sys_class=klass, dev_dir=dev)
    assert (scale.info.stable_id, scale.info.url) == ("usb:0922:8003:12345678", url)
    event = scale.read(WAIT)  # listed in sysfs, but its node is not there yet
    assert isinstance(event, ScaleFault) and f"{dev}/hidraw0" in event.reason
    os.mkfifo(dev / "hidraw0")
    kernel = os.open(dev / "hidraw0", os.O_RDWR | os.O_NONBLOCK)
    try:
        os.write(kernel, codec.encode(reading("42")))
        assert scale.read(WAIT) == reading("42")
    finally:
        scale.close()
        os.close(kernel)
    missing = open_hid_scale("usb://0922:8003?serial=NOPE", sys_class=klass).read(WAIT)
    assert missing == ScaleFault("no USB scale 0922:8003 serial NOPE: is it plugged in?")
    with pytest.raises(ValueError, match="not a USB address"):
        open_hid_scale("usb://dymo")
