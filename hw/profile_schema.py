"""Device profile schema: every key a profile file may have, as typed data.

Each key is a `_Field` with its one doc string, parser and default; a parser takes
the raw TOML value and returns it typed or raises `_Invalid` saying what was
expected. The quirks are typed per kind (`ScaleQuirks`...), their fields made by
`_key` so the dataclass is its own schema (`_schema`). `DeviceProfile` is what a
loaded file becomes. Reading a file against this schema, the checks across keys and
the errors they raise live in ``hw/profiles.py``.
"""

# RUF009 cannot see that _key() returns a dataclasses.field().
# ruff: noqa: RUF009

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from enum import Enum
from pathlib import Path
from typing import Any

from hw.ports import DeviceKind
from hw.protocols.scale import WeightUnit
from hw.serial_settings import SerialSettings


class _Missing(Enum):
    REQUIRED = "required"


class _Invalid(Exception):
    """A parser's refusal; its one argument says what was expected."""


_Parser = Callable[[Any], Any]


@dataclass(frozen=True)
class _Field:
    doc: str
    parse: _Parser
    default: Any = _Missing.REQUIRED


def _key(doc: str, parse: _Parser, default: Any = _Missing.REQUIRED) -> Any:
    """A dataclass field carrying its schema entry (doc, parser, default) as metadata."""
    spec = _Field(doc, parse, default)
    if default is _Missing.REQUIRED:
        return field(metadata={"key": spec})
    return field(default=default, metadata={"key": spec})


def _schema(cls: type[Any]) -> dict[str, _Field]:
    return {f.name: f.metadata["key"] for f in fields(cls)}


def _int(lo: int, hi: int) -> _Parser:
    def parse(v: Any) -> int:
        # A TOML boolean is an int to Python; it is never a number here.
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise _Invalid(f"an integer between {lo} and {hi}")
        return v

    return parse


def _choice(*options: Any) -> _Parser:
    def parse(v: Any) -> Any:
        for option in options:
            if type(v) is type(option) and v == option:
                return v
        raise _Invalid("one of " + ", ".join(repr(o) for o in options))

    return parse


def _text(v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise _Invalid("a non-empty string")
    return v


def _flag(v: Any) -> bool:
    if not isinstance(v, bool):
        raise _Invalid("true or false")
    return v


def _stopbits(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or v not in (1, 1.5, 2):
        raise _Invalid("1, 1.5 or 2")
    return float(v)


def _capacity(v: Any) -> Decimal:
    expected = 'a positive decimal number such as 15 or "6.5"'
    if isinstance(v, bool) or not isinstance(v, int | float | str):
        raise _Invalid(expected)
    try:
        # repr is the shortest text that reads back as the float: 0.1 -> "0.1".
        d = Decimal(repr(v) if isinstance(v, float) else v)
    except (InvalidOperation, ValueError):
        raise _Invalid(expected) from None
    if not d.is_finite() or d <= 0:
        raise _Invalid(expected)
    return d


def _unit(v: Any) -> WeightUnit:
    units = [u.value for u in WeightUnit]
    if not isinstance(v, str) or v not in units:
        raise _Invalid("one of " + ", ".join(repr(u) for u in units))
    return WeightUnit(v)


def _hex_id(v: Any) -> int:
    if not isinstance(v, str) or not re.fullmatch(r"[0-9a-fA-F]{4}", v):
        raise _Invalid('four hex digits as a string, such as "04b8"')
    return int(v, 16)


_SUFFIX_NAMES = {"CR": b"\r", "LF": b"\n", "CRLF": b"\r\n", "TAB": b"\t"}


def _suffix(v: Any) -> bytes:
    if isinstance(v, str) and v in _SUFFIX_NAMES:
        return _SUFFIX_NAMES[v]
    if isinstance(v, str) and len(v) == 1 and ord(v) < 0x80:
        return v.encode("ascii")
    raise _Invalid('"CR", "LF", "CRLF", "TAB" or one ASCII character such as "\\u0003"')


def _prefix(v: Any) -> bytes:
    if not isinstance(v, str) or len(v) > 8 or not v.isascii():
        raise _Invalid('up to 8 ASCII characters ("" for none)')
    return v.encode("ascii")


def _table(v: Any) -> Any:
    return v  # checked by its own schema once the kind is known


@dataclass(frozen=True)
class ScaleQuirks:
    """What a scale's profile adds: its capacity, in the unit it reports."""

    capacity: Decimal = _key("Largest weight the scale may price, in `unit`.", _capacity)
    unit: WeightUnit = _key("Unit the scale reports in: g, kg, lb or oz.", _unit)


@dataclass(frozen=True)
class ReceiptPrinterQuirks:
    """Paper and hardware facts of a receipt printer."""

    paper_width_mm: int = _key("Roll width in mm.", _choice(58, 80))
    chars_per_line: int = _key("Characters per line in the default font.", _int(24, 64))
    drawer_status: bool = _key("Whether it reports the drawer sensor (DLE EOT 1).", _flag)
    cutter: bool = _key("Whether it has an auto-cutter.", _flag, True)


@dataclass(frozen=True)
class LabelPrinterQuirks:
    """Print head facts of a label printer."""

    dpi: int = _key("Print head resolution, dots per inch.", _choice(203, 300, 600))
    max_width_mm: int = _key("Widest label it prints, in mm.", _int(20, 220))


@dataclass(frozen=True)
class DrawerQuirks:
    """How a printer-driven cash drawer is kicked and how its sensor reads."""

    pin: int = _key("Printer drawer-kick connector pin it is wired to.", _choice(2, 5))
    # ESC p sends on/off times in 2 ms units, one byte each: 2..510 ms.
    pulse_on_ms: int = _key("Kick pulse length in ms.", _int(2, 510))
    pulse_off_ms: int = _key("Pause after the pulse in ms.", _int(2, 510))
    status_open_high: bool | None = _key(
        "Whether the sensor reads high when open; absent: no sensor.", _flag, None
    )


@dataclass(frozen=True)
class ScannerQuirks:
    """How a scanner frames a code, and how a wedge scan is told from typing."""

    prefix: bytes = _key("Characters the scanner sends before each code.", _prefix, b"")
    suffix: bytes = _key("What ends each code: CR, LF, CRLF, TAB or one char.", _suffix, b"\r")
    max_length: int = _key("Longest code accepted; longer is garbage.", _int(1, 4096), 128)
    wedge_min_chars: int = _key("Wedge: fewest chars a scan burst has.", _int(2, 64), 4)
    wedge_max_gap_ms: int = _key(
        "Wedge: a burst's keys come less than this many ms apart.", _int(1, 500), 35
    )


@dataclass(frozen=True)
class UsbMatch:
    """One USB vendor/product id pair a profile claims."""

    vid: int
    pid: int

    def __str__(self) -> str:
        return f"{self.vid:04x}:{self.pid:04x}"


Quirks = ScaleQuirks | ReceiptPrinterQuirks | LabelPrinterQuirks | DrawerQuirks | ScannerQuirks
"""A profile's quirks: the dataclass of its kind."""


@dataclass(frozen=True)
class DeviceProfile:
    """One model in one interface mode, as loaded from its TOML file."""

    name: str
    kind: DeviceKind
    manufacturer: str
    model: str
    protocol: str
    serial: SerialSettings | None
    usb: tuple[UsbMatch, ...]
    quirks: Quirks
    source: Path

    @property
    def title(self) -> str:
        """The name a field tech reads: manufacturer and model."""
        return f"{self.manufacturer} {self.model}"


_TOP: Mapping[str, _Field] = {
    "kind": _Field("What the device is.", _choice(*(k.value for k in DeviceKind))),
    "manufacturer": _Field("Who makes it, as printed on the device.", _text),
    "model": _Field("Model name, as printed on the device and shown to field techs.", _text),
    "protocol": _Field("How the register talks to it; PROTOCOLS lists each kind's.", _text),
    "serial": _Field("Serial line settings; required by serial protocols.", _table, None),
    "usb": _Field("USB vendor/product ids that identify it ([[usb]] entries).", _table, None),
    "quirks": _Field("Facts of the model, typed per kind ([quirks]).", _table, None),
}

_SERIAL: Mapping[str, _Field] = {
    "baudrate": _Field(
        "Line speed in baud.", _choice(1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
    ),
    "bytesize": _Field("Data bits per character.", _int(5, 8)),
    "parity": _Field("Parity: N(one), E(ven), O(dd), M(ark), S(pace).", _choice(*"NEOMS")),
    "stopbits": _Field("Stop bits: 1, 1.5 or 2.", _stopbits),
    "dtr": _Field("Hold DTR asserted (true) or not (false); absent: leave it.", _flag, None),
    "rts": _Field("Hold RTS asserted (true) or not (false); absent: leave it.", _flag, None),
}

_USB: Mapping[str, _Field] = {
    "vid": _Field("USB vendor id, four hex digits.", _hex_id),
    "pid": _Field("USB product id, four hex digits.", _hex_id),
}

_QUIRKS: Mapping[DeviceKind, type[Any]] = {
    DeviceKind.SCALE: ScaleQuirks,
    DeviceKind.RECEIPT_PRINTER: ReceiptPrinterQuirks,
    DeviceKind.LABEL_PRINTER: LabelPrinterQuirks,
    DeviceKind.CASH_DRAWER: DrawerQuirks,
    DeviceKind.SCANNER: ScannerQuirks,
}
