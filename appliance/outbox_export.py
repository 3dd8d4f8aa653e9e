"""Exporting a register's unconfirmed outbox entries to a file (`appliance outbox export`).

What it is for: a technician about to wipe or swap a device saves every entry
the back office has not confirmed (pending, in flight, rejected) onto a USB
stick, to be replayed or audited elsewhere. Confirmed entries are left out.

The file is JSON Lines. The first line is a header
`{"export": "outbox", "store", "register", "exported_at", "count"}`; then one line
per entry in sequence order: `{"seq", "id", "kind", "state", "reason", "payload"}`,
where `payload` is the entry's exact stored bytes decoded as a JSON object (the
envelope the register publishes).

Two things are deliberate. The file is written to a temp file in the target's
directory, fsynced, renamed over the target, and the directory fsynced: a stick
pulled mid-way leaves the old file or none under the name, never half a one.
And a damaged entry does not stop the export: an unreadable state record is
exported with state "unknown", an unreadable payload as null, each with the
problem in its reason, so everything that can be saved is.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

from appliance.store import outbox
from appliance.store.errors import CorruptRecord, StorageError
from appliance.store.lmdb_env import Storage, Txn
from appliance.store.outbox import OutboxEntry, Queue

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What was written."""

    states: dict[str, int]  # entries per state ("pending", "in_flight", "rejected", "unknown")
    unreadable: int  # entries exported with a null payload

    @property
    def count(self) -> int:
        """Entries written (the header's count)."""
        return sum(self.states.values())


def export_unconfirmed(
    storage: Storage, queue: Queue, target: Path, exported_at: str
) -> ExportResult:
    """Write every unconfirmed entry of `queue` to `target`, atomically (see the module doc)."""
    # One read snapshot, streamed to the file: no backlog is too large to hold in memory.
    with storage.read() as txn:
        return write_atomically(target, lambda out: _write(out, txn, storage, queue, exported_at))


def _write(
    out: IO[str], txn: Txn, storage: Storage, queue: Queue, exported_at: str
) -> ExportResult:
    damaged: list[CorruptRecord] = []
    found = [
        *outbox.entries(txn, storage, queue, index="unsent", corrupt=damaged),
        *outbox.entries(txn, storage, queue, index="rejected", corrupt=damaged),
    ]
    todo: list[tuple[bytes, OutboxEntry | str]] = [(e.key, e) for e in found]
    todo += [(d.key, str(d)) for d in damaged]
    todo.sort(key=lambda item: item[0])  # keys sort by sequence number
    header = {"export": "outbox", "store": queue.store, "register": queue.register,
              "exported_at": exported_at, "count": len(todo)}  # fmt: skip
    out.write(_line(header))
    states: Counter[str] = Counter()
    unreadable = 0
    for key, entry in todo:
        record = _record(txn, storage, key, entry)
        unreadable += record["payload"] is None
        states[record["state"]] += 1
        out.write(_line(record))
    return ExportResult(dict(states), unreadable)


def _record(txn: Txn, storage: Storage, key: bytes, entry: OutboxEntry | str) -> dict[str, Any]:
    """One entry's line; `entry` is its state record, or why that record cannot be read."""
    problem = ""
    try:
        payload = json.loads(outbox.payload(txn, storage, key))
        if not isinstance(payload, dict):
            raise ValueError("not a JSON object")
    except (ValueError, StorageError) as exc:
        payload, problem = None, f"payload unreadable: {exc}"
    if isinstance(entry, str):  # a damaged state record: say what the payload says it is
        about = payload or {}
        record = {"seq": int.from_bytes(key[-8:], "big"), "id": about.get("id"),
                  "kind": about.get("kind"), "state": "unknown", "reason": entry}  # fmt: skip
    else:
        record = {"seq": entry.seq, "id": entry.id, "kind": entry.kind,
                  "state": entry.state.value, "reason": entry.reason}  # fmt: skip
    if problem:
        record["reason"] = "; ".join(filter(None, [str(record["reason"]), problem]))
    return {**record, "payload": payload}


def _line(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False) + "\n"


def write_atomically(target: Path, write: Callable[[IO[str]], T]) -> T:
    """Write a temp file beside `target`, fsync it, rename it over `target`, fsync the dir."""
    if target.is_dir():
        raise IsADirectoryError(f"{target} is a directory; name a file in it")
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            result = write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    directory = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return result
