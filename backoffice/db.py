"""The back office's database: one schema on SQLite (embedded default) or PostgreSQL.

The URL picks the engine: `sqlite:///relative/file.db`, `sqlite:////absolute/file.db`
(`sqlite:///:memory:` for a scratch database) or `postgresql://user@host:port/name`.
SQL is written once with `?` placeholders; on PostgreSQL they become `%s`. Upserts use
`INSERT ... ON CONFLICT (...) DO NOTHING | DO UPDATE`, which both engines understand.

SQLite runs in WAL mode with `synchronous=FULL`: a commit is on disk before the ack
that follows it is published. A write transaction starts with `BEGIN IMMEDIATE`, so
two writers queue on the lock instead of failing half-way. Before that, writers of one
file (several `serve` consumers, `catalog load`) take an flock on `FILE-writer.lock`
beside it (`_WriterLock`): the next writer starts within a millisecond of a commit,
where SQLite's own busy handler sleeps 25 to 100 ms between tries once it has waited a
little. Readers take no lock (WAL). On PostgreSQL each
transaction runs at READ COMMITTED; the consumer serialises the entries of one
register by locking that register's watermark row first (`Tx.for_update`).

Money is integer minor units (BIGINT), quantities are decimal text, times are ISO 8601
text, flags are 0/1 integers, payloads are the exact bytes received (BLOB / BYTEA).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, Protocol

import psycopg

from appliance.redact import redact_url
from backoffice.schema import AFTER_MIGRATIONS, MIGRATIONS, SCHEMA_VERSION, TABLES, TYPES

_SCHEMA_LOCK = 0x6B0FF1CE  # PostgreSQL advisory lock: two consumers starting at once


class DatabaseError(Exception):
    """A database URL or schema that cannot be used."""


class DatabaseUnavailable(DatabaseError):
    """The database cannot be reached, is locked or failed transiently: try again later.

    Nothing was committed; the message that was being handled must not be acked.
    """


def _sqlite_path(url: str) -> str:
    path = url[len("sqlite:///") :]
    if not path:
        raise DatabaseError(f"{url}: no file named (sqlite:///path/to/file.db)")
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    return path


class _WriterLock:
    """An exclusive flock that the writers of one SQLite file queue on (module docstring).

    Polled, not blocking, so that a writer stuck holding it (a stopped process) makes the
    others fail with DatabaseUnavailable after the busy timeout instead of hanging; the
    poll interval grows to at most 1 ms. The kernel drops the lock of a process that dies.
    """

    _MAX_SLEEP_S = 0.001

    def __init__(self, path: str, timeout_s: float) -> None:
        self.path, self._timeout_s = f"{path}-writer.lock", timeout_s
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    @contextmanager
    def held(self) -> Iterator[None]:
        deadline, sleep = time.monotonic() + self._timeout_s, 0.00005
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise DatabaseUnavailable(
                        f"{self.path}: locked by another writer for {self._timeout_s:g} s"
                    ) from None
                time.sleep(sleep)
                sleep = min(sleep * 2, self._MAX_SLEEP_S)
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self._fd)


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def dialect_of(url: str) -> str:
    """The dialect, "sqlite" or "postgresql", of a database URL; DatabaseError for anything else."""
    if url.startswith("sqlite:///"):
        return "sqlite"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql"
    raise DatabaseError(f"{redact_url(url)!r}: expected sqlite:///FILE or postgresql://...")


class Tx:
    """One open transaction: run statements written with `?` placeholders."""

    def __init__(self, cursor: Any, dialect: str) -> None:
        self._cursor = cursor
        self.dialect = dialect

    def _sql(self, sql: str) -> str:
        if self.dialect == "postgresql":
            return sql.replace("%", "%%").replace("?", "%s")
        return sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; returns the rows it touched (0 for a conflict that did nothing)."""
        self._cursor.execute(self._sql(sql), tuple(params))
        return int(self._cursor.rowcount)

    def insert(self, table: str, row: Mapping[str, Any], conflict: str = "") -> int:
        """INSERT one row given as column -> value; `conflict` is an ON CONFLICT clause.

        Returns 0 when the conflict clause did nothing.
        """
        return self.execute(insert_sql(table, list(row), conflict), list(row.values()))

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each parameter row (one pipelined batch on PostgreSQL)."""
        self._cursor.executemany(self._sql(sql), [tuple(row) for row in rows])

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Every row of a query."""
        self._cursor.execute(self._sql(sql), tuple(params))
        return [tuple(row) for row in self._cursor.fetchall()]

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of a query, or None."""
        self._cursor.execute(self._sql(sql), tuple(params))
        row = self._cursor.fetchone()
        return None if row is None else tuple(row)

    def scalar(self, sql: str, params: Sequence[Any] = (), default: Any = None) -> Any:
        """The first column of the first row, or `default`."""
        row = self.one(sql, params)
        return default if row is None or row[0] is None else row[0]

    @property
    def for_update(self) -> str:
        """Suffix that locks the selected rows (PostgreSQL; SQLite's writer lock covers it)."""
        return " FOR UPDATE" if self.dialect == "postgresql" else ""


def insert_sql(table: str, columns: Sequence[str], conflict: str = "") -> str:
    """INSERT of one row into `table`; `conflict` is an ON CONFLICT clause (or empty).

    Table and column names are the code's own, never input.
    """
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    return f"{sql} ON CONFLICT {conflict}" if conflict else sql


class Writer(Protocol):
    """Where effects are written: a transaction now, or a batch's buffer until it flushes."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run (or queue) one write statement."""
        ...

    def insert(self, table: str, row: Mapping[str, Any], conflict: str = "") -> int:
        """Insert (or queue) one row."""
        ...


class BufferedWrites:
    """Writes queued during a batch and sent as one `execute_many` per statement.

    A batch's statements touch only rows it owns under its register locks, and none of
    its reads depend on its own queued writes (the batch keeps those in memory), so the
    writes may be grouped by statement, each group in the order it was queued.
    """

    def __init__(self) -> None:
        self._queued: dict[str, list[Sequence[Any]]] = {}

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Queue a write statement; returns 1 (what it will touch is not known yet)."""
        self._queued.setdefault(sql, []).append(tuple(params))
        return 1

    def insert(self, table: str, row: Mapping[str, Any], conflict: str = "") -> int:
        """Queue one row for `table`."""
        return self.execute(insert_sql(table, list(row), conflict), list(row.values()))

    def flush(self, tx: Tx) -> int:
        """Send every queued statement through `tx`; returns how many were sent."""
        sent = 0
        for sql, rows in self._queued.items():
            tx.execute_many(sql, rows)
            sent += len(rows)
        self._queued.clear()
        return sent


class Database:
    """A connection to the back office database, shared by threads one transaction at a time."""

    def __init__(self, url: str, *, busy_timeout_s: float = 10.0) -> None:
        self.url = url
        self.dialect = dialect_of(url)
        self._busy_timeout_s = busy_timeout_s
        self._lock = threading.RLock()
        self._in_transaction = False
        self._conn: Any = None
        self._writers: _WriterLock | None = None
        self._connect()
        with self.transaction() as tx:
            self._create_schema(tx)

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connect(self) -> None:
        conn: Any
        try:
            if self.dialect == "sqlite":
                path = _sqlite_path(self.url)
                if path != ":memory:" and self._writers is None:
                    self._writers = _WriterLock(path, self._busy_timeout_s)
                conn = sqlite3.connect(
                    path,
                    isolation_level=None,
                    check_same_thread=False,
                    timeout=self._busy_timeout_s,
                )
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
                # SQLite's own LOWER knows only ASCII: "Émile" would never match "émile"
                conn.create_function("LOWER", 1, _lower, deterministic=True)
            else:
                conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        except (sqlite3.Error, psycopg.Error) as exc:
            raise DatabaseUnavailable(f"cannot open {self.safe_url}: {exc}") from None
        self._conn = conn

    @property
    def safe_url(self) -> str:
        """The URL without a password (in the user part or the query), for logs and errors."""
        return redact_url(self.url)

    def _healthy(self) -> bool:
        if self._conn is None:
            return False
        if self.dialect == "sqlite":
            return True
        return not (self._conn.closed or self._conn.broken)

    @contextmanager
    def transaction(self, readonly: bool = False) -> Iterator[Tx]:
        """One transaction: committed when the block ends, rolled back on an exception.

        Transient failures (lost connection, lock timeout) come out as DatabaseUnavailable;
        the next transaction reconnects if the connection was lost.
        """
        with self._lock:
            if self._in_transaction:
                raise DatabaseError("transactions do not nest")
            self._in_transaction = True
            try:
                if not self._healthy():
                    self._connect()
                if self.dialect == "sqlite":
                    with self._sqlite_writer(readonly), self._sqlite_transaction(readonly) as tx:
                        yield tx
                else:
                    with self._postgres_transaction() as tx:
                        yield tx
            finally:
                self._in_transaction = False

    def _sqlite_writer(self, readonly: bool) -> AbstractContextManager[None]:
        if readonly or self._writers is None:
            return nullcontext()
        return self._writers.held()

    @contextmanager
    def _sqlite_transaction(self, readonly: bool) -> Iterator[Tx]:
        cursor = self._conn.cursor()
        try:
            cursor.execute("BEGIN" if readonly else "BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise DatabaseUnavailable(f"{self.safe_url}: {exc}") from None
        try:
            yield Tx(cursor, "sqlite")
            cursor.execute("COMMIT")
        except BaseException as exc:
            if self._conn.in_transaction:
                self._conn.rollback()
            if isinstance(exc, sqlite3.OperationalError):
                raise DatabaseUnavailable(f"{self.safe_url}: {exc}") from exc
            raise
        finally:
            cursor.close()

    @contextmanager
    def _postgres_transaction(self) -> Iterator[Tx]:
        try:
            with self._conn.transaction(), self._conn.cursor() as cursor:
                yield Tx(cursor, "postgresql")
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise DatabaseUnavailable(f"{self.safe_url}: {exc}") from exc

    def _create_schema(self, tx: Tx) -> None:
        if self.dialect == "postgresql":
            tx.execute("SELECT pg_advisory_xact_lock(?)", (_SCHEMA_LOCK,))
        for statement in TABLES.format(**TYPES[self.dialect]).split(";"):
            if statement.strip():
                tx.execute(statement)
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
            "ON CONFLICT (key) DO NOTHING",
            (str(SCHEMA_VERSION),),
        )
        found = tx.scalar("SELECT value FROM meta WHERE key = 'schema_version'")
        while found is not None and str(found).isdigit() and int(found) in MIGRATIONS:
            for statement in MIGRATIONS[int(found)]:  # each version's steps, once, in order
                tx.execute(statement)
            found = str(int(found) + 1)
            tx.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (found,))
        if found != str(SCHEMA_VERSION):
            raise DatabaseError(
                f"{self.safe_url}: schema version {found}, expected {SCHEMA_VERSION}"
            )
        for statement in AFTER_MIGRATIONS:
            tx.execute(statement)

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            if self._writers is not None:
                self._writers.close()
                self._writers = None
