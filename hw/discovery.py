"""What is plugged in: serial ports and USB devices, matched to profiles; hot-plug diffs.

Theory of operation: two thin functions touch the system and return plain
listings (`list_serial_ports`, `list_usb_devices`); matching (`match`) and
hot-plug diffing (`diff`) are pure functions of those listings and a
`ProfileIndex`, so they are tested with hand-made listings. `discover` chains
them; a caller polls it (or runs it on a udev event) and `diff`s snapshots.

Stable ids survive a replug, so a config can name a device:

- ``usb:vvvv:pppp:SERIAL`` when the device reports a USB serial number;
- else ``usb-port:1-1.2``, the physical port it is plugged into;
- a serial port's id adds its USB interface (``/1.0``), since a two-port
  adapter has two ttys behind one serial number;
- a serial port with no USB behind it (``/dev/ttyS0``, ``/dev/ttyAMA0``): its path.

A ``/dev/ttyUSBn`` number alone is never an id: it changes with plug order. The
`url` a driver opens is the ``/dev/serial/by-id`` link when one points at the
port, else the device path; a USB device that is no serial port gets
``usb://vvvv:pppp?serial=SERIAL`` (or ``?port=1-1.2`` without a serial number).

Serial ports no profile claims are listed in `Snapshot.unmatched`, never probed:
writing to a port to guess what is on it can upset a device we do not know.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import usb.core  # type: ignore[import-untyped]  # pyusb ships no type hints
from serial.tools import list_ports

from hw.ports import DeviceInfo
from hw.profiles import DeviceProfile, ProfileIndex

BY_ID_DIR = Path("/dev/serial/by-id")


@dataclass(frozen=True)
class SerialPortListing:
    """One serial port as the OS lists it (pyserial's `list_ports`, plus by-id)."""

    device: str
    vid: int | None = None
    pid: int | None = None
    serial_number: str | None = None
    location: str | None = None  # USB port path and interface: "1-1.2:1.0"
    by_id: str | None = None  # the /dev/serial/by-id link pointing at `device`
    description: str = ""


@dataclass(frozen=True)
class UsbListing:
    """One USB device as libusb lists it."""

    vid: int
    pid: int
    port_path: str  # bus and port numbers, as sysfs names it: "1-1.2"
    serial_number: str | None = None


@dataclass(frozen=True)
class UsbScan:
    """The USB devices found, or why none could be listed."""

    devices: tuple[UsbListing, ...]
    unavailable: str | None = None


@dataclass(frozen=True)
class Found:
    """A device matched to a profile: what a driver needs to open it."""

    info: DeviceInfo
    profile: str


@dataclass(frozen=True)
class Snapshot:
    """Everything discovery saw at one moment."""

    found: tuple[Found, ...] = ()
    unmatched: tuple[str, ...] = ()  # serial ports with no profile, as a tech reads them
    notes: tuple[str, ...] = ()  # what could not be looked at, and why

    @property
    def devices(self) -> tuple[DeviceInfo, ...]:
        """The matched devices' infos."""
        return tuple(f.info for f in self.found)


@dataclass(frozen=True)
class DeviceAdded:
    """A device that is in the new snapshot and was not in the old one."""

    found: Found


@dataclass(frozen=True)
class DeviceRemoved:
    """A device that was in the old snapshot and is gone (or moved) in the new one."""

    found: Found


def _split_location(location: str | None) -> tuple[str, str]:
    path, _, interface = (location or "").partition(":")
    return path, interface


def serial_ids(port: SerialPortListing) -> tuple[str, str]:
    """(stable id, url) of a serial port; see the module docstring for the rules."""
    url = port.by_id or port.device
    path, interface = _split_location(port.location)
    suffix = f"/{interface}" if interface else ""
    if port.vid is not None and port.pid is not None and port.serial_number:
        return f"usb:{port.vid:04x}:{port.pid:04x}:{port.serial_number}{suffix}", url
    if path:
        return f"usb-port:{path}{suffix}", url
    return url, url


def usb_ids(device: UsbListing) -> tuple[str, str]:
    """(stable id, url) of a USB device that is not a serial port."""
    base = f"{device.vid:04x}:{device.pid:04x}"
    if device.serial_number:
        return (
            f"usb:{base}:{device.serial_number}",
            f"usb://{base}?serial={quote(device.serial_number)}",
        )
    return f"usb-port:{device.port_path}", f"usb://{base}?port={device.port_path}"


def _found(profile: DeviceProfile, stable_id: str, url: str) -> Found:
    return Found(DeviceInfo(profile.kind, profile.title, stable_id, url), profile.name)


def _describe(port: SerialPortListing) -> str:
    ids = (
        f" ({port.vid:04x}:{port.pid:04x})" if port.vid is not None and port.pid is not None else ""
    )
    text = f" {port.description}" if port.description and port.description != "n/a" else ""
    return f"{port.by_id or port.device}{ids}{text}: no device profile matches"


def match(ports: Iterable[SerialPortListing], usb: UsbScan, index: ProfileIndex) -> Snapshot:
    """Listings matched to profiles: a pure function, so hand-made listings test it."""
    found: list[Found] = []
    unmatched: list[str] = []
    tty_ports: set[str] = set()
    for port in ports:
        tty_ports.add(_split_location(port.location)[0])
        profile = None
        if port.vid is not None and port.pid is not None:
            profile = index.match_usb(port.vid, port.pid)
        if profile is None:
            unmatched.append(_describe(port))
        else:
            found.append(_found(profile, *serial_ids(port)))
    for device in usb.devices:
        profile = index.match_usb(device.vid, device.pid)
        # A USB device behind a listed tty is already found (or reported) as that tty.
        if profile is not None and device.port_path not in tty_ports:
            found.append(_found(profile, *usb_ids(device)))
    notes = () if usb.unavailable is None else (f"USB devices not listed: {usb.unavailable}",)
    found.sort(key=lambda f: (f.info.stable_id, f.info.url))
    return Snapshot(tuple(found), tuple(sorted(unmatched)), notes)


def diff(old: Snapshot, new: Snapshot) -> tuple[tuple[DeviceAdded, ...], tuple[DeviceRemoved, ...]]:
    """Hot-plug events between two snapshots: (added, removed), each in stable-id order.

    A device whose url changed under the same stable id is removed and added:
    its driver must reopen it at the new url.
    """
    before, after = set(old.found), set(new.found)
    added = sorted(after - before, key=lambda f: f.info.stable_id)
    removed = sorted(before - after, key=lambda f: f.info.stable_id)
    return tuple(DeviceAdded(f) for f in added), tuple(DeviceRemoved(f) for f in removed)


# --- the thin layer that touches the system ---------------------------------------


def by_id_links(directory: Path = BY_ID_DIR) -> dict[str, str]:
    """Device path -> the /dev/serial/by-id link that points at it."""
    if not directory.is_dir():
        return {}
    return {os.path.realpath(link): str(link) for link in sorted(directory.iterdir())}


def list_serial_ports(by_id_dir: Path = BY_ID_DIR) -> list[SerialPortListing]:
    """The serial ports the OS lists now, with their by-id links."""
    links = by_id_links(by_id_dir)
    return [
        SerialPortListing(
            device=p.device,
            vid=p.vid,
            pid=p.pid,
            serial_number=p.serial_number,
            location=p.location,
            by_id=links.get(os.path.realpath(p.device)),
            description=p.description or "",
        )
        for p in list_ports.comports()
    ]


def usb_listing(device: Any) -> UsbListing:
    """A pyusb device as a `UsbListing`; a serial number it will not tell is None."""
    ports = ".".join(str(n) for n in (device.port_numbers or ()))
    try:
        serial_number = device.serial_number  # reads a string descriptor: may be refused
    except (usb.core.USBError, ValueError, NotImplementedError):
        serial_number = None
    path = f"{device.bus}-{ports}" if ports else f"{device.bus}-{device.address}"
    return UsbListing(device.idVendor, device.idProduct, path, serial_number or None)


def list_usb_devices() -> UsbScan:
    """The USB devices libusb lists now, or none and the reason (no backend, no permission)."""
    try:
        devices = list(usb.core.find(find_all=True))
    except usb.core.NoBackendError:
        return UsbScan((), "no libusb backend (install libusb-1.0)")
    except usb.core.USBError as e:
        return UsbScan((), f"libusb refused to list devices: {e}")
    return UsbScan(tuple(usb_listing(d) for d in devices))


def discover(index: ProfileIndex, by_id_dir: Path = BY_ID_DIR) -> Snapshot:
    """What is plugged in now, matched to `index`."""
    return match(list_serial_ports(by_id_dir), list_usb_devices(), index)
