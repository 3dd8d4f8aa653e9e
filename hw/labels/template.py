"""The label vocabulary: templates, the elements placed on them, and filling one in.

A `LabelTemplate` places texts, a price, barcodes, boxes and lines in
millimetres from the label's top-left corner; its strings hold placeholders
(`PLACEHOLDERS`). Templates come from `hw.labels.parse` (strictly checked
dicts and TOML files). `fill` puts the values in and returns a `FilledLabel`,
the only thing the renderers take, so an unfilled template can never be
printed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import Enum

PLACEHOLDERS: Mapping[str, str] = {
    "name": "the product's name as the shop sells it",
    "sku": "the shop's own stock-keeping code",
    "barcode": "what the barcode encodes: EAN-13 digits (12, or 13 with the check digit) "
    "or CODE128 text",
    "price": "the price to pay, formatted with its currency, e.g. '€3.45'",
    "unit_price": "the price per unit, formatted, e.g. '€12.90/kg'",
    "weight": "the net weight, formatted with its unit, e.g. '0.268 kg'",
    "unit": "the unit a unit price is per, e.g. 'kg'",
    "packed": "the date the item was packed, e.g. '2024-05-01'",
    "best_before": "the best-before date, e.g. '2024-05-04'",
}
"""The placeholders a template may use, each with what the register fills in."""

POINT_MM = 25.4 / 72
"""One typographic point in millimetres."""
MAX_TEXT = 200
"""Longest template string: longer is a mistake, not a label."""
MAX_ELEMENTS = 50
"""Most elements one template may place."""
_CODE128_MAX = 48  # longer does not fit any label the shop uses
# CODE128 characters every language can carry: printable ASCII except '"' and
# '\' (TSPL quoting) and '>' (ZPL's ^BC code-set switch).
_CODE128_CHARS = re.compile(r"[ !#-=?-\[\]-~]+")
BRACED = re.compile(r"\{([^{}]*)\}")
"""A placeholder in a template string; group 1 is its name."""


class LabelTemplateError(ValueError):
    """An unusable template, naming its source, the dotted key and what was wrong."""

    def __init__(self, source: str, key: str, detail: str) -> None:
        """`key` is dotted (``elements[2].y``), or "" for the template as a whole."""
        self.source = source
        self.key = key
        self.detail = detail
        super().__init__(f"{source}: {key}: {detail}" if key else f"{source}: {detail}")


class LabelValueError(ValueError):
    """Values that cannot fill a template: one missing, not text, or a bad barcode."""


class Symbology(Enum):
    """The 1-D barcodes a label may carry."""

    EAN13 = "EAN13"
    CODE128 = "CODE128"


@dataclass(frozen=True)
class Text:
    """A line of text whose top-left corner is at (x, y) mm; `size` in points."""

    x: float
    y: float
    size: int
    text: str


@dataclass(frozen=True)
class Price:
    """The price: a text that ESC/POS prints bold; `text` usually ``"{price}"``."""

    x: float
    y: float
    size: int
    text: str = "{price}"


@dataclass(frozen=True)
class Barcode:
    """A barcode whose first bar is at (x, y) mm, `height` mm tall, its text below."""

    x: float
    y: float
    height: float
    data: str
    symbology: Symbology


@dataclass(frozen=True)
class Box:
    """A rectangle outline, `thickness` mm wide."""

    x: float
    y: float
    width: float
    height: float
    thickness: float = 0.3


@dataclass(frozen=True)
class Line:
    """A horizontal (or `vertical`) rule `length` mm long."""

    x: float
    y: float
    length: float
    thickness: float = 0.3
    vertical: bool = False


Element = Text | Price | Barcode | Box | Line
"""Anything placed on a label."""


@dataclass(frozen=True)
class LabelTemplate:
    """A label's size and elements, with placeholders still in its strings."""

    name: str
    width_mm: float
    height_mm: float
    elements: tuple[Element, ...]
    gap_mm: float = 3.0

    @property
    def placeholders(self) -> frozenset[str]:
        """Every placeholder the template uses."""
        return frozenset(
            name for template in _strings(self.elements) for name in BRACED.findall(template)
        )


@dataclass(frozen=True)
class FilledLabel:
    """A template with its values in, elements in reading order (top to bottom, left
    to right); what the renderers print."""

    name: str
    width_mm: float
    height_mm: float
    elements: tuple[Element, ...]
    gap_mm: float = 3.0

    def lines(self) -> list[str]:
        """The text the label shows, one line per text or barcode, in reading order;
        what `hw.labels.label_text` reads back from the printed job."""
        out: list[str] = []
        for element in self.elements:
            if isinstance(element, Text | Price) and element.text:
                out.append(element.text)
            elif isinstance(element, Barcode):
                out.append(barcode_line(element.symbology.value, element.data))
        return out


def barcode_line(symbology: str, data: str) -> str:
    """How a barcode reads as a line of text (as `hw.escpos_render` labels one)."""
    return f"{symbology} {data}"


def text_height_mm(size: int) -> float:
    """The height of text of `size` points, in millimetres."""
    return size * POINT_MM


def _strings(elements: tuple[Element, ...]) -> list[str]:
    out: list[str] = []
    for element in elements:
        if isinstance(element, Text | Price):
            out.append(element.text)
        elif isinstance(element, Barcode):
            out.append(element.data)
    return out


# --- filling ----------------------------------------------------------------------------


def printable(text: str) -> str:
    """`text` as a label prints it: control characters as spaces, and what UTF-8
    cannot carry (a lone surrogate) as '?'; composed first (NFC), as on receipts."""
    composed = unicodedata.normalize("NFC", text)
    cleaned = "".join(" " if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 else c for c in composed)
    return cleaned.encode("utf-8", errors="replace").decode("utf-8")


def ean13_check_digit(digits12: str) -> str:
    """The EAN-13 check digit of 12 digits (weights 1, 3, 1, 3... from the left)."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits12))
    return str(-total % 10)


def ean13(data: str) -> str:
    """All 13 digits of an EAN-13 given as 12 digits or 13 with a right check digit;
    `ValueError` saying what is wrong otherwise."""
    if not data.isascii() or not data.isdigit() or len(data) not in (12, 13):
        raise ValueError(f"EAN-13 data must be 12 or 13 digits, got {data!r}")
    full = data[:12] + ean13_check_digit(data[:12])
    if data != full[: len(data)]:
        raise ValueError(f"{data!r} has the wrong EAN-13 check digit (it should end in {full[-1]})")
    return full


def _barcode_data(symbology: Symbology, data: str) -> str:
    if symbology is Symbology.EAN13:
        return ean13(data)
    if not 1 <= len(data) <= _CODE128_MAX or not _CODE128_CHARS.fullmatch(data):
        raise ValueError(
            f"CODE128 data must be 1 to {_CODE128_MAX} printable ASCII characters "
            f'other than " \\ >, got {data!r}'
        )
    return data


def _substitute(template: str, values: Mapping[str, str]) -> str:
    # One pass: a value that itself contains "{name}" is printed as it is.
    return BRACED.sub(lambda m: values[m.group(1)], template)


def fill(template: LabelTemplate, values: Mapping[str, str]) -> FilledLabel:
    """The label with `values` in its placeholders; values it does not use are ignored.

    Raises `LabelValueError` for a placeholder without a value (naming every one
    missing), a value that is not text, or barcode data the symbology cannot
    encode. An EAN-13 given as 12 digits gets its check digit.
    """
    needed = template.placeholders
    missing = sorted(name for name in needed if name not in values)
    if missing:
        names = ", ".join("{" + name + "}" for name in missing)
        raise LabelValueError(f"label {template.name!r} needs values for {names}")
    for name in sorted(needed):
        if not isinstance(values[name], str):
            raise LabelValueError(
                f"label {template.name!r}: the value for {{{name}}} must be text, "
                f"got {type(values[name]).__name__}"
            )
    elements: list[Element] = []
    for index, element in enumerate(template.elements):
        if isinstance(element, Text | Price):
            element = replace(element, text=printable(_substitute(element.text, values)))
        elif isinstance(element, Barcode):
            data = _substitute(element.data, values)
            try:
                element = replace(element, data=_barcode_data(element.symbology, data))
            except ValueError as err:
                raise LabelValueError(
                    f"label {template.name!r}, elements[{index}] ({element.data}): {err}"
                ) from None
        elements.append(element)
    # Reading order, so every language prints and reads back the lines alike.
    elements.sort(key=lambda e: (e.y, e.x))
    return FilledLabel(
        template.name, template.width_mm, template.height_mm, tuple(elements), template.gap_mm
    )
