"""Card numbers are never stored: recognising one in free text.

The card is charged on the separate terminal; the register records only the
method, the amount and the terminal's reference. Any free text a cashier can
type (a card reference, a discount reason, a note) is checked here and refused
if it holds what looks like a card number: 13 to 19 digits, optionally split by
spaces or dashes, that pass the Luhn check.
"""

from __future__ import annotations

import re

_CANDIDATE = re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)")
# In JSON bytes: an ASCII run, a \u escape (it could spell digits), or any byte of a
# non-ASCII character (the str pattern's \d also matches other scripts' digits).
_RAW_CANDIDATE = re.compile(rb"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)|\\u|[\x80-\xff]")


def luhn_valid(digits: str) -> bool:
    """True when a string of digits passes the Luhn (mod 10) check."""
    checksum = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        checksum += d
    return checksum % 10 == 0


def may_hold_card_number(raw: bytes) -> bool:
    """False only when the JSON bytes `raw` cannot hold a card number in any string: no
    ASCII run of 13-19 digits, no `\\u` escape, no non-ASCII character. A cheap first look
    before checking every string of the decoded document with `contains_card_number`."""
    return _RAW_CANDIDATE.search(raw) is not None


def contains_card_number(text: str) -> bool:
    """True when `text` holds a run of 13-19 digits (spaces or dashes allowed) passing Luhn."""
    return any(luhn_valid(re.sub(r"[ -]", "", m.group())) for m in _CANDIDATE.finditer(text))
