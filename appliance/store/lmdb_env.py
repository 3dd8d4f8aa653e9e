"""The register's LMDB environment: named databases, schema version, map growth.

Theory of operation. One environment lives in the configured data dir. Exactly
one process writes: it holds an exclusive `flock` on `writer.lock` for as long
as it has the environment open for writing, so a second writer (a CLI command
while the register runs) is refused at once with the holder's pid instead of
waiting on LMDB's own write lock, which a killed process can leave stuck on the
Pi's arm64. Readers open the environment read-only and never take the flock.

Every write runs a function inside one write transaction, committed with
`sync=True, metasync=True` and `writemap=False`: when `write` returns, the data
is on the disk. If the map is full, the transaction is aborted, the map doubled
(up to the configured cap) and the function run again from the start, so a write
is all or nothing. Past the cap, or when the disk itself is full (ENOSPC), the
write fails with StorageFull and nothing of it is kept; everything committed
before stays readable. Any other disk error closes and reopens the environment
before the error is raised, as LMDB asks.

The schema version lives in `meta`; a newer one than this code knows stops the
open with a clear message; an older one runs the migrations in order, once.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import lmdb

from appliance.store.errors import SchemaTooNew, StorageBusy, StorageError, StorageFull

T = TypeVar("T")

Txn = Any
"""A py-lmdb transaction. Typed Any on purpose: py-lmdb's stubs type every value as
bytes | memoryview, but the register always opens transactions with buffers=False,
so values are bytes; typing them through the stubs would need a cast at every read."""

SCHEMA_VERSION = 1
MIGRATIONS: dict[int, Callable[[Txn, dict[str, Any]], None]] = {}
"""from-version -> function upgrading a write transaction to from-version + 1."""

DATABASES = (
    "meta",  # schema version, chain heads, counters
    "outbox",  # entry key -> exact payload bytes (what is published)
    "outbox_state",  # entry key -> state record (kind, id, at, state, reason, summary)
    "outbox_ids",  # entry id -> entry key
    "unsent",  # entry key -> b"" for pending and in-flight entries
    "rejected",  # entry key -> b"" for rejected entries
    "in_flight",  # entry key -> b"" for entries handed to the link, not yet acked
    "products",  # sku -> product record
    "barcodes",  # barcode -> sku
    "by_category",  # category \0 sku -> b""
    "names",  # name token \0 sku -> b""
    "catalog",  # kind:id -> record (categories, tiers, promotions, limits, loyalty, labels)
    "settings",  # key -> record (tax, store settings)
    "customers",  # customer id -> record
    "balances",  # kind:account -> minor units
    "stock",  # sku -> decimal text
    "counters",  # customer \0 day \0 limit class -> decimal text
    "sync_meta",  # data kind -> last sync, count, duration, version
    "print_jobs",  # job number -> job record
    "parked",  # parked cart id -> cart record
    "cashiers",  # cashier id -> name, role, PIN hash
    "local",  # register-local state: till, time clocks, shift
)


def _key(name: str) -> bytes:
    return name.encode()


class Storage:
    """An open LMDB environment with its named databases."""

    def __init__(
        self,
        path: Path,
        *,
        readonly: bool = False,
        map_size: int = 64 << 20,
        map_max: int = 2 << 30,
    ) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self.map_max = max(map_max, map_size)
        self._map_size = map_size
        self._lock_fd: int | None = None
        if readonly:
            if not (self.path / "data.mdb").exists():
                raise StorageError(f"no register data in {self.path} (has the register run?)")
        else:
            self.path.mkdir(parents=True, exist_ok=True)
            self._take_writer_lock()
        try:
            self._open()
        except BaseException:
            self.close()
            raise

    # --- opening and closing ------------------------------------------------------

    def _take_writer_lock(self) -> None:
        fd = os.open(self.path / "writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StorageBusy(
                f"{self.path} is in use by another process (pid {holder}), normally the "
                "running register; stop it first, or ask it to do this"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._lock_fd = fd

    def _open(self) -> None:
        try:
            self.env = lmdb.open(
                str(self.path),
                map_size=self._map_size,
                max_dbs=len(DATABASES) + 4,
                readonly=self.readonly,
                sync=True,
                metasync=True,
                writemap=False,
                lock=True,
            )
            if self.env.info()["map_size"] > self._map_size:
                self._map_size = self.env.info()["map_size"]
            self.dbs = {
                name: self.env.open_db(_key(name), create=not self.readonly) for name in DATABASES
            }
        except lmdb.Error as exc:
            raise StorageError(f"cannot open the register data in {self.path}: {exc}") from exc
        if not self.readonly:
            self.write(self._check_schema)
        else:
            with self.read() as txn:
                self._check_version(txn)

    def _check_version(self, txn: Txn) -> int:
        raw = txn.get(b"schema", db=self.dbs["meta"])
        version = int(raw) if raw is not None else 0
        if version > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"the data in {self.path} is schema {version}, newer than this software "
                f"knows ({SCHEMA_VERSION}); install the newer version, or export the "
                "outbox with it before going back"
            )
        return version

    def _check_schema(self, txn: Txn) -> None:
        version = self._check_version(txn)
        if version == 0:
            txn.put(b"schema", str(SCHEMA_VERSION).encode(), db=self.dbs["meta"])
            return
        while version < SCHEMA_VERSION:
            MIGRATIONS[version](txn, self.dbs)
            version += 1
            txn.put(b"schema", str(version).encode(), db=self.dbs["meta"])

    def close(self) -> None:
        """Close the environment and give up the writer lock."""
        env: lmdb.Environment | None = getattr(self, "env", None)
        if env is not None:
            env.close()
            del self.env
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transactions -------------------------------------------------------------

    @contextmanager
    def read(self) -> Iterator[Txn]:
        """A read-only snapshot."""
        with self.env.begin(buffers=False) as txn:
            yield txn

    @property
    def map_size(self) -> int:
        """The current map size in bytes."""
        return self._map_size

    def _grow(self) -> None:
        if self._map_size >= self.map_max:
            raise StorageFull(
                f"storage full: the register data reached its cap of {self.map_max >> 20} MiB"
            )
        self._map_size = min(self._map_size * 2, self.map_max)
        self.env.set_mapsize(self._map_size)

    def write(self, fn: Callable[[Txn], T]) -> T:
        """Run `fn` in one write transaction; on return it is durably committed."""
        if self.readonly:
            raise StorageError("this storage was opened read-only")
        while True:
            try:
                with self.env.begin(write=True) as txn:
                    return fn(txn)
            except lmdb.MapFullError:
                self._grow()
            except lmdb.Error as exc:
                raise self._disk_error(exc) from exc

    def _disk_error(self, exc: lmdb.Error) -> StorageError:
        full = "No space left" in str(exc) or getattr(exc, "errno", None) == errno.ENOSPC
        if not full and "Input/output error" in str(exc):
            # LMDB reports a short write as EIO; on a full disk that is what ENOSPC becomes.
            full = self._disk_nearly_full()
        # LMDB wants the environment reopened after a failed write to disk.
        self.env.close()
        self._open_after_error()
        if full:
            return StorageFull("storage full: the disk has no space left for the register data")
        return StorageError(f"storage error: {exc}")

    def _disk_nearly_full(self) -> bool:
        stat = os.statvfs(self.path)
        free, size = stat.f_bavail * stat.f_frsize, stat.f_blocks * stat.f_frsize
        return free < max(1 << 20, size // 20)

    def _open_after_error(self) -> None:
        # If reopening fails too, the next operation reports it; this one already fails.
        with contextlib.suppress(StorageError):
            self._open()
