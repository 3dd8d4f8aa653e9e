"""Upgrading the register's software without losing a sale (`appliance upgrade ...`).

Theory of operation. The image's `register-upgrade` script (image/stages/10-python)
installs a new version beside the running one (`/opt/register/releases/<version>`)
and switches the `/opt/register/venv` link only when two things hold:

1. The outbox is flushed: nothing unconfirmed is left in the register's queue
   (every sale, punch and cash drop acknowledged by the back office), or every
   unconfirmed entry is in an `appliance outbox export` file given with
   `--exported`. `check` says which, with the running version's own code, and
   answers while the register runs (read-only). With `--stopped` it also takes
   the writer lock, which proves the register has stopped and closed its LMDB
   environment (flushed to disk), and looks again: a sale rung up between the
   first look and the stop is caught.
2. The schema migration has run, once: `migrate`, with the NEW version and the
   register stopped, opens the storage as the writer (which runs the pending
   migrations in one transaction, `store/lmdb_env.py`) and records a marker in
   the data dir. Run again for the same version (a power cut after the migration,
   before the link switched), it sees the marker and does nothing.

The data dir is never inside the release: an upgrade or a rollback of the
software leaves it where it is (/var/lib/appliance).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from appliance.bootstrap import open_storage
from appliance.config import Config
from appliance.outbox_export import write_atomically
from appliance.store import outbox
from appliance.store.errors import CorruptRecord, StorageError
from appliance.store.lmdb_env import Storage

MARKER = "upgrade-migrated.json"
DISTRIBUTION = "register-appliance"


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether an upgrade may go ahead, and the sentence that says why (or why not)."""

    ok: bool
    message: str


def installed_version() -> str:
    """The version of the register software this code belongs to."""
    return metadata.version(DISTRIBUTION)


def _unconfirmed(storage: Storage, config: Config) -> dict[int, str | None]:
    """Sequence number -> id of every unsent or rejected entry (None: its record is damaged)."""
    queue = outbox.Queue(config.register.store, config.register.id)
    damaged: list[CorruptRecord] = []
    with storage.read() as txn:
        found = [
            *outbox.entries(txn, storage, queue, index="unsent", corrupt=damaged),
            *outbox.entries(txn, storage, queue, index="rejected", corrupt=damaged),
        ]
    out: dict[int, str | None] = {e.seq: e.id for e in found}
    out.update({int.from_bytes(d.key[-8:], "big"): None for d in damaged})
    return out


def _exported(file: Path, config: Config) -> dict[int, str | None]:
    """Sequence number -> id of the entries in an export file of this register's queue."""
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
        header = json.loads(lines[0]) if lines else {}
        records = [json.loads(line) for line in lines[1:] if line.strip()]
    except (OSError, ValueError) as exc:
        raise StorageError(f"cannot read the export {file}: {exc}") from exc
    where = (header.get("store"), header.get("register"))
    if header.get("export") != "outbox" or where != (config.register.store, config.register.id):
        raise StorageError(
            f"{file} is not an outbox export of store {config.register.store}, register "
            f"{config.register.id} (its header: {lines[0][:120] if lines else 'none'})"
        )
    return {int(r["seq"]): r.get("id") for r in records if isinstance(r, dict) and "seq" in r}


def _missing(unconfirmed: dict[int, str | None], saved: dict[int, str | None]) -> list[int]:
    return sorted(s for s, i in unconfirmed.items() if s not in saved or (i and saved[s] != i))


def check(config: Config, exported: Path | None = None, *, stopped: bool = False) -> Verdict:
    """May the software be replaced now? (See the module doc.)"""
    data = config.register.data_dir
    if not (data / "data.mdb").exists():
        return Verdict(True, f"no register data in {data} yet: nothing to lose")
    # The writer open proves the register is stopped and its environment closed.
    storage = open_storage(config, readonly=not stopped)
    try:
        unconfirmed = _unconfirmed(storage, config)
    finally:
        storage.close()
    if not unconfirmed:
        return Verdict(True, "the outbox is flushed: every entry is confirmed by the back office")
    count = len(unconfirmed)
    if exported is not None:
        missing = _missing(unconfirmed, _exported(exported, config))
        if not missing:
            return Verdict(True, f"{count} unconfirmed entries are saved in {exported}")
        return Verdict(False, f"refused: {len(missing)} of the {count} unconfirmed entries "
                       f"are not in {exported} (first: seq {missing[0]}); export again with "
                       f"`appliance outbox export FILE`")  # fmt: skip
    return Verdict(False, f"refused: {count} outbox entries are not confirmed by the back "
                   "office yet. Let the register reach the broker until `appliance status` "
                   "shows unsent 0 and rejected 0, or save them with `appliance outbox "
                   "export FILE` and pass --exported FILE")  # fmt: skip


def migrate_once(config: Config, version: str, now: datetime | None = None) -> str:
    """Run the schema migrations of this software once for `version`; say what was done."""
    marker = config.register.data_dir / MARKER
    try:
        done = json.loads(marker.read_text())
    except (OSError, ValueError):
        done = {}
    if done.get("version") == version:
        return f"already migrated for {version} (schema {done.get('schema')}) at {done.get('at')}"
    with open_storage(config) as storage, storage.read() as txn:  # the writer open migrates
        schema = int(txn.get(b"schema", db=storage.dbs["meta"]) or 0)
    at = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    record = {"version": version, "schema": schema, "at": at, "previous": done or None}
    write_atomically(marker, lambda out: out.write(json.dumps(record) + "\n"))
    return f"migrated the data in {config.register.data_dir} to schema {schema} for {version}"
