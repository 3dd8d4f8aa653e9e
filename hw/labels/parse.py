"""Label templates from plain dicts and TOML files, checked strictly.

A template is a plain dict (a TOML file under ``config/labels``, or JSON shipped
in the back office catalogue) that `parse_template` checks as
``hw/profiles.py`` checks device profiles: an unknown key, a wrong type, a
missing key, an element outside the label or an unknown placeholder fails
naming the source and the dotted key (``elements[2].y``), so a bad template is
refused when it is loaded, not when a clerk prints a label.

The form, every length in millimetres from the label's top-left corner::

    name = "shelf"            # what the back office calls it
    width_mm = 58             # the label, across the print head (10..220)
    height_mm = 40            # the label, along the feed (5..500)
    gap_mm = 3                # optional: the gap between labels (default 3)

    [[elements]]              # 1 to 50 of them
    type = "text"             # text | price | barcode | box | line
    x = 2
    y = 2
    size = 10                 # text and price: points (1/72 inch), 5..96
    text = "{name}"

    [[elements]]
    type = "barcode"
    x = 2
    y = 24
    height = 12               # bar height, 3..200
    symbology = "EAN13"       # EAN13 | CODE128
    data = "{barcode}"        # optional, "{barcode}" by default

A ``price`` is a text whose ``text`` defaults to ``"{price}"``. A ``box`` has
``width``, ``height`` and ``thickness`` (default 0.3); a ``line`` has
``length``, ``thickness`` (default 0.3) and ``vertical`` (default false).
Every element must start on the label and end on it (a text's height is its
size in points). Text and barcode data are template strings whose
placeholders are the names in `PLACEHOLDERS`; any other brace is an error.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from hw.labels.template import (
    BRACED,
    MAX_ELEMENTS,
    MAX_TEXT,
    PLACEHOLDERS,
    Barcode,
    Box,
    Element,
    LabelTemplate,
    LabelTemplateError,
    Line,
    Price,
    Symbology,
    Text,
    text_height_mm,
)


class _Invalid(Exception):
    """A parser's refusal; its one argument says what was expected."""


class _Required(Enum):
    REQUIRED = "required"


_REQ = _Required.REQUIRED
_Parser = Callable[[Any], Any]
_Schema = Mapping[str, tuple[_Parser, Any]]


def _number(lo: float, hi: float) -> _Parser:
    def parse(v: Any) -> float:
        # A TOML boolean is an int to Python; it is never a length here.
        ok = isinstance(v, int | float) and not isinstance(v, bool)
        # The range check alone also refuses nan and inf, and unlike math.isfinite it
        # takes an integer of any size.
        if not ok or not lo <= v <= hi:
            raise _Invalid(f"a number of mm between {lo:g} and {hi:g}")
        return float(v)

    return parse


def _points(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not 5 <= v <= 96:
        raise _Invalid("a whole number of points between 5 and 96")
    return v


def _string(v: Any) -> str:
    if not isinstance(v, str) or not v.strip() or len(v) > MAX_TEXT:
        raise _Invalid(f"a non-empty string of at most {MAX_TEXT} characters")
    return v


def _flag(v: Any) -> bool:
    if not isinstance(v, bool):
        raise _Invalid("true or false")
    return v


def _symbology(v: Any) -> Symbology:
    names = [s.value for s in Symbology]
    if not isinstance(v, str) or v not in names:
        raise _Invalid("one of " + ", ".join(repr(n) for n in names))
    return Symbology(v)


_X = (_number(0, 1000), _REQ)
_THICKNESS = (_number(0.1, 10), 0.3)

_ELEMENTS: Mapping[str, tuple[type[Any], _Schema]] = {
    "text": (Text, {"x": _X, "y": _X, "size": (_points, _REQ), "text": (_string, _REQ)}),
    "price": (Price, {"x": _X, "y": _X, "size": (_points, _REQ), "text": (_string, "{price}")}),
    "barcode": (
        Barcode,
        {
            "x": _X,
            "y": _X,
            "height": (_number(3, 200), _REQ),
            "data": (_string, "{barcode}"),
            "symbology": (_symbology, _REQ),
        },
    ),
    "box": (
        Box,
        {
            "x": _X,
            "y": _X,
            "width": (_number(0.5, 1000), _REQ),
            "height": (_number(0.5, 1000), _REQ),
            "thickness": _THICKNESS,
        },
    ),
    "line": (
        Line,
        {
            "x": _X,
            "y": _X,
            "length": (_number(0.5, 1000), _REQ),
            "thickness": _THICKNESS,
            "vertical": (_flag, False),
        },
    ),
}
"""Each element type's class and keys (``type`` itself aside)."""

_TOP: _Schema = {
    "name": (_string, _REQ),
    "width_mm": (_number(10, 220), _REQ),
    "height_mm": (_number(5, 500), _REQ),
    "gap_mm": (_number(0, 20), 3.0),
    "elements": (lambda v: v, _REQ),  # checked element by element below
}


def _show(v: Any) -> str:
    text = repr(v)
    return f"{text if len(text) <= 60 else text[:57] + '...'} ({type(v).__name__})"


@dataclass(frozen=True)
class _Where:
    source: str
    key: str = ""

    def at(self, part: str | int) -> _Where:
        if isinstance(part, int):
            return _Where(self.source, f"{self.key}[{part}]")
        return _Where(self.source, f"{self.key}.{part}" if self.key else part)

    def error(self, detail: str) -> LabelTemplateError:
        return LabelTemplateError(self.source, self.key, detail)


def _read(raw: Any, schema: _Schema, where: _Where, ignore: str = "") -> dict[str, Any]:
    """The table's values by key, parsed and defaulted; errors name the dotted key."""
    if not isinstance(raw, dict):
        raise where.error(f"expected a table, got {_show(raw)}")
    known = [*schema, ignore] if ignore else list(schema)
    for key in raw:
        if key not in known:
            detail = "unknown key; expected one of: " + ", ".join(known)
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise where.at(str(key)).error(detail + hint)
    out: dict[str, Any] = {}
    for name, (parse, default) in schema.items():
        if name not in raw:
            if default is _REQ:
                raise where.at(name).error("missing key")
            out[name] = default
            continue
        try:
            out[name] = parse(raw[name])
        except _Invalid as invalid:
            raise where.at(name).error(f"expected {invalid}, got {_show(raw[name])}") from None
    return out


def _check_placeholders(template: str, where: _Where) -> None:
    for name in BRACED.findall(template):
        if name not in PLACEHOLDERS:
            close = difflib.get_close_matches(name, PLACEHOLDERS, n=1)
            hint = f"; did you mean {{{close[0]}}}?" if close else ""
            known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            raise where.error(f"unknown placeholder {{{name}}}; known: {known}{hint}")
    if "{" in BRACED.sub("", template) or "}" in BRACED.sub("", template):
        raise where.error(f"{template!r} has a brace that is not part of a placeholder")


def _check_inside(element: Element, width: float, height: float, where: _Where) -> None:
    """Refuse an element that starts or ends outside the label."""
    if element.x >= width:
        raise where.at("x").error(f"x={element.x:g} mm is outside the {width:g} mm wide label")
    if element.y >= height:
        raise where.at("y").error(f"y={element.y:g} mm is outside the {height:g} mm tall label")
    ends: list[tuple[str, float, float, str]] = []  # key, end, limit, what ends there
    match element:
        case Text() | Price():
            tall = text_height_mm(element.size)
            ends.append(("size", element.y + tall, height, f"{element.size} pt text"))
        case Barcode():
            ends.append(("height", element.y + element.height, height, "the bars"))
        case Box():
            ends.append(("width", element.x + element.width, width, "the box"))
            ends.append(("height", element.y + element.height, height, "the box"))
        case _:  # a Line: its length runs one way and its thickness the other
            start, side, long_limit, side_limit = (element.x, element.y, width, height)
            if element.vertical:
                start, side, long_limit, side_limit = (element.y, element.x, height, width)
            ends.append(("length", start + element.length, long_limit, "the line"))
            ends.append(("thickness", side + element.thickness, side_limit, "the line"))
    for key, end, limit, what in ends:
        if end > limit + 1e-9:
            raise where.at(key).error(
                f"{what} would end at {end:g} mm, past the label's {limit:g} mm edge"
            )


def _check_thickness(element: Box | Line, where: _Where) -> None:
    shortest = min(element.width, element.height) if isinstance(element, Box) else element.length
    if element.thickness > shortest:
        raise where.at("thickness").error(
            f"{element.thickness:g} mm is thicker than the {shortest:g} mm it draws"
        )


def _element(raw: Any, width: float, height: float, where: _Where) -> Element:
    if not isinstance(raw, dict):
        raise where.error(f"expected a table, got {_show(raw)}")
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in _ELEMENTS:
        names = ", ".join(repr(k) for k in _ELEMENTS)
        detail = "missing key" if "type" not in raw else f"expected one of {names}"
        if "type" in raw:
            detail += f", got {_show(kind)}"
        raise where.at("type").error(detail)
    cls, schema = _ELEMENTS[kind]
    element: Element = cls(**_read(raw, schema, where, ignore="type"))
    if isinstance(element, Text | Price):
        _check_placeholders(element.text, where.at("text"))
    elif isinstance(element, Barcode):
        _check_placeholders(element.data, where.at("data"))
    else:
        _check_thickness(element, where)
    _check_inside(element, width, height, where)
    return element


def parse_template(data: Mapping[str, Any], source: str) -> LabelTemplate:
    """The template `data` describes; `LabelTemplateError` names `source` and the key
    of the first thing wrong (see the module docstring for the form)."""
    where = _Where(source)
    top = _read(dict(data) if isinstance(data, Mapping) else data, _TOP, where)
    raw_elements = top["elements"]
    here = where.at("elements")
    if not isinstance(raw_elements, list) or not 1 <= len(raw_elements) <= MAX_ELEMENTS:
        raise here.error(
            f"expected an array of 1 to {MAX_ELEMENTS} tables, got {_show(raw_elements)}"
        )
    elements = tuple(
        _element(raw, top["width_mm"], top["height_mm"], here.at(i))
        for i, raw in enumerate(raw_elements)
    )
    return LabelTemplate(top["name"], top["width_mm"], top["height_mm"], elements, top["gap_mm"])


def read_template_file(path: Path) -> dict[str, Any]:
    """A template file's table, unchecked; `LabelTemplateError` names a file that
    cannot be read or is not TOML."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise LabelTemplateError(str(path), "", f"cannot read it: {err.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise LabelTemplateError(str(path), "", f"not valid TOML: {err}") from None
    except (ValueError, RecursionError) as err:  # a 5,000-digit integer; arrays nested deep
        raise LabelTemplateError(str(path), "", f"not usable TOML: {err}") from None


def load_template(path: Path) -> LabelTemplate:
    """The template in a TOML file; `LabelTemplateError` names the file."""
    return parse_template(read_template_file(path), str(path))
