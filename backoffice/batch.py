"""What the consumer knows while it stores a batch of entries in one transaction.

A batch opens by locking the watermark row of every register it holds, in sorted
order (two consumers locking the same registers in the same order cannot deadlock),
and then reads in two statements what the database already knows about the batch's
ids. From there on the batch answers every question from memory, including about the
entries it has taken itself, and queues its writes (`BufferedWrites`); `finish` sends
them, one `execute_many` per statement, and moves each register's watermark once.

So a batch of n entries from k registers costs about 2k + 2 reads and a fixed number
of write groups, where one entry per transaction cost 17 statements and a commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from appliance.domain.chain import GENESIS_HASH, payload_hash
from appliance.sync.wire import Envelope
from backoffice import ledger
from backoffice.db import BufferedWrites, Tx

Register = tuple[str, str]  # (store, register)

_CHAIN_NEXT = (
    "UPDATE entries SET chain_ok = CASE WHEN prev = ? THEN 1 ELSE 0 END "
    "WHERE store = ? AND register = ? AND seq = ?"
)


@dataclass(slots=True)
class _Watermark:
    """One register's watermark as the batch moves it (see `ledger`)."""

    contiguous: int
    last_seq: int
    received: set[int] | None = None  # seqs above `contiguous`, loaded when first needed
    hashes: dict[int, set[str]] = field(default_factory=dict)  # this batch's entries
    moved: bool = False


@dataclass(frozen=True, slots=True)
class Rejected:
    """A stored rejection: its reason, and whether it was of the register's own entry."""

    reason: str
    in_chain: bool


class Batch:
    """The open batch: locks held, known ids read, writes queued (see the module docstring)."""

    def __init__(self, tx: Tx, registers: set[Register], ids: set[str], now: datetime) -> None:
        self.tx, self.now = tx, now
        self.writes = BufferedWrites()
        self._marks = {key: _Watermark(*ledger.lock_register(tx, *key, now))
                       for key in sorted(registers)}  # fmt: skip
        self._owners: dict[str, Register] = {}
        self._rejected: dict[tuple[str, str, str], Rejected] = {}
        if ids:
            marks = ", ".join("?" for _ in ids)
            listed = sorted(ids)
            for entry_id, store, register in tx.all(
                f"SELECT id, store, register FROM entries WHERE id IN ({marks})", listed
            ):
                self._owners[entry_id] = (store, register)
            for store, register, entry_id, reason, in_chain in tx.all(
                f"SELECT store, register, id, reason, in_chain FROM rejected WHERE id IN ({marks})",
                listed,
            ):
                self._rejected[(store, register, entry_id)] = Rejected(reason, bool(in_chain))

    def owner(self, entry_id: str) -> Register | None:
        """The register whose accepted entry holds this id, if any."""
        return self._owners.get(entry_id)

    def rejection(self, where: Register, entry_id: str) -> Rejected | None:
        """This register's stored rejection of the id, if any."""
        return self._rejected.get((*where, entry_id))

    def reject(self, where: Register, entry_id: str, reason: str, in_chain: bool) -> None:
        """Remember a rejection queued in this batch (a rejection of the entry itself wins)."""
        known = self._rejected.get((*where, entry_id))
        if known is None or (in_chain and not known.in_chain):
            self._rejected[(*where, entry_id)] = Rejected(reason, in_chain)

    def accept(self, envelope: Envelope, payload: bytes) -> None:
        """Queue the entry's row, with whether it links to its predecessor's bytes."""
        key = (envelope.store, envelope.register)
        mark, seq = self._marks[key], envelope.seq
        mine = payload_hash(payload)
        self.writes.insert("entries", {"id": envelope.id, "kind": envelope.kind,
                                       "store": envelope.store, "register": envelope.register,
                                       "seq": seq, "prev": envelope.prev, "at": envelope.at,
                                       "payload": payload,
                                       "chain_ok": self._links(key, seq, envelope.prev),
                                       "received_at": self.now.isoformat()})  # fmt: skip
        if seq < mark.last_seq:  # a successor may have come first: judge its link now
            self.writes.execute(_CHAIN_NEXT, (mine, *key, seq + 1))
        mark.hashes.setdefault(seq, set()).add(mine)
        self._owners[envelope.id] = key

    def _links(self, key: Register, seq: int, prev: str) -> int | None:
        """1 if `prev` is the hash of an entry seq-1's bytes, 0 if not, None if none yet."""
        if seq == 1:
            return int(prev == GENESIS_HASH)
        hashes = set(self._marks[key].hashes.get(seq - 1, ()))
        if not hashes:
            rows = self.tx.all(
                "SELECT payload FROM entries WHERE store = ? AND register = ? AND seq = ?",
                (*key, seq - 1),
            )
            if not rows:
                return None
            hashes = {payload_hash(bytes(p)) for (p,) in rows}
        return int(prev in hashes)

    def received(self, key: Register, seq: int) -> None:
        """Count `seq` as received (accepted, or rejected in the chain) for the watermark."""
        mark = self._marks[key]
        if mark.received is None:
            mark.received = set()
            if mark.last_seq > mark.contiguous:  # only then can anything lie above it
                params = (*key, mark.contiguous) * 2
                mark.received = {int(s) for (s,) in self.tx.all(ledger.RECEIVED_AFTER, params)}
        mark.received.add(seq)
        while mark.contiguous + 1 in mark.received:
            mark.contiguous += 1
        mark.last_seq = max(mark.last_seq, seq)
        mark.moved = True

    def finish(self) -> None:
        """Send the queued writes and the moved watermarks (the caller commits)."""
        for (store, register), mark in self._marks.items():
            if mark.moved:
                self.writes.execute(
                    "UPDATE watermarks SET contiguous = ?, last_seq = ?, last_at = ? "
                    "WHERE store = ? AND register = ?",
                    (mark.contiguous, mark.last_seq, self.now.isoformat(), store, register),
                )
        self.writes.flush(self.tx)
