"""The till: the cash drawer's money from opening float to close, with cash drops.

    CLOSED --open(float)-->      OPEN
    OPEN   --cash_sale(net)-->   OPEN     (cash in minus change out)
    OPEN   --drop(amount)-->     OPEN     (cash taken to the safe, with a bag id)
    OPEN   --close(counted)-->   CLOSED   (over/short against what is expected)

A drop in a closed till, a drop of more cash than the till should hold, or a
sale into a closed till is refused with a typed error. Drops are records sent
to the back office like sales.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from appliance.domain.errors import CashDropError, InvalidTransition
from appliance.domain.money import Money
from appliance.domain.pan import contains_card_number


class TillState(Enum):
    """Whether the till is counted in."""

    CLOSED = "closed"
    OPEN = "open"


@dataclass(frozen=True, slots=True)
class CashDrop:
    """Cash moved from the drawer to the safe."""

    cashier: str
    amount: Money
    bag: str
    at: datetime


@dataclass(frozen=True, slots=True)
class TillClose:
    """The count at close: what should be there, what was, and the difference."""

    expected: Money
    counted: Money

    @property
    def over_short(self) -> Money:
        """Counted minus expected: positive is over, negative short."""
        return self.counted - self.expected


@dataclass(frozen=True, slots=True)
class Till:
    """The drawer's expected cash."""

    currency: str
    state: TillState = TillState.CLOSED
    opening_float: int = 0
    cash_sales: int = 0
    dropped: int = 0

    @property
    def expected(self) -> Money:
        """Cash that should be in the drawer now."""
        return Money(self.opening_float + self.cash_sales - self.dropped, self.currency)

    def _require(self, state: TillState, action: str) -> None:
        if self.state is not state:
            raise InvalidTransition(f"till is {self.state.value}; cannot {action}")

    def open(self, opening_float: Money) -> Till:
        """Count the float in."""
        self._require(TillState.CLOSED, "open it")
        if opening_float.minor < 0:
            raise CashDropError(f"opening float {opening_float} is negative")
        return Till(self.currency, TillState.OPEN, opening_float.minor)

    def cash_sale(self, net_cash: Money) -> Till:
        """Record a sale's cash applied (cash in minus change out)."""
        self._require(TillState.OPEN, "take cash")
        return replace(self, cash_sales=self.cash_sales + net_cash.minor)

    def drop(self, cashier: str, amount: Money, bag: str, at: datetime) -> tuple[Till, CashDrop]:
        """Take cash to the safe; refused in a closed till or beyond what it holds."""
        self._require(TillState.OPEN, "drop cash")
        if amount.minor <= 0:
            raise CashDropError(f"a cash drop must be positive, got {amount}")
        if amount.minor > self.expected.minor:
            raise CashDropError(
                f"cash drop of {amount} is more than the {self.expected} in the till"
            )
        if contains_card_number(bag):
            raise CashDropError("the bag id looks like a card number")
        till = replace(self, dropped=self.dropped + amount.minor)
        return till, CashDrop(cashier, amount, bag, at)

    def close(self, counted: Money) -> tuple[Till, TillClose]:
        """Count out: the result says over or short."""
        self._require(TillState.OPEN, "close it")
        return Till(self.currency), TillClose(self.expected, counted)
