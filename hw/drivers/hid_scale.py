"""USB HID point-of-sale scales (Dymo M10/M25, Stamps.com, Mettler USB) behind `hw.ports.Scale`.

A HID scale is never asked for a weight: it sends a Scale Data Report
(`hw.protocols.hid_scale`) as the weight changes, and most models keep
sending while on. Linux hands each report to `/dev/hidrawN` readers whole, one
per `read()`, and queues them while nobody reads, so `HidScale.read` takes
the first report within its timeout and then drains the queue: the newest
report is the weight on the platter now, an older one is history.

A device is anything with `read(size, timeout_ms) -> bytes` (b"" on a
timeout) and `write(report) -> int`: `HidrawDevice` on Linux, hidapi's
device, or `hw.sim.scale.FakeHidScale`. `HidScale` is given a function that
opens one, so after an unplug it opens the scale anew on the next read: the
hidraw number often changes on a replug, so `open_hid_scale("usb://vvvv:pppp")`
looks the device up in sysfs each time (`find_hidraw`).

Whatever goes wrong is a `ScaleFault` naming the fix, never a weight: no
report within the timeout, a report that is not a scale's, a vanished device.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import select
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from hw.drivers.usb_transport import parse_usb_url
from hw.ports import DeviceError, DeviceInfo, DeviceKind, DeviceOffline
from hw.protocols import hid_scale as codec
from hw.protocols.scale import ScaleEvent, ScaleFault

HIDRAW_CLASS = Path("/sys/class/hidraw")
BUS_USB = 0x03
"""The bus number of USB in a uevent's HID_ID (Bluetooth is 0x05)."""
_READ_SIZE = 64  # a full-speed interrupt packet: no report of a scale is longer
_QUEUE_LIMIT = 64  # the kernel's hidraw queue holds 64 reports: more means a stream


class HidDevice(Protocol):
    """A HID device as hidapi shapes it; see the module docstring."""

    def read(self, size: int, timeout_ms: int) -> bytes:
        """One input report, or b"" if none came within `timeout_ms`; `OSError` if gone."""
        ...

    def write(self, report: bytes) -> int:
        """Send an output report (its id first); the count written."""
        ...


@runtime_checkable
class _Closable(Protocol):
    def close(self) -> None: ...


class HidrawDevice:
    """`/dev/hidrawN`, opened read-write and non-blocking, waited on with `select()`."""

    def __init__(self, path: str) -> None:
        """Open `path`; `OSError` (FileNotFoundError, PermissionError...) if it cannot be."""
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)

    def read(self, size: int, timeout_ms: int) -> bytes:
        """One report (hidraw returns one per read), or b"" after `timeout_ms`."""
        fd = self._open_fd()
        ready, _, _ = select.select([fd], [], [], max(timeout_ms, 0) / 1000)
        if not ready:
            return b""
        try:
            report = os.read(fd, size)
        except BlockingIOError:
            return b""  # another reader of the node took it first
        if not report:  # readable yet empty: the device went away
            raise OSError(errno.ENODEV, f"{self.path} is gone")
        return report

    def write(self, report: bytes) -> int:
        """Write one output report."""
        return os.write(self._open_fd(), report)

    def close(self) -> None:
        """Close the node; harmless twice."""
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)

    def _open_fd(self) -> int:
        if self._fd < 0:
            raise OSError(errno.EBADF, f"{self.path} is closed")
        return self._fd


class HidScale:
    """A HID POS scale; `open_device` opens it (again after an unplug). See the module docstring."""

    def __init__(
        self,
        open_device: Callable[[], HidDevice],
        *,
        where: str = "the USB scale",
        info: DeviceInfo | None = None,
    ) -> None:
        """Nothing is opened until the first call; `where` names the scale in messages."""
        self.where = where
        self.info = info or DeviceInfo(DeviceKind.SCALE, "USB HID scale", where, where)
        self._open_device = open_device
        self._device: HidDevice | None = None
        self._lock = threading.Lock()  # one reader at a time: a drain must not be split

    def read(self, timeout: float) -> ScaleEvent:
        """The newest report's weight, or a `ScaleFault` within about `timeout` seconds."""
        with self._lock:
            try:
                report = self._newest_report(timeout)
            except DeviceOffline as err:
                return ScaleFault(str(err))
            except OSError as err:
                self._drop()
                return ScaleFault(
                    f"lost {self.where} ({err}): check its USB cable; "
                    "it is opened again on the next weigh"
                )
        if not report:
            return ScaleFault(
                f"{self.where} sent no weight within {timeout:g} s: check it is switched on"
            )
        try:
            return codec.decode(report)
        except codec.HidScaleError as err:
            return ScaleFault(f"garbled report from {self.where}: {err}")

    def zero(self) -> None:
        """Ask the scale to zero itself; `DeviceOffline` if it cannot be reached.

        HID scales do not acknowledge: the next reading shows whether it did.
        """
        request = codec.zero_request()
        with self._lock:
            device = self._ensure_open()
            try:
                written = device.write(request)
            except OSError as err:
                self._drop()
                raise DeviceOffline(f"lost {self.where} ({err}): check its USB cable") from None
        if written != len(request):
            raise DeviceError(
                f"{self.where} took {written} of the {len(request)} bytes of the zero "
                "request: unplug it and plug it back in"
            )

    def close(self) -> None:
        """Release the device (a later read opens it again)."""
        with self._lock:
            self._drop()

    def _newest_report(self, timeout: float) -> bytes:
        device = self._ensure_open()
        report = device.read(_READ_SIZE, max(0, round(timeout * 1000)))
        if not report:
            return b""
        for _ in range(_QUEUE_LIMIT - 1):
            newer = device.read(_READ_SIZE, 0)
            if not newer:
                break
            report = newer
        return report

    def _ensure_open(self) -> HidDevice:
        if self._device is None:
            try:
                self._device = self._open_device()
            except OSError as err:
                raise DeviceOffline(
                    f"cannot open {self.where} ({err}): is it plugged in?"
                ) from None
        return self._device

    def _drop(self) -> None:
        device, self._device = self._device, None
        if isinstance(device, _Closable):
            with contextlib.suppress(OSError):  # a vanished device may fail to close
                device.close()


# --- finding the node ------------------------------------------------------------------


@dataclass(frozen=True)
class HidIdentity:
    """What a hidraw node's `device/uevent` says the device is."""

    bus: int
    vid: int
    pid: int
    name: str = ""
    serial_number: str = ""  # HID_UNIQ: the USB serial number string, often empty


def parse_hid_uevent(text: str) -> HidIdentity | None:
    """The identity in a HID device's uevent text (`HID_ID=0003:0000VVVV:0000PPPP`), or None."""
    fields = dict(line.partition("=")[::2] for line in text.splitlines())
    parts = fields.get("HID_ID", "").split(":")
    try:
        bus, vid, pid = (int(part, 16) for part in parts)
    except ValueError:  # missing, or not three hex numbers
        return None
    return HidIdentity(bus, vid, pid, fields.get("HID_NAME", ""), fields.get("HID_UNIQ", ""))


_INTERFACE_DIR = re.compile(r"(\d+-[\d.]+):\d+\.\d+")  # "1-1.2:1.0": port 1-1.2, interface 0


def usb_port_of(device_path: str | Path) -> str | None:
    """The USB port ("1-1.2", as `hw.discovery` names it) in a resolved sysfs device path."""
    for part in reversed(Path(device_path).parts):
        if match := _INTERFACE_DIR.fullmatch(part):
            return match.group(1)
    return None


def find_hidraw(
    vid: int,
    pid: int,
    *,
    serial_number: str | None = None,
    port_path: str | None = None,
    sys_class: Path = HIDRAW_CLASS,
    dev_dir: Path = Path("/dev"),
) -> str | None:
    """The `/dev/hidrawN` of the USB HID device `vid:pid` (lowest N first), or None."""
    if not sys_class.is_dir():
        return None
    nodes = sorted(sys_class.iterdir(), key=lambda p: (len(p.name), p.name))  # hidraw2 < 10
    for node in nodes:
        try:
            identity = parse_hid_uevent((node / "device" / "uevent").read_text())
        except OSError:  # unplugged while we looked
            continue
        if identity is None or (identity.bus, identity.vid, identity.pid) != (BUS_USB, vid, pid):
            continue
        if serial_number is not None and identity.serial_number != serial_number:
            continue
        if port_path is not None and usb_port_of(os.path.realpath(node / "device")) != port_path:
            continue
        return str(dev_dir / node.name)
    return None


def _open_hidraw(path: str) -> HidrawDevice:
    try:
        return HidrawDevice(path)
    except PermissionError:
        raise DeviceOffline(
            f"permission denied on {path}: the udev rule from the image gives HID scales "
            "to the register's group; is the rule installed and the register user in it?"
        ) from None


def open_hid_scale(
    url: str,
    *,
    model: str = "USB HID scale",
    sys_class: Path = HIDRAW_CLASS,
    dev_dir: Path = Path("/dev"),
) -> HidScale:
    """A HID scale at `url`: `usb://vvvv:pppp[?serial=...|?port=...]` (looked up in sysfs
    on every open, as its hidraw number changes on a replug) or a `/dev/hidrawN` path.

    A malformed `usb://` URL raises `ValueError` now; nothing is opened yet.
    """
    if not url.startswith("usb:"):
        where = f"the USB scale on {url}"
        info = DeviceInfo(DeviceKind.SCALE, model, url, url)
        return HidScale(lambda: _open_hidraw(url), where=where, info=info)
    address = parse_usb_url(url)

    def open_by_id() -> HidDevice:
        path = find_hidraw(
            address.vid,
            address.pid,
            serial_number=address.serial_number,
            port_path=address.port_path,
            sys_class=sys_class,
            dev_dir=dev_dir,
        )
        if path is None:
            raise DeviceOffline(f"no USB scale {address.ids}: is it plugged in?")
        return _open_hidraw(path)

    info = DeviceInfo(DeviceKind.SCALE, model, address.stable_id, address.url)
    return HidScale(open_by_id, where=f"the USB scale {address.ids}", info=info)
