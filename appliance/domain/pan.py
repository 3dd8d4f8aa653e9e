"""Card numbers are never stored: recognising one in free text.

The card is charged on the separate terminal; the register records only the
method, the amount and the terminal's reference. Any free text a cashier can
type (a card reference, a discount reason, a note) is checked here and refused
if it holds what looks like a card number: 13 to 19 digits, optionally split by
spaces or dashes, that pass the Luhn check.

A run of digit groups (digits split by single spaces or dashes) is looked at window by
window: every span of whole groups holding 13 to 19 digits, so a card number followed by
a separator and more digits ("4111 1111 1111 1111 7") is still found. A group is never
cut: a longer unbroken number (a 20-digit reference) is one number, not a card's.
"""

from __future__ import annotations

import re
from typing import Any

IDENTIFIER_KEYS = ("id", "prev", "previous_hash")
"""Keys whose values are UUIDs or hex digests the wire checks the shape of, never free
text: a document's checks pass over them (hex often holds 13 digits in a row)."""

_RUN = re.compile(r"\d+(?:[ -]\d+)*")  # digit groups split by single spaces or dashes
_SEPARATOR = re.compile(r"[ -]")
_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_RAW_RUN = re.compile(rb"0[0 -]{12,}")  # in bytes whose digits all became 0: fast to search
_IDENTIFIER_OPENINGS = tuple(  # a key's quote follows { or , (else it is an escaped one)
    f'{before}"{key}":"'.encode() for key in IDENTIFIER_KEYS for before in "{,"
)


def luhn_valid(digits: str) -> bool:
    """True when a string of digits passes the Luhn (mod 10) check."""
    checksum = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        checksum += d
    return checksum % 10 == 0


def _holds_card_number(run: str) -> bool:
    """Whether a span of whole groups of `run` holds 13-19 digits that pass Luhn."""
    groups = _SEPARATOR.split(run)
    for first in range(len(groups)):
        digits = ""
        for group in groups[first:]:
            digits += group
            if len(digits) > 19:
                break
            if len(digits) >= 13 and luhn_valid(digits):
                return True
    return False


def contains_card_number(text: str) -> bool:
    """True when `text` holds 13-19 digits (whole groups split by spaces or dashes) that
    pass Luhn."""
    return any(_holds_card_number(m.group()) for m in _RUN.finditer(text) if len(m.group()) > 12)


def scrub(text: str) -> str:
    """`text` with every run of digits holding what looks like a card number replaced (for
    reasons and logs)."""

    def hide(match: re.Match[str]) -> str:
        return "[card number]" if _holds_card_number(match.group()) else match.group()

    return _RUN.sub(hide, text)


_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def raw_holds_card_number(raw: bytes) -> bool:
    """True when bytes that may not parse (a refused message, perhaps cut short) hold
    what looks like a card number as written, or once JSON's `\\u` escapes are read."""
    text = raw.decode("utf-8", "replace")
    unescaped = _JSON_ESCAPE.sub(lambda m: chr(int(m[1], 16)), text)
    return contains_card_number(text) or contains_card_number(unescaped)


def card_number_at(value: Any, path: str) -> str | None:
    """The path of the first string in decoded JSON `value` (outside the values of
    IDENTIFIER_KEYS) holding what looks like a card number; None when there is none."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in IDENTIFIER_KEYS:
                found = card_number_at(item, f"{path}.{key}")
                if found:
                    return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = card_number_at(item, f"{path}[{i}]")
            if found:
                return found
    elif isinstance(value, str) and contains_card_number(value):
        return path
    return None


def may_hold_card_number(raw: bytes) -> bool:
    """False only when `card_number_at` cannot find anything in the valid JSON bytes `raw`
    decoded. A cheap first look (a few microseconds for a sale) before that walk: True
    for any non-ASCII byte (other scripts have digits too) or `\\u` escape (it could spell
    digits), and for any run of 13 or more digits, spaces and dashes outside the string
    value of an identifier key in compact JSON."""
    if not raw.isascii() or b"\\u" in raw:
        return True
    for run in _RAW_RUN.finditer(raw.translate(_TO_ZERO)):
        # raw quotes cannot be inside a JSON string: the last one before the run opens
        # the string holding it (or closes the one before a number)
        opened = raw.rfind(b'"', 0, run.start()) + 1
        if not raw.endswith(_IDENTIFIER_OPENINGS, 0, opened):
            return True
    return False
