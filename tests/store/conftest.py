"""A real register over real LMDB files in a temp dir, with the demo shop's catalogue."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from appliance import pins
from appliance.bootstrap import import_catalog, open_storage
from appliance.config import Config, load_config
from appliance.domain.money import Money
from appliance.domain.tender import TenderKind
from appliance.register import Register
from appliance.store import local
from appliance.store.executor import StorageThread
from appliance.store.lmdb_env import Storage

ROOT = Path(__file__).resolve().parents[2]
DEMO_CATALOG = ROOT / "config" / "demo" / "catalog.toml"
CASHIER_PIN, MANAGER_PIN = "1234", "9999"


def write_config(
    directory: Path,
    store: str = "s1",
    register: str = "r1",
    extra: str = "",
    broker: str = "",
    broker_keys: str = "",
) -> Config:
    """A register.toml over the demo's tax setup, with its data dir in `directory`.

    `extra` is appended (new tables only); `broker_keys` go into the [broker] table.
    """
    demo = (ROOT / "config" / "demo" / "register.toml").read_text()
    url = broker or "mqtt://127.0.0.1:1883"
    demo = demo.replace('url = "mqtt://127.0.0.1:1883"', f'url = "{url}"\n{broker_keys}')
    text = demo.replace('store = "demo-store"', f'store = "{store}"')
    text = text.replace('id = "till-1"', f'id = "{register}"')
    text = text.replace('data_dir = "var/demo/data"', f'data_dir = "{directory / "data"}"')
    path = directory / f"register-{store}-{register}.toml"
    path.write_text(text + "\n" + extra)
    return load_config(path)


class FakeClock:
    """The register's local clock, moved by the test."""

    def __init__(self, start: datetime = datetime(2026, 11, 25, 9, 0)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


_NUMBERS = itertools.count(1)


def cad(minor: int) -> Money:
    """An amount in Canadian cents, the test shop's currency."""
    return Money(minor, "CAD")


def new_id() -> str:
    """Valid, ordered UUIDv7-shaped ids, unique across every register of the test run."""
    return f"01a21000-0000-7000-8000-{next(_NUMBERS):012d}"


def seed(storage: Storage, config: Config) -> None:
    """Catalogue, two cashiers, a customer with balances."""
    import_catalog(storage, config, DEMO_CATALOG)
    cad = config.register.currency

    def run(txn: object) -> None:
        local.put_cashier(
            txn,
            storage,
            local.Cashier("ann", "Ann", "cashier", pins.hash_pin(CASHIER_PIN, cost=2**4)),
        )
        local.put_cashier(
            txn,
            storage,
            local.Cashier("mo", "Mo", "manager", pins.hash_pin(MANAGER_PIN, cost=2**4)),
        )
        local.put_customer(
            txn, storage, {"id": "c1", "name": "Cy", "lifetime_points": 0, "points": 300}
        )
        local.set_balance(txn, storage, TenderKind.STORE_CREDIT, "c1", Money(2500, cad))
        local.set_balance(txn, storage, TenderKind.GIFT_CARD, "g-100", Money(1000, cad))

    storage.write(run)


def make_register(config: Config, clock: FakeClock, storage: Storage | None = None) -> Register:
    storage = storage or open_storage(config)
    return Register(config, storage, StorageThread(5.0), clock, new_id)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return write_config(tmp_path)


@pytest.fixture
def register(config: Config, clock: FakeClock) -> Iterator[Register]:
    storage = open_storage(config)
    seed(storage, config)
    reg = make_register(config, clock, storage)
    reg.login("ann", CASHIER_PIN)
    yield reg
    reg.io.close()
    storage.close()


@pytest.fixture
def open_till(register: Register) -> Register:
    """The logged-in register with its till opened on a 200.00 float."""
    register.open_till(cad(200_00))
    return register


@pytest.fixture
def register_with(config: Config, clock: FakeClock, storage: Storage) -> Iterator[Register]:
    """A register over a storage fixture the test made itself."""
    reg = make_register(config, clock, storage)
    yield reg
    reg.io.close()
