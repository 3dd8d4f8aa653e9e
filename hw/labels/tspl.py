"""TSPL / TSPL2 (TSC and its many clones): a filled label to a job, and back to text.

The subset written, one command per CR LF line, as TSC's "TSPL/TSPL2
Programming Manual" describes each::

    SIZE <w> mm,<h> mm          label width and height
    GAP <g> mm,0 mm             gap between labels, no offset
    DIRECTION 0                 print as the label is laid out
    REFERENCE 0,0               origin at the top-left corner
    CODEPAGE UTF-8              strings are UTF-8
    CLS                         clear the image buffer
    TEXT x,y,"0",0,<pt>,<pt>,"text"
                                scalable font "0", no rotation; with font "0" the
                                two multipliers are the width and height in points
    BARCODE x,y,"EAN13",h,1,0,n,n,"12 digits"
    BARCODE x,y,"128",h,1,0,n,n,"data"
                                h dots tall, text below, no rotation, narrow and
                                wide bar both n dots (EAN and Code 128 bars are
                                multiples of one module); the printer adds the
                                EAN-13 check digit; "128" picks code sets itself
    BOX x,y,x_end,y_end,t       a rectangle outline, t dots thick
    BAR x,y,w,h                 a filled bar: a line
    PRINT <n>                   print n copies of the image

Positions are in dots. A double quote inside a string is written ``\\["]``,
TSPL2's escape for it; text containing ``\\[`` could be read as an escape, so
it is refused.

The reader (`read_tspl`) takes lines ending in LF (CR before it optional);
each is an upper-case command word and its comma-separated parameters
(strings in double quotes). ``CLS`` clears the image, ``TEXT`` and
``BARCODE`` add a line (a barcode's as ``SYMBOLOGY data``), ``PRINT m[,n]``
prints it m x n times; other commands draw nothing readable and are skipped.
What no printer could read raises `LabelReadError`: bytes that are not UTF-8,
a line that is not a command, an unterminated string, a parameter that should
be a number and is not, a job that does not end with a line end.
"""

from __future__ import annotations

import re

from hw.labels.layout import (
    LabelReadError,
    LabelRenderError,
    PrintedLabel,
    check_job,
    dots,
    mm_text,
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

_QUOTE = '\\["]'  # TSPL2's escape for a double quote inside a string
_LINE = re.compile(r"([A-Z][A-Z0-9_]*)(?: +(.*))?")
_TYPES = {"EAN13": Symbology.EAN13.value, "128": Symbology.CODE128.value,
          "128M": Symbology.CODE128.value}  # fmt: skip


def _string(text: str) -> str:
    if "\\[" in text:
        raise LabelRenderError(f"TSPL cannot print {text!r}: '\\[' starts an escape")
    return '"' + text.replace('"', _QUOTE) + '"'


def _command(element: Element, dpmm: int) -> str:
    x, y = dots(element.x, dpmm), dots(element.y, dpmm)
    match element:
        case Text() | Price():
            return f'TEXT {x},{y},"0",0,{element.size},{element.size},{_string(element.text)}'
        case Barcode():
            height = max(dots(element.height, dpmm), 1)
            module = module_dots(dpmm)
            if element.symbology is Symbology.EAN13:
                kind, data = "EAN13", element.data[:12]
            else:
                kind, data = "128", element.data
            return f'BARCODE {x},{y},"{kind}",{height},1,0,{module},{module},{_string(data)}'
        case Box():
            t = max(dots(element.thickness, dpmm), 1)
            # BOX takes the last dot covered, where ^GB takes a size: - 1 keeps them alike.
            right = x + max(dots(element.width, dpmm), 1) - 1
            bottom = y + max(dots(element.height, dpmm), 1) - 1
            return f"BOX {x},{y},{right},{bottom},{t}"
        case _:  # a Line
            t = max(dots(element.thickness, dpmm), 1)
            length = max(dots(element.length, dpmm), 1)
            w, h = (t, length) if element.vertical else (length, t)
            return f"BAR {x},{y},{w},{h}"


def render_tspl(label: FilledLabel, dpmm: int, copies: int = 1) -> bytes:
    """The TSPL job printing `copies` of `label` on a `dpmm` dots/mm head.

    Pure and deterministic; raises `LabelRenderError` for a barcode that does
    not fit, copies outside 1..999 or text TSPL cannot quote.
    """
    check_job(label, dpmm, copies)
    lines = [
        f"SIZE {mm_text(label.width_mm)} mm,{mm_text(label.height_mm)} mm",
        f"GAP {mm_text(label.gap_mm)} mm,0 mm",
        "DIRECTION 0",
        "REFERENCE 0,0",
        "CODEPAGE UTF-8",
        "CLS",
    ]
    for element in label.elements:
        # An empty text prints nothing: left out, as FilledLabel.lines() leaves it out.
        if not isinstance(element, Text | Price) or element.text:
            lines.append(_command(element, dpmm))
    lines.append(f"PRINT {copies}")
    return "".join(line + "\r\n" for line in lines).encode("utf-8")


# --- reading ----------------------------------------------------------------------------


def _split(text: str, where: str) -> list[tuple[str, bool]]:
    """Comma-separated parameters as (value, quoted); a quoted value unescaped."""
    out: list[tuple[str, bool]] = []
    i = 0
    while True:
        while i < len(text) and text[i] == " ":
            i += 1
        if i < len(text) and text[i] == '"':
            value, i = _quoted(text, i + 1, where)
            out.append((value, True))
            while i < len(text) and text[i] == " ":
                i += 1
        else:
            end = text.find(",", i)
            end = len(text) if end < 0 else end
            out.append((text[i:end].strip(), False))
            i = end
        if i >= len(text):
            return out
        if text[i] != ",":
            raise LabelReadError(f"{where}: expected ',' after a string at {i}")
        i += 1


def _quoted(text: str, i: int, where: str) -> tuple[str, int]:
    """The string starting at `i` (after its opening quote) and the index past its end."""
    value: list[str] = []
    while i < len(text):
        if text.startswith(_QUOTE, i):
            value.append('"')
            i += len(_QUOTE)
        elif text[i] == '"':
            return "".join(value), i + 1
        else:
            value.append(text[i])
            i += 1
    raise LabelReadError(f"{where}: a string is never closed")


def _int(params: list[tuple[str, bool]], index: int, where: str) -> int:
    value, quoted = params[index]
    if quoted or not value.isascii() or not value.isdigit() or len(value) > 8:
        raise LabelReadError(f"{where}: parameter {index + 1} is not a number")
    return int(value)


def _string_param(params: list[tuple[str, bool]], index: int, where: str) -> str:
    value, quoted = params[index]
    if not quoted:
        raise LabelReadError(f"{where}: parameter {index + 1} is not a quoted string")
    return value


def _text_line(params: list[tuple[str, bool]], where: str) -> str:
    # TEXT x,y,"font",rotation,x-mul,y-mul,[alignment,]"content"
    if len(params) not in (7, 8):
        raise LabelReadError(f"{where}: TEXT takes 7 or 8 parameters, got {len(params)}")
    _int(params, 0, where)
    _int(params, 1, where)
    return _string_param(params, len(params) - 1, where)


def _barcode_line(params: list[tuple[str, bool]], where: str) -> str:
    # BARCODE x,y,"type",height,readable,rotation,narrow,wide,[alignment,]"content"
    if len(params) not in (9, 10):
        raise LabelReadError(f"{where}: BARCODE takes 9 or 10 parameters, got {len(params)}")
    _int(params, 0, where)
    _int(params, 1, where)
    kind = _string_param(params, 2, where)
    data = _string_param(params, len(params) - 1, where)
    symbology = _TYPES.get(kind, kind)
    if symbology == Symbology.EAN13.value:
        try:
            data = ean13(data)
        except ValueError as err:
            raise LabelReadError(f"{where}: {err}") from None
    return barcode_line(symbology, data)


def read_tspl(raw: bytes) -> list[PrintedLabel]:
    """The labels a TSPL job prints, in order; `LabelReadError` on anything no printer
    could read (see the module docstring)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise LabelReadError(f"TSPL job is not UTF-8 at byte {err.start}") from None
    if text and not text.endswith("\n"):
        raise LabelReadError("the TSPL job does not end with a line end")
    labels: list[PrintedLabel] = []
    image: list[str] = []
    for number, line in enumerate(text.split("\n")[:-1], start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        match = _LINE.fullmatch(line)
        if match is None:
            raise LabelReadError(f"line {number} is not a TSPL command: {line[:40]!r}")
        name, rest = match.group(1), match.group(2) or ""
        where = f"line {number} ({name})"
        if name == "CLS":
            image = []
        elif name == "TEXT":
            image.append(_text_line(_split(rest, where), where))
        elif name == "BARCODE":
            image.append(_barcode_line(_split(rest, where), where))
        elif name == "PRINT":
            params = _split(rest, where)
            if len(params) > 2:
                raise LabelReadError(f"{where}: PRINT takes 1 or 2 parameters")
            copies = _int(params, 0, where) * (_int(params, 1, where) if len(params) > 1 else 1)
            if copies:
                labels.append(PrintedLabel(tuple(image), copies))
        # Any other command (SIZE, GAP, BOX, BAR...) draws nothing readable.
    return labels
