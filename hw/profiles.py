"""Device profiles: what the field knows about each model, kept as data.

Theory of operation: each ``config/devices/<name>.toml`` describes one model in
one interface mode (a scanner with a USB and an RS-232 cable is two files).
`load_profiles` checks every ``*.toml`` in a directory strictly against the schema
in ``hw/profile_schema.py``, where each key is a `_Field` with its one doc string,
parser and default: an unknown key, a wrong type, a missing key, a bad USB id or a
protocol the kind does not speak fails at load naming the file and dotted key, as
``appliance/config.py`` does. Quirks are typed per kind (`ScaleQuirks`...), not a
dict; the schema's types are re-exported here. `ProfileIndex`
answers which profile claims a USB id and which is called a name; two files
claiming one USB id is a load error, so a match is never a coin toss.

The directory is, in order: the ``directory`` argument, ``$HW_DEVICE_PROFILES``,
the repository's ``config/devices`` next to this package.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hw.ports import DeviceKind
from hw.profile_schema import (
    _QUIRKS,
    _SERIAL,
    _TOP,
    _USB,
    DeviceProfile,
    DrawerQuirks,
    LabelPrinterQuirks,
    Quirks,
    ReceiptPrinterQuirks,
    ScaleQuirks,
    ScannerQuirks,
    UsbMatch,
    _Field,
    _Invalid,
    _Missing,
    _schema,
)
from hw.serial_settings import SerialSettings

__all__ = [
    "DEVICES_ENV",
    "PACKAGED_DEVICES",
    "PROTOCOLS",
    "SERIAL_PROTOCOLS",
    "DeviceProfile",
    "DrawerQuirks",
    "LabelPrinterQuirks",
    "ProfileError",
    "ProfileIndex",
    "Quirks",
    "ReceiptPrinterQuirks",
    "ScaleQuirks",
    "ScannerQuirks",
    "UnknownProfileError",
    "UsbMatch",
    "load_profile",
    "load_profiles",
    "profiles_dir",
]

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


# --- reading a file against the schema ----------------------------------------------


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
