"""Oversell: which products' stock went below zero, how low, how often, since when.

Stock levels are the running sum of `stock_movements` per store and product, from zero
(`reports.stock` prints the same trail). Replaying every movement for every product on
each view would cost a full ordered scan, so:

- `stock_state` reads one aggregate per product (from the covering index) and replays
  in order only the products that need it: a product that was only ever sold is below
  zero from its first sale on, and one whose receipts all came before its sales bottoms
  out at its current level; only goods received after a sale need the order.
- `StockBook` keeps that state and folds in just the movements added since. Movements
  are never changed or deleted, so the state after them is exact, provided every row
  added is above the highest id already seen: the number of new rows must equal the
  growth of the count (on PostgreSQL a lower id can commit after a higher one; then
  the state is rebuilt).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from backoffice.catalog import RulesCache
from backoffice.db import Tx

Product = tuple[str, str]  # (store, sku)
SIX_PLACES = Decimal("0.000001")


@dataclass(slots=True)
class Level:
    """A product's running stock: now, the lowest it went, the sales that left it below zero."""

    level: Decimal
    lowest: Decimal = Decimal(0)
    sales_below_zero: int = 0
    first_below: int = 0  # the movement that first took it below zero

    def add(self, movement: int, delta: Decimal) -> None:
        """One more movement, in id order."""
        self.level += delta
        if self.level < 0 and delta < 0:
            self.sales_below_zero += 1
            self.first_below = self.first_below or movement
        self.lowest = min(self.lowest, self.level)


@dataclass(frozen=True, slots=True)
class OversoldRow:
    """A product whose stock went below zero."""

    store: str
    sku: str
    name: str
    level: Decimal  # now
    lowest: Decimal
    sales_below_zero: int
    first_at: str  # when it first went below zero


def _decimal(value: object) -> Decimal:
    return Decimal(str(value)).quantize(SIX_PLACES).normalize() + 0


def stock_state(tx: Tx) -> dict[Product, Level]:
    """Every product's level (see the module docstring)."""
    neg = "delta LIKE '-%'"
    state: dict[Product, Level] = {}
    replay: dict[str, list[str]] = defaultdict(list)
    for store, sku, level, sold, first_out, last_in in tx.all(
        f"SELECT store, sku, ROUND(SUM(CAST(delta AS NUMERIC)), 6), "
        f"SUM(CASE WHEN {neg} THEN 1 ELSE 0 END), MIN(CASE WHEN {neg} THEN id END), "
        f"MAX(CASE WHEN {neg} THEN NULL ELSE id END) FROM stock_movements GROUP BY store, sku"
    ):
        now = _decimal(level)
        if last_in is None and first_out is not None:  # only ever sold
            state[(store, sku)] = Level(now, now, int(sold), int(first_out))
        elif first_out is not None and (now < 0 or int(last_in) > int(first_out)):
            replay[store].append(sku)  # the order decides how low it went
        else:
            state[(store, sku)] = Level(now)
    for store, skus in replay.items():
        for start in range(0, len(skus), 500):
            chunk = skus[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            for sku, movement, delta in tx.all(
                f"SELECT sku, id, delta FROM stock_movements WHERE store = ? AND sku IN ({marks}) "
                "ORDER BY sku, id", [store, *chunk]):  # fmt: skip
                state.setdefault((store, sku), Level(Decimal(0))).add(int(movement), Decimal(delta))
    return state


class StockBook:
    """`stock_state`, kept and brought up to date with the movements added since."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: dict[Product, Level] = {}
        self._seen: tuple[int, int] | None = None  # (highest id, count) folded in

    def levels(self, tx: Tx) -> dict[Product, Level]:
        """The state as of this transaction (the caller only reads it)."""
        row = tx.one("SELECT MAX(id), COUNT(*) FROM stock_movements")
        now = (int(row[0] or 0), int(row[1])) if row else (0, 0)
        with self._lock:
            if self._seen == now:
                return self._state
            if self._seen is not None and now[1] > self._seen[1]:
                added = tx.all("SELECT store, sku, id, delta FROM stock_movements WHERE id > ? "
                               "ORDER BY id", (self._seen[0],))  # fmt: skip
                if len(added) == now[1] - self._seen[1]:
                    for store, sku, movement, delta in added:
                        level = self._state.setdefault((store, sku), Level(Decimal(0)))
                        level.add(int(movement), Decimal(delta))
                    self._seen = now
                    return self._state
            self._state, self._seen = stock_state(tx), now
            return self._state


def oversold(
    tx: Tx, levels: dict[Product, Level], store: str | None, names: RulesCache, limit: int
) -> tuple[list[OversoldRow], int]:
    """Products that went below zero, lowest first (up to `limit`), and how many there are."""
    below = sorted(((lv.lowest, key) for key, lv in levels.items()
                    if lv.lowest < 0 and (store is None or key[0] == store)))  # fmt: skip
    shown = [(key, levels[key]) for _, key in below[:limit]]
    first_at: dict[int, str] = {}
    if shown:
        marks = ", ".join("?" for _ in shown)
        first_at = {int(i): str(a) for i, a in tx.all(
            f"SELECT id, at FROM stock_movements WHERE id IN ({marks})",
            [lv.first_below for _, lv in shown])}  # fmt: skip
    rows = []
    for (s, sku), lv in shown:
        known = names.get(tx, s)
        product = known[1].catalog.products.get(sku) if known else None
        rows.append(OversoldRow(s, sku, product.name if product else "", _decimal(lv.level),
                                _decimal(lv.lowest), lv.sales_below_zero,
                                first_at.get(lv.first_below, "")))  # fmt: skip
    return rows, len(below)
