"""Oversell levels: the shortcut aggregate and the kept book agree with a plain replay."""

from __future__ import annotations

import random
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from backoffice.catalog import RulesCache
from backoffice.db import Database
from backoffice.web.stock import Level, StockBook, oversold, stock_state

DELTAS = ("-1", "-2", "-0.742", "-0.258", "3", "1.5", "-1", "-1")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with Database(f"sqlite:///{tmp_path / 'stock.db'}") as database:
        yield database


def add(db: Database, rows: list[tuple[str, str, str]], ids: list[int] | None = None) -> None:
    with db.transaction() as tx:
        for n, (store, sku, delta) in enumerate(rows):
            if ids is None:
                at = f"2026-11-25T10:{n % 60:02d}"
                tx.execute("INSERT INTO stock_movements (store, sku, delta, reason, sale, at) "
                           "VALUES (?, ?, ?, 'sale', NULL, ?)",
                           (store, sku, delta, at))  # fmt: skip
            else:
                tx.execute("INSERT INTO stock_movements (id, store, sku, delta, reason, sale, at) "
                           "VALUES (?, ?, ?, ?, 'sale', NULL, '2026-11-25T10:00')",
                           (ids[n], store, sku, delta))  # fmt: skip


def replayed(db: Database) -> dict[tuple[str, str], Level]:
    out: dict[tuple[str, str], Level] = {}
    with db.transaction(readonly=True) as tx:
        for store, sku, movement, delta in tx.all(
            "SELECT store, sku, id, delta FROM stock_movements ORDER BY id"
        ):
            out.setdefault((store, sku), Level(Decimal(0))).add(int(movement), Decimal(delta))
    return out


def same(a: dict[tuple[str, str], Level], b: dict[tuple[str, str], Level]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        x, y = a[key], b[key]
        assert (x.level, x.lowest, x.sales_below_zero, x.first_below) == (
            y.level, y.lowest, y.sales_below_zero, y.first_below), key  # fmt: skip


def test_shortcuts_and_the_kept_book_match_a_plain_replay(db: Database) -> None:
    rng = random.Random(5)
    book = StockBook()
    for _ in range(6):
        rows = [(rng.choice(("s1", "s2")), f"k{rng.randrange(12)}", rng.choice(DELTAS))
                for _ in range(rng.randrange(1, 60))]  # fmt: skip
        add(db, rows)
        expected = replayed(db)
        with db.transaction(readonly=True) as tx:
            same(stock_state(tx), expected)
            same(book.levels(tx), expected)


def test_a_lower_id_committed_late_rebuilds_the_book(db: Database) -> None:
    add(db, [("s1", "cola", "-1")], ids=[10])
    book = StockBook()
    with db.transaction(readonly=True) as tx:
        assert book.levels(tx)[("s1", "cola")].level == -1
    add(db, [("s1", "cola", "5"), ("s1", "cola", "-1")], ids=[5, 11])  # 5 came in late
    with db.transaction(readonly=True) as tx:
        level = book.levels(tx)[("s1", "cola")]
    assert (level.level, level.lowest, level.sales_below_zero) == (3, 0, 0)


def test_the_oversold_list_lowest_first_with_when_it_first_went_below(db: Database) -> None:
    add(db, [("s1", "tea", "2"), ("s1", "tea", "-1"), ("s1", "tea", "-2"), ("s1", "tea", "-1"),
             ("s1", "jam", "-3"), ("s1", "oat", "4"), ("s1", "oat", "-4"),
             ("s2", "jam", "-1")])  # fmt: skip
    with db.transaction(readonly=True) as tx:
        rows, count = oversold(tx, stock_state(tx), None, RulesCache(), 50)
        only_s2, _ = oversold(tx, stock_state(tx), "s2", RulesCache(), 50)
    assert count == 3 and [(r.store, r.sku) for r in rows] == [("s1", "jam"), ("s1", "tea"),
                                                               ("s2", "jam")]  # fmt: skip
    tea = rows[1]
    assert (tea.level, tea.lowest, tea.sales_below_zero, tea.first_at) == (
        Decimal(-2), Decimal(-2), 2, "2026-11-25T10:02")  # fmt: skip
    assert [r.sku for r in only_s2] == ["jam"]
