"""What the register may ask of each kind of device, and how a device is named.

These are `typing.Protocol`s: a driver, a simulator's client and a test fake
all satisfy them structurally. Every call has a bounded time; a device that
does not answer raises `DeviceOffline` (or yields a fault event), so the
register keeps selling whatever a device does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Protocol

from hw.document import PrintDocument
from hw.protocols.scale import ScaleEvent

if TYPE_CHECKING:
    # Only for the annotation: importing hw.labels here would load every renderer
    # (and python-escpos) wherever a port is named.
    from hw.labels import FilledLabel


class DeviceKind(Enum):
    """The kinds of device a register drives."""

    SCALE = "scale"
    RECEIPT_PRINTER = "receipt_printer"
    LABEL_PRINTER = "label_printer"
    CASH_DRAWER = "cash_drawer"
    SCANNER = "scanner"


@dataclass(frozen=True)
class DeviceInfo:
    """A device as a field tech sees it.

    `stable_id` survives a replug (a `/dev/serial/by-id` path, a USB serial
    number or port location, a printer's host:port); `url` is how a driver
    opens it (`/dev/ttyUSB0`, `socket://10.0.0.9:9100`, `usb://04b8:0202`).
    """

    kind: DeviceKind
    model: str
    stable_id: str
    url: str


class DeviceError(Exception):
    """A device refused or failed an operation; the message names the fix."""


class DeviceOffline(DeviceError):
    """The device did not answer within its timeout, or its cable is out."""


@dataclass(frozen=True)
class PrinterStatus:
    """A receipt printer's real-time status (ESC/POS DLE EOT)."""

    online: bool
    cover_open: bool = False
    paper_near_end: bool = False
    paper_out: bool = False
    drawer_open: bool | None = None  # None: the model does not report it

    @property
    def can_print(self) -> bool:
        """True when a job sent now would come out whole."""
        return self.online and not self.cover_open and not self.paper_out


class Scale(Protocol):
    """A scale: one reading on request, or a stream of them."""

    info: DeviceInfo

    def read(self, timeout: float) -> ScaleEvent:
        """The current reading, or a `ScaleFault` (never a weight of 0 on failure)."""
        ...

    def zero(self) -> None:
        """Zero the scale (where the protocol supports it)."""
        ...

    def close(self) -> None:
        """Release the port."""
        ...


class ReceiptPrinter(Protocol):
    """An ESC/POS receipt printer."""

    info: DeviceInfo

    def status(self) -> PrinterStatus:
        """The printer's real-time status; raises `DeviceOffline` if it is silent."""
        ...

    def print(self, document: PrintDocument) -> None:
        """Print a whole document; raises `DeviceError` if it cannot (paper out...)."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


class LabelPrinter(Protocol):
    """A label printer (ESC/POS, ZPL or TSPL, chosen by the device profile)."""

    info: DeviceInfo

    def print_label(self, label: FilledLabel, copies: int = 1) -> None:
        """Print `copies` of a filled label template in the printer's own language."""
        ...

    def print(self, document: PrintDocument, copies: int = 1) -> None:
        """Print `copies` labels of `document`."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


@dataclass(frozen=True)
class KickResult:
    """What a drawer kick achieved: confirmed by the printer's drawer status or not."""

    confirmed: bool
    detail: str


class CashDrawer(Protocol):
    """A cash drawer, usually kicked through the receipt printer."""

    info: DeviceInfo

    def kick(self) -> KickResult:
        """Pulse the drawer and report whether it was seen to open."""
        ...

    def is_open(self) -> bool | None:
        """True/False where the hardware reports it; None where it cannot."""
        ...


class Scanner(Protocol):
    """A barcode scanner: codes as they are scanned."""

    info: DeviceInfo

    def codes(self, timeout: float) -> Iterator[str]:
        """Codes scanned until `timeout` passes with none."""
        ...

    def close(self) -> None:
        """Release the port."""
        ...
