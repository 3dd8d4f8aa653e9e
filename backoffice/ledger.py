"""What an accepted entry writes, inside the consumer's transaction.

A sale writes its summary row, its tenders exactly as paid, its drift (recorded beside
it, never over it), one stock movement per line, one balance ledger row per balance
use, and its loyalty outcome: the same effects `appliance.store.local.apply_sale` has
on the register's cache, kept here as an append-only trail. The back office is
authoritative, so its balances and points move by the sale's amounts (`delta`), not to
the register's `after` figures, which may rest on a stale cache; those are kept beside
each row for audit. Stock can go below zero: oversell shows, it is never refused.

The watermark per register is the highest n such that entries 1..n all arrived
(accepted or rejected: a rejected entry is not a gap), plus the last sequence seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from appliance.domain.codec import decimal_text
from appliance.domain.sale import Drift, Sale
from appliance.domain.till import CashDrop
from appliance.domain.timeclock import Punch
from appliance.sync.wire import Envelope
from backoffice.db import Tx, Writer

RECEIVED_AFTER = (
    "SELECT seq FROM entries WHERE store = ? AND register = ? AND seq > ? "
    "UNION SELECT seq FROM rejected WHERE store = ? AND register = ? AND seq > ? AND in_chain = 1"
)
"""Sequence numbers of a register's entries above n (params: (store, register, n) twice)."""


_ADD_TO_BALANCE = "(store, kind, account) DO UPDATE SET amount = balances.amount + excluded.amount"


@dataclass(frozen=True, slots=True)
class NoSale:
    """A drawer opened without a sale, with the manager who approved it."""

    cashier: str
    manager: str
    reason: str
    at: str


def lock_register(tx: Tx, store: str, register: str, now: datetime) -> tuple[int, int]:
    """Lock the register's watermark row (creating it); returns (contiguous, last_seq).

    Every entry of one register goes through this lock first, so two consumers never
    decide about the same register's entries at once (PostgreSQL row lock; SQLite's
    single writer already serialises).
    """
    tx.execute(
        "INSERT INTO watermarks (store, register, contiguous, last_seq, last_at) "
        "VALUES (?, ?, 0, 0, ?) ON CONFLICT (store, register) DO NOTHING",
        (store, register, now.isoformat()),
    )
    row = tx.one(
        "SELECT contiguous, last_seq FROM watermarks WHERE store = ? AND register = ?"
        + tx.for_update,
        (store, register),
    )
    assert row is not None
    return int(row[0]), int(row[1])


def gaps(tx: Tx, store: str, register: str, limit: int = 1000) -> list[int]:
    """Sequence numbers below the last one seen that never arrived (the first `limit`)."""
    row = tx.one("SELECT contiguous, last_seq FROM watermarks WHERE store = ? AND register = ?",
                 (store, register))  # fmt: skip
    if row is None:
        return []
    contiguous, last_seq = int(row[0]), int(row[1])
    seen = {int(s) for (s,) in tx.all(RECEIVED_AFTER, (store, register, contiguous) * 2)}
    missing: list[int] = []
    for n in range(contiguous + 1, last_seq):  # a bogus huge seq must not run away
        if n not in seen:
            missing.append(n)
            if len(missing) >= limit:
                break
    return missing


def write_sale(tx: Writer, sale: Sale, drift: Drift) -> None:
    """The sale's rows and effects (see the module docstring)."""
    at, store = sale.local_time.isoformat(), sale.store
    drift_total = None if drift.total is None else drift.total.minor
    tx.insert("sales", {"id": sale.id, "store": store, "register": sale.register,
                        "seq": sale.sequence, "at": at, "offline": int(sale.offline),
                        "currency": sale.currency, "total": sale.total.minor,
                        "tax_total": sale.tax_total.minor, "cashier": sale.cashier,
                        "customer": sale.customer_id, "drift_total": drift_total,
                        "drift_items": len(drift.items),
                        "rounding": sale.rounding.minor})  # fmt: skip
    for position, tender in enumerate(sale.tenders):
        tx.insert("sale_tenders", {"sale": sale.id, "position": position, "store": store,
                                   "kind": tender.kind.value, "method": tender.method,
                                   "applied": tender.applied.minor})  # fmt: skip
    for position, item in enumerate(drift.items):
        tx.insert("sale_drift", {"sale": sale.id, "position": position, "field": item.field,
                                 "recorded": item.recorded, "derived": item.derived})  # fmt: skip
    for line in sale.lines:
        moved = line.quantity if line.weight is None else line.weight * line.quantity
        add_stock(tx, store, line.sku, -moved, "sale", at, sale.id)
    for use in sale.balance_uses:
        tx.insert("balance_ledger", {"store": store, "kind": use.kind.value,
                                     "account": use.account, "delta": -use.amount.minor,
                                     "recorded_before": use.before.minor,
                                     "recorded_after": use.after.minor, "sale": sale.id,
                                     "at": at})  # fmt: skip
        tx.insert("balances", {"store": store, "kind": use.kind.value, "account": use.account,
                               "amount": -use.amount.minor}, _ADD_TO_BALANCE)  # fmt: skip
    if sale.customer_id is not None and sale.loyalty is not None:
        won = sale.loyalty
        tx.insert("loyalty_ledger", {"store": store, "customer": sale.customer_id,
                                     "tier": won.tier, "points_before": won.points_before,
                                     "earned": won.earned, "redeemed": won.redeemed,
                                     "sale": sale.id, "at": at})  # fmt: skip
        tx.execute("UPDATE customers SET points = points + ?, lifetime_points = lifetime_points"
                   " + ? WHERE store = ? AND id = ?",
                   (won.earned - won.redeemed, won.earned, store, sale.customer_id))  # fmt: skip


def add_stock(
    tx: Writer, store: str, sku: str, delta: Decimal, reason: str, at: str, sale: str | None = None
) -> None:
    """One stock movement: negative for a sale, positive for goods received."""
    tx.insert("stock_movements", {"store": store, "sku": sku, "delta": decimal_text(delta),
                                  "reason": reason, "sale": sale, "at": at})  # fmt: skip


def write_punch(tx: Writer, entry: Envelope, punch: Punch) -> None:
    """A time clock punch."""
    tx.insert("punches", {"id": entry.id, "store": entry.store, "register": entry.register,
                          "cashier": punch.cashier, "action": punch.action.value,
                          "at": punch.at.isoformat()})  # fmt: skip


def write_cash_drop(tx: Writer, entry: Envelope, drop: CashDrop) -> None:
    """Cash taken from a drawer to the safe."""
    tx.insert("cash_drops", {"id": entry.id, "store": entry.store, "register": entry.register,
                             "cashier": drop.cashier, "amount": drop.amount.minor,
                             "currency": drop.amount.currency, "bag": drop.bag,
                             "at": drop.at.isoformat()})  # fmt: skip


def write_no_sale(tx: Writer, entry: Envelope, no_sale: NoSale) -> None:
    """A drawer opened without a sale."""
    tx.insert("no_sales", {"id": entry.id, "store": entry.store, "register": entry.register,
                           "cashier": no_sale.cashier, "manager": no_sale.manager,
                           "reason": no_sale.reason, "at": no_sale.at})  # fmt: skip


def put_customer(
    tx: Tx, store: str, customer_id: str, name: str, lifetime_points: int = 0, points: int = 0
) -> None:
    """Create or replace a customer the registers can search for."""
    tx.insert("customers", {"store": store, "id": customer_id, "name": name,
                            "lifetime_points": lifetime_points, "points": points},
              "(store, id) DO UPDATE SET name = excluded.name, lifetime_points = "
              "excluded.lifetime_points, points = excluded.points")  # fmt: skip


def put_balance(tx: Tx, store: str, kind: str, account: str, amount: int) -> None:
    """Set a store credit, gift card or house account balance (minor units)."""
    tx.insert(
        "balances",
        {"store": store, "kind": kind, "account": account, "amount": amount},
        "(store, kind, account) DO UPDATE SET amount = excluded.amount",
    )
