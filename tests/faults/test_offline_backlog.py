"""Three registers, 2,000 sales queued offline on each, then the network returns.

The backlog drains through one real consumer on SQLite, and the checker finds every
sale stored once, in order, with nothing unsent. A file of its own so that it runs
beside the other fault tests (`make test` hands out whole files to its workers).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from devstack import Mosquitto
from tests.faults.checker import check
from tests.faults.conftest import Report
from tests.faults.shop import Shop, office, stock, sync_section, wait_for

# --- 7. three registers, 2,000 sales queued offline each, the network returns ------------------


@pytest.mark.slow
@pytest.mark.no_cover  # a soak over code the unit tests cover: tracing doubled its time
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_three_registers_drain_six_thousand_offline_sales(
    tmp_path: Path, mosquitto: Mosquitto, db_url: str, shops: list[Shop], report: Report
) -> None:
    seed_, each = 7007, 2000
    sync = sync_section(window=16, ack_timeout_s=10.0)
    made = [
        Shop(tmp_path, name, mosquitto.url, sync=sync, seed_rng=seed_ + i)
        for i, name in enumerate(("r1", "r2", "r3"))
    ]
    shops += made
    db = stock(db_url, made[0].config)
    started = time.monotonic()
    for shop in made:
        shop.sell(each)
    fill_s = time.monotonic() - started
    ctx = f"seed={seed_} step=drain"
    with office(db_url, mosquitto):
        healed = time.monotonic()
        for shop in made:
            shop.start_link()
        done = wait_for(lambda: all(s.unsent() == 0 for s in made), 150, poll=0.1)
        assert done, f"{ctx}: unsent {[s.unsent() for s in made]}"
        drain_s = time.monotonic() - healed
    verdict = check(db, [s.outbox() for s in made], f"seed={seed_} step=final")
    db.close()
    assert verdict.committed == 3 * each and verdict.rejected == 0, f"{verdict}"
    report(
        registers=3,
        sales=verdict.sales,
        faults="offline_backlog=3x2000",
        fill_s=f"{fill_s:.1f}",
        drain_after_heal_s=f"{drain_s:.2f}",
        rate_per_s=f"{3 * each / drain_s:.0f}",
        resent_entries=verdict.resent_entries,
    )
