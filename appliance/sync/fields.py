"""Strict JSON and checked fields: the layer under every message of the wire protocol.

Bytes become JSON only when they are UTF-8, within the size and nesting limits, with
finite numbers and no half of a surrogate pair, so whatever decodes can be encoded
again. A field is read only through a check that names it and the problem
(`checked`, `only`, `positive`, `iso_time`); a failure is a WireError carrying that
text, which the back office puts in a rejected ack and the register in its log.
Stdlib only, like `wire`.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from typing import Any

MAX_PAYLOAD = 256 * 1024
MAX_DEPTH = 32
HEX64 = re.compile(r"[0-9a-f]{64}")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class WireError(ValueError):
    """A message that is not valid v1; the text names the field and the problem."""


def canonical(data: Any) -> bytes:
    """Canonical JSON bytes (the same rules as the domain's codec)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _depth(value: Any, limit: int) -> int:
    """How deep containers nest in `value`, counted level by level (stops past `limit`)."""
    level, containers = 0, [value] if isinstance(value, dict | list) else []
    while containers and level <= limit:
        level += 1
        inner = []
        for item in containers:
            for child in item.values() if isinstance(item, dict) else item:
                if isinstance(child, dict | list):
                    inner.append(child)
        containers = inner
    return max(level, 1)


def _not_a_number(text: str) -> float:
    raise ValueError(f"{text} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is out of range")
    return value


def strict_json(raw: bytes, what: str) -> Any:
    """`raw` as strict JSON: UTF-8, finite numbers, and no half of a surrogate pair, so
    whatever decodes can be encoded again (the register's cache, the back office's store)."""
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_not_a_number, parse_float=_finite)
    except (ValueError, RecursionError) as exc:  # also int()'s digit limit and bad UTF-8
        raise WireError(f"{what}: not JSON ({str(exc)[:80]})") from None
    if _SURROGATE_ESCAPE.search(raw):
        try:
            canonical(data)
        except UnicodeEncodeError:
            raise WireError(f"{what}: not JSON (a \\u escape of half a surrogate pair)") from None
        except RecursionError:
            raise WireError(f"{what}: nested too deeply") from None
    return data


def load_object(raw: bytes, what: str) -> dict[str, Any]:
    """`raw` as a strict JSON object within the size and nesting limits."""
    if len(raw) > MAX_PAYLOAD:
        raise WireError(f"{what}: {len(raw)} bytes is over the {MAX_PAYLOAD} limit")
    data = strict_json(raw, what)
    if not isinstance(data, dict):
        raise WireError(f"{what}: expected an object")
    # nesting never goes deeper than the brackets there are: a sale (a dozen) needs no walk
    if raw.count(b"{") + raw.count(b"[") > MAX_DEPTH and _depth(data, MAX_DEPTH) > MAX_DEPTH:
        raise WireError(f"{what}: nested deeper than {MAX_DEPTH}")
    return data


def only(data: dict[str, Any], allowed: set[str]) -> None:
    """No field but `allowed` (and the version `v`)."""
    unknown = sorted(set(data) - allowed - {"v"})
    if unknown:
        raise WireError(f"{unknown[0][:40]}: unknown field")


def checked(
    data: dict[str, Any],
    name: str,
    kind: type,
    pattern: re.Pattern[str] | None = None,
    choices: tuple[str, ...] = (),
    required: bool = True,
) -> Any:
    """`data[name]`, checked: present (unless not `required`), of `kind` (a bool is never
    an int), matching `pattern` and one of `choices` when given."""
    if name not in data:
        if required:
            raise WireError(f"{name}: missing")
        return None
    value = data[name]
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
        raise WireError(f"{name}: expected {kind.__name__}, got {type(value).__name__}")
    if pattern is not None and not (isinstance(value, str) and pattern.fullmatch(value)):
        raise WireError(f"{name}: malformed value {str(value)[:40]!r}")
    if choices and value not in choices:
        raise WireError(f"{name}: expected one of {', '.join(choices)}, got {str(value)[:40]!r}")
    return value


_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?")


def is_iso_time(value: str) -> bool:
    """True for an ISO 8601 date and time (offset optional), in the extended form only:
    never free text, and never more than 10 digits in a row for a card number to hide in."""
    if not _ISO_TIME.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:  # a 13th month, a 25th hour
        return False
    return True


def iso_time(data: dict[str, Any], name: str, *, empty: bool = False) -> str:
    """`data[name]`, an ISO 8601 time (or "" when `empty` is allowed)."""
    value: str = checked(data, name, str)
    if not (is_iso_time(value) or (empty and value == "")):
        raise WireError(f"{name}: expected an ISO 8601 time, got {value[:40]!r}")
    return value


def positive(data: dict[str, Any], name: str) -> int:
    """`data[name]`, an int of 1 or more."""
    value: int = checked(data, name, int)
    if value < 1:
        raise WireError(f"{name}: must be 1 or more, got {value}")
    return value
