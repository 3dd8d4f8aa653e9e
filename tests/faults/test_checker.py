"""The checker itself: it passes on a clean drain and names each kind of damage.

No broker here: the register's entries go straight through the back office's
`Consumer` (the same code the service runs), then the test damages one thing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from appliance.store.outbox import EntryState
from appliance.sync import wire
from backoffice.consumer import Consumer
from backoffice.db import Database, Tx
from tests.faults.checker import check
from tests.faults.shop import Shop, stock

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)


@pytest.fixture
def drained(tmp_path: Path) -> Iterator[tuple[Shop, Database]]:
    """Five sales of s1/r1, stored by the consumer and confirmed on the register."""
    shop = Shop(tmp_path, "r1", "mqtt://127.0.0.1:1", seed_rng=9)
    db = stock(f"sqlite:///{tmp_path / 'bo.db'}", shop.config)
    shop.sell(5)
    consumer = Consumer(db)
    for entry in shop.outbox().entries:
        ack = consumer.handle(wire.out_topic("s1", "r1", entry.kind), entry.payload, NOW)
        assert ack is not None and ack.status == "accepted"
        shop.register.settle_entry(entry.id, EntryState.CONFIRMED)
    yield shop, db
    db.close()
    shop.close()


def test_a_clean_drain_passes(drained: tuple[Shop, Database]) -> None:
    shop, db = drained
    verdict = check(db, [shop.outbox()], "clean")
    assert (verdict.committed, verdict.sales, verdict.stored, verdict.rejected) == (5, 5, 5, 0)


def _write(db: Database, damage: Callable[[Tx], object]) -> None:
    with db.transaction() as tx:
        damage(tx)


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda tx: tx.execute("DELETE FROM entries WHERE seq = 3"), "(a) s1/r1: committed but"),
        (lambda tx: tx.execute("DELETE FROM entries WHERE seq = 3"), "is missing [3]"),
        (lambda tx: tx.execute("UPDATE entries SET chain_ok = 0 WHERE seq = 4"), "chain_ok is 0"),
        (
            lambda tx: tx.execute(
                "INSERT INTO stock_movements (store, sku, delta, reason, sale, at) "
                "SELECT store, sku, delta, reason, sale, at FROM stock_movements LIMIT 1"
            ),
            "stock movements for",
        ),
        (lambda tx: tx.execute("UPDATE entries SET payload = X'00' WHERE seq = 2"), "bytes"),
        (
            lambda tx: tx.execute("UPDATE watermarks SET contiguous = 2, last_seq = 5"),
            "watermark",
        ),
        (
            lambda tx: tx.execute(
                "INSERT INTO rejected (store, register, id, seq, kind, reason, in_chain, "
                "payload, at) VALUES ('s1', 'r1', 'x', 9, 'sale', '', 1, X'00', 'now')"
            ),
            "rejected without a reason",
        ),
    ],
)
def test_damage_in_the_database_is_named(
    drained: tuple[Shop, Database], damage: Callable[[Tx], object], expected: str
) -> None:
    shop, db = drained
    _write(db, damage)
    with pytest.raises(AssertionError, match="context") as failure:
        check(db, [shop.outbox()], "context")
    assert expected in str(failure.value)


def test_something_unsent_is_named(drained: tuple[Shop, Database]) -> None:
    shop, db = drained
    shop.sell(1)  # committed, never sent: neither stored nor rejected, and unsent
    with pytest.raises(AssertionError) as failure:
        check(db, [shop.outbox()], "unsent")
    assert "(d) s1/r1: unsent counter 1" in str(failure.value)
    assert "(a) s1/r1: committed but neither stored nor rejected: 1" in str(failure.value)
