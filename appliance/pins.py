"""Cashier PINs: salted, slowly hashed (scrypt), checked offline, never stored plain."""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any

DEFAULT_COST = 2**14  # about 30-60 ms on a Pi 4: slow to guess, quick enough to log in


def hash_pin(pin: str, cost: int = DEFAULT_COST, salt: bytes | None = None) -> dict[str, Any]:
    """The stored form of a PIN: {"alg", "n", "salt", "hash"} (hex)."""
    if not (pin.isdigit() and 4 <= len(pin) <= 12):
        raise ValueError("a PIN is 4 to 12 digits")
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=cost, r=8, p=1, dklen=32)
    return {"alg": "scrypt", "n": cost, "salt": salt.hex(), "hash": digest.hex()}


def check_pin(pin: str, stored: dict[str, Any]) -> bool:
    """True when `pin` matches the stored hash (constant-time compare)."""
    try:
        salt, expected, cost = bytes.fromhex(stored["salt"]), stored["hash"], int(stored["n"])
        digest = hashlib.scrypt(pin.encode(), salt=salt, n=cost, r=8, p=1, dklen=32)
    except (KeyError, ValueError, TypeError):
        return False
    return hmac.compare_digest(digest.hex(), str(expected))
