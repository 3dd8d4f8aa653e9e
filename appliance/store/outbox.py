"""The outbox: every entry the register must deliver, in sequence, with its state.

Theory of operation. An entry is appended inside the same write transaction as
the business effect it records (a sale and its stock, balances, print job), so
it exists exactly when the effect does. Its payload is the wire envelope
(`sync/wire.py`) built once at append time; those exact bytes are what the link
publishes and what the chain hash covers. Entries are keyed
`store/register/<8-byte sequence>`, so a queue belongs to its store and
register: another store's login on the same device never lists or sends it.

States: pending -> in_flight -> confirmed | rejected (with the reason); an
in-flight entry goes back to pending when the link drops. Unsent entries
(pending and in flight) are also indexed in `unsent` and counted in `meta`, so
the pending count and the first page cost the same with 10 or 100,000 queued.
Nothing is deleted because sending failed; confirmed entries are pruned only
past the history age, unconfirmed ones never.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum
from typing import Any

from appliance.domain.chain import GENESIS_HASH, Link, payload_hash, verify_chain
from appliance.store.cache import dump, load
from appliance.store.errors import CorruptRecord, EntryTooLarge, StorageError
from appliance.store.lmdb_env import Storage, Txn
from appliance.sync.wire import MAX_PAYLOAD, Envelope, decode_envelope, encode_envelope


class EntryState(Enum):
    """Where an outbox entry is on its way to the back office."""

    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


UNSENT = (EntryState.PENDING, EntryState.IN_FLIGHT)
_INDEXES = (
    ("unsent", UNSENT),
    ("rejected", (EntryState.REJECTED,)),
    ("in_flight", (EntryState.IN_FLIGHT,)),
)


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """An entry's state record (the payload is read separately)."""

    key: bytes
    seq: int
    id: str
    kind: str
    at: str
    state: EntryState
    reason: str
    attempts: int
    updated: str
    summary: dict[str, Any]

    def to_record(self) -> dict[str, Any]:
        """What is stored (the key is not)."""
        return {"seq": self.seq, "id": self.id, "kind": self.kind, "at": self.at,
                "state": self.state.value, "reason": self.reason, "attempts": self.attempts,
                "updated": self.updated, "summary": self.summary}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Queue:
    """One register's queue within one store."""

    store: str
    register: str

    @property
    def prefix(self) -> bytes:
        """Key prefix of this queue's entries."""
        return f"{self.store}/{self.register}/".encode()

    def key(self, seq: int) -> bytes:
        """The key of entry `seq`."""
        return self.prefix + seq.to_bytes(8, "big")

    def meta(self, name: str) -> bytes:
        """A meta key of this queue."""
        return f"{name}/{self.store}/{self.register}".encode()


def _entry(key: bytes, raw: bytes) -> OutboxEntry:
    data = load("outbox_state", key, raw)
    try:
        return OutboxEntry(
            key=key,
            seq=int(data["seq"]),
            id=str(data["id"]),
            kind=str(data["kind"]),
            at=str(data["at"]),
            state=EntryState(data["state"]),
            reason=str(data["reason"]),
            attempts=int(data["attempts"]),
            updated=str(data["updated"]),
            summary=dict(data["summary"]),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise CorruptRecord("outbox_state", key, f"bad field {exc}") from None


def head(txn: Txn, storage: Storage, queue: Queue) -> tuple[int, str]:
    """(sequence of the last entry or 0, hash of its payload or the genesis hash)."""
    raw = txn.get(queue.meta("head"), db=storage.dbs["meta"])
    if raw is None:
        return 0, GENESIS_HASH
    data = load("meta", queue.meta("head"), raw)
    return int(data["seq"]), str(data["hash"])


def unsent_count(txn: Txn, storage: Storage, queue: Queue) -> int:
    """Pending plus in-flight entries of the queue (O(1))."""
    raw = txn.get(queue.meta("unsent"), db=storage.dbs["meta"])
    return 0 if raw is None else int(raw)


def rejected_count(txn: Txn, storage: Storage, queue: Queue) -> int:
    """Rejected entries of the queue (O(1))."""
    raw = txn.get(queue.meta("rejected"), db=storage.dbs["meta"])
    return 0 if raw is None else int(raw)


def _count(txn: Txn, storage: Storage, queue: Queue, name: str, delta: int) -> None:
    raw = txn.get(queue.meta(name), db=storage.dbs["meta"])
    count = (0 if raw is None else int(raw)) + delta
    txn.put(queue.meta(name), str(count).encode(), db=storage.dbs["meta"])


def append(
    txn: Txn,
    storage: Storage,
    queue: Queue,
    *,
    entry_id: str,
    kind: str,
    at: datetime,
    body: dict[str, Any],
    summary: dict[str, Any],
) -> OutboxEntry:
    """Append an entry at the next sequence number, chained to the one before."""
    dbs = storage.dbs
    if txn.get(entry_id.encode(), db=dbs["outbox_ids"]) is not None:
        raise StorageError(f"outbox already holds an entry with id {entry_id}")
    last_seq, prev = head(txn, storage, queue)
    seq = last_seq + 1
    if body.get("sequence", seq) != seq or body.get("previous_hash", prev) != prev:
        raise StorageError(f"entry {entry_id} was built for another place in the chain")
    envelope = Envelope(
        entry_id, kind, queue.store, queue.register, seq, prev, at.isoformat(), body
    )
    payload = encode_envelope(envelope)
    if len(payload) > MAX_PAYLOAD:
        raise EntryTooLarge(
            f"this {kind} is too large to send to the back office ({len(payload) // 1024} KiB, "
            f"the limit is {MAX_PAYLOAD // 1024} KiB): split it into smaller ones"
        )
    key = queue.key(seq)
    entry = OutboxEntry(key, seq, entry_id, kind, at.isoformat(), EntryState.PENDING, "", 0,
                        at.isoformat(), summary)  # fmt: skip
    txn.put(key, payload, db=dbs["outbox"])
    txn.put(key, dump(entry.to_record()), db=dbs["outbox_state"])
    txn.put(entry_id.encode(), key, db=dbs["outbox_ids"])
    txn.put(key, b"", db=dbs["unsent"])
    _count(txn, storage, queue, "unsent", +1)
    txn.put(queue.meta("head"), dump({"seq": seq, "hash": payload_hash(payload)}), db=dbs["meta"])
    return entry


def next_place(txn: Txn, storage: Storage, queue: Queue) -> tuple[int, str]:
    """(sequence, previous hash) the next appended entry will get."""
    last_seq, prev = head(txn, storage, queue)
    return last_seq + 1, prev


def get(txn: Txn, storage: Storage, key: bytes) -> OutboxEntry | None:
    """The entry at `key`, if any."""
    raw = txn.get(key, db=storage.dbs["outbox_state"])
    return None if raw is None else _entry(key, raw)


def find(txn: Txn, storage: Storage, queue: Queue, entry_id: str) -> OutboxEntry | None:
    """The entry of this queue with this id, if any (another store's entries are not found)."""
    key = txn.get(entry_id.encode(), db=storage.dbs["outbox_ids"])
    if key is None or not key.startswith(queue.prefix):
        return None
    return get(txn, storage, key)


def payload(txn: Txn, storage: Storage, key: bytes) -> bytes:
    """The exact bytes to publish for an entry."""
    raw = txn.get(key, db=storage.dbs["outbox"])
    if raw is None:
        raise CorruptRecord("outbox", key, "payload missing")
    return bytes(raw)


def _scan(
    txn: Txn, storage: Storage, database: str, queue: Queue, reverse: bool
) -> Iterator[bytes]:
    prefix = queue.prefix
    with txn.cursor(db=storage.dbs[database]) as cursor:
        if reverse:
            positioned = cursor.set_range(prefix + b"\xff" * 8)
            if not positioned:
                positioned = cursor.last()
            elif not cursor.key().startswith(prefix):
                positioned = cursor.prev()
            while positioned and cursor.key().startswith(prefix):
                yield cursor.key()
                positioned = cursor.prev()
        else:
            positioned = cursor.set_range(prefix)
            while positioned and cursor.key().startswith(prefix):
                yield cursor.key()
                positioned = cursor.next()


def entries(
    txn: Txn,
    storage: Storage,
    queue: Queue,
    *,
    index: str = "outbox_state",
    newest_first: bool = False,
    limit: int | None = None,
    corrupt: list[CorruptRecord] | None = None,
) -> list[OutboxEntry]:
    """Entries in sequence order, all or those in an index ("unsent", "rejected").

    A corrupt state record is reported in `corrupt` and skipped (or raised when
    no list is given): readers go on, and the entry stays in the outbox.
    """
    out: list[OutboxEntry] = []
    for key in _scan(txn, storage, index, queue, newest_first):
        try:
            entry = get(txn, storage, key)
            if entry is None:
                raise CorruptRecord("outbox_state", key, "state record missing")
        except CorruptRecord as exc:
            if corrupt is None:
                raise
            corrupt.append(exc)
            continue
        out.append(entry)
        if limit is not None and len(out) >= limit:
            break
    return out


@dataclass(frozen=True, slots=True)
class UnsentEntry:
    """An entry to publish: its place, id, kind and exact bytes."""

    seq: int
    id: str
    kind: str
    payload: bytes


def unsent_after(
    txn: Txn, storage: Storage, queue: Queue, after: int, limit: int
) -> list[UnsentEntry]:
    """Up to `limit` unsent entries with a sequence above `after`, in order, with their bytes."""
    out: list[UnsentEntry] = []
    start = queue.key(after + 1)
    with txn.cursor(db=storage.dbs["unsent"]) as cursor:
        positioned = cursor.set_range(start)
        while positioned and cursor.key().startswith(queue.prefix) and len(out) < limit:
            key = cursor.key()
            raw = payload(txn, storage, key)
            try:
                entry = get(txn, storage, key)
                ident, kind = (entry.id, entry.kind) if entry else ("", "")
            except CorruptRecord:  # the state record is damaged, the bytes to send are not
                envelope = decode_envelope(raw)
                ident, kind = envelope.id, envelope.kind
            seq = int.from_bytes(key[len(queue.prefix) :], "big")
            out.append(UnsentEntry(seq, ident, kind, raw))
            positioned = cursor.next()
    return out


def oldest_unsent(txn: Txn, storage: Storage, queue: Queue) -> OutboxEntry | None:
    """The unsent entry with the lowest sequence number (the one waiting longest)."""
    with txn.cursor(db=storage.dbs["unsent"]) as cursor:
        if cursor.set_range(queue.prefix) and cursor.key().startswith(queue.prefix):
            return get(txn, storage, cursor.key())
    return None


def _move(txn: Txn, storage: Storage, queue: Queue, entry: OutboxEntry, new: OutboxEntry) -> None:
    dbs = storage.dbs
    txn.put(entry.key, dump(new.to_record()), db=dbs["outbox_state"])
    for index, states in _INDEXES:
        was, now_in = entry.state in states, new.state in states
        if was and not now_in:
            txn.delete(entry.key, db=dbs[index])
            _count(txn, storage, queue, index, -1)
        elif now_in and not was:
            txn.put(entry.key, b"", db=dbs[index])
            _count(txn, storage, queue, index, +1)


def mark_sent(txn: Txn, storage: Storage, queue: Queue, keys: list[bytes], now: datetime) -> None:
    """Entries handed to the link: in flight, one more attempt."""
    for key in keys:
        entry = get(txn, storage, key)
        if entry is not None and entry.state in UNSENT:
            new = replace(entry, state=EntryState.IN_FLIGHT, attempts=entry.attempts + 1,
                          updated=now.isoformat())  # fmt: skip
            _move(txn, storage, queue, entry, new)


def mark_settled(
    txn: Txn,
    storage: Storage,
    queue: Queue,
    entry_id: str,
    state: EntryState,
    now: datetime,
    reason: str = "",
) -> bool:
    """Confirm or reject an entry by id; False when the id is unknown or already confirmed."""
    entry = find(txn, storage, queue, entry_id)
    if entry is None or entry.state is EntryState.CONFIRMED:
        return False
    new = replace(entry, state=state, reason=reason, updated=now.isoformat())
    _move(txn, storage, queue, entry, new)
    return True


def requeue_in_flight(txn: Txn, storage: Storage, queue: Queue) -> int:
    """After a restart or a dropped link: every in-flight entry is pending again."""
    moved = 0
    for entry in entries(txn, storage, queue, index="in_flight"):
        _move(txn, storage, queue, entry, replace(entry, state=EntryState.PENDING))
        moved += 1
    return moved


def prune(txn: Txn, storage: Storage, queue: Queue, before: datetime) -> int:
    """Delete confirmed entries last updated before `before`; never an unconfirmed one."""
    dbs, removed, cutoff = storage.dbs, 0, before.isoformat()
    for entry in entries(txn, storage, queue):
        if entry.state is EntryState.CONFIRMED and entry.updated < cutoff:
            for name in ("outbox", "outbox_state"):
                txn.delete(entry.key, db=dbs[name])
            txn.delete(entry.id.encode(), db=dbs["outbox_ids"])
            removed += 1
    return removed


def links(txn: Txn, storage: Storage, queue: Queue) -> Iterator[Link]:
    """The chain as stored, for `verify_chain`."""
    for key in _scan(txn, storage, "outbox", queue, reverse=False):
        raw = payload(txn, storage, key)
        envelope = decode_envelope(raw)
        yield Link(envelope.seq, envelope.prev, raw)


def verify(txn: Txn, storage: Storage, queue: Queue) -> int:
    """Check the stored chain (from the oldest entry kept); return how many entries it has."""
    chain = list(links(txn, storage, queue))
    if chain:
        verify_chain(chain, start_hash=chain[0].previous_hash, start=chain[0].sequence)
        last_seq, last_hash = head(txn, storage, queue)
        if last_seq != chain[-1].sequence or last_hash != payload_hash(chain[-1].payload):
            raise StorageError(f"the chain head does not match entry {chain[-1].sequence}")
    return len(chain)
