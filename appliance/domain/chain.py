"""The register's chain: every record it sends links to the one before.

Each outbox entry (a sale, a time clock punch, a cash drop) carries the
register's next sequence number and the SHA-256 of the previous entry's exact
payload bytes, starting from GENESIS_HASH. A missing, reordered or edited entry
breaks the chain at a place `verify_chain` names.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from appliance.domain.errors import DomainError

GENESIS_HASH = "0" * 64


@dataclass(frozen=True, slots=True)
class Link:
    """One entry as the chain sees it: its number, its back link and its bytes."""

    sequence: int
    previous_hash: str
    payload: bytes


def payload_hash(payload: bytes) -> str:
    """SHA-256 hex of an entry's payload: the next entry's `previous_hash`."""
    return hashlib.sha256(payload).hexdigest()


def verify_chain(links: Iterable[Link], start_hash: str = GENESIS_HASH, start: int = 1) -> str:
    """Check numbers run on from `start` and every back link holds; return the head hash."""
    expected_hash, expected_seq = start_hash, start
    for link in links:
        if link.sequence != expected_seq:
            raise DomainError(f"sequence gap: expected {expected_seq}, found {link.sequence}")
        if link.previous_hash != expected_hash:
            raise DomainError(f"hash chain broken at entry {link.sequence}")
        expected_hash, expected_seq = payload_hash(link.payload), expected_seq + 1
    return expected_hash
