"""The quick cash buttons of the tender screen.

What is left to pay comes from the domain (`appliance.domain.tender.outstanding`,
by the rules `settle` applies when the sale completes); this only chooses which
round amounts to offer a cashier.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.domain.money import Money
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
