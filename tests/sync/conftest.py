"""Real services for the sync tests (a Mosquitto per test), and a register linked to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.domain.money import Money
from appliance.domain.tender import Tender
from appliance.register import Register
from appliance.sync.link import SyncLink
from devstack import Mosquitto
from tests.devstack.conftest import mosquitto, mosquitto_factory, proxy_factory  # noqa: F401
from tests.store.conftest import CASHIER_PIN, FakeClock, make_register, seed, write_config

SYNC = "[sync]\nwindow = 4\nack_timeout_s = 1.0\nreconnect_min_s = 0.1\nreconnect_max_s = 0.5\n"


@pytest.fixture
def shop(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[tuple[Register, SyncLink]]:  # noqa: F811
    config = write_config(tmp_path, extra=SYNC, broker=mosquitto.url)
    register = make_register(config, FakeClock())
    seed(register.storage, config)
    register.login("ann", CASHIER_PIN)
    register.open_till(Money(100_00, "CAD"))
    link = SyncLink(config, register)
    register.on_commit = link.notify_committed
    register.online = lambda: link.status().state != "offline"
    link.start()
    yield register, link
    link.stop()
    register.io.close()
    register.storage.close()


def sell(register: Register, sku: str = "cola") -> str:
    register.add_sku(sku)
    register.add_tender(Tender.cash(Money(10_00, "CAD")))
    return register.complete().sale.id
