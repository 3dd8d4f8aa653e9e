"""Read-only look-ups the screens need and `Register` does not offer yet.

Each is one read snapshot on the register's storage thread (with its deadline),
through the register's public `io`, `storage` and `rules`, the way the CLI
reads. None decides anything: they list what the cache holds. Each names the
`Register` method that should replace it, so the screens can switch when it
exists; the report of issue 7 lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from appliance.domain.catalog import Category
from appliance.domain.limits import LimitUsage
from appliance.domain.money import Money
from appliance.domain.sale import limit_usage
from appliance.domain.tender import TenderKind
from appliance.domain.timeclock import ClockState
from appliance.register import Register
from appliance.store import local
from appliance.store.lmdb_env import Txn

T = TypeVar("T")
CUSTOMER_SCAN_CAP = 5000
"""Customers a name search reads at most: the cache has no name index (see find_customers)."""


@dataclass(frozen=True, slots=True)
class CashierChoice:
    """A cashier on the login screen (never the PIN hash)."""

    id: str
    name: str
    role: str


def _read(register: Register, fn: Callable[[Txn], T], what: str) -> T:
    def run() -> T:
        with register.storage.read() as txn:
            return fn(txn)

    return register.io.call(run, what)


def cashiers(register: Register) -> list[CashierChoice]:
    """Who can log in, by name. Wanted: `Register.cashiers()`."""
    found = _read(register, lambda t: local.cashiers(t, register.storage), "listing cashiers")
    return sorted((CashierChoice(c.id, c.name, c.role) for c in found), key=lambda c: c.name)


def categories(register: Register) -> list[Category]:
    """The cached categories, in id order as the cache keeps them.

    Wanted: `Register.categories()`.
    """
    return _read(
        register,
        lambda t: list(register.rules(t).catalog.categories.values()),
        "listing categories",
    )


def find_customers(register: Register, query: str, limit: int = 20) -> list[dict[str, Any]]:
    """Cached customers whose id is `query` or whose name has every word of it.

    Wanted: `Register.find_customers(query)` over a name index; this reads up to
    CUSTOMER_SCAN_CAP records, fine for a shop's few thousand customers.
    """
    words = query.lower().split()
    if not words:
        return []

    def run(txn: Txn) -> list[dict[str, Any]]:
        exact: list[dict[str, Any]] = []
        named: list[dict[str, Any]] = []
        with txn.cursor(db=register.storage.dbs["customers"]) as cursor:
            for scanned, key in enumerate(cursor.iternext(keys=True, values=False)):
                if scanned >= CUSTOMER_SCAN_CAP or len(named) >= limit:
                    break
                record = local.customer_record(txn, register.storage, key.decode())
                name = str(record.get("name", "")).lower().split()
                if key.decode() == query.strip():
                    exact.append(record)
                elif all(any(part.startswith(w) for part in name) for w in words):
                    named.append(record)
        return (exact + named)[:limit]

    return _read(register, run, "searching customers")


CUSTOMER_ACCOUNTS = (TenderKind.STORE_CREDIT, TenderKind.HOUSE_ACCOUNT)
"""Balances kept under the customer's own id (a gift card has a number of its own)."""


def balances(
    register: Register, accounts: list[tuple[TenderKind, str]]
) -> dict[tuple[TenderKind, str], Money]:
    """Cached balances of these accounts (absent ones hold nothing). Wanted:
    `Register.balances(accounts)`."""
    return _read(
        register,
        lambda t: local.balances(t, register.storage, accounts, register.currency),
        "reading balances",
    )


def loyalty_tier(register: Register, lifetime_points: int) -> str:
    """The loyalty tier's name for these lifetime points ("" without a program).
    Wanted: the tier in `Register.attach_customer`'s answer."""

    def run(txn: Txn) -> str:
        program = register.rules(txn).loyalty
        return "" if program is None else program.tier_for(lifetime_points).name

    return _read(register, run, "reading the loyalty program")


def limits(register: Register) -> tuple[LimitUsage, ...]:
    """Where the current cart (and its customer today) stands on each purchase limit.
    Wanted: limit usage on `PricedCart` (today it is checked only by `complete`)."""
    cart, today = register.cart, register.clock().date()

    def run(txn: Txn) -> tuple[LimitUsage, ...]:
        customer = None
        if cart.customer_id is not None:
            customer = local.customer_state(txn, register.storage, cart.customer_id, today)
        return limit_usage(cart, register.rules(txn), customer)

    return _read(register, run, "checking purchase limits")


def clock_state(register: Register) -> ClockState:
    """The logged-in cashier's time clock state. Wanted: `Register.time_clock()`."""
    cashier = register.cashier
    if cashier is None:
        return ClockState.OFF
    return _read(
        register,
        lambda t: local.time_clock(t, register.storage, cashier.id).state,
        "reading the time clock",
    )
