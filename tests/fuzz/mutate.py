"""Mutation strategies shared by the fuzz suite: bytes, plain-data documents, their text.

A valid input goes in, a drawn number of mutations are applied to it, and what comes
out is mostly still shaped like the valid input, so it reaches past the first check.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

SCALE = max(1, int(os.environ.get("FUZZ_SCALE", "1")))
"""A multiplier of every property's examples, for a longer run by hand."""


def fuzz(examples: int) -> settings:
    """Deterministic settings for a fuzz property of `examples` examples (times FUZZ_SCALE)."""
    return settings(
        max_examples=examples * SCALE,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.filter_too_much],
    )  # fmt: skip


def check_message(exc: BaseException, *, starts: str | Sequence[str] = "") -> str:
    """`exc`'s message, checked: not empty, not just a repr of nothing, and (if `starts`
    is given) beginning with it, i.e. naming the place that was wrong."""
    text = str(exc)
    assert text.strip(), f"{type(exc).__name__} with an empty message"
    assert len(text.strip()) >= 8, f"{type(exc).__name__}: {text!r} says too little"
    prefixes = (starts,) if isinstance(starts, str) else tuple(starts)
    if prefixes and prefixes != ("",):
        assert text.startswith(prefixes), f"{text!r} does not start with one of {prefixes}"
    return text


# --- bytes ---------------------------------------------------------------------------------

INTERESTING_BYTES = [0x00, 0x01, 0x02, 0x03, 0x09, 0x0A, 0x0D, 0x10, 0x1B, 0x1D, 0x20, 0x22,
                     0x2C, 0x2E, 0x30, 0x39, 0x3F, 0x5B, 0x5C, 0x5D, 0x7B, 0x7D, 0x7F, 0x80,
                     0xC3, 0xED, 0xFE, 0xFF]  # fmt: skip
"""Controls, separators, digits, quotes, brackets and UTF-8 lead bytes."""
NOT_UTF8 = [b"\xff", b"\xc3", b"\xc3\x28", b"\xed\xa0\x80", b"\xf0\x28\x8c\x28", b"\x80",
            b"\xef\xbb\xbf", b"\xe2\x82"]  # fmt: skip
"""Invalid or awkward UTF-8: a lone continuation byte, an encoded surrogate, a BOM..."""


@st.composite
def mutated_bytes(
    draw: st.DrawFn,
    valid: bytes | st.SearchStrategy[bytes],
    max_ops: int = 4,
    tokens: Sequence[bytes] = (),
    max_len: int = 4096,
) -> bytes:
    """`valid` with 1 to `max_ops` byte mutations; `tokens` are extra insertable pieces
    (a protocol's own delimiters and keywords)."""
    seed = draw(valid) if isinstance(valid, st.SearchStrategy) else valid
    data = bytearray(seed)
    pieces = [*tokens, *NOT_UTF8]
    for _ in range(draw(st.integers(1, max_ops))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["flip", "set", "truncate", "delete", "insert", "token",
                                   "duplicate", "splice", "repeat"]))  # fmt: skip
        if op in ("flip", "set") and at < len(data):
            if op == "flip":
                data[at] ^= 1 << draw(st.integers(0, 7))
            else:
                data[at] = draw(st.sampled_from(INTERESTING_BYTES) | st.integers(0, 255))
        elif op == "truncate":
            del data[at:]
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 8))]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "token" and pieces:
            data[at:at] = draw(st.sampled_from(pieces))
        elif op == "duplicate":
            end = draw(st.integers(at, len(data)))
            data[at:at] = data[at:end]
        elif op == "splice":
            other = draw(valid) if isinstance(valid, st.SearchStrategy) else seed
            start = draw(st.integers(0, len(other)))
            data[at:] = other[start:]
        elif op == "repeat":
            end = min(len(data), at + draw(st.integers(1, 4)))
            data[at:at] = data[at:end] * draw(st.integers(2, 64))
    return bytes(data[:max_len])


@st.composite
def chunked(draw: st.DrawFn, data: bytes, max_chunks: int = 12) -> list[bytes]:
    """`data` cut at drawn places, as a serial port or a socket delivers it."""
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=max_chunks)))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


# --- plain-data documents (JSON and TOML shaped) ------------------------------------------


@dataclass(frozen=True)
class Raw:
    """A token written into the text as it is: something the serializers cannot make
    (an integer of 5,000 digits, 1e400, a lone surrogate escape, a duplicate key)."""

    text: str

    def __repr__(self) -> str:
        shown = self.text if len(self.text) <= 24 else f"{self.text[:12]}...{self.text[-6:]}"
        return f"Raw({shown!r}, {len(self.text)} characters)"


DELETE = object()
"""A replacement that removes the key (or the array item) instead."""


def deep(levels: int, inner: Any = 1, kind: str = "list") -> Any:
    """`inner` nested `levels` deep in lists (or tables)."""
    value = inner
    for _ in range(levels):
        value = [value] if kind == "list" else {"a": value}
    return value


HUGE_INT = Raw("9" * 5000)
"""More digits than int() takes from text (Python's 4,300-digit limit)."""

plain_scalars: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from([None, True, False, 0, -1, 1, 2**31, 2**63, -(2**63) - 1, 2**64, 10**30,
                     0.5, -0.0, 1e-320, 1.7976931348623157e308, math.nan, math.inf, -math.inf,
                     "", " ", "0", "-1", "1e999999999", "NaN", "Infinity", "-0", "0x10", "1_000",
                     "١٢٣", "²", "ⅷ", "\x00", "\u202e", "\ufeff", "\ud800", "a\nb", "{", "}",
                     "{name", "{price}", "%s", "/", "+", "#", "../..", "2026-13-45T25:61:00",
                     "2026-01-01T00:00:00+05:00", datetime(2026, 1, 1, 12), date(2026, 1, 1),
                     time(12, 30)]),
    st.sampled_from([300, 1000, 70_000]).map(lambda n: "é" * n),  # long (the repr stays short)
    st.integers(),
    st.floats(),
    st.text(max_size=20),
)  # fmt: skip
"""Values of every plain-data type and then some, each a common way to break a reader."""

plain_values: st.SearchStrategy[Any] = st.one_of(
    plain_scalars,
    st.sampled_from([[], {}, [[]], [{}], {"": None}, [1, "a", None], {"a": {"b": {"c": []}}}]),
    st.integers(20, 300).map(deep),
    st.integers(20, 300).map(lambda n: deep(n, kind="table")),
    st.lists(plain_scalars, max_size=4),
    st.dictionaries(st.text(max_size=6), plain_scalars, max_size=3),
)
"""Any value, containers included (nested as deep as a parser hands back)."""

raw_tokens: st.SearchStrategy[Raw] = st.one_of(
    st.sampled_from([HUGE_INT, Raw("-" + "9" * 5000), Raw("1e400"), Raw("-1e400"),
                     Raw("1" + "0" * 400 + ".5"), Raw('"\\ud800"'), Raw('"\\udfff\\ud800"'),
                     Raw('"\\u0000"')]),
    st.integers(400, 5000).map(lambda n: Raw("[" * n + "1" + "]" * n)),
)  # fmt: skip
"""Text no serializer writes: 5,000-digit numbers, 1e400, lone surrogate escapes, and
arrays nested deeper than any recursive parser goes (valid JSON and TOML alike)."""

text_values: st.SearchStrategy[Any] = plain_values | raw_tokens
"""`plain_values` and `raw_tokens`: for documents written out as text."""


def paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in `doc` (tables and arrays), the root's children first."""
    out: list[tuple[Any, ...]] = []
    items: Any = doc.items() if isinstance(doc, dict) else []
    if isinstance(doc, list):
        items = enumerate(doc)
    for key, value in items:
        here = (*prefix, key)
        out.append(here)
        out += paths(value, here)
    return out


def replaced(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A copy of `doc` with the value at `path` replaced by `value` (DELETE removes it)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        copy = dict(doc)
        new = replaced(copy[head], rest, value)
        if new is DELETE:
            del copy[head]
        else:
            copy[head] = new
        return copy
    items = list(doc)
    new = replaced(items[head], rest, value)
    if new is DELETE:
        del items[head]
    else:
        items[head] = new
    return items


@st.composite
def mutated_doc(
    draw: st.DrawFn,
    doc: Any,
    values: st.SearchStrategy[Any] = plain_values,
    max_ops: int = 3,
    keys: Sequence[str] = (),
) -> Any:
    """`doc` with 1 to `max_ops` structural mutations: a value replaced by one of another
    type (or an extreme one), a key deleted, a key added (one of `keys`, or any), or an
    array item duplicated."""
    for _ in range(draw(st.integers(1, max_ops))):
        everywhere = paths(doc)
        op = draw(st.sampled_from(["replace", "replace", "delete", "add", "duplicate"]))
        if not everywhere:
            op = "add"
        if op == "replace":
            doc = replaced(doc, draw(st.sampled_from(everywhere)), draw(values))
        elif op == "delete":
            doc = replaced(doc, draw(st.sampled_from(everywhere)), DELETE)
        elif op == "add":
            tables = [p for p in [(), *everywhere] if isinstance(_at(doc, p), dict)]
            if tables:
                where = draw(st.sampled_from(tables))
                key = draw(st.sampled_from(keys) if keys else st.text(max_size=8))
                table = dict(_at(doc, where))
                table[key] = draw(values)
                doc = replaced(doc, where, table)
        else:
            arrays = [p for p in [(), *everywhere] if isinstance(_at(doc, p), list)]
            arrays = [p for p in arrays if _at(doc, p)]
            if arrays:
                where = draw(st.sampled_from(arrays))
                items = list(_at(doc, where))
                items.append(items[draw(st.integers(0, len(items) - 1))])
                doc = replaced(doc, where, items)
    return doc


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def _with_raw(doc: Any, raws: list[str]) -> Any:
    """`doc` with each Raw replaced by a placeholder string, its text kept in `raws`."""
    if isinstance(doc, Raw):
        raws.append(doc.text)
        return f"\x00raw{len(raws) - 1}\x00"
    if isinstance(doc, dict):
        return {k: _with_raw(v, raws) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_with_raw(v, raws) for v in doc]
    return doc


_PLACEHOLDER = re.compile(r'"\\u0000raw(\d+)\\u0000"|"\x00raw(\d+)\x00"')


def _put_back(text: str, raws: list[str]) -> str:
    return _PLACEHOLDER.sub(lambda m: raws[int(m[1] or m[2])], text)


def json_bytes(doc: Any, ascii_only: bool = False) -> bytes:
    """`doc` as JSON (NaN and Infinity as Python writes them, dates as strings), Raw
    tokens put in as text; a lone surrogate is written as its escape (it has no UTF-8)."""
    raws: list[str] = []
    text = json.dumps(_with_raw(doc, raws), ensure_ascii=ascii_only, default=str)
    text = _put_back(text, raws)
    return text.encode("utf-8", "backslashreplace")


# --- TOML ------------------------------------------------------------------------------


def _toml_str(s: str) -> str:
    # JSON's escapes are TOML's, save that TOML also wants DEL escaped and has no \/.
    return json.dumps(s, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(v: Any) -> str:
    """One TOML value, inline (tables as inline tables); None, which TOML lacks, as ""."""
    if isinstance(v, Raw):
        return v.text
    if v is None:
        return '""'
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(repr(v), repr(v))
    if isinstance(v, int):
        return str(v) if abs(v) < 10**4000 else "9" * 5000
    if isinstance(v, str):
        return _toml_str(v)
    if isinstance(v, datetime | date | time):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return "{" + ", ".join(f"{_toml_str(str(k))} = {toml_value(x)}" for k, x in v.items()) + "}"


def toml_text(doc: dict[str, Any]) -> str:
    """`doc` as TOML text: one `key = value` line per top-level key, tables inline."""
    return "".join(f"{_toml_str(str(k))} = {toml_value(v)}\n" for k, v in doc.items())


def toml_bytes(doc: dict[str, Any]) -> bytes:
    """`toml_text` as bytes; a lone surrogate is written as its (invalid) UTF-8."""
    return toml_text(doc).encode("utf-8", "surrogatepass")
