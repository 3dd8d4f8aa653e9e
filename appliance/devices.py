"""The devices a register drives, opened from its config: the one place config meets `hw`.

Each `devices.<name>` entry names a kind, a URL and a profile (config/devices/*.toml);
`OPENERS` is the explicit table of which driver opens which kind. A device that cannot
be opened is recorded as a problem with its reason, never raised to the till: the
register sells without a scale (manual weight), without a printer (the receipt waits
in the print queue) and without a scanner (search and the product grid).

A cash drawer is kicked through a receipt printer; its URL names that printer's
device entry: `printer://printer`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from appliance.config import Config, DeviceSection
from hw.drivers.escpos_printer import EscposPrinter, PrinterDrawer, open_escpos_printer
from hw.drivers.hid_scale import open_hid_scale
from hw.drivers.network_label_printer import NetworkLabelPrinter
from hw.drivers.serial_scale import SerialScale
from hw.drivers.serial_scanner import SerialScanner
from hw.paper import Paper
from hw.ports import (
    CashDrawer,
    DeviceError,
    DeviceInfo,
    DeviceKind,
    LabelPrinter,
    ReceiptPrinter,
    Scale,
    Scanner,
)
from hw.profiles import (
    DeviceProfile,
    DrawerQuirks,
    ProfileError,
    ProfileIndex,
    ReceiptPrinterQuirks,
    ScaleQuirks,
    UnknownProfileError,
)
from hw.protocols.scale import ScaleEvent, within_capacity

DEFAULT_PROFILES = {
    DeviceKind.SCALE: "mettler_toledo_viva",
    DeviceKind.RECEIPT_PRINTER: "epson_tm_t20iii",
    DeviceKind.CASH_DRAWER: "apg_vasario_1616",
    DeviceKind.SCANNER: "honeywell_voyager_1250g_rs232",
    DeviceKind.LABEL_PRINTER: "zebra_gk420t",
}
"""The profile a `devices.<name>` entry gets when it names none: a common model per kind."""

PRINTER_SCHEME = "printer://"


class DeviceSetupError(Exception):
    """A device entry that cannot be opened as configured; the message names the key."""


@dataclass(frozen=True)
class Wanted:
    """One device to open: its config name and section, and the profile it resolved to."""

    name: str
    section: DeviceSection
    profile: DeviceProfile

    @property
    def kind(self) -> DeviceKind:
        """The device's kind."""
        return DeviceKind(self.section.kind)

    def info(self) -> DeviceInfo:
        """How the device is named to a field tech."""
        return DeviceInfo(self.kind, self.profile.title, self.section.url, self.section.url)


def resolve(name: str, section: DeviceSection, index: ProfileIndex) -> Wanted:
    """The profile a device entry uses, checked against its kind."""
    kind = DeviceKind(section.kind)
    profile_name = section.profile or DEFAULT_PROFILES[kind]
    try:
        profile = index.by_name(profile_name)
    except UnknownProfileError as exc:
        raise DeviceSetupError(f"devices.{name}.profile: {exc}") from None
    if profile.kind is not kind:
        raise DeviceSetupError(
            f"devices.{name}.profile: {profile_name!r} is a {profile.kind.value}, "
            f"but the entry's kind is {kind.value}"
        )
    return Wanted(name, section, profile)


def open_scale(wanted: Wanted, opened: Devices) -> Scale:
    """A serial scale (8217, MT-SICS, NCI) at the entry's URL, or a USB HID one
    (usb://vvvv:pppp or /dev/hidrawN)."""
    quirks = wanted.profile.quirks
    assert isinstance(quirks, ScaleQuirks)
    scale: Scale
    if wanted.profile.protocol == "hid":
        scale = open_hid_scale(wanted.section.url, model=wanted.profile.title)
    else:
        scale = SerialScale(wanted.section.url, wanted.profile.protocol, wanted.profile.serial,
                            quirks.unit, wanted.info(), wanted.section.timeout_s)  # fmt: skip
    return CappedScale(scale, quirks.capacity)


class CappedScale:
    """A scale whose weights above the profile's capacity are an over-capacity fault."""

    def __init__(self, scale: Scale, capacity: Decimal) -> None:
        self.scale, self.capacity, self.info = scale, capacity, scale.info

    def read(self, timeout: float) -> ScaleEvent:
        return within_capacity(self.scale.read(timeout), self.capacity)

    def zero(self) -> None:
        self.scale.zero()

    def close(self) -> None:
        self.scale.close()


def paper_of(quirks: ReceiptPrinterQuirks) -> Paper:
    """The printable width of a receipt printer's roll."""
    return Paper(quirks.chars_per_line, 576 if quirks.paper_width_mm == 80 else 384)


def open_receipt_printer(wanted: Wanted, opened: Devices) -> ReceiptPrinter:
    """An ESC/POS printer on the network (socket://host:port), USB (usb://vvvv:pppp) or a
    serial line (a device path)."""
    quirks = wanted.profile.quirks
    assert isinstance(quirks, ReceiptPrinterQuirks)
    return open_escpos_printer(wanted.section.url, settings=wanted.profile.serial,
                               paper=paper_of(quirks), model=wanted.profile.title,
                               status_timeout=wanted.section.timeout_s)  # fmt: skip


def open_drawer(wanted: Wanted, opened: Devices) -> CashDrawer:
    """A drawer kicked through the receipt printer its URL names (printer://NAME)."""
    quirks = wanted.profile.quirks
    assert isinstance(quirks, DrawerQuirks)
    url = wanted.section.url
    printer = opened.by_name.get(url.removeprefix(PRINTER_SCHEME))
    if not url.startswith(PRINTER_SCHEME) or not isinstance(printer, EscposPrinter):
        raise DeviceSetupError(
            f"devices.{wanted.name}.url: a cash drawer is kicked through a receipt printer: "
            f"expected printer://<name of its receipt_printer entry>, got {url!r}"
        )
    return PrinterDrawer(printer, pin=quirks.pin, pulse_on_ms=quirks.pulse_on_ms,
                         pulse_off_ms=quirks.pulse_off_ms,
                         drawer_open_level_high=quirks.status_open_high,
                         confirm_timeout=wanted.section.timeout_s,
                         model=wanted.profile.title)  # fmt: skip


def open_scanner(wanted: Wanted, opened: Devices) -> Scanner:
    """A serial scanner (a keyboard-wedge scanner types into the screen: no driver)."""
    if wanted.profile.serial is None:
        raise DeviceSetupError(
            f"devices.{wanted.name}: {wanted.profile.title} is a keyboard-wedge scanner; "
            "it types into the register's screen and needs no device entry"
        )
    return SerialScanner.from_profile(wanted.profile, wanted.section.url)


def open_label_printer(wanted: Wanted, opened: Devices) -> LabelPrinter:
    """A network label printer speaking its profile's language (ZPL, TSPL or ESC/POS)."""
    return NetworkLabelPrinter.from_profile(wanted.profile, wanted.section.url,
                                            status_timeout=wanted.section.timeout_s)  # fmt: skip


OPENERS: dict[DeviceKind, Callable[[Wanted, Devices], Any]] = {
    DeviceKind.SCALE: open_scale,
    DeviceKind.RECEIPT_PRINTER: open_receipt_printer,
    DeviceKind.CASH_DRAWER: open_drawer,
    DeviceKind.SCANNER: open_scanner,
    DeviceKind.LABEL_PRINTER: open_label_printer,
}
"""Which driver opens which kind (printers before drawers: see `open_devices`)."""


def open_wanted(wanted: Wanted, opened: Devices) -> Any:
    """The device opened by its kind's driver. A URL the driver cannot use (a ValueError
    from it or from pyserial, say `serial:///dev/ttyUSB0`) is a DeviceSetupError naming
    the entry's url."""
    try:
        return OPENERS[wanted.kind](wanted, opened)
    except ValueError as exc:
        raise DeviceSetupError(f"devices.{wanted.name}.url: {exc}") from None


@dataclass
class Devices:
    """The register's opened devices by config name, and what could not be opened."""

    by_name: dict[str, Any] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)

    def first(self, kind: type[Any] | tuple[type[Any], ...]) -> Any:
        """The first opened device that is an instance of `kind` (None: none)."""
        return next((d for d in self.by_name.values() if isinstance(d, kind)), None)

    def close(self) -> None:
        """Release every device (errors are not the caller's problem at shutdown)."""
        for device in self.by_name.values():
            close = getattr(device, "close", None)
            if close is not None:
                with contextlib.suppress(DeviceError, OSError):
                    close()


_ORDER = [DeviceKind.RECEIPT_PRINTER, DeviceKind.SCALE, DeviceKind.SCANNER,
          DeviceKind.CASH_DRAWER, DeviceKind.LABEL_PRINTER]  # fmt: skip


def open_devices(config: Config, index: ProfileIndex | None = None) -> Devices:
    """Open every enabled device of the config; failures become `problems`, never raise."""
    devices = Devices()
    try:
        index = index or ProfileIndex.load()
    except ProfileError as exc:
        devices.problems["profiles"] = str(exc)
        return devices
    entries = sorted(((n, s) for n, s in config.devices.items() if s.enabled),
                     key=lambda e: _ORDER.index(DeviceKind(e[1].kind)))  # fmt: skip
    for name, section in entries:
        try:
            wanted = resolve(name, section, index)
            devices.by_name[name] = open_wanted(wanted, devices)
        except (DeviceSetupError, DeviceError, OSError, ValueError) as exc:
            devices.problems[name] = str(exc)
    return devices
