"""Canonical JSON for domain records: one encoding, byte-stable, strictly decoded.

The encoding is what the register hashes into its sale chain and what the
back office stores, so it must not wobble: keys sorted, no spaces, UTF-8,
money as integer minor units (the currency is stated once on the record),
decimals as their shortest plain string ("3.5", "14", "0.05"), enums by value,
times as ISO 8601, absent values as null.

Decoding is driven by the dataclass type hints and names the path of any field
that is missing, of the wrong type or unknown (`lines[2].quantity: expected a
decimal string, got 3`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, TypeVar, Union

from appliance.domain.errors import EncodingError
from appliance.domain.money import Money

T = TypeVar("T")


def decimal_text(value: Decimal) -> str:
    """The canonical text of a decimal: plain notation, no trailing zeros."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def to_data(value: Any) -> Any:
    """A JSON-ready structure for a dataclass record (money as minor units)."""
    kind = type(value)
    encoder = _ENCODERS.get(kind)
    if encoder is None:
        encoder = _ENCODERS[kind] = _encoder_for(kind)
    return encoder(value)


def _record_encoder(kind: type) -> Callable[[Any], Any]:
    names = tuple(f.name for f in dataclasses.fields(kind))
    return lambda value: {name: to_data(getattr(value, name)) for name in names}


def _encoder_for(kind: type) -> Callable[[Any], Any]:
    """How to encode values of one type (found once per type, then looked up)."""
    if kind is Money:
        return lambda value: value.minor
    if issubclass(kind, Enum):
        return lambda value: value.value
    if kind in (bool, int, str, type(None)):
        return lambda value: value
    if issubclass(kind, Decimal):
        return decimal_text
    if issubclass(kind, datetime):
        return lambda value: value.isoformat()
    if issubclass(kind, (tuple, list)):
        return lambda value: [to_data(v) for v in value]
    if issubclass(kind, frozenset):
        return lambda value: sorted(to_data(v) for v in value)
    if dataclasses.is_dataclass(kind):
        return _record_encoder(kind)
    raise EncodingError(f"cannot encode {kind.__name__}")


_ENCODERS: dict[type, Callable[[Any], Any]] = {}


def dumps(value: Any) -> bytes:
    """Canonical JSON bytes of a record."""
    return json.dumps(
        to_data(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def _fail(path: str, expected: str, got: Any) -> EncodingError:
    shown = repr(got)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return EncodingError(f"{path}: expected {expected}, got {shown}")


Decoder = Callable[[Any, str, str], Any]
"""Decodes one JSON value of a known type: (data, currency, path) -> value."""


def _money(data: Any, currency: str, path: str) -> Money:
    if isinstance(data, bool) or not isinstance(data, int):
        raise _fail(path, "an integer of minor units", data)
    return Money(data, currency)


def _bool(data: Any, currency: str, path: str) -> bool:
    if not isinstance(data, bool):
        raise _fail(path, "true or false", data)
    return data


def _int(data: Any, currency: str, path: str) -> int:
    if isinstance(data, bool) or not isinstance(data, int):
        raise _fail(path, "an integer", data)
    return data


def _str(data: Any, currency: str, path: str) -> str:
    if not isinstance(data, str):
        raise _fail(path, "a string", data)
    return data


def _decimal(data: Any, currency: str, path: str) -> Decimal:
    if not isinstance(data, str):
        raise _fail(path, "a decimal string", data)
    try:
        number = Decimal(data)
    except InvalidOperation:
        raise _fail(path, "a decimal string", data) from None
    if not number.is_finite():
        raise _fail(path, "a finite decimal", data)
    if not -_DECIMAL_DIGITS <= number.adjusted() <= _DECIMAL_DIGITS:  # 1E+999999 is short text
        raise _fail(path, f"a decimal within 1E-{_DECIMAL_DIGITS} to 1E+{_DECIMAL_DIGITS}", data)
    return number


_DECIMAL_DIGITS = 18
"""No quantity, weight, rate or limit a shop records needs more digits either side of
the point; past them a decimal's plain text (the canonical encoding) could be huge."""


def _datetime(data: Any, currency: str, path: str) -> datetime:
    if not isinstance(data, str):
        raise _fail(path, "an ISO 8601 time", data)
    try:
        return datetime.fromisoformat(data)
    except ValueError:
        raise _fail(path, "an ISO 8601 time", data) from None


_SCALARS: dict[Any, Decoder] = {Money: _money, bool: _bool, int: _int, str: _str,
                                Decimal: _decimal, datetime: _datetime}  # fmt: skip


def _enum_decoder(hint: type[Enum]) -> Decoder:
    allowed = ", ".join(repr(m.value) for m in hint)

    def enum(data: Any, currency: str, path: str) -> Any:
        try:
            return hint(data)
        except ValueError:
            raise _fail(path, f"one of {allowed}", data) from None

    return enum


def _unsupported(hint: Any) -> Decoder:
    def unsupported(data: Any, currency: str, path: str) -> Any:
        raise EncodingError(f"{path}: cannot decode a {hint!r}")

    return unsupported


def _optional_decoder(inner: Decoder) -> Decoder:
    def optional(data: Any, currency: str, path: str) -> Any:
        return None if data is None else inner(data, currency, path)

    return optional


def _literal_decoder(allowed: tuple[Any, ...]) -> Decoder:
    expected = "one of " + ", ".join(repr(a) for a in allowed)

    def literal(data: Any, currency: str, path: str) -> Any:
        if data not in allowed:
            raise _fail(path, expected, data)
        return data

    return literal


def _sequence_decoder(build: Callable[[Any], Any], inner: Decoder) -> Decoder:
    def sequence(data: Any, currency: str, path: str) -> Any:
        if not isinstance(data, list):
            raise _fail(path, "a list", data)
        return build(inner(v, currency, f"{path}[{i}]") for i, v in enumerate(data))

    return sequence


@functools.cache
def _decoder(hint: Any) -> Decoder:
    """The decoder for a type, built once per type (reading hints is slow, decoding is hot)."""
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return _optional_decoder(_decoder(options[0]))
    if origin is typing.Literal:
        return _literal_decoder(typing.get_args(hint))
    if origin in (tuple, frozenset):
        (item,) = [a for a in typing.get_args(hint) if a is not Ellipsis]
        return _sequence_decoder(origin, _decoder(item))
    if dataclasses.is_dataclass(hint) and hint is not Money:
        return _record_decoder(hint)
    if hint in _SCALARS:
        return _SCALARS[hint]
    if isinstance(hint, type) and issubclass(hint, Enum):
        return _enum_decoder(hint)
    return _unsupported(hint)


def from_data(cls: type[T], data: Any, currency: str, path: str = "") -> T:
    """Build a record of type `cls` from decoded JSON, checking every field."""
    decode = _decoder(typing.cast(Any, cls))
    return typing.cast(T, decode(data, currency, path or cls.__name__))


def _taken_as_is(hint: Any) -> type | None:
    """The type a field's JSON value needs no check beyond: str, int or bool (or one of
    them or None). A bool is not an int here: `type(value) is int` is false for it."""
    if typing.get_origin(hint) in (Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        hint = options[0] if len(options) == 1 else None
    return hint if hint in (str, int, bool) else None


def _record_decoder(cls: Any) -> Decoder:
    hints = typing.get_type_hints(cls)
    fields = tuple(
        (f.name, _decoder(hints[f.name]), _taken_as_is(hints[f.name]), hints[f.name] is Money)
        for f in dataclasses.fields(cls)
    )
    known = frozenset(name for name, *_ in fields)

    def record(data: Any, currency: str, path: str) -> Any:
        if not isinstance(data, dict):
            raise _fail(path, "an object", data)
        if not known.issuperset(data):
            raise EncodingError(f"{path}: unknown field {sorted(set(data) - known)[0]!r}")
        values = {}
        for name, decode, exact, money in fields:
            try:
                value = data[name]
            except KeyError:
                raise EncodingError(f"{path}.{name}: missing") from None
            if type(value) is exact:  # the hot paths: no call, no path built
                values[name] = value
            elif money and type(value) is int:
                values[name] = Money(value, currency)
            else:
                values[name] = decode(value, currency, f"{path}.{name}")
        try:
            return cls(**values)
        except Exception as exc:  # a record's own validation (e.g. a negative price)
            raise EncodingError(f"{path}: {exc}") from None

    return record


def loads(cls: type[T], raw: bytes, currency_field: str = "currency") -> T:
    """Decode canonical JSON bytes into a record whose money uses its `currency` field."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EncodingError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise _fail(cls.__name__, "an object", data)
    currency = data.get(currency_field)
    if not isinstance(currency, str) or not (
        len(currency) == 3 and currency.isalpha() and currency.isupper()
    ):
        raise _fail(f"{cls.__name__}.{currency_field}", "a currency code", currency)
    return from_data(cls, data, currency)
