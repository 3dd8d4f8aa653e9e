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


def luhn_valid(digits: str) -> bool:
    """True when a string of digits passes the Luhn (mod 10) check."""
    checksum = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        checksum += d
    return checksum % 10 == 0


def contains_card_number(text: str) -> bool:
    """True when `text` holds a run of 13-19 digits (spaces or dashes allowed) passing Luhn."""
    return any(luhn_valid(re.sub(r"[ -]", "", m.group())) for m in _CANDIDATE.finditer(text))
