"""Errors of the register's storage, each with a message a cashier or tech can act on."""

from __future__ import annotations


class StorageError(Exception):
    """Storage failed; what was being written is not kept, what was committed is."""


class StorageFull(StorageError):
    """The map reached its cap or the disk is full; the cart is kept, nothing is lost."""


class EntryTooLarge(StorageError):
    """An entry bigger than the wire protocol carries: refused before it is committed, so
    it never sits in the outbox unsendable; the cart is kept (split it in two)."""


class StorageBusy(StorageError):
    """Another process (normally the running register) holds the writer lock."""


class StorageTimeout(StorageError):
    """A storage operation did not finish in time (a stuck lock, a dying SD card)."""


class SchemaTooNew(StorageError):
    """The data was written by a newer version of the software."""


class CorruptRecord(StorageError):
    """A record that cannot be decoded; the message names its database and key."""

    def __init__(self, database: str, key: bytes, problem: str) -> None:
        super().__init__(f"corrupt record in {database} at key {key!r}: {problem}")
        self.database = database
        self.key = key
