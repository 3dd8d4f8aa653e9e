"""Reports over the back office database, as plain tables for a terminal.

- sales: per store, register and day, the count, total and tax, and what each tender
  kind paid.
- drift: every amount where a register's sale and the back office's rules disagree.
- gaps: per register, the contiguous watermark, the last sequence seen, the missing
  sequence numbers, the entries whose chain link is broken, and rejections.
- stock: each movement per sku with the running level; a level below zero is flagged
  (oversell is shown, never refused).
- pending: the last presence each register published: state, unsent count, when.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from appliance.domain.codec import decimal_text
from appliance.domain.money import Money
from backoffice import ledger
from backoffice.db import Database, Tx

REPORTS = ("sales", "drift", "gaps", "stock", "pending")


@dataclass(frozen=True, slots=True)
class Table:
    """A report: a title, column headers and rows of text."""

    title: str
    headers: tuple[str, ...]
    rows: Sequence[Sequence[object]]

    def cells(self) -> list[list[str]]:
        """The rows as text."""
        return [[str(c) for c in row] for row in self.rows]

    def render(self) -> str:
        """Fixed-width columns under a title; "(nothing)" when empty."""
        lines, rows = [self.title], self.cells()
        if not rows:
            return "\n".join([*lines, "(nothing)"])
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(self.headers)]
        lines.append("  ".join(h.ljust(w) for h, w in zip(self.headers, widths, strict=True)))
        lines.append("  ".join("-" * w for w in widths))
        for row in rows:
            lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        return "\n".join(lines)


def _where(store: str | None, column: str = "store") -> tuple[str, tuple[str, ...]]:
    return (f" WHERE {column} = ?", (store,)) if store else ("", ())


def _money(minor: int | Decimal, currency: str) -> str:
    return Money(int(minor), currency).format()


def _ranges(numbers: Iterable[int]) -> str:
    out: list[str] = []
    for n in sorted(numbers):
        if out and out[-1].split("-")[-1] == str(n - 1):
            out[-1] = f"{out[-1].split('-')[0]}-{n}"
        else:
            out.append(str(n))
    return ", ".join(out)


@dataclass(frozen=True, slots=True)
class SalesTotal:
    """One register's sales of one day in one currency: count, total, tax, paid by tender
    kind, and the cash rounding (what the tenders paid = total + rounding)."""

    store: str
    register: str
    day: str
    currency: str
    count: int
    total: int
    tax: int
    paid: Mapping[str, int]
    rounding: int = 0


def next_day(day: str) -> str:
    """The ISO date after `day` (YYYY-MM-DD)."""
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def sales_totals(
    tx: Tx, store: str | None = None, day: str | None = None, register: str | None = None
) -> list[SalesTotal]:
    """Sales per store, register, day and currency with what each tender kind paid.

    The one query behind `report sales` and the dashboard's takings, so the two agree to
    the cent. `day` (YYYY-MM-DD, the register's local date) is a range on the sale's
    local time, which an index serves; `register` narrows to one till of `store`.
    """
    clauses: list[str] = []
    params: list[str] = []
    for column, value in (("s.store", store), ("s.register", register)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if day is not None:
        clauses.append("s.at >= ? AND s.at < ?")
        params += [day, next_day(day)]
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    by = "s.store, s.register, SUBSTR(s.at, 1, 10)"
    groups = tx.all(f"SELECT {by}, s.currency, COUNT(*), SUM(s.total), SUM(s.tax_total), "
                    f"SUM(s.rounding) FROM sales s{where} GROUP BY {by}, s.currency "
                    f"ORDER BY {by}", params)  # fmt: skip
    paid: dict[tuple[str, str, str], dict[str, int]] = defaultdict(dict)
    for s, r, d, kind, amount in tx.all(
        f"SELECT {by}, t.kind, SUM(t.applied) FROM sales s JOIN sale_tenders t ON t.sale = s.id"
        f"{where} GROUP BY {by}, t.kind",
        params,
    ):
        paid[(s, r, d)][kind] = int(amount)
    return [SalesTotal(s, r, d, c, int(n), int(t), int(x), paid.get((s, r, d), {}), int(o))
            for s, r, d, c, n, t, x, o in groups]  # fmt: skip


def sales(tx: Tx, store: str | None = None) -> Table:
    """Sales per register per day, with totals by tender kind."""
    totals = sales_totals(tx, store)
    kinds = sorted({kind for row in totals for kind in row.paid})
    rows = [
        (t.store, t.register, t.day, str(t.count), _money(t.total, t.currency),
         _money(t.tax, t.currency), _money(t.rounding, t.currency),
         *(_money(t.paid.get(k, 0), t.currency) for k in kinds))
        for t in totals
    ]  # fmt: skip
    # total + rounding = what the tender columns add up to
    headers = ("store", "register", "day", "sales", "total", "tax", "rounding", *kinds)
    return Table("Sales per register per day", headers, rows)


def drift(tx: Tx, store: str | None = None) -> Table:
    """Every drifted amount, by sale."""
    where, params = _where(store, "s.store")
    rows = tx.all("SELECT s.store, s.register, s.seq, s.id, s.at, s.offline, d.field, "
                  "d.recorded, d.derived, s.drift_total FROM sale_drift d JOIN sales s "
                  f"ON s.id = d.sale{where} ORDER BY s.store, s.register, s.seq, d.position",
                  params)  # fmt: skip
    out = [(s, r, str(q), i, a, "offline" if o else "online", f, rec or "-", der or "-",
            "?" if t is None else str(t)) for s, r, q, i, a, o, f, rec, der, t in rows]  # fmt: skip
    headers = ("store", "register", "seq", "sale", "at", "mode", "field", "register value",
               "back office", "total drift")  # fmt: skip
    return Table("Drift: register vs back office (minor units)", headers, out)


def gaps(tx: Tx, store: str | None = None) -> Table:
    """Sequence gaps, chain breaks and rejections per register."""
    where, params = _where(store)
    rows = []
    marks = tx.all("SELECT store, register, contiguous, last_seq FROM "
                   f"watermarks{where} ORDER BY store, register", params)  # fmt: skip
    for s, r, contiguous, last in marks:
        breaks = [int(q) for (q,) in tx.all("SELECT seq FROM entries WHERE store = ? AND "
                                            "register = ? AND chain_ok = 0", (s, r))]  # fmt: skip
        rejected = tx.scalar("SELECT COUNT(*) FROM rejected WHERE store = ? AND register = ?",
                             (s, r), 0)  # fmt: skip
        missing = ledger.gaps(tx, s, r)
        rows.append((s, r, str(contiguous), str(last), _ranges(missing) or "-",
                     _ranges(breaks) or "-", str(rejected)))  # fmt: skip
    headers = ("store", "register", "contiguous", "last seq", "missing", "chain breaks",
               "rejected")  # fmt: skip
    return Table("Sequence gaps per register", headers, rows)


def stock(tx: Tx, store: str | None = None) -> Table:
    """Stock movements per sku with the running level; below zero is flagged."""
    where, params = _where(store)
    level: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    rows = []
    for s, sku, at, delta, reason, sale in tx.all(
        f"SELECT store, sku, at, delta, reason, sale FROM stock_movements{where} "
        "ORDER BY store, sku, id",
        params,
    ):
        level[(s, sku)] += Decimal(delta)
        now = level[(s, sku)]
        rows.append((s, sku, at, delta, reason, sale or "-", decimal_text(now),
                     "NEGATIVE" if now < 0 else ""))  # fmt: skip
    headers = ("store", "sku", "at", "delta", "reason", "sale", "level", "flag")
    return Table("Stock movements (running level per sku)", headers, rows)


def pending(tx: Tx, store: str | None = None) -> Table:
    """The last status each register published."""
    where, params = _where(store)
    rows = tx.all("SELECT store, register, state, pending, at, received_at, oldest_unsent_s "
                  f"FROM register_status{where} ORDER BY store, register", params)  # fmt: skip
    out = [(s, r, st, str(p), "-" if old is None else f"{int(old)} s", a, rec)
           for s, r, st, p, a, rec, old in rows]  # fmt: skip
    headers = ("store", "register", "state", "pending", "oldest waited", "at", "received")
    return Table("Registers: last status", headers, out)


_BUILDERS = {"sales": sales, "drift": drift, "gaps": gaps, "stock": stock, "pending": pending}


def report(db: Database, name: str, store: str | None = None) -> Table:
    """One named report (see REPORTS)."""
    with db.transaction(readonly=True) as tx:
        return _BUILDERS[name](tx, store)


def render_all(tables: Sequence[Table]) -> str:
    """Several tables, a blank line apart."""
    return "\n\n".join(t.render() for t in tables)
