"""Sale ids: UUIDv7 (RFC 9562), built from a time and random bytes passed in.

The domain reads no clock and no entropy; the shell hands both over, so ids are
reproducible in tests and time-ordered in the outbox.
"""

from __future__ import annotations

import uuid

from appliance.domain.errors import DomainError


def uuid7(unix_ms: int, random_bytes: bytes) -> uuid.UUID:
    """A version-7 UUID for the millisecond `unix_ms` and 10 random bytes."""
    if not 0 <= unix_ms < 1 << 48:
        raise DomainError(f"uuid7 time {unix_ms} is out of range")
    if len(random_bytes) != 10:
        raise DomainError(f"uuid7 needs 10 random bytes, got {len(random_bytes)}")
    rand = int.from_bytes(random_bytes, "big")
    rand_a = (rand >> 68) & 0xFFF
    rand_b = rand & ((1 << 62) - 1)
    value = (unix_ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
    return uuid.UUID(int=value)


def uuid7_time_ms(value: uuid.UUID) -> int:
    """The millisecond timestamp inside a UUIDv7."""
    if value.version != 7:
        raise DomainError(f"{value} is not a version-7 UUID")
    return value.int >> 80
