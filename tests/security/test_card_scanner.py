"""The no-card-data scanner excuses only what it can prove, and finds what it must."""

from __future__ import annotations

import time

from appliance.domain.pan import luhn_valid
from tests.security.card_scanner import Legit, scan


def _luhn_from(first: int) -> str:
    """`first` with the last digit that makes it pass Luhn."""
    tens = first - first % 10
    return next(str(n) for n in range(tens, tens + 10) if luhn_valid(str(n)))


def test_the_scanner_excuses_only_what_it_can_prove() -> None:
    now_ms = int(time.time() * 1000)
    legit = Legit(frozenset({"0067000000041"}), now_ms, now_ms)
    uuid_digits = _luhn_from(1234567890172348567)  # 8-4-4-3 digits of a UUID, then hex
    uuid = f"{uuid_digits[:8]}-{uuid_digits[8:12]}-{uuid_digits[12:16]}-{uuid_digits[16:]}a-"
    cases = {
        b'{"barcode": "0067000000041"}': "a catalogue barcode",
        b'"duration_s": 0.4111111111111111': "the fraction of a decimal number",
        f'"id": "{uuid}0123456789ab"'.encode(): "part of a UUID or hex digest",
        b'"hash": "' + b"ab" * 16 + b"4111111111111111" + b"cd" * 8 + b'"': (
            "part of a UUID or hex digest"
        ),
        # a SQLite record: an entry's hash chain digest, then the time stored beside it
        b"abcdefabcdefabcd89f48e1267c8dc28718df65e7f584148b79185ff660349622026-11-25T09:00:00": (
            "part of a UUID or hex digest"
        ),
        _luhn_from(now_ms - 3_600_000).encode(): "an epoch-millisecond time of this run",
        # a stale LMDB page: a sale id cut short by newer data written over its end
        b'"id":"01a25063-2099-7086-92eb-1d14d0f64\x00\x00\x0es1/r1/': (
            "part of a UUID cut short (a stale LMDB page)"
        ),
        # ... or by newer data written over its start
        b"\x0025063-2099-7086-92eb-1d14d0f64a1b\x00": (
            "part of a UUID cut short (a stale LMDB page)"
        ),
    }
    for data, why in cases.items():
        found = scan({"case": data}, (), legit)
        assert not found.leaks and dict(found.excused) == {why: 1}, (data, found)
    leaks = [
        b'{"barcode": "0067000000058"}',  # passes Luhn, but not a barcode of this catalogue
        b'"reason": "4111-1111-1111-1111"',  # dashes, but not a UUID's shape
        b"ab4111-1111-1111-1111cd",  # hex around it, but 4-4-4-4 is no cut UUID
        b"6011-0000-0000-0000-001",  # 19 digits, 4-4-4-4-3
        b"total 4222222222222",  # 13 digits, but no time of this run (the year 2103)
        b"x4111111111111111y",
        b"ref 3782 822463 10005.",
        b'"hash": "' + b"ab" * 20 + b"4111111111111111" + b'"',  # hex, but no digest's length
        b'"note": "4111111111111111 1"',  # a card number, then more digits
        b'"note": "12 4111-1111-1111-1111"',  # more digits, then a card number
        b'"note": "\\u0034111 1111 1111 1111"',  # its first digit a JSON escape
    ]
    for data in leaks:
        assert len(scan({"case": data}, (), legit).leaks) == 1, data
