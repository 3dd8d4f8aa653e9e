"""What the ESC/POS interpreter (`hw.protocols.escpos_parse`) reports: one event per
thing that would happen at the printer.
"""

from __future__ import annotations

from dataclasses import dataclass

from hw.document import Align, Style


@dataclass(frozen=True)
class PrintedLine:
    """A line of text as it came out on paper."""

    text: str
    style: Style
    align: Align


@dataclass(frozen=True)
class PaperCut:
    """The paper was cut."""

    partial: bool


@dataclass(frozen=True)
class DrawerKick:
    """A drawer pulse: `ESC p` (buffered) or `DLE DC4 1` (real time)."""

    pin: int
    on_ms: int
    off_ms: int
    real_time: bool = False


@dataclass(frozen=True)
class StatusRequested:
    """`DLE EOT n`: the host wants status byte `n` (1..4) now."""

    n: int


@dataclass(frozen=True)
class BarcodePrinted:
    """A 1-D barcode; `data` is the human-readable text (code set selectors removed)."""

    symbology: str
    data: str
    align: Align


@dataclass(frozen=True)
class QRPrinted:
    """A native QR code (`GS ( k`)."""

    data: str
    size: int
    align: Align


@dataclass(frozen=True)
class ImagePrinted:
    """A raster image (or one strip of a column image); sizes in dots."""

    width: int
    height: int
    align: Align


@dataclass(frozen=True)
class UnknownCommand:
    """Bytes this interpreter does not model, and why."""

    data: bytes
    reason: str


ParseEvent = (
    PrintedLine
    | PaperCut
    | DrawerKick
    | StatusRequested
    | BarcodePrinted
    | QRPrinted
    | ImagePrinted
    | UnknownCommand
)
