"""What every label language shares: millimetres to dots, barcode widths, the checks
made before a job is rendered, the errors, and what a reader reports.

A renderer works in the print head's dots: `dots_per_mm` turns a profile's dpi
into whole dots per millimetre (203 dpi is 8 dots/mm, as the makers count it).
"""

from __future__ import annotations

from dataclasses import dataclass

from hw.labels.template import Barcode, FilledLabel, Symbology, text_height_mm
from hw.protocols.errors import CodecError

MAX_COPIES = 999
"""Most copies one job may ask for; more is a typing slip, not a shop's need."""

DPMM_BY_DPI = {203: 8, 300: 12, 600: 24}
"""Dots per millimetre of the usual print heads, as the makers round them."""

_EAN13_MODULES = 95  # 3 guard + 42 + 5 guard + 42 + 3 guard
_CODE128_FRAME = 35  # start (11) + check (11) + stop (13) modules


class LabelRenderError(ValueError):
    """A filled label that cannot be printed as asked (too wide, bad copies, unknown
    language); the message names the element or the setting."""


class LabelReadError(CodecError):
    """Bytes that are not a label job in the language asked; the message says where."""


@dataclass(frozen=True)
class PrintedLabel:
    """One label a job prints: its text lines (`FilledLabel.lines` form), `copies` times."""

    lines: tuple[str, ...]
    copies: int = 1


def dots_per_mm(dpi: int) -> int:
    """Whole dots per millimetre of a `dpi` print head (203 -> 8, 300 -> 12, 600 -> 24)."""
    return DPMM_BY_DPI.get(dpi, max(round(dpi / 25.4), 1))


def dots(mm: float, dpmm: int) -> int:
    """`mm` in dots, rounded half up (positions never go negative)."""
    return int(mm * dpmm + 0.5)


def font_dots(size: int, dpmm: int) -> int:
    """The height in dots of text of `size` points."""
    return max(dots(text_height_mm(size), dpmm), 1)


def module_dots(dpmm: int) -> int:
    """The narrow bar width in dots: about 0.25 mm, the smallest every scanner reads."""
    return max(dpmm // 4, 1)


def barcode_width_dots(barcode: Barcode, dpmm: int) -> int:
    """How wide the bars come out, quiet zones aside (CODE128 counted in code set B,
    the widest a printer may choose)."""
    modules = (
        _EAN13_MODULES
        if barcode.symbology is Symbology.EAN13
        else 11 * len(barcode.data) + _CODE128_FRAME
    )
    return modules * module_dots(dpmm)


def check_job(label: FilledLabel, dpmm: int, copies: int) -> None:
    """Refuse settings no printer takes and barcodes that run off the label."""
    if not 1 <= dpmm <= 48:
        raise LabelRenderError(f"{dpmm} dots/mm is not a print head (use 8, 12 or 24)")
    if not 1 <= copies <= MAX_COPIES:
        raise LabelRenderError(f"{copies} copies is outside 1..{MAX_COPIES}")
    width = dots(label.width_mm, dpmm)
    for element in label.elements:
        if not isinstance(element, Barcode):
            continue
        bars = barcode_width_dots(element, dpmm)
        if dots(element.x, dpmm) + bars > width:
            raise LabelRenderError(
                f"label {label.name!r}: the {element.symbology.value} barcode "
                f"{element.data!r} is {bars / dpmm:g} mm wide at {dpmm} dots/mm and does not "
                f"fit at x={element.x:g} mm on the {label.width_mm:g} mm label"
            )


def mm_text(mm: float) -> str:
    """A length as a label language writes it: 58.0 -> "58", 2.5 -> "2.5"."""
    return f"{mm:.2f}".rstrip("0").rstrip(".")
