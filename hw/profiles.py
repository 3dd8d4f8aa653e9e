"""Device profiles: what the field knows about each model, kept as data.

Theory of operation: each ``config/devices/<name>.toml`` describes one model in
one interface mode (a scanner with a USB and an RS-232 cable is two files).
`load_profiles` checks every ``*.toml`` in a directory strictly against the schema
below, where each key is a `_Field` with its one doc string, parser and default: an
unknown key, a wrong type, a missing key, a bad USB id or a protocol the kind does
not speak fails at load naming the file and dotted key, as ``appliance/config.py``
does. Quirks are typed per kind (`ScaleQuirks`...), not a dict. `ProfileIndex`
answers which profile claims a USB id and which is called a name; two files
claiming one USB id is a load error, so a match is never a coin toss.

The directory is, in order: the ``directory`` argument, ``$HW_DEVICE_PROFILES``,
the repository's ``config/devices`` next to this package.
"""

# RUF009 cannot see that _key() returns a dataclasses.field().
# ruff: noqa: RUF009

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from enum import Enum
from pathlib import Path
from typing import Any

from hw.ports import DeviceKind
from hw.protocols.scale import WeightUnit
from hw.serial_settings import SerialSettings

PACKAGED_DEVICES = Path(__file__).resolve().parent.parent / "config" / "devices"
DEVICES_ENV = "HW_DEVICE_PROFILES"

PROTOCOLS: Mapping[DeviceKind, tuple[str, ...]] = {
    DeviceKind.SCALE: ("hid", "toledo8217", "mtsics", "nci"),
    DeviceKind.RECEIPT_PRINTER: ("escpos",),
    DeviceKind.LABEL_PRINTER: ("zpl", "tspl", "escpos"),
    # A printer-driven drawer is kicked with the printer's ESC/POS pulse command.
    DeviceKind.CASH_DRAWER: ("escpos",),
    DeviceKind.SCANNER: ("serial", "wedge"),
}
"""The protocol names each kind of device may declare."""

SERIAL_PROTOCOLS = frozenset({"toledo8217", "mtsics", "nci", "serial"})
"""Protocols spoken over a serial line: their profiles must give ``[serial]``."""

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")  # a profile name is named in register.toml


class ProfileError(Exception):
    """An unusable device profile, naming the file, the dotted key and what was wrong."""

    def __init__(self, file: str, key: str, detail: str) -> None:
        self.file = file
        self.key = key
        super().__init__(f"{file}: {key}: {detail}" if key else f"{file}: {detail}")


class UnknownProfileError(LookupError):
    """No profile has the name asked for; the message lists the known names."""


# --- the schema: one _Field per key, each documented once ---------------------------


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


def _show(v: Any) -> str:
    kinds = [(bool, "a boolean"), (str, "a string"), (int, "an integer"), (float, "a float")]
    kinds += [(list, "an array"), (dict, "a table")]
    kind = next((name for t, name in kinds if isinstance(v, t)), f"a {type(v).__name__}")
    text = repr(v)
    return f"{text if len(text) <= 60 else text[:57] + '...'} ({kind})"


@dataclass(frozen=True)
class _Where:
    """A place in one file, for error messages."""

    file: str
    path: tuple[str | int, ...] = ()

    def at(self, *parts: str | int) -> _Where:
        return _Where(self.file, (*self.path, *parts))

    @property
    def key(self) -> str:
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else part
        return out

    def error(self, detail: str) -> ProfileError:
        return ProfileError(self.file, self.key, detail)

    def bad(self, expected: str, got: Any) -> ProfileError:
        return self.error(f"expected {expected}, got {_show(got)}")

    def unknown(self, known: Iterable[str]) -> ProfileError:
        names = list(known)
        detail = "unknown key; expected one of: " + ", ".join(names)
        close = difflib.get_close_matches(str(self.path[-1]), names, n=1)
        if close:
            detail += f"; did you mean {close[0]!r}?"
        return self.error(detail)


def _read(raw: Any, schema: Mapping[str, _Field], where: _Where) -> dict[str, Any]:
    """The table's values by key, parsed, defaulted and checked against `schema`."""
    if not isinstance(raw, dict):
        raise where.bad("a table", raw)
    for key in raw:
        if key not in schema:
            raise where.at(key).unknown(schema)
    out: dict[str, Any] = {}
    for name, spec in schema.items():
        here = where.at(name)
        if name in raw:
            try:
                out[name] = spec.parse(raw[name])
            except _Invalid as e:
                raise here.bad(e.args[0], raw[name]) from None
        elif spec.default is _Missing.REQUIRED:
            raise here.error(f"missing required key ({spec.doc})")
        else:
            out[name] = spec.default
    return out


def _read_usb(raw: Any, where: _Where) -> tuple[UsbMatch, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise where.bad("an array of tables ([[usb]] entries)", raw)
    return tuple(UsbMatch(**_read(item, _USB, where.at(i))) for i, item in enumerate(raw))


def _cross_check(profile: DeviceProfile, where: _Where) -> None:
    """Refuse combinations each key allows alone but the device cannot have."""
    if profile.protocol not in PROTOCOLS[profile.kind]:
        known = ", ".join(repr(p) for p in PROTOCOLS[profile.kind])
        got = _show(profile.protocol)
        raise where.at("protocol").error(
            f"expected one of {known} for a {profile.kind.value}, got {got}"
        )
    if profile.protocol in SERIAL_PROTOCOLS and profile.serial is None:
        raise where.at("serial").error(
            f"missing table; protocol {profile.protocol!r} talks over a serial line, "
            "so [serial] must give its settings"
        )
    if profile.protocol == "wedge" and profile.serial is not None:
        raise where.at("serial").error(
            "a keyboard-wedge scanner has no serial line; remove [serial] or use protocol 'serial'"
        )
    quirks = profile.quirks
    if isinstance(quirks, ScannerQuirks) and quirks.prefix and quirks.suffix in quirks.prefix:
        raise where.at("quirks", "prefix").error(
            "the prefix contains the suffix, which ends a code"
        )
    if profile.protocol == "hid" and not profile.usb:
        raise where.at("usb").error(
            "missing entries; a HID scale is found by its USB ids, give at least one [[usb]]"
        )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except OSError as e:
        raise ProfileError(str(path), "", f"cannot read: {e}") from e
    except UnicodeDecodeError as e:
        raise ProfileError(str(path), "", f"not UTF-8 text: {e}") from e
    except tomllib.TOMLDecodeError as e:
        raise ProfileError(str(path), "", f"invalid TOML: {e}") from e


def load_profile(path: Path) -> DeviceProfile:
    """One profile file, checked; raise ProfileError naming the file and key if unusable."""
    where = _Where(str(path))
    if not _NAME.fullmatch(path.stem):
        raise where.error(
            f"file name {path.stem!r} must match {_NAME.pattern} (it is the profile's name)"
        )
    top = _read(_read_toml(path), _TOP, where)
    kind = DeviceKind(top["kind"])
    serial = None
    if top["serial"] is not None:
        serial = SerialSettings(**_read(top["serial"], _SERIAL, where.at("serial")))
    quirks_cls = _QUIRKS[kind]
    raw_quirks = {} if top["quirks"] is None else top["quirks"]
    quirks = quirks_cls(**_read(raw_quirks, _schema(quirks_cls), where.at("quirks")))
    profile = DeviceProfile(
        name=path.stem,
        kind=kind,
        manufacturer=top["manufacturer"],
        model=top["model"],
        protocol=top["protocol"],
        serial=serial,
        usb=_read_usb(top["usb"], where.at("usb")),
        quirks=quirks,
        source=path,
    )
    _cross_check(profile, where)
    return profile


def profiles_dir(directory: Path | None = None) -> Path:
    """The directory profiles load from: the argument, $HW_DEVICE_PROFILES, or the packaged one."""
    if directory is not None:
        return directory
    env = os.environ.get(DEVICES_ENV)
    return Path(env) if env else PACKAGED_DEVICES


def load_profiles(directory: Path | None = None) -> tuple[DeviceProfile, ...]:
    """Every ``*.toml`` profile in the directory, sorted by name; ProfileError if any is bad.

    Two profiles claiming the same USB id is an error too (naming the second file).
    """
    where = profiles_dir(directory)
    if not where.is_dir():
        raise ProfileError(str(where), "", "not a directory of device profiles")
    profiles = tuple(load_profile(path) for path in sorted(where.glob("*.toml")))
    claimed: dict[UsbMatch, DeviceProfile] = {}
    for profile in profiles:
        for i, match in enumerate(profile.usb):
            first = claimed.setdefault(match, profile)
            if first is not profile:
                raise _Where(str(profile.source), ("usb", i)).error(
                    f"USB id {match} is already claimed by {first.source.name}; "
                    "one id may name one profile only"
                )
    return profiles


class ProfileIndex:
    """Profiles looked up by USB id or by name; built explicitly, never at import."""

    def __init__(self, profiles: Iterable[DeviceProfile]) -> None:
        self._profiles = tuple(profiles)
        self._by_name = {p.name: p for p in self._profiles}
        self._by_usb = {(m.vid, m.pid): p for p in self._profiles for m in p.usb}

    @classmethod
    def load(cls, directory: Path | None = None) -> ProfileIndex:
        """An index over `load_profiles(directory)`."""
        return cls(load_profiles(directory))

    def __iter__(self) -> Iterator[DeviceProfile]:
        return iter(self._profiles)

    def __len__(self) -> int:
        return len(self._profiles)

    def match_usb(self, vid: int, pid: int) -> DeviceProfile | None:
        """The profile claiming this USB vendor/product id, or None."""
        return self._by_usb.get((vid, pid))

    def by_name(self, name: str) -> DeviceProfile:
        """The profile called `name` (its file name without .toml)."""
        try:
            return self._by_name[name]
        except KeyError:
            known = sorted(self._by_name)
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UnknownProfileError(
                f"no device profile {name!r}; known: {', '.join(known) or 'none'}{hint}"
            ) from None

    def of_kind(self, kind: DeviceKind) -> tuple[DeviceProfile, ...]:
        """Every profile of one kind, in name order."""
        return tuple(p for p in self._profiles if p.kind is kind)
