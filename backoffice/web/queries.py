"""What the dashboard shows, read in one transaction into plain dataclasses.

Takings come from `reports.sales_totals`, the query behind `backoffice report sales`, so
the page and the report agree to the cent. It is asked per register: the answer for a
register and day is kept (`DayCache`) until that register's watermark row changes,
which every stored entry of the register does (`batch.Batch.received` moves it), so a
page polled during trading re-reads only the tills that sold since the last poll. The
watermark is read before the sales, so what is kept is never older than its key.

Oversell is `backoffice.web.stock`, kept likewise between views.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from backoffice import ledger
from backoffice.catalog import RulesCache
from backoffice.db import Tx
from backoffice.reports import SalesTotal, next_day, sales_totals
from backoffice.web.stock import OversoldRow, StockBook, oversold

LIST_LIMIT = 50
"""Rows shown per list (drift, oversell, rejected); the page says how many there are."""


@dataclass(frozen=True, slots=True)
class RegisterRow:
    """One till as the office knows it: presence, queue, last sale, sequence health."""

    store: str
    register: str
    state: str  # online | offline | unknown (never reported)
    pending: int | None  # as last reported; None if unknown (never said, or the will spoke)
    heard_at: datetime | None  # when its last status arrived (office clock)
    silent: bool  # not heard within the threshold while it claims to be online
    last_sale_at: str | None  # the last sale's local time at the register
    last_sale_received: str | None
    contiguous: int
    last_seq: int
    missing: tuple[int, ...]  # the first few sequence numbers that never arrived
    broken_links: int
    rejected: int
    oldest_unsent_since: datetime | None = None  # office clock; None: nothing or not said

    @property
    def key(self) -> str:
        """`store/register`, as the page names a till."""
        return f"{self.store}/{self.register}"


@dataclass(frozen=True, slots=True)
class HourBar:
    """Sales rung up in one hour of the day (register's local time)."""

    hour: int
    count: int
    total: int


@dataclass(frozen=True, slots=True)
class DriftRow:
    """A sale whose re-derived amounts differ from what the register recorded."""

    store: str
    register: str
    seq: int
    sale: str
    at: str
    offline: bool
    currency: str
    drift_total: int | None  # recorded - derived; None when the office could not price it
    items: tuple[tuple[str, str, str], ...]  # (field, register's value, office's value)


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """An entry the office refused, with its reason."""

    store: str
    register: str
    seq: int
    kind: str
    reason: str
    own: bool  # the register's own entry (fills its sequence), not a garbled copy
    at: str


@dataclass(frozen=True, slots=True)
class Dashboard:
    """Everything on the page, for one day and optionally one store."""

    day: str
    store: str | None
    now: datetime
    registers: list[RegisterRow]
    takings: list[SalesTotal]  # per register
    store_totals: list[SalesTotal]  # register "" : per store and currency
    kinds: list[str]  # tender kinds paid today, in a fixed order
    hours: dict[str, list[HourBar]]  # per currency, 24 bars
    drift: list[DriftRow]
    drift_count: int
    oversold: list[OversoldRow]
    oversold_count: int
    rejected: list[RejectedRow]
    rejected_count: int

    @property
    def online(self) -> int:
        """Tills online and heard from recently."""
        return sum(1 for r in self.registers if r.state == "online" and not r.silent)

    @property
    def pending(self) -> int:
        """Entries the tills last said they still hold."""
        return sum(r.pending or 0 for r in self.registers)


_KIND_ORDER = ("cash", "card", "gift_card", "store_credit", "house_account", "points")


@dataclass(slots=True)
class DayCache:
    """Per register and day, its takings and hours, kept while its watermark row stands still."""

    limit: int = 5_000
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _kept: dict[tuple[str, str, str], tuple[tuple[object, ...], list[SalesTotal],
                                             list[tuple[int, str, int, int]]]] = field(
        default_factory=dict)  # fmt: skip

    stock: StockBook = field(default_factory=StockBook)

    def day_of(
        self, tx: Tx, store: str, register: str, day: str, mark: tuple[object, ...]
    ) -> tuple[list[SalesTotal], list[tuple[int, str, int, int]]]:
        """(takings, hours) of one register's day; `mark` is its watermark row, read first."""
        key = (store, register, day)
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and kept[0] == mark:
            return kept[1], kept[2]
        totals = sales_totals(tx, store, day, register)
        hours = [(int(h), c, int(n), int(t)) for h, c, n, t in tx.all(
            "SELECT SUBSTR(at, 12, 2), currency, COUNT(*), SUM(total) FROM sales WHERE store = ? "
            "AND register = ? AND at >= ? AND at < ? GROUP BY SUBSTR(at, 12, 2), currency",
            (store, register, day, next_day(day)))]  # fmt: skip
        with self._lock:
            if len(self._kept) >= self.limit:
                self._kept.clear()
            self._kept[key] = (mark, totals, hours)
        return totals, hours


def _filter(store: str | None, column: str = "store") -> tuple[str, tuple[str, ...]]:
    return (f" WHERE {column} = ?", (store,)) if store else ("", ())


def registers(tx: Tx, store: str | None, now: datetime, silent_after_s: float) -> list[RegisterRow]:
    """Every till with a status or a watermark, in store and register order."""
    where, params = _filter(store)
    marks = {(s, r): (int(c), int(q)) for s, r, c, q in tx.all(
        f"SELECT store, register, contiguous, last_seq FROM watermarks{where}",
        params)}  # fmt: skip
    # The broker's will says offline with no time and 0 pending: the count is unknown then.
    status = {(s, r): (st, None if st == "offline" and not at else int(p), rec, old)
              for s, r, st, p, at, rec, old in tx.all(
        "SELECT store, register, state, pending, at, received_at, oldest_unsent_s FROM "
        f"register_status{where}", params)}  # fmt: skip
    rows = []
    for key in sorted(set(marks) | set(status)):
        contiguous, last_seq = marks.get(key, (0, 0))
        state, pending, received, oldest = status.get(key, ("unknown", None, None, None))
        heard = datetime.fromisoformat(received) if received else None
        since = None if heard is None or oldest is None or not pending else (
            heard - timedelta(seconds=int(oldest)))  # fmt: skip
        silent = heard is None or (now - heard).total_seconds() > silent_after_s
        last = tx.one("SELECT at, received_at FROM entries WHERE store = ? AND register = ? "
                      "AND kind = 'sale' ORDER BY seq DESC LIMIT 1", key)  # fmt: skip
        broken = tx.scalar("SELECT COUNT(*) FROM entries WHERE store = ? AND register = ? "
                           "AND chain_ok = 0", key, 0)  # fmt: skip
        refused = tx.scalar("SELECT COUNT(*) FROM rejected WHERE store = ? AND register = ?",
                            key, 0)  # fmt: skip
        missing = ledger.gaps(tx, *key, limit=20) if last_seq > contiguous + 1 else []
        rows.append(RegisterRow(
            key[0], key[1], state, pending, heard, state == "online" and silent,
            None if last is None else str(last[0]), None if last is None else str(last[1]),
            contiguous, last_seq, tuple(missing), int(broken), int(refused), since))  # fmt: skip
    return rows


def _store_totals(takings: list[SalesTotal]) -> list[SalesTotal]:
    sums: dict[tuple[str, str, str], list[int]] = {}
    paid: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for t in takings:
        key = (t.store, t.day, t.currency)
        acc = sums.setdefault(key, [0, 0, 0, 0])
        for i, value in enumerate((t.count, t.total, t.tax, t.rounding)):
            acc[i] += value
        for kind, amount in t.paid.items():
            paid[key][kind] += amount
    return [SalesTotal(s, "", d, c, n, total, tax, dict(paid[(s, d, c)]), rounding)
            for (s, d, c), (n, total, tax, rounding) in sorted(sums.items())]  # fmt: skip


def _hour_bars(hours: Iterable[tuple[int, str, int, int]]) -> dict[str, list[HourBar]]:
    by: dict[str, list[list[int]]] = {}
    for hour, currency, count, total in hours:
        bars = by.setdefault(currency, [[0, 0] for _ in range(24)])
        if 0 <= hour < 24:
            bars[hour][0] += count
            bars[hour][1] += total
    return {c: [HourBar(h, n, t) for h, (n, t) in enumerate(bars)] for c, bars in by.items()}


def drift(tx: Tx, store: str | None, day: str) -> tuple[list[DriftRow], int]:
    """The day's drifted sales (newest first, up to LIST_LIMIT) and how many there are."""
    params: tuple[str, ...] = (day, next_day(day), *((store,) if store else ()))
    where = " WHERE drift_items > 0 AND at >= ? AND at < ?" + (" AND store = ?" if store else "")
    total = int(tx.scalar(f"SELECT COUNT(*) FROM sales{where}", params, 0))
    found = tx.all("SELECT id, store, register, seq, at, offline, currency, drift_total FROM "
                   f"sales{where} ORDER BY at DESC LIMIT {LIST_LIMIT}", params)  # fmt: skip
    items: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    if found:
        marks = ", ".join("?" for _ in found)
        for sale, f, rec, der in tx.all(
            f"SELECT sale, field, recorded, derived FROM sale_drift WHERE sale IN ({marks}) "
            "ORDER BY sale, position", [row[0] for row in found]):  # fmt: skip
            items[sale].append((f, rec or "-", der or "-"))
    return [DriftRow(s, r, int(q), i, a, bool(o), c, None if t is None else int(t),
                     tuple(items[i])) for i, s, r, q, a, o, c, t in found], total  # fmt: skip


def rejected(tx: Tx, store: str | None) -> tuple[list[RejectedRow], int]:
    """Refused entries, newest first (up to LIST_LIMIT), and how many there are."""
    where, params = _filter(store)
    total = int(tx.scalar(f"SELECT COUNT(*) FROM rejected{where}", params, 0))
    rows = tx.all(f"SELECT store, register, seq, kind, reason, in_chain, at FROM rejected{where}"
                  f" ORDER BY at DESC LIMIT {LIST_LIMIT}", params)  # fmt: skip
    return [RejectedRow(s, r, int(q), k, why, bool(own), a)
            for s, r, q, k, why, own, a in rows], total  # fmt: skip


def dashboard(
    tx: Tx, cache: DayCache, names: RulesCache, *, day: date, store: str | None, now: datetime,
    silent_after_s: float,
) -> Dashboard:  # fmt: skip
    """The whole page's data, from one transaction."""
    iso = day.isoformat()
    tills = registers(tx, store, now, silent_after_s)
    where, params = _filter(store)
    marks = {(s, r): (c, q, a) for s, r, c, q, a in tx.all(
        f"SELECT store, register, contiguous, last_seq, last_at FROM watermarks{where}",
        params)}  # fmt: skip
    takings: list[SalesTotal] = []
    hours: list[tuple[int, str, int, int]] = []
    for key, mark in sorted(marks.items()):
        totals, by_hour = cache.day_of(tx, *key, iso, mark)
        takings += totals
        hours += by_hour
    paid = {kind for t in takings for kind in t.paid}
    kinds = [k for k in _KIND_ORDER if k in paid] + sorted(paid - set(_KIND_ORDER))
    drifted, drift_count = drift(tx, store, iso)
    over, over_count = oversold(tx, cache.stock.levels(tx), store, names, LIST_LIMIT)
    refused, refused_count = rejected(tx, store)
    return Dashboard(iso, store, now, tills, takings, _store_totals(takings), kinds,
                     _hour_bars(hours), drifted, drift_count, over, over_count, refused,
                     refused_count)  # fmt: skip


def parse_day(text: str) -> date:
    """A YYYY-MM-DD date; ValueError otherwise."""
    if len(text) != 10:
        raise ValueError(f"day: expected YYYY-MM-DD, got {text!r}")
    return date.fromisoformat(text)


def day_before(day: date) -> date:
    """The previous day (for the page's navigation)."""
    return day - timedelta(days=1)


def empty_hours() -> list[HourBar]:
    """A day with no sales, hour by hour."""
    return [HourBar(hour, 0, 0) for hour in range(24)]
