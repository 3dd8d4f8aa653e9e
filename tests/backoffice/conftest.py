"""Back office fixtures: a database on SQLite AND PostgreSQL, and real registers.

`db_url` runs each test twice: on a fresh SQLite file and on a fresh PostgreSQL database
copied from a template that already holds the schema (CREATE DATABASE ... TEMPLATE takes
a few milliseconds, far less than creating the tables). The Postgres cluster is the
session's devstack one, started only when a postgres test runs.

`Till` is a real appliance Register over LMDB with the demo shop: the payloads the tests
feed the back office are the exact bytes a register's outbox would publish.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from appliance.bootstrap import open_storage
from appliance.config import Config
from appliance.domain.tender import Tender
from appliance.register import Register
from appliance.store import outbox
from appliance.store.executor import StorageThread
from appliance.sync import wire
from backoffice.catalog import load_catalog
from backoffice.db import Database
from devstack import Postgres
from tests.devstack.conftest import mosquitto, postgres  # noqa: F401  (shared fixtures)
from tests.store.conftest import (
    CASHIER_PIN,
    DEMO_CATALOG,
    FakeClock,
    cad,
    new_id,
    seed,
    write_config,
)

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
TEMPLATE = "bo_template"
_DATABASES = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Sent:
    """One outbox entry as the register would publish it."""

    topic: str
    payload: bytes
    id: str
    seq: int
    kind: str


class Till:
    """A real register of the demo shop, logged in, with an open till."""

    def __init__(self, directory: Path, store: str = "s1", register: str = "r1") -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.config: Config = write_config(directory, store, register)
        self.storage = open_storage(self.config)
        seed(self.storage, self.config)
        self.clock = FakeClock()
        self.online = False
        self.register = Register(
            self.config,
            self.storage,
            StorageThread(5.0),
            self.clock,
            new_id,
            online=lambda: self.online,
        )
        # These tests hand payloads to the consumer directly, with no broker: "online"
        # means the office priced the cart with the register's catalogue version, which
        # is what its price_cart answer says when the two agree.
        self.register.ask = lambda method, params: wire.RpcResponse(
            "ok", {"version": self.register.catalog_version()}
        )
        self.register.login("ann", CASHIER_PIN)
        self.register.open_till(cad(200_00))

    def sell(self, *skus: str, cash: int = 100_00, tenders: tuple[Tender, ...] = ()) -> Sent:
        """Ring up the skus, pay (cash by default), complete; the sale's outbox entry."""
        for sku in skus:
            self.register.add_sku(sku)
        for tender in tenders or (Tender.cash(cad(cash)),):
            self.register.add_tender(tender)
        self.register.complete()
        return self.last()

    def entries(self) -> list[Sent]:
        """Every outbox entry, in sequence order."""
        queue = self.register.queue
        with self.storage.read() as txn:
            out = []
            for entry in outbox.entries(txn, self.storage, queue):
                raw = outbox.payload(txn, self.storage, entry.key)
                topic = wire.out_topic(queue.store, queue.register, entry.kind)
                out.append(Sent(topic, raw, entry.id, entry.seq, entry.kind))
            return out

    def last(self) -> Sent:
        """The newest outbox entry."""
        return self.entries()[-1]

    def close(self) -> None:
        self.register.io.close()
        self.storage.close()


@pytest.fixture
def till(tmp_path: Path) -> Iterator[Till]:
    made = Till(tmp_path / "till-s1-r1")
    yield made
    made.close()


@pytest.fixture(scope="session")
def pg_template(postgres: Postgres) -> str:  # noqa: F811
    """A database holding the empty schema, to copy per test."""
    with psycopg.connect(postgres.url_for("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(TEMPLATE)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE)))
    Database(postgres.url_for(TEMPLATE)).close()
    return TEMPLATE


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty back office database URL on each engine."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'backoffice.db'}"
        return
    server: Postgres = request.getfixturevalue("postgres")
    template = request.getfixturevalue("pg_template")
    name = f"bo_{next(_DATABASES)}"
    admin = server.url_for("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
    yield server.url_for(name)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.close()


@pytest.fixture
def stocked(db: Database, till: Till) -> Database:
    """The database with the demo catalogue loaded for store s1 (the till's config)."""
    load_catalog(db, "s1", till.config, DEMO_CATALOG, NOW)
    return db


def reprice(tmp_path: Path, db: Database, till: Till, sku_block: str, new_price: int) -> None:
    """Load a catalogue where one product costs more at the back office (version 2)."""
    text = DEMO_CATALOG.read_text()
    start = text.index(f'sku = "{sku_block}"')
    price_at = text.index("price = ", start)
    end = text.index("\n", price_at)
    changed = text[:price_at] + f"price = {new_price}" + text[end:]
    path = tmp_path / "catalog-v2.toml"
    path.write_text(changed)
    assert load_catalog(db, "s1", till.config, path, NOW) == 2


def count(db: Database, table: str, where: str = "", params: tuple[object, ...] = ()) -> int:
    with db.transaction(readonly=True) as tx:
        return int(tx.scalar(f"SELECT COUNT(*) FROM {table} {where}", params, 0))


def rebuilt(sent: Sent, **body_changes: object) -> Sent:
    """The entry with its body changed, re-encoded as a register would (same id and seq)."""
    envelope = wire.decode_envelope(sent.payload)
    body = {**envelope.body, **body_changes}
    payload = wire.encode_envelope(
        wire.Envelope(
            envelope.id,
            envelope.kind,
            envelope.store,
            envelope.register,
            envelope.seq,
            envelope.prev,
            envelope.at,
            body,
        )
    )
    return Sent(sent.topic, payload, sent.id, sent.seq, sent.kind)
