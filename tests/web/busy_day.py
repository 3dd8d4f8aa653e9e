"""A busy trading day written straight into the back office's tables, for the dashboard.

The dashboard benchmark needs 100,000 sales from 50 registers: pushing them through the
consumer would take a minute, so this writes the rows the consumer would have written
(sales, tenders, drift, stock movements, entries, watermarks, statuses, rejections) with
one `execute_many` per table. The HTTP and browser tests use real registers instead.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from backoffice.db import Database, Tx

CURRENCY = "CAD"
SKUS = 2_000


@dataclass(frozen=True, slots=True)
class BusyDay:
    """What was written: enough for a test to check the dashboard's sums."""

    day: date
    sales: int
    total: int  # minor units, every sale of the day
    registers: list[tuple[str, str]]


def _sale_rows(rng: random.Random, day: date, store: str, register: str, count: int) -> tuple[
    list[tuple[object, ...]], list[tuple[object, ...]], list[tuple[object, ...]],
    list[tuple[object, ...]], list[tuple[object, ...]], int,
]:  # fmt: skip
    sales, tenders, drift, stock, entries = [], [], [], [], []
    total = 0
    opening = datetime.combine(day, time(8, 0))
    for seq in range(1, count + 1):
        sale_id = str(uuid.UUID(int=rng.getrandbits(128)))
        at = (opening + timedelta(seconds=seq * 13 * 3600 // count)).isoformat()
        amount = rng.randrange(199, 12_000)
        tax = amount * 5 // 105
        drifted = rng.random() < 0.01
        sales.append((sale_id, store, register, seq, at, int(drifted), CURRENCY, amount, tax,
                      "ann", None, 30 if drifted else 0, 1 if drifted else 0, 0))  # fmt: skip
        total += amount
        if rng.random() < 0.4:
            cash = amount // 2
            tenders += [(sale_id, 0, store, "cash", "", cash),
                        (sale_id, 1, store, "card", "visa", amount - cash)]  # fmt: skip
        else:
            tenders.append((sale_id, 0, store, rng.choice(("cash", "card")), "", amount))
        if drifted:
            drift.append((sale_id, 0, "total", str(amount), str(amount - 30)))
        for _ in range(rng.randint(1, 5)):
            stock.append((store, f"p{rng.randrange(SKUS):05d}", f"-{rng.randint(1, 3)}", "sale",
                          sale_id, at))  # fmt: skip
        entries.append((sale_id, "sale", store, register, seq, "0" * 64, at, b"{}", 1,
                        at + "+00:00"))  # fmt: skip
    return sales, tenders, drift, stock, entries, total


def fill_busy_day(
    db: Database, day: date, *, stores: int = 5, per_store: int = 10, sales: int = 100_000,
    now: datetime, seed: int = 10,
) -> BusyDay:  # fmt: skip
    """Write `sales` sales of `day` spread over stores x per_store registers."""
    rng = random.Random(seed)
    registers = [(f"s{s + 1}", f"r{r + 1:02d}") for s in range(stores) for r in range(per_store)]
    each, total = sales // len(registers), 0
    with db.transaction() as tx:
        for store in sorted({s for s, _ in registers}):
            for n in range(SKUS):  # goods received for most products: a few are oversold
                if n % 10:
                    tx.execute("INSERT INTO stock_movements (store, sku, delta, reason, sale, at) "
                               "VALUES (?, ?, ?, 'receipt', NULL, ?)",
                               (store, f"p{n:05d}", "400", f"{day}T07:00:00"))  # fmt: skip
        for index, (store, register) in enumerate(registers):
            rows = _sale_rows(rng, day, store, register, each)
            total += rows[5]
            _insert(tx, "sales", rows[0])
            _insert(tx, "sale_tenders", rows[1])
            _insert(tx, "sale_drift", rows[2])
            _insert(tx, "stock_movements (store, sku, delta, reason, sale, at)", rows[3])
            _insert(tx, "entries", rows[4])
            last = each + (3 if index % 7 == 0 else 0)  # some registers have a gap
            tx.execute("INSERT INTO watermarks VALUES (?, ?, ?, ?, ?)",
                       (store, register, each, last, now.isoformat()))  # fmt: skip
            state = "offline" if index % 9 == 0 else "online"
            heard = now - timedelta(seconds=400 if index % 11 == 0 else 10)
            pending = index % 4
            tx.execute("INSERT INTO register_status VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (store, register, state, pending, heard.isoformat(), heard.isoformat(),
                        90 * pending if pending else None))  # fmt: skip
            if index % 5 == 0:
                tx.execute("INSERT INTO rejected VALUES (?, ?, ?, ?, 'sale', ?, 1, ?, ?)",
                           (store, register, str(uuid.uuid4()), each + 1,
                            "online sale drifted: total", b"{}", now.isoformat()))  # fmt: skip
    return BusyDay(day, each * len(registers), total, registers)


def _insert(tx: Tx, table: str, rows: list[tuple[object, ...]]) -> None:
    if rows:
        marks = ", ".join("?" for _ in rows[0])
        tx.execute_many(f"INSERT INTO {table} VALUES ({marks})", rows)
