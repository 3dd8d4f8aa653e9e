"""Render a `PrintDocument` to ESC/POS bytes (through python-escpos) or to plain text.

`render_escpos` drives python-escpos's `Dummy` printer, which only collects
bytes, so the same document always gives the same bytes and a driver sends
them over whatever transport it opened itself. `render_text` is what the
paper would show, for screens, tests and the printer simulator; both share one
layout, so the simulator reading the bytes back sees the same lines.

Encoding: every job selects code page 19, CP858 (`ESC t 19`, "PC858: Euro" in
Epson's code page table), which is CP850 plus the euro sign: it has é, ü, ß, ñ,
£ and €, and python-escpos's capability data lists it for the TM-T20II, TM-T88III,
IV and V, TM-L90 and TM-P80 (not for the TM-T88II or the impact TM-U220). It is
forced, not guessed per character, so the bytes are stable; a character it
lacks prints as "?" (and `render_text` shows the "?" too).

Layout rules (widths in characters of the normal font, `Paper.columns`):
- `Line`: word-wrapped to the width (half of it when double width), so the
  printer never breaks a word; embedded newlines start new lines.
- `Columns`: see `hw.document.Columns` (a width given for the last cell is
  ignored: it takes what is left); a cell too long for its width wraps
  onto further rows of its own column (an amount is never truncated), and every
  cell but the last keeps its last character free as the gap.
- `Rule`: `char` repeated across the width.
- `Barcode`, `QRCode`, `Image`: centred; in text a bracketed placeholder line
  (`[CODE128 0190...]`, `[QR https://...]`, `[IMAGE 384x96]`).
- `Cut`: feeds the paper past the cutter and cuts; in text `[CUT]` or
  `[PARTIAL CUT]`.
Control characters in shop text print as spaces: a product name must never
smuggle a command (a cut, a drawer kick) to the printer.
"""

from __future__ import annotations

import functools
import io
import math
import textwrap
import unicodedata
from dataclasses import dataclass
from typing import Any, Protocol, cast

import PIL.Image

from hw.escpos_cache import capabilities_cached

with capabilities_cached():  # else every start parses escpos's capabilities again
    from escpos.capabilities import Profile, get_profile_class  # type: ignore[import-untyped]
    from escpos.constants import BARCODE_TYPE_B, QR_ECLEVEL_M  # type: ignore[import-untyped]
    from escpos.printer import Dummy  # type: ignore[import-untyped]

from hw.document import (
    PLAIN,
    Align,
    Barcode,
    Columns,
    Cut,
    Element,
    Feed,
    Image,
    Line,
    PrintDocument,
    QRCode,
    Rule,
    Style,
)
from hw.paper import PAPER_80MM, Paper, paper_dots

CODE_PAGE = "CP858"
"""python-escpos's name of the code page every job selects (`ESC t 19`)."""
ENCODING = "cp858"
"""The Python codec of that code page."""
_IMAGE_FRAGMENT = 960  # python-escpos sends taller images as several GS v 0 commands
_BARCODE_HEIGHT = 64
_CODE128_QUIET_AND_FRAME = 55  # 11 x (start + check) + 13 stop + 2 x 10 quiet zone modules


class RenderError(ValueError):
    """A document that cannot be printed as given; the message names the element."""


class _Escpos(Protocol):
    """The part of python-escpos's printer this module calls, typed."""

    output: bytes

    def hw(self, hw: str) -> None: ...
    def charcode(self, code: str) -> None: ...
    def set(self, *, align: str, bold: bool, underline: int, invert: bool,
            normal_textsize: bool, double_width: bool,
            double_height: bool) -> None: ...  # fmt: skip
    def textln(self, txt: str) -> None: ...
    def ln(self, count: int) -> None: ...
    def cut(self, mode: str) -> None: ...
    def qr(self, content: str, *, ec: int, size: int, native: bool) -> None: ...
    def image(self, img_source: PIL.Image.Image, *, impl: str, center: bool) -> None: ...
    def _hw_barcode(self, code: str, bc: str, *, height: int, width: int, pos: str, font: str,
                    align_ct: bool, function_type: str, check: bool) -> None: ...  # fmt: skip


@dataclass(frozen=True)
class _TextLine:
    text: str
    style: Style
    align: Align


# --- shared layout ----------------------------------------------------------------------


def printable(text: str) -> str:
    """`text` as the printer will show it: controls as spaces, what CP858 lacks as '?'.
    Composed first (NFC): an "é" stored as "e" and a combining accent prints as é."""
    composed = unicodedata.normalize("NFC", text)
    cleaned = "".join(" " if ord(c) < 0x20 or ord(c) == 0x7F else c for c in composed)
    return cleaned.encode(ENCODING, errors="replace").decode(ENCODING)


def chars_per_line(width: int, style: Style) -> int:
    """Characters that fit on a line of `width` normal characters in `style`."""
    return width // 2 if style.double_width else width


def _fit(text: str, align: Align, width: int) -> str:
    pad = max(width - len(text), 0)
    if align is Align.RIGHT:
        return " " * pad + text
    if align is Align.CENTER:
        return " " * (pad // 2) + text + " " * (pad - pad // 2)
    return text + " " * pad


def place(text: str, align: Align, width: int) -> str:
    """`text` placed on a line `width` characters wide, trailing spaces removed."""
    return _fit(text, align, width).rstrip()


def placeholder(label: str, width: int) -> str:
    """`[label]`, shortened with '...' to fit `width`."""
    full = f"[{label}]"
    if len(full) <= width:
        return full
    return f"[{label[: max(width - 5, 1)]}...]"


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, max(width, 1), break_long_words=True) or [""]


def _line_lines(line: Line, width: int) -> list[_TextLine]:
    chars = chars_per_line(width, line.style)
    return [
        _TextLine(wrapped, line.style, line.align)
        for part in line.text.split("\n")
        for wrapped in _wrap(printable(part), chars)
    ]


def _column_widths(columns: Columns, total: int) -> list[int]:
    n = len(columns.cells)
    if n == 0:
        raise RenderError("Columns with no cells")
    if len(columns.widths) not in (0, n - 1, n):
        raise RenderError(
            f"Columns has {n} cells but {len(columns.widths)} widths: "
            "give one per cell, one for each but the last, or none"
        )
    scale = 2 if columns.style.double_width else 1
    given = [w // scale for w in columns.widths[: n - 1]]
    widths = given if columns.widths else [total // n] * (n - 1)
    widths.append(total - sum(widths))
    if any(w < 2 for w in widths[:-1]) or widths[-1] < 1:
        raise RenderError(f"Columns widths {list(columns.widths)} do not fit {total} characters")
    return widths


def _columns_lines(columns: Columns, width: int) -> list[_TextLine]:
    total = chars_per_line(width, columns.style)
    widths = _column_widths(columns, total)
    n = len(widths)
    if len(columns.aligns) > n:
        raise RenderError(f"Columns has {n} cells but {len(columns.aligns)} aligns")
    defaults = [Align.LEFT] * (n - 1) + [Align.RIGHT]
    aligns = list(columns.aligns) + defaults[len(columns.aligns) :]
    # Every cell but the last keeps one character free as the gap between cells.
    spaces = [w - 1 for w in widths[:-1]] + [widths[-1]]
    cells = [_wrap(printable(c), s) for c, s in zip(columns.cells, spaces, strict=True)]
    rows = max(len(c) for c in cells)
    lines = []
    for row in range(rows):
        parts = [
            _fit(cell[row] if row < len(cell) else "", align, space) + " " * (w - space)
            for cell, align, space, w in zip(cells, aligns, spaces, widths, strict=True)
        ]
        lines.append(_TextLine("".join(parts).rstrip(), columns.style, Align.LEFT))
    return lines


def _rule_lines(rule: Rule, width: int) -> list[_TextLine]:
    if not rule.char:
        raise RenderError("Rule with an empty char")
    return [_TextLine((printable(rule.char) * width)[:width], PLAIN, Align.LEFT)]


@dataclass(frozen=True)
class _BarcodePlan:
    symbology: str
    code: str
    module: int


def _barcode_plan(barcode: Barcode, dots: int) -> _BarcodePlan:
    symbology = barcode.symbology.upper()
    if symbology not in BARCODE_TYPE_B:
        raise RenderError(f"barcode symbology {barcode.symbology!r} is not one ESC/POS prints")
    if symbology != "CODE128":
        if not Dummy.check_barcode(symbology, barcode.data):
            raise RenderError(f"{barcode.data!r} is not valid {symbology} data")
        return _BarcodePlan(symbology, barcode.data, 2)
    if not barcode.data or not all(" " <= c <= "~" for c in barcode.data):
        raise RenderError(f"CODE128 data {barcode.data!r} must be printable ASCII, not empty")
    # python-escpos wants the code set first: "{B" is set B (all printable ASCII);
    # a literal "{" is written "{{".
    code = "{B" + barcode.data.replace("{", "{{")
    modules = 11 * len(barcode.data) + _CODE128_QUIET_AND_FRAME
    module = next((m for m in (3, 2) if m * modules <= dots), 0)
    if module == 0 or len(code) > 255:
        raise RenderError(
            f"CODE128 {barcode.data!r} is too long for {dots}-dot paper "
            f"({len(barcode.data)} characters)"
        )
    return _BarcodePlan(symbology, code, module)


def _check_qr(qr: QRCode) -> None:
    if not qr.data:
        raise RenderError("QR code with no data")
    if not 1 <= qr.size <= 16:
        raise RenderError(f"QR module size {qr.size} is outside 1..16 dots")


def _load_image(image: Image, dots: int) -> PIL.Image.Image:
    try:
        picture: PIL.Image.Image = PIL.Image.open(io.BytesIO(image.png))
        picture.load()
    except (OSError, ValueError) as err:
        raise RenderError(f"image is not a readable PNG: {err}") from None
    if picture.width > dots:
        # Wider than the paper: scaled down (a printer would drop the whole image).
        height = max(round(picture.height * dots / picture.width), 1)
        picture = picture.resize((dots, height), PIL.Image.Resampling.LANCZOS)
    return picture


def _image_labels(picture: PIL.Image.Image) -> list[str]:
    width = (picture.width + 7) // 8 * 8
    fragments = math.ceil(picture.height / _IMAGE_FRAGMENT)
    heights = [min(_IMAGE_FRAGMENT, picture.height - i * _IMAGE_FRAGMENT) for i in range(fragments)]
    return [f"IMAGE {width}x{h}" for h in heights]


def barcode_label(symbology: str, data: str) -> str:
    """The placeholder label of a barcode (shared with the simulator)."""
    return f"{symbology} {data}"


def qr_label(data: str) -> str:
    """The placeholder label of a QR code (shared with the simulator)."""
    return f"QR {data}"


# --- text -------------------------------------------------------------------------------


def _text_lines(element: Line | Columns | Rule, width: int) -> list[_TextLine]:
    if isinstance(element, Line):
        return _line_lines(element, width)
    if isinstance(element, Columns):
        return _columns_lines(element, width)
    return _rule_lines(element, width)


def _paper_lines(element: Element, width: int, dots: int) -> list[str]:
    labels: list[str]
    match element:
        case Line() | Columns() | Rule():
            lines = _text_lines(element, width)
            return [place(t.text, t.align, chars_per_line(width, t.style)) for t in lines]
        case Feed():
            return [""] * _feed_count(element)
        case Barcode():
            plan = _barcode_plan(element, 1 << 16)  # paper fit is checked when printing
            labels = [barcode_label(plan.symbology, element.data)]
        case QRCode():
            _check_qr(element)
            labels = [qr_label(element.data)]
        case Image():
            labels = _image_labels(_load_image(element, dots))
        case Cut():
            return ["[PARTIAL CUT]" if element.partial else "[CUT]"]
    return [place(placeholder(label, width), Align.CENTER, width) for label in labels]


def _feed_count(feed: Feed) -> int:
    if not 0 <= feed.lines <= 255:
        raise RenderError(f"Feed of {feed.lines} lines is outside 0..255")
    return feed.lines


def render_text(document: PrintDocument, width: int, dots: int | None = None) -> str:
    """What the paper would show, `width` characters wide, one line per printed line.

    `dots` (default: `paper_dots(width)`) only matters for images wider than
    the paper, which are scaled down to it.
    """
    dots = paper_dots(width) if dots is None else dots
    lines = [line for e in document.elements for line in _paper_lines(e, width, dots)]
    return "".join(line + "\n" for line in lines)


def render_pages(document: PrintDocument, width: int, dots: int | None = None) -> list[str]:
    """The text of each piece of paper, split at cuts; trailing blank lines (the
    feed to the cutter) dropped. What the simulator keeps as its pages."""
    dots = paper_dots(width) if dots is None else dots
    pages: list[str] = []
    current: list[str] = []
    for element in document.elements:
        if isinstance(element, Cut):
            pages.append(page_text(current))
            current = []
        else:
            current.extend(_paper_lines(element, width, dots))
    if any(current):
        pages.append(page_text(current))
    return pages


def page_text(lines: list[str]) -> str:
    """Lines as one page's text, trailing blank lines dropped."""
    while lines and not lines[-1]:
        lines = lines[:-1]
    return "".join(line + "\n" for line in lines)


# --- ESC/POS ----------------------------------------------------------------------------


@functools.cache
def _profile_class(dots: int) -> Any:
    # python-escpos's default profile, told the paper's width so it can check
    # images (without it, image() prints a warning to stdout on every call).
    base = get_profile_class("default").profile_data
    media = {**base["media"], "width": {"mm": "Unknown", "pixels": dots}}
    return type(f"RegisterProfile{dots}", (Profile,), {"profile_data": {**base, "media": media}})


def _printer(paper: Paper) -> _Escpos:
    features = dict(get_profile_class("default").profile_data["features"])
    profile = _profile_class(paper.dots)(columns=paper.columns, features=features)
    return cast(_Escpos, Dummy(profile=profile))


def _send_text(printer: _Escpos, line: _TextLine) -> None:
    style = line.style
    printer.set(
        align=line.align.value,
        bold=style.bold,
        underline=1 if style.underline else 0,
        invert=style.invert,
        normal_textsize=not (style.double_width or style.double_height),
        double_width=style.double_width,
        double_height=style.double_height,
    )
    printer.textln(line.text)


def _send(printer: _Escpos, element: Element, paper: Paper) -> None:
    match element:
        case Line() | Columns() | Rule():
            for line in _text_lines(element, paper.columns):
                _send_text(printer, line)
        case Feed():
            printer.ln(_feed_count(element))
        case Barcode():
            plan = _barcode_plan(element, paper.dots)
            printer._hw_barcode(plan.code, plan.symbology, height=_BARCODE_HEIGHT,
                                width=plan.module, pos="BELOW", font="A", align_ct=True,
                                function_type="B", check=True)  # fmt: skip
        case QRCode():
            _check_qr(element)
            _center(printer)
            printer.qr(element.data, ec=QR_ECLEVEL_M, size=element.size, native=True)
        case Image():
            picture = _load_image(element, paper.dots)
            _center(printer)
            printer.image(picture, impl="bitImageRaster", center=False)
        case Cut():
            printer.cut(mode="PART" if element.partial else "FULL")


def _center(printer: _Escpos) -> None:
    printer.set(align="center", bold=False, underline=0, invert=False, normal_textsize=True,
                double_width=False, double_height=False)  # fmt: skip


def render_escpos(document: PrintDocument, paper: Paper = PAPER_80MM) -> bytes:
    """The ESC/POS bytes of `document` for `paper`; the same document gives the same bytes.

    Starts with `ESC @` (reset) and `ESC t 19` (CP858). Raises `RenderError`
    for an element that cannot be printed as given.
    """
    printer = _printer(paper)
    printer.hw("INIT")
    printer.charcode(CODE_PAGE)
    for element in document.elements:
        _send(printer, element, paper)
    output: bytes = printer.output
    return output
