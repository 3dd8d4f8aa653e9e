"""What is left to pay, as the tender screen previews it while tenders are entered.

A preview only: `Register.complete` settles the sale (`domain.tender.settle`:
non-cash first, cash rounded to the store's increment, change) and "Paid" shows
the change the sale recorded. This mirrors those rules for the figures on screen
(remaining, cash due, change, quick amounts) because the register has no
`tender_summary()` yet; it is the one place to drop when it does.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.domain.money import Money, round_to_increment, total
from appliance.domain.pricing import PricedCart
from appliance.domain.tender import Tender, TenderKind
from appliance.ui.viewmodels.formatting import money

QUICK_STEPS = (500, 1000, 2000, 5000, 10000)
"""Quick cash buttons: the next multiple above the cash due of each (minor units)."""


@dataclass(frozen=True, slots=True)
class QuickAmount:
    """A quick cash button: its label and the amount it tenders (keypad text)."""

    label: str
    value: str


def quick_amounts(cash_due: int, currency: str) -> tuple[QuickAmount, ...]:
    """Exact, then the next 5/10/20/50/100 above what is due in cash."""
    if cash_due <= 0:
        return ()
    values = [cash_due] + [(cash_due // step + 1) * step for step in QUICK_STEPS]
    unique = sorted(set(values))
    return tuple(
        QuickAmount(
            "Exact" if v == cash_due else money(Money(v, currency)), money(Money(v, currency))
        )
        for v in unique
    )


@dataclass(frozen=True, slots=True)
class Due:
    """What the tenders so far leave: unrounded (for card, balances) and in cash (rounded)."""

    total: Money
    left: Money
    cash_due: Money
    change: Money
    has_cash: bool

    @property
    def covered(self) -> bool:
        """True when the tenders pay the total (cash by its rounded amount)."""
        return self.cash_due.is_zero() and (self.left.is_zero() or self.has_cash)


def left_to_pay(priced: PricedCart, tenders: list[Tender], increment: int) -> Due:
    """What `tenders` leave of the priced cart's total, with cash rounded to `increment`."""
    cur = priced.currency
    non_cash = total([t.amount for t in tenders if t.kind is not TenderKind.CASH], cur)
    cash = total([t.amount for t in tenders if t.kind is TenderKind.CASH], cur)
    before_cash = priced.total - non_cash
    rounded = max(round_to_increment(before_cash.minor, increment), 0)
    left = Money(max((before_cash - cash).minor, 0), cur)
    cash_due = Money(max(rounded - cash.minor, 0), cur)
    change = Money(max(cash.minor - rounded, 0), cur)
    return Due(priced.total, left, cash_due, change, not cash.is_zero())
