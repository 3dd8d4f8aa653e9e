"""The database layer and the stored catalogue, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.catalog_file import parse_store, parse_tax
from appliance.settings import load_store_file, tax_table
from backoffice.catalog import RulesCache, load_catalog, read_store, store_document, tax_document
from backoffice.db import Database, DatabaseError, DatabaseUnavailable, dialect_of
from backoffice.schema import SCHEMA_VERSION
from devstack import Postgres
from tests.backoffice.conftest import NOW, Till
from tests.store.conftest import DEMO_CATALOG

TABLES = {
    "entries",
    "rejected",
    "sales",
    "sale_tenders",
    "sale_drift",
    "stock_movements",
    "balance_ledger",
    "loyalty_ledger",
    "punches",
    "cash_drops",
    "no_sales",
    "watermarks",
    "stores",
    "customers",
    "balances",
    "register_status",
    "meta",
}


def test_schema_is_created_once_and_reopens(db_url: str) -> None:
    with Database(db_url) as first, first.transaction() as tx:
        tx.insert(
            "customers",
            {"store": "s1", "id": "c1", "name": "Cy", "lifetime_points": 0, "points": 0},
        )
    with Database(db_url) as again, again.transaction(readonly=True) as tx:
        assert tx.scalar("SELECT name FROM customers") == "Cy"
        if again.dialect == "sqlite":
            names = {r[0] for r in tx.all("SELECT name FROM sqlite_master WHERE type='table'")}
            assert tx.scalar("PRAGMA journal_mode") == "wal"
            assert tx.scalar("PRAGMA synchronous") == 2  # FULL
        else:
            names = {
                r[0] for r in tx.all("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            }
        assert names >= TABLES


def test_a_failed_block_rolls_back_and_upserts_do_nothing_twice(db: Database) -> None:
    with pytest.raises(RuntimeError), db.transaction() as tx:
        tx.insert("balances", {"store": "s1", "kind": "gift_card", "account": "g", "amount": 5})
        raise RuntimeError("boom")
    with db.transaction() as tx:
        assert tx.scalar("SELECT COUNT(*) FROM balances") == 0
        row = {"key": "k", "value": "one"}
        assert tx.insert("meta", row, "(key) DO NOTHING") == 1
        assert tx.insert("meta", {"key": "k", "value": "two"}, "(key) DO NOTHING") == 0
        assert tx.scalar("SELECT value FROM meta WHERE key = ?", ("k",)) == "one"
        assert tx.scalar("SELECT value FROM meta WHERE key = ?", ("none",), "dflt") == "dflt"
        assert tx.one("SELECT value FROM meta WHERE key LIKE '%zz%'") is None  # % survives
        with pytest.raises(DatabaseError, match="do not nest"), db.transaction():
            pass
    payload = b"\x00\xff raw bytes"
    with db.transaction() as tx:
        tx.insert(
            "rejected",
            {
                "store": "s",
                "register": "r",
                "id": "i",
                "seq": 1,
                "kind": "sale",
                "reason": "x",
                "in_chain": 1,
                "payload": payload,
                "at": "t",
            },
        )
    with db.transaction(readonly=True) as tx:
        assert bytes(tx.scalar("SELECT payload FROM rejected")) == payload


def test_urls() -> None:
    assert dialect_of("sqlite:///var/x.db") == "sqlite"
    assert dialect_of("postgresql://u@h/d") == dialect_of("postgres://h/d") == "postgresql"
    with pytest.raises(DatabaseError, match="expected sqlite:///FILE or postgresql://"):
        dialect_of("mysql://h/d")
    with pytest.raises(DatabaseError, match="no file named"):
        Database("sqlite:///")
    memory = Database("sqlite:///:memory:")
    assert memory.safe_url == "sqlite:///:memory:"
    memory.close()
    memory.close()


def test_password_is_hidden_and_an_unreachable_server_is_unavailable() -> None:
    url = "postgresql://bo:secret@127.0.0.1:1/backoffice"
    with pytest.raises(DatabaseUnavailable) as caught:
        Database(url)
    assert "secret" not in str(caught.value) and "bo:***@127.0.0.1:1" in str(caught.value)


def test_relative_sqlite_path_gets_its_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Database("sqlite:///var/backoffice.db").close()
    assert (tmp_path / "var" / "backoffice.db").exists()


def test_a_locked_sqlite_database_is_unavailable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bo.db'}"
    holder = Database(url)
    waiter = Database(url, busy_timeout_s=0.1)
    with (
        holder.transaction(),
        pytest.raises(DatabaseUnavailable, match="bo.db-writer.lock: locked by another writer"),
        waiter.transaction(),
    ):
        pass
    with waiter.transaction() as tx:  # usable again once the lock is gone
        assert tx.scalar("SELECT 1") == 1
    holder.close()
    waiter.close()


def test_a_writer_that_takes_no_writer_lock_still_makes_us_wait_then_fail(tmp_path: Path) -> None:
    """The sqlite3 shell (or any other program) locks the file, not `FILE-writer.lock`:
    SQLite's own lock still holds, and its busy timeout still ends the wait."""
    path = tmp_path / "bo.db"
    waiter = Database(f"sqlite:///{path}", busy_timeout_s=0.1)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(DatabaseUnavailable, match="database is locked"), waiter.transaction():
        pass
    other.execute("ROLLBACK")
    other.close()
    waiter.close()


def test_writers_in_other_processes_queue_on_the_writer_lock_and_readers_do_not(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'bo.db'}"
    database = Database(url, busy_timeout_s=0.2)
    holder = subprocess.Popen(  # another consumer process, holding the lock until told
        [sys.executable, "-c", HOLD_WRITER_LOCK, f"{tmp_path / 'bo.db'}-writer.lock"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdin is not None
    assert holder.stdout.readline() == b"held\n"
    try:
        with database.transaction(readonly=True) as tx:
            assert tx.scalar("SELECT COUNT(*) FROM sales") == 0
        with (
            pytest.raises(DatabaseUnavailable, match="locked by another writer for 0.2 s"),
            database.transaction() as tx,
        ):
            tx.execute("INSERT INTO meta (key, value) VALUES ('k', 'v')")
    finally:
        holder.stdin.close()  # it lets go and ends
        holder.wait(10)
    with database.transaction() as tx:
        tx.execute("INSERT INTO meta (key, value) VALUES ('k', 'v')")
    with database.transaction(readonly=True) as tx:
        assert tx.scalar("SELECT value FROM meta WHERE key = 'k'") == "v"
    database.close()


HOLD_WRITER_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()
"""


def test_catalogue_documents_read_back_the_same(till: Till) -> None:
    data = load_store_file(DEMO_CATALOG, till.config)
    document = json.loads(json.dumps(store_document(data)))
    assert parse_store(document, currency="CAD") == data
    table = tax_table(till.config)
    assert parse_tax(json.loads(json.dumps(tax_document(table)))) == table


def test_loading_bumps_the_version_and_rules_are_cached_per_version(
    db: Database, till: Till, tmp_path: Path
) -> None:
    assert load_catalog(db, "s1", till.config, DEMO_CATALOG, NOW) == 1
    cache = RulesCache()
    with db.transaction(readonly=True) as tx:
        row, rules = cache.get(tx, "s1") or pytest.fail("no rules")
        assert cache.get(tx, "s1") == (row, rules)
        assert cache.get(tx, "s9") is None and read_store(tx, "s9") is None
    assert row.version == 1 and row.currency == "CAD" and row.cash_increment == 5
    assert rules.catalog.product("cola").price.minor == 149
    csv = tmp_path / "products.csv"
    csv.write_text(
        "sku,name,category,price,tax_class,barcodes,unit,presets,tier,limit_class\n"
        "cola,Cola,drinks,1.99,food,,,,,\n"
    )
    assert load_catalog(db, "s1", till.config, csv, NOW) == 2
    with db.transaction(readonly=True) as tx:
        found = cache.get(tx, "s1")
    assert found is not None and found[0].version == 2
    assert found[1].catalog.product("cola").price.minor == 199
    assert found[1] is not rules


def test_a_postgres_restart_is_unavailable_then_reconnects() -> None:
    with Postgres() as server:  # its own cluster: the session one is not to be killed
        db = Database(server.url)
        server.kill()
        with pytest.raises(DatabaseUnavailable), db.transaction() as tx:
            tx.scalar("SELECT 1")
        server.start()
        with db.transaction() as tx:  # a fresh connection, the schema is there
            assert tx.scalar("SELECT value FROM meta WHERE key = 'schema_version'") == str(
                SCHEMA_VERSION
            )
        db.close()


def test_a_version_1_database_is_migrated_once_and_keeps_its_rows(db_url: str) -> None:
    db = Database(db_url)
    with db.transaction() as tx:  # as version 1 had it: no oldest_unsent_s, no sales.rounding
        tx.execute("ALTER TABLE register_status DROP COLUMN oldest_unsent_s")
        tx.execute("DROP INDEX sales_by_register_day")
        tx.execute("ALTER TABLE sales DROP COLUMN rounding")
        tx.execute("CREATE INDEX sales_by_register_day ON sales (store, register, at, currency, "
                   "total, tax_total, id)")  # fmt: skip
        tx.execute("INSERT INTO register_status (store, register, state, pending, at, "
                   "received_at) VALUES ('s1', 'r1', 'online', 3, '', '')")  # fmt: skip
        for sale, total, paid in (("x1", 500, 500), ("x2", 498, 500)):  # x2: rounded up 2
            tx.execute(
                "INSERT INTO sales (id, store, register, seq, at, offline, currency, "
                "total, tax_total, cashier, drift_items) VALUES (?, 's1', 'r1', 1, "
                "'2026-11-25T09:00:00', 1, 'CAD', ?, 25, 'ann', 0)",
                (sale, total),
            )
            tx.execute("INSERT INTO sale_tenders VALUES (?, 0, 's1', 'cash', '', ?)", (sale, paid))
        tx.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    db.close()
    for _ in range(2):  # the second open finds version 3: nothing runs again
        db = Database(db_url)
        with db.transaction(readonly=True) as tx:
            assert tx.scalar("SELECT value FROM meta WHERE key = 'schema_version'") == "3"
            assert tx.all("SELECT pending, oldest_unsent_s FROM register_status") == [(3, None)]
            rows = tx.all("SELECT id, total, rounding FROM sales ORDER BY id")
            assert rows == [("x1", 500, 0), ("x2", 498, 2)], "rounding: what the tenders paid over"
        db.close()
