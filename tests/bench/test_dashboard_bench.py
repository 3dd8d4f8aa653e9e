"""The dashboard page with 50 registers and 100,000 sales today, on SQLite.

The day is written straight into the tables (`tests/web/busy_day.py`), then the whole
page is fetched over HTTP (Starlette's test client: routing, session check, queries,
template, chart) and timed:

- cold: a fresh app, nothing kept: the first view after the server starts;
- trading: between two fetches 3 registers each store a new sale (with its tenders,
  stock movements and watermark move), as while the shop is open and the page polls;
- idle: nothing changed since the last fetch.

The baseline, timed in the same process on the same data, is `backoffice report sales`
for the day's sales (`reports.sales`): the one query behind the takings, rendered as
text. `dashboard_render_ms` is the trading median; target < 200 ms. Nothing is asserted
on time, only that the page shows the day's total.
"""

from __future__ import annotations

import uuid
import warnings
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from starlette.testclient import TestClient

from appliance.domain.money import Money
from backoffice import reports
from backoffice.db import Database
from backoffice.web.app import create_app
from backoffice.web.auth import write_password_file
from tests.bench.helpers import Stats, bench, table, time_ms
from tests.web.busy_day import CURRENCY, BusyDay, fill_busy_day

DAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)
PASSWORD = "bench-password"
ROUNDS = 15


def _client(db: Database, password_file: Path) -> TestClient:
    from backoffice.web.auth import read_password_file

    app = create_app(db, read_password_file(password_file), clock=lambda: NOW,
                     today=lambda: DAY)  # fmt: skip
    client = TestClient(app, base_url="http://127.0.0.1")
    answer = client.post("/login", data={"password": PASSWORD}, follow_redirects=False)
    assert answer.status_code == 303
    return client


def _one_more_sale(db: Database, day: BusyDay, n: int) -> None:
    """What the consumer writes for one sale, for 3 registers (the parts the page reads)."""
    with db.transaction() as tx:
        for store, register in day.registers[n % 7 :: 17]:
            sale = str(uuid.uuid4())
            seq = int(tx.scalar("SELECT last_seq FROM watermarks WHERE store = ? AND register = ?",
                                (store, register))) + 1  # fmt: skip
            at = f"{DAY}T19:{n % 60:02d}:00"
            tx.execute("INSERT INTO sales VALUES (?, ?, ?, ?, ?, 0, ?, 1000, 48, 'ann', NULL, 0, "
                       "0)", (sale, store, register, seq, at, CURRENCY))  # fmt: skip
            tx.execute("INSERT INTO sale_tenders VALUES (?, 0, ?, 'cash', '', 1000)", (sale, store))
            tx.execute("INSERT INTO stock_movements (store, sku, delta, reason, sale, at) "
                       "VALUES (?, 'p00001', '-1', 'sale', ?, ?)", (store, sale, at))  # fmt: skip
            received = (NOW + timedelta(seconds=n)).isoformat()
            tx.execute("INSERT INTO entries VALUES (?, 'sale', ?, ?, ?, '', ?, x'7b7d', 1, ?)",
                       (sale, store, register, seq, at, received))  # fmt: skip
            tx.execute("UPDATE watermarks SET last_seq = ?, last_at = ? WHERE store = ? AND "
                       "register = ?", (seq, received, store, register))  # fmt: skip


def test_dashboard_with_50_registers_and_100k_sales_today(tmp_path: Path) -> None:
    warnings.simplefilter("ignore", DeprecationWarning)
    password_file = tmp_path / "dashboard.passwd"
    write_password_file(password_file, PASSWORD)
    with Database(f"sqlite:///{tmp_path / 'busy.db'}") as db:
        fill_ms, day = time_ms(lambda: fill_busy_day(db, DAY, now=NOW))
        print(f"\nfilled {day.sales:,} sales from {len(day.registers)} registers in "
              f"{fill_ms / 1000:.1f} s")  # fmt: skip
        expected = Money(day.total, CURRENCY).format()

        cold, trading, idle, baseline = [], [], [], []
        for _ in range(3):
            with _client(db, password_file) as client:
                took, page = time_ms(lambda: client.get("/dashboard"))
                assert page.status_code == 200 and expected in page.text
                cold.append(took)
        with _client(db, password_file) as client:
            client.get("/dashboard")
            for n in range(ROUNDS):
                _one_more_sale(db, day, n)
                took, page = time_ms(lambda: client.get("/dashboard"))
                assert page.status_code == 200
                trading.append(took)
                took, page = time_ms(lambda: client.get("/dashboard"))
                idle.append(took)
        for _ in range(5):
            took, text = time_ms(lambda: reports.report(db, "sales").render())
            assert "s1" in text
            baseline.append(took)

    rows = [Stats.of("page, cold (fresh app)", cold), Stats.of("page, trading", trading),
            Stats.of("page, idle", idle),
            Stats.of("report sales (baseline)", baseline)]  # fmt: skip
    table("Dashboard page, 50 registers, 100,000 sales today (SQLite)", rows)
    trading_ms, base_ms = Stats.of("", trading).median, Stats.of("", baseline).median
    bench("dashboard_render_ms", trading_ms)
    bench("dashboard_render_cold_ms", Stats.of("", cold).median)
    bench("dashboard_render_idle_ms", Stats.of("", idle).median)
    bench("dashboard_report_sales_ms", base_ms)
    bench("dashboard_render_vs_report_sales", trading_ms / base_ms)
