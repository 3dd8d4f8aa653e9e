"""What the screens look up without changing anything: staff, categories, customers,
balances, the loyalty tier, purchase limits and the time clock.

Mixed into `appliance.register.Register`; see there. Each is one read snapshot on
the storage thread, with its deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from appliance.domain.catalog import Category
from appliance.domain.limits import LimitUsage
from appliance.domain.money import Money
from appliance.domain.sale import limit_usage
from appliance.domain.tender import TenderKind
from appliance.domain.timeclock import ClockState
from appliance.register_core import RegisterCore
from appliance.store import local
from appliance.store.lmdb_env import Txn


@dataclass(frozen=True, slots=True)
class StaffMember:
    """Someone who can log in, as the login screen lists them (never the PIN hash)."""

    id: str
    name: str
    role: str


class Lookups(RegisterCore):
    """Read-only look-ups for the screens (see the module docstring)."""

    def cashiers(self) -> list[StaffMember]:
        """Who can log in, by name."""
        found = self._read(lambda t: local.cashiers(t, self.storage), "listing cashiers")
        return sorted((StaffMember(c.id, c.name, c.role) for c in found), key=lambda c: c.name)

    def categories(self) -> list[Category]:
        """The cached categories, in the order the cache keeps them (by id)."""
        return self._read(lambda t: list(self.rules(t).catalog.categories.values()),
                          "listing categories")  # fmt: skip

    def find_customers(self, query: str, limit: int = 20) -> list[dict[str, Any]]:
        """Cached customers whose id is `query` or whose name has every word of it."""
        return self._read(lambda t: local.find_customers(t, self.storage, query, limit),
                          "searching customers")  # fmt: skip

    def balances(
        self, accounts: list[tuple[TenderKind, str]]
    ) -> dict[tuple[TenderKind, str], Money]:
        """Cached balances of these accounts (an absent one is left out: it holds nothing)."""
        return self._read(lambda t: local.balances(t, self.storage, accounts, self.currency),
                          "reading balances")  # fmt: skip

    def loyalty_tier(self, lifetime_points: int) -> str:
        """The loyalty tier's name for these lifetime points ("" without a program)."""

        def run(txn: Txn) -> str:
            program = self.rules(txn).loyalty
            return "" if program is None else program.tier_for(lifetime_points).name

        return self._read(run, "reading the loyalty program")

    def limits(self) -> tuple[LimitUsage, ...]:
        """Where the current cart (and its customer today) stands on each purchase limit."""
        cart, today = self.cart, self.clock().date()

        def run(txn: Txn) -> tuple[LimitUsage, ...]:
            customer = None
            if cart.customer_id is not None:
                customer = local.customer_state(txn, self.storage, cart.customer_id, today)
            return limit_usage(cart, self.rules(txn), customer)

        return self._read(run, "checking purchase limits")

    def time_clock(self) -> ClockState:
        """The logged-in cashier's time clock state (off when nobody is logged in)."""
        cashier = self.cashier
        if cashier is None:
            return ClockState.OFF
        return self._read(lambda t: local.time_clock(t, self.storage, cashier.id).state,
                          "reading the time clock")  # fmt: skip
