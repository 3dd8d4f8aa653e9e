"""Register-local records: customers and balances as cached, the effects of a sale,
cashiers, parked carts, print jobs, the till, time clocks and the shift.

Every function works inside a transaction the caller opened, so a sale's
effects land in the same commit as its outbox entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from appliance.domain import codec
from appliance.domain.cart import Cart
from appliance.domain.catalog import Catalog
from appliance.domain.codec import decimal_text
from appliance.domain.errors import EncodingError
from appliance.domain.money import Money
from appliance.domain.sale import CustomerState, Sale
from appliance.domain.tender import TenderKind
from appliance.domain.till import Till
from appliance.domain.timeclock import TimeClock
from appliance.store.cache import SEP, dump, load
from appliance.store.errors import CorruptRecord
from appliance.store.lmdb_env import Storage, Txn

# --- customers, balances, counters -------------------------------------------------


def _get(txn: Txn, storage: Storage, database: str, key: bytes) -> Any:
    raw = txn.get(key, db=storage.dbs[database])
    return None if raw is None else load(database, key, raw)


def _put(txn: Txn, storage: Storage, database: str, key: bytes, data: Any) -> None:
    txn.put(key, dump(data), db=storage.dbs[database])


def balance_key(kind: TenderKind, account: str) -> bytes:
    """Key of a store credit, gift card or house account balance."""
    return f"{kind.value}:{account}".encode()


def put_customer(txn: Txn, storage: Storage, record: dict[str, Any]) -> None:
    """Cache a customer: id, name, lifetime_points, points, and anything else shown."""
    _put(txn, storage, "customers", str(record["id"]).encode(), record)


def customer_record(txn: Txn, storage: Storage, customer_id: str) -> dict[str, Any]:
    """The cached customer, or a KeyError naming it."""
    data = _get(txn, storage, "customers", customer_id.encode())
    if data is None:
        raise KeyError(f"customer {customer_id} is not in the cache")
    return dict(data)


def _counter_key(customer: str, day: date, limit: str) -> bytes:
    return SEP.join((customer.encode(), day.isoformat().encode(), limit.encode()))


def customer_state(txn: Txn, storage: Storage, customer_id: str, day: date) -> CustomerState:
    """What the domain needs of a cached customer, with today's purchase-limit counters."""
    data = customer_record(txn, storage, customer_id)
    prefix = SEP.join((customer_id.encode(), day.isoformat().encode())) + SEP
    counters: dict[str, Decimal] = {}
    with txn.cursor(db=storage.dbs["counters"]) as cursor:
        if cursor.set_range(prefix):
            for key, raw in cursor:
                if not key.startswith(prefix):
                    break
                counters[key[len(prefix) :].decode()] = Decimal(raw.decode())
    return CustomerState(customer_id, str(data.get("name", "")),
                         int(data.get("lifetime_points", 0)), int(data.get("points", 0)),
                         counters)  # fmt: skip


def set_balance(txn: Txn, storage: Storage, kind: TenderKind, account: str, amount: Money) -> None:
    """Cache a balance (from the back office, or after a sale drew on it)."""
    txn.put(balance_key(kind, account), str(amount.minor).encode(), db=storage.dbs["balances"])


CUSTOMER_SCAN_CAP = 5000
"""Customers a name search reads at most: there is no name index (a shop has thousands)."""


def find_customers(txn: Txn, storage: Storage, query: str, limit: int = 20) -> list[dict[str, Any]]:
    """Customers whose id is `query`, then those whose name has a word starting with each
    word of it (reading at most CUSTOMER_SCAN_CAP records)."""
    words, wanted = query.lower().split(), query.strip()
    if not words:
        return []
    exact: list[dict[str, Any]] = []
    named: list[dict[str, Any]] = []
    with txn.cursor(db=storage.dbs["customers"]) as cursor:
        for scanned, key in enumerate(cursor.iternext(keys=True, values=False)):
            if scanned >= CUSTOMER_SCAN_CAP or len(named) >= limit:
                break
            record = customer_record(txn, storage, key.decode())
            name = str(record.get("name", "")).lower().split()
            if key.decode() == wanted:
                exact.append(record)
            elif all(any(part.startswith(w) for part in name) for w in words):
                named.append(record)
    return (exact + named)[:limit]


def balances(
    txn: Txn, storage: Storage, keys: list[tuple[TenderKind, str]], currency: str
) -> dict[tuple[TenderKind, str], Money]:
    """The cached balances of these accounts (absent ones are left out: they hold nothing)."""
    out = {}
    for kind, account in keys:
        raw = txn.get(balance_key(kind, account), db=storage.dbs["balances"])
        if raw is not None:
            out[(kind, account)] = Money(int(raw), currency)
    return out


def set_stock(txn: Txn, storage: Storage, sku: str, level: Decimal) -> None:
    """Cache a stock level."""
    txn.put(sku.encode(), decimal_text(level).encode(), db=storage.dbs["stock"])


def apply_sale(txn: Txn, storage: Storage, sale: Sale, catalog: Catalog) -> None:
    """The sale's effects on the cache: stock, balances, points, purchase-limit counters."""
    for line in sale.lines:
        moved = line.quantity if line.weight is None else line.weight * line.quantity
        key = line.sku.encode()
        raw = txn.get(key, db=storage.dbs["stock"])
        level = Decimal(raw.decode()) if raw is not None else Decimal(0)
        set_stock(txn, storage, line.sku, level - moved)
    for use in sale.balance_uses:
        set_balance(txn, storage, use.kind, use.account, use.after)
    if sale.customer_id is None:
        return
    if sale.loyalty is not None:
        record = customer_record(txn, storage, sale.customer_id)
        record["points"] = sale.loyalty.points_after
        record["lifetime_points"] = int(record.get("lifetime_points", 0)) + sale.loyalty.earned
        put_customer(txn, storage, record)
    for used in sale.limits:
        key = _counter_key(sale.customer_id, sale.local_time.date(), used.limit)
        raw = txn.get(key, db=storage.dbs["counters"])
        total = (Decimal(raw.decode()) if raw is not None else Decimal(0)) + used.amount
        txn.put(key, decimal_text(total).encode(), db=storage.dbs["counters"])


# --- cashiers ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cashier:
    """Someone who can log in: a cashier or a manager, with a salted slow PIN hash."""

    id: str
    name: str
    role: str
    pin: dict[str, Any]


def put_cashier(txn: Txn, storage: Storage, cashier: Cashier) -> None:
    """Cache a cashier."""
    record = {"id": cashier.id, "name": cashier.name, "role": cashier.role, "pin": cashier.pin}
    _put(txn, storage, "cashiers", cashier.id.encode(), record)


def cashiers(txn: Txn, storage: Storage) -> list[Cashier]:
    """Every cached cashier, by id."""
    out = []
    with txn.cursor(db=storage.dbs["cashiers"]) as cursor:
        for key, raw in cursor:
            data = load("cashiers", key, raw)
            try:
                out.append(Cashier(data["id"], data["name"], data["role"], dict(data["pin"])))
            except (KeyError, TypeError) as exc:
                raise CorruptRecord("cashiers", key, f"missing {exc}") from None
    return out


# --- parked carts and print jobs ------------------------------------------------------


def park(
    txn: Txn, storage: Storage, label: str, cart: Cart, currency: str, park_id: str = ""
) -> str:
    """Keep a cart to recall later; returns its ticket. `park_id` lets a caller whose
    write timed out find out later whether it landed (`parked_as`)."""
    number = _next(txn, storage, b"parked_seq")
    ticket = f"P{number}"
    record = {"label": label, "cart": codec.to_data(cart), "currency": currency, "id": park_id}
    _put(txn, storage, "parked", ticket.encode(), record)
    return ticket


def parked_as(txn: Txn, storage: Storage, park_id: str) -> str | None:
    """The ticket of the cart parked with `park_id`, if it is parked."""
    with txn.cursor(db=storage.dbs["parked"]) as cursor:
        for key, value in cursor:
            if load("parked", key, value).get("id") == park_id:
                return str(key.decode())
    return None


def parked(txn: Txn, storage: Storage) -> list[tuple[str, str]]:
    """(ticket, label) of every parked cart."""
    with txn.cursor(db=storage.dbs["parked"]) as cursor:
        return [(k.decode(), str(load("parked", k, v)["label"])) for k, v in cursor]


def recall(txn: Txn, storage: Storage, ticket: str) -> Cart:
    """Take a parked cart back (it leaves the parked list)."""
    key = ticket.encode()
    data = _get(txn, storage, "parked", key)
    if data is None:
        raise KeyError(f"no parked cart {ticket}")
    txn.delete(key, db=storage.dbs["parked"])
    try:
        return codec.from_data(Cart, data["cart"], data["currency"])
    except EncodingError as exc:
        raise CorruptRecord("parked", key, str(exc)) from None


def _next(txn: Txn, storage: Storage, counter: bytes) -> int:
    raw = txn.get(counter, db=storage.dbs["meta"])
    number = (int(raw) if raw is not None else 0) + 1
    txn.put(counter, str(number).encode(), db=storage.dbs["meta"])
    return number


def add_print_job(txn: Txn, storage: Storage, kind: str, ref: str) -> int:
    """Persist a print job (a receipt of sale `ref`, say); printed after the commit."""
    number = _next(txn, storage, b"print_seq")
    record = {"kind": kind, "ref": ref, "state": "pending", "attempts": 0, "error": ""}
    _put(txn, storage, "print_jobs", number.to_bytes(8, "big"), record)
    return number


def print_jobs(txn: Txn, storage: Storage, pending_only: bool = True) -> list[dict[str, Any]]:
    """Print jobs in order, each with its `number`."""
    out = []
    with txn.cursor(db=storage.dbs["print_jobs"]) as cursor:
        for key, raw in cursor:
            record = dict(load("print_jobs", key, raw))
            if not pending_only or record["state"] in ("pending", "failed"):
                out.append({**record, "number": int.from_bytes(key, "big")})
    return out


def finish_print_job(
    txn: Txn, storage: Storage, number: int, error: str = "", final: bool = False
) -> None:
    """Record a print attempt: printed, or failed with the device's error (kept for retry);
    `final` drops a job that can never print (its sale is gone), keeping the reason."""
    key = number.to_bytes(8, "big")
    record = dict(_get(txn, storage, "print_jobs", key) or {})
    if not record:
        raise KeyError(f"no print job {number}")
    state = ("dropped" if final else "failed") if error else "printed"
    record.update(state=state, error=error, attempts=int(record["attempts"]) + 1)
    _put(txn, storage, "print_jobs", key, record)


# --- till, time clocks, shift ---------------------------------------------------------


def till(txn: Txn, storage: Storage, register: str, currency: str) -> Till:
    """The register's till (closed when never opened)."""
    key = f"till/{register}".encode()
    data = _get(txn, storage, "local", key)
    if data is None:
        return Till(currency)
    try:
        return codec.from_data(Till, data, currency)
    except EncodingError as exc:
        raise CorruptRecord("local", key, str(exc)) from None


def put_till(txn: Txn, storage: Storage, register: str, value: Till) -> None:
    """Store the till."""
    _put(txn, storage, "local", f"till/{register}".encode(), codec.to_data(value))


def time_clock(txn: Txn, storage: Storage, cashier: str) -> TimeClock:
    """A cashier's time clock for the current working day."""
    key = f"clock/{cashier}".encode()
    data = _get(txn, storage, "local", key)
    if data is None:
        return TimeClock(cashier)
    try:
        return codec.from_data(TimeClock, data, "XXX")
    except EncodingError as exc:
        raise CorruptRecord("local", key, str(exc)) from None


def put_time_clock(txn: Txn, storage: Storage, clock: TimeClock) -> None:
    """Store a cashier's time clock."""
    _put(txn, storage, "local", f"clock/{clock.cashier}".encode(), codec.to_data(clock))


def local_record(txn: Txn, storage: Storage, name: str) -> Any:
    """A small register-local record (the shift, say), or None."""
    return _get(txn, storage, "local", name.encode())


def put_local_record(txn: Txn, storage: Storage, name: str, data: Any) -> None:
    """Store a small register-local record."""
    _put(txn, storage, "local", name.encode(), data)
