"""A shop for the dashboard's tests: real registers, a real Mosquitto, the real back office.

`shop` is built once per engine (SQLite, PostgreSQL) for the module and holds:
- register s1/r1: a real Register over LMDB with its sync link, three sales drained
  through the broker (cola received once before, so it went below zero after a receipt;
  chips never received);
- till s1/r9: a register without a link whose entries the test publishes itself: #1 an
  offline sale of a product the office has since repriced (accepted with drift), #2 the
  same sold "online" (rejected: an online sale must not drift), #3 withheld (a gap),
  #4 an offline sale; and a retained status saying 2 entries are pending.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from appliance.bootstrap import start_sync
from appliance.domain.money import Money
from appliance.domain.tender import Tender
from appliance.register import Register
from appliance.sync import wire
from backoffice import ledger
from backoffice.catalog import load_catalog
from backoffice.db import Database
from backoffice.service import BackOffice
from backoffice.web.auth import Credentials, write_password_file
from devstack import Mosquitto, MqttProbe, Postgres
from tests.backoffice.conftest import Till, pg_template, reprice  # noqa: F401
from tests.devstack.conftest import postgres  # noqa: F401
from tests.store.conftest import CASHIER_PIN, DEMO_CATALOG, FakeClock, make_register, seed
from tests.store.conftest import write_config as register_config

PASSWORD = "counter-top-42"
DAY = date(2026, 11, 25)
_NAMES = itertools.count(1)


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@dataclass(frozen=True, slots=True)
class Shop:
    """The database a back office filled from real registers, and what the test sent."""

    db_url: str
    creds: Credentials
    password_file: Path
    r1_sales: int
    r1_total: int


def _pay(register: Register, *skus: str) -> int:
    for sku in skus:
        register.add_sku(sku)
    register.add_tender(Tender.cash(Money(50_00, "CAD")))
    return register.complete().sale.total.minor


def _database(kind: str, directory: Path, request: pytest.FixtureRequest) -> str:
    if kind == "sqlite":
        return f"sqlite:///{directory / 'backoffice.db'}"
    server: Postgres = request.getfixturevalue("postgres")
    template = request.getfixturevalue("pg_template")
    name = f"web_{next(_NAMES)}"
    with psycopg.connect(server.url_for("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)))  # fmt: skip
    return server.url_for(name)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shop]:
    """See the module docstring."""
    root = tmp_path_factory.mktemp(f"shop-{request.param}")
    db_url = _database(request.param, root, request)
    password_file = root / "dashboard.passwd"
    creds = write_password_file(password_file, PASSWORD)
    sync = "[sync]\nwindow = 8\nack_timeout_s = 2.0\nreconnect_min_s = 0.1\nreconnect_max_s = 0.5\n"
    with Mosquitto(root / "mosquitto") as broker, Database(db_url) as db:
        (root / "r1").mkdir()
        config = register_config(root / "r1", extra=sync, broker=broker.url)
        load_catalog(db, "s1", config, DEMO_CATALOG, datetime.now(UTC))
        with db.transaction() as tx:
            ledger.add_stock(tx, "s1", "cola", Decimal(1), "receipt", "2026-11-25T08:00:00")
        office = BackOffice(db_url, broker.url, beacon_interval_s=0.2)
        office.start()
        register = make_register(config, FakeClock(datetime(2026, 11, 25, 11, 0)))
        link = None
        try:
            assert office.wait_ready(10)
            seed(register.storage, config)
            register.login("ann", CASHIER_PIN)
            register.open_till(Money(100_00, "CAD"))
            totals = [_pay(register, "cola", "chips") for _ in range(3)]
            link = start_sync(register)
            assert wait_for(lambda: register.status().unsent == 0), link.status()
            till_r9(root, db, broker)
            assert wait_for(lambda: _count(db, "entries WHERE register = 'r9'") == 2)
            assert wait_for(lambda: _count(db, "rejected") == 1)
            assert wait_for(lambda: _count(db, "register_status WHERE register = 'r9'") == 1)
            yield Shop(db_url, creds, password_file, len(totals), sum(totals))
        finally:
            if link is not None:
                link.stop()
            register.io.close()
            register.storage.close()
            office.stop()


def till_r9(root: Path, db: Database, broker: Mosquitto, when: datetime | None = None) -> None:
    till = Till(root / "r9", "s1", "r9")
    if when is not None:
        till.clock.now = when
    try:
        reprice(root, db, till, "lighter", 349)  # the office's catalogue is now version 2
        drifted = till.sell("lighter")
        till.online = True
        refused = till.sell("lighter")
        till.online = False
        till.sell("cola")  # never published: a gap
        later = till.sell("chips")
        with MqttProbe(broker.host, broker.port, client_id="till-r9") as probe:
            for sent in (drifted, refused, later):
                probe.publish(sent.topic, sent.payload)
            # the cola, held since it was sold, had waited 25 minutes when this was said
            said = wire.Status("online", 2, till.clock.now.isoformat(), oldest_unsent_s=1500)
            status = wire.encode_status(said)
            probe.publish(wire.status_topic("s1", "r9"), status, retain=True)
    finally:
        till.close()


def _count(db: Database, table_where: str) -> int:
    with db.transaction(readonly=True) as tx:
        return int(tx.scalar(f"SELECT COUNT(*) FROM {table_where}", (), 0))
