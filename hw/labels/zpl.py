"""ZPL II (Zebra): a filled label to a job, and a job back to its text.

The subset written, one command group per line (ZPL ignores CR and LF), as
Zebra's "ZPL II Programming Guide" describes each command::

    ^XA                     start of format
    ^CI28                   field data is UTF-8
    ^PW<dots> ^LL<dots>     print width and label length
    ^LH0,0                  label home at the top-left corner
    ^FO<x>,<y>              field origin, in dots
    ^A0N,<h>,<w>            scalable font 0, normal orientation, h x w dots
    ^BY<m>                  barcode narrow bar (module) width in dots
    ^BEN,<h>,Y,N            EAN-13, h dots tall, text below (12 digits sent: the
                            printer adds the check digit)
    ^BCN,<h>,Y,N,N          Code 128, h dots tall, text below, no UCC check digit
    ^GB<w>,<h>,<t>          graphic box (a line is a box one thickness thick)
    ^FH^FD<data>^FS         field data with hex escapes: '^', '~' and '_' are sent as
                            _5E, _7E and _5F, so a product name can never end the
                            field or smuggle a command
    ^PQ<n>                  print n copies
    ^XZ                     end of format

The reader (`read_zpl`) follows a ZPL printer closely enough for the simulator
and tests: CR and LF are dropped, a command is ``^`` or ``~`` with a two
character name, and its parameters run to the next ``^`` or ``~``. Each field
(``^FO`` ... ``^FS``) with data becomes one line: a barcode's as
``SYMBOLOGY data`` (the EAN-13 with its check digit), any other field's as its
text. ``~`` commands (``~HS``...) are answered by a printer, not printed, and
are skipped here, as are commands that put nothing readable on the label. What
no printer could make sense of raises `LabelReadError`: bytes that are not
UTF-8, anything outside ``^XA`` ... ``^XZ``, a format never ended, a field
never ended with ``^FS``, a bad hex escape, a position or count that is not a
number.
"""

from __future__ import annotations

import re

from hw.labels.layout import (
    LabelReadError,
    PrintedLabel,
    check_job,
    dots,
    font_dots,
    module_dots,
)
from hw.labels.template import (
    Barcode,
    Box,
    Element,
    FilledLabel,
    Price,
    Symbology,
    Text,
    barcode_line,
    ean13,
)

_ESCAPES = {"_": "_5F", "^": "_5E", "~": "_7E"}
_COMMAND = re.compile(r"[\^~]([A-Za-z0-9@]{2})([^\^~]*)", re.DOTALL)
_HEX = re.compile(r"_([0-9A-Fa-f]{2})")
_BARCODES = {"BC": Symbology.CODE128.value, "BE": Symbology.EAN13.value}


def _escape(text: str) -> str:
    return "".join(_ESCAPES.get(c, c) for c in text)


def _field(element: Element, dpmm: int) -> str:
    origin = f"^FO{dots(element.x, dpmm)},{dots(element.y, dpmm)}"
    match element:
        case Text() | Price():
            h = font_dots(element.size, dpmm)
            return f"{origin}^A0N,{h},{h}^FH^FD{_escape(element.text)}^FS"
        case Barcode():
            bars = f"^BY{module_dots(dpmm)}"
            height = max(dots(element.height, dpmm), 1)
            if element.symbology is Symbology.EAN13:
                return f"{origin}{bars}^BEN,{height},Y,N^FD{element.data[:12]}^FS"
            return f"{origin}{bars}^BCN,{height},Y,N,N^FH^FD{_escape(element.data)}^FS"
        case Box():
            t = max(dots(element.thickness, dpmm), 1)
            w, h = max(dots(element.width, dpmm), t), max(dots(element.height, dpmm), t)
            return f"{origin}^GB{w},{h},{t}^FS"
        case _:  # a Line
            t = max(dots(element.thickness, dpmm), 1)
            length = max(dots(element.length, dpmm), t)
            w, h = (t, length) if element.vertical else (length, t)
            return f"{origin}^GB{w},{h},{t}^FS"


def render_zpl(label: FilledLabel, dpmm: int, copies: int = 1) -> bytes:
    """The ZPL job printing `copies` of `label` on a `dpmm` dots/mm head.

    Pure and deterministic; raises `LabelRenderError` for a barcode that does
    not fit or copies outside 1..999.
    """
    check_job(label, dpmm, copies)
    lines = ["^XA", "^CI28", f"^PW{dots(label.width_mm, dpmm)}"]
    lines += [f"^LL{dots(label.height_mm, dpmm)}", "^LH0,0"]
    lines += [_field(element, dpmm) for element in label.elements if _prints(element)]
    lines += [f"^PQ{copies}", "^XZ"]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _prints(element: Element) -> bool:
    # An empty text field prints nothing: leaving it out keeps the job and its
    # read-back in step with FilledLabel.lines().
    return not isinstance(element, Text | Price) or bool(element.text)


# --- reading ----------------------------------------------------------------------------


class _Format:
    """One format being read: its lines so far, its copies and the open field."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.copies = 1
        self.barcode: str | None = None
        self.hex: str | None = None
        self.data: str | None = None

    def end_field(self) -> None:
        if self.data is not None:
            self.lines.append(self._line(self.data))
        self.barcode = self.hex = self.data = None

    def _line(self, data: str) -> str:
        if self.barcode is None:
            return data
        if self.barcode == Symbology.EAN13.value:
            try:
                data = ean13(data)
            except ValueError as err:
                raise LabelReadError(f"^BE field: {err}") from None
        return barcode_line(self.barcode, data)

    def field_data(self, params: str) -> None:
        if self.hex is None:
            self.data = params
            return
        indicator = self.hex
        raw = bytearray()
        i = 0
        while i < len(params):
            if params[i] == indicator:
                pair = params[i + 1 : i + 3]
                if len(pair) != 2 or not all(c in "0123456789abcdefABCDEF" for c in pair):
                    raise LabelReadError(f"^FD{params[:40]!r}: bad hex escape at {i}")
                raw.append(int(pair, 16))
                i += 3
            else:
                raw += params[i].encode("utf-8")
                i += 1
        try:
            self.data = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise LabelReadError(f"^FD{params[:40]!r}: escapes are not UTF-8") from None


def _number(name: str, params: str, index: int = 0) -> int:
    parts = params.split(",")
    text = parts[index].strip() if index < len(parts) else ""
    if not text.isascii() or not text.isdigit() or len(text) > 8:
        raise LabelReadError(f"^{name}{params[:40]}: parameter {index + 1} is not a number")
    return int(text)


def _apply(fmt: _Format, name: str, params: str) -> None:
    """One command inside a format."""
    if name in ("FO", "FT"):
        if fmt.data is not None:
            raise LabelReadError(f"^{name} starts a field before the last one ended with ^FS")
        _number(name, params, 0)
        _number(name, params, 1)
    elif name in _BARCODES:
        fmt.barcode = _BARCODES[name]
    elif name == "FH":
        fmt.hex = params[:1] or "_"
    elif name == "FD":
        if fmt.data is not None:
            raise LabelReadError("^FD twice in one field: the first was never ended with ^FS")
        fmt.field_data(params)
    elif name == "FS":
        fmt.end_field()
    elif name == "PQ":
        fmt.copies = max(_number(name, params), 1)
    # Anything else (fonts, ^BY, ^GB, ^PW, ^CI...) puts no text on the label.


def read_zpl(raw: bytes) -> list[PrintedLabel]:
    """The labels a ZPL job prints, in order; `LabelReadError` on anything no printer
    could read (see the module docstring)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise LabelReadError(f"ZPL job is not UTF-8 at byte {err.start}") from None
    text = text.replace("\r", "").replace("\n", "")
    labels: list[PrintedLabel] = []
    fmt: _Format | None = None
    # Only blanks may come before the first command; after it, every command's
    # parameters run to the next one, so each match starts where the last ended.
    pos = min((i for i in (text.find("^"), text.find("~")) if i >= 0), default=len(text))
    if text[:pos].strip():
        raise LabelReadError(f"text outside a format at the start: {text[:20]!r}")
    while pos < len(text):
        match = _COMMAND.match(text, pos)
        if match is None:
            raise LabelReadError(f"not a ZPL command at character {pos}: {text[pos : pos + 20]!r}")
        pos = match.end()
        if match.group(0)[0] == "~":
            continue  # answered by the printer (~HS...), never printed
        name, params = match.group(1).upper(), match.group(2)
        fmt = _command(fmt, name, params, labels)
    if fmt is not None:
        raise LabelReadError("the job ends inside a format: ^XA without ^XZ")
    return labels


def _command(
    fmt: _Format | None, name: str, params: str, labels: list[PrintedLabel]
) -> _Format | None:
    """Apply one ^ command; the format still open after it."""
    if fmt is None:
        if name != "XA":
            raise LabelReadError(f"^{name} outside a format (before ^XA)")
        if params.strip():
            raise LabelReadError(f"text after ^XA: {params[:20]!r}")
        return _Format()
    if name == "XA":
        raise LabelReadError("^XA inside a format: the one before never ended with ^XZ")
    if name == "XZ":
        if fmt.data is not None:
            raise LabelReadError("^XZ ends a format whose last field has no ^FS")
        if params.strip():
            raise LabelReadError(f"text after ^XZ: {params[:20]!r}")
        labels.append(PrintedLabel(tuple(fmt.lines), fmt.copies))
        return None
    _apply(fmt, name, params)
    return fmt
