"""A register and the back office through a real Mosquitto, on SQLite and on PostgreSQL.

The whole path of DESIGN.md: sales committed offline, the link drains them when the
network returns, the back office stores each exactly once and acks, the register
confirms; a new catalogue version reaches the register by the beacon.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from appliance.bootstrap import start_sync
from appliance.domain.money import Money
from appliance.domain.tender import Tender
from appliance.register import Register
from appliance.store import cache
from appliance.sync import wire
from appliance.sync.link import SyncLink
from backoffice.catalog import load_catalog
from backoffice.db import Database
from backoffice.service import BackOffice
from devstack import Mosquitto
from tests.store.conftest import (
    CASHIER_PIN,
    DEMO_CATALOG,
    FakeClock,
    make_register,
    seed,
    write_config,
)

SYNC = "[sync]\nwindow = 8\nack_timeout_s = 2.0\nreconnect_min_s = 0.1\nreconnect_max_s = 0.5\n"


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def register(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[Register]:
    config = write_config(tmp_path, extra=SYNC, broker=mosquitto.url)
    till = make_register(config, FakeClock(datetime(2026, 11, 25, 9, 0)))
    seed(till.storage, config)
    till.login("ann", CASHIER_PIN)
    till.open_till(Money(100_00, "CAD"))
    yield till
    till.io.close()
    till.storage.close()


@pytest.fixture
def office(db_url: str, mosquitto: Mosquitto, register: Register) -> Iterator[Database]:
    db = Database(db_url)
    load_catalog(db, "s1", register.config, DEMO_CATALOG, datetime.now(UTC))
    service = BackOffice(db_url, mosquitto.url, beacon_interval_s=0.2)
    service.start()
    assert service.wait_ready(10)
    yield db
    service.stop()


def sell(register: Register, *skus: str) -> str:
    for sku in skus:
        register.add_sku(sku)
    register.add_tender(Tender.cash(Money(50_00, "CAD")))
    return register.complete().sale.id


def test_offline_sales_drain_once_and_the_catalogue_follows_the_beacon(
    register: Register, office: Database
) -> None:
    offline = [sell(register, "cola", "chips") for _ in range(12)]
    assert register.status().unsent == 12 and register.sale(offline[0]).offline
    link: SyncLink = start_sync(register)
    try:
        assert wait_for(lambda: register.status().unsent == 0), link.status()
        assert wait_for(lambda: register.catalog_version() >= 1), "the beacon was followed"
        online = sell(register, "oj")  # the office prices it with our catalogue version
        assert wait_for(lambda: register.status().unsent == 0)
        assert not register.sale(online).offline, "online: checked strictly, and accepted"
        with office.transaction(readonly=True) as tx:
            stored = [row[0] for row in tx.all("SELECT id FROM sales ORDER BY seq")]
            gaps = tx.all("SELECT seq FROM entries WHERE chain_ok = 0")
        assert stored == [*offline, online], "every sale once, in order"
        assert gaps == [], "the back office verified every hash link"
        assert wait_for(lambda: link.status().state == "online")
        with register.storage.read() as txn:
            assert cache.sync_status(txn, register.storage)["catalog"]["version"] == "1"
    finally:
        link.stop()


def test_the_broker_goes_away_and_nothing_is_lost_or_doubled(
    register: Register, office: Database, mosquitto: Mosquitto
) -> None:
    link = start_sync(register)
    try:
        first = [sell(register, "cola") for _ in range(3)]
        assert wait_for(lambda: register.status().unsent == 0)
        mosquitto.stop()
        during = [sell(register, "chips") for _ in range(4)]
        assert all(register.sale(i).offline for i in during), "no office to price them"
        mosquitto.start()
        assert wait_for(lambda: register.status().unsent == 0, timeout=30), link.status()
        with office.transaction(readonly=True) as tx:
            stored = [row[0] for row in tx.all("SELECT id FROM sales ORDER BY seq")]
        assert stored == first + during
    finally:
        link.stop()


def test_a_catalogue_bigger_than_one_message_arrives_in_parts(
    register: Register, db_url: str, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    big = tmp_path / "big.csv"
    rows = DEMO_CATALOG.with_suffix(".csv").read_text().splitlines()
    rows += [f"bulk-{n:05d},Bulk item {n:05d} with a longer shelf name,bakery,1.99,food,,,,,"
             for n in range(4000)]  # fmt: skip
    big.write_text("\n".join(rows) + "\n")
    db = Database(db_url)
    version = load_catalog(db, "s1", register.config, big, datetime.now(UTC))
    with db.transaction(readonly=True) as tx:
        catalogue = tx.scalar("SELECT catalog FROM stores WHERE store = 's1'")
    assert len(str(catalogue)) > 2 * wire.MAX_PAYLOAD, "big enough to need parts"
    service = BackOffice(db_url, mosquitto.url, beacon_interval_s=0.2)
    service.start()
    link: SyncLink | None = None
    try:
        assert service.wait_ready(10)
        link = start_sync(register)
        assert wait_for(lambda: register.catalog_version() == version), link.status()
        assert register.search("bulk item 03999")[0].sku == "bulk-03999"
    finally:
        if link is not None:
            link.stop()
        service.stop()
        db.close()
