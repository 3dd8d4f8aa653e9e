"""What the no-card-data test captures and scans: every message crossing the broker, the
back office database as text and as raw files, and the files under a directory."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import psycopg

from devstack import Mosquitto, Postgres
from devstack.mqtt import MqttProbe


class WireCapture:
    """A subscriber on `#`: the raw bytes of every message that crosses the broker."""

    def __init__(self, broker: Mosquitto) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self.probe = MqttProbe(broker.host, broker.port, client_id="capture-all").start()
        self.probe.client.on_message = self._on_message
        self.probe.subscribe("#")

    def _on_message(self, client: object, userdata: object, message: Any) -> None:
        props = message.properties
        correlation = bytes(getattr(props, "CorrelationData", b"") or b"")
        response = str(getattr(props, "ResponseTopic", "") or "").encode()
        raw = b"\n".join((message.topic.encode(), bytes(message.payload), correlation, response))
        with self._lock:
            self.messages.append((message.topic, raw))

    def artefacts(self) -> dict[str, bytes]:
        with self._lock:
            return {f"mqtt #{i} {topic}": raw for i, (topic, raw) in enumerate(self.messages)}

    def close(self) -> None:
        self.probe.close()


def dump_database(url: str) -> bytes:
    """Every column of every table, as text (bytes decoded), one line per value."""
    lines: list[str] = []
    if url.startswith("sqlite:///"):
        conn: Any = sqlite3.connect(url[len("sqlite:///") :])
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    else:
        conn = psycopg.connect(url, autocommit=True)
        names = [r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables "
                                            "WHERE table_schema = 'public'")]  # fmt: skip
    try:
        for table in sorted(names):
            cursor = conn.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cursor.description]
            for row in cursor.fetchall():
                for column, value in zip(columns, row, strict=True):
                    if isinstance(value, memoryview | bytes):
                        value = bytes(value).decode("utf-8", "replace")
                    lines.append(f"{table}.{column}: {value}")
    finally:
        conn.close()
    return "\n".join(lines).encode()


def files_under(directory: Path, prefix: str) -> dict[str, bytes]:
    return {f"{prefix}/{p.relative_to(directory)}": p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}  # fmt: skip


PG_RELATIONS = """
SELECT pg_relation_filepath(c.oid) FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace
   OR c.oid IN (SELECT reltoastrelid FROM pg_class WHERE relnamespace = 'public'::regnamespace)
   OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid IN
                (SELECT reltoastrelid FROM pg_class WHERE relnamespace = 'public'::regnamespace))
"""
"""The back office's tables, their indexes and their TOAST tables and indexes: not the
system catalogues, which hold PostgreSQL's own node trees (`[ 64 0 0 0 ... ]`)."""


def database_files(url: str, server: Postgres | None) -> dict[str, bytes]:
    """The database's own files: the SQLite file (+ -wal, -shm), or the files of the back
    office's relations on PostgreSQL after a CHECKPOINT."""
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :])
        found = [path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))]
        return {f"sqlite/{p.name}": p.read_bytes() for p in found if p.exists()}
    assert server is not None
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        paths = [r[0] for r in conn.execute(PG_RELATIONS) if r[0] is not None]
    out: dict[str, bytes] = {}
    for relative in paths:  # a relation's file, its segments (.1) and its maps (_fsm, _vm)
        path = server.data_dir / relative
        for p in sorted(path.parent.glob(path.name + "*")):
            if p.name == path.name or p.name[len(path.name)] in "._":
                out[f"postgres/{relative}{p.name[len(path.name) :]}"] = p.read_bytes()
    assert out, "no relation files found"
    return out
