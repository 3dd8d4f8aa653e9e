"""The print document: what `hw` prints, in its own words.

The register turns its receipt into one of these; a driver renders it to the
printer's language (ESC/POS through python-escpos, or a label language). The
elements are plain frozen dataclasses so a document can be compared, stored
and rendered as text for a screen or a test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Align(Enum):
    """Horizontal placement of a line."""

    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"


@dataclass(frozen=True)
class Style:
    """Text emphasis every ESC/POS printer supports."""

    bold: bool = False
    underline: bool = False
    double_width: bool = False
    double_height: bool = False
    invert: bool = False


PLAIN = Style()


@dataclass(frozen=True)
class Line:
    """One line of text."""

    text: str
    align: Align = Align.LEFT
    style: Style = PLAIN


@dataclass(frozen=True)
class Columns:
    """Cells across the paper width.

    `widths` are in characters of the normal font; empty means equal shares,
    and the last cell takes what is left. `aligns` default to left for every
    cell but the last, which is right-aligned (the amount column).
    """

    cells: tuple[str, ...]
    widths: tuple[int, ...] = ()
    aligns: tuple[Align, ...] = ()
    style: Style = PLAIN


@dataclass(frozen=True)
class Rule:
    """A full-width separator made of `char`."""

    char: str = "-"


@dataclass(frozen=True)
class Barcode:
    """A 1-D barcode (CODE128 by default) with its text printed below."""

    data: str
    symbology: str = "CODE128"


@dataclass(frozen=True)
class QRCode:
    """A QR code; `size` is the module size in dots (1-16)."""

    data: str
    size: int = 6


@dataclass(frozen=True)
class Image:
    """A raster image (a logo), given as PNG bytes."""

    png: bytes


@dataclass(frozen=True)
class Feed:
    """Blank lines."""

    lines: int = 1


@dataclass(frozen=True)
class Cut:
    """Cut the paper (a partial cut leaves a hinge)."""

    partial: bool = False


Element = Line | Columns | Rule | Barcode | QRCode | Image | Feed | Cut


@dataclass(frozen=True)
class PrintDocument:
    """A whole print job: elements in order."""

    elements: tuple[Element, ...] = field(default_factory=tuple)
