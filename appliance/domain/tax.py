"""Sales tax: components, tax classes, inclusive and exclusive prices, rounding.

A tax component is one tax with one rate (HST 13 %, GST 5 %, PST 7 %, a
vapour-products tax 20 %). A tax class names the components that apply to a
product: a single rate (`standard = HST`), a split (`standard = GST + PST`) or
additional taxes on top (`vapour = GST + PST + VPT`). A class with no
components is zero-rated.

Every component is computed on the line's net amount (after all discounts),
never on another tax (no tax on tax).

Prices exclusive of tax: tax = net x rate.
Prices inclusive of tax: a line whose class has rates r1..rk (R = their sum)
holds tax net x R / (1 + R); component i's share is net x ri / (1 + R).

Rounding, chosen in settings:
- per line: each component of each line is rounded half up to a minor unit,
  then the lines are added up (what a receipt that prints tax per line shows);
- per invoice: each component's exact line amounts are added up and rounded
  half up once (at most half a minor unit from the exact tax per component).

"Exact" is exact: inclusive shares are fractions (`fractions.Fraction`), since
net / (1 + R) is mostly a repeating decimal, and cut to 28 digits a share of
exactly 7.5 cents became 7.4999...97 and rounded down.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from fractions import Fraction

from appliance.domain.errors import TaxConfigError
from appliance.domain.money import Money


class TaxRounding(Enum):
    """Where tax is rounded to a minor unit."""

    PER_LINE = "per_line"
    PER_INVOICE = "per_invoice"


@dataclass(frozen=True, slots=True)
class TaxComponent:
    """One tax: a code printed on receipts, a name and a rate (0.13 for 13 %)."""

    code: str
    name: str
    rate: Decimal

    def __post_init__(self) -> None:
        if not (Decimal(0) <= self.rate < Decimal(1)):
            raise TaxConfigError(f"tax {self.code}: rate {self.rate} is not in [0, 1)")


@dataclass(frozen=True, slots=True)
class TaxTable:
    """The store's tax configuration."""

    components: Mapping[str, TaxComponent]
    classes: Mapping[str, tuple[str, ...]]
    prices_include_tax: bool = False
    rounding: TaxRounding = TaxRounding.PER_LINE

    def __post_init__(self) -> None:
        for tax_class, codes in self.classes.items():
            for code in codes:
                if code not in self.components:
                    raise TaxConfigError(f"tax class {tax_class!r} names unknown tax {code!r}")

    def components_for(self, tax_class: str) -> tuple[TaxComponent, ...]:
        """The components of a tax class, or TaxConfigError naming the class."""
        try:
            codes = self.classes[tax_class]
        except KeyError:
            raise TaxConfigError(f"unknown tax class {tax_class!r}") from None
        return tuple(self.components[code] for code in codes)


@dataclass(frozen=True, slots=True)
class TaxLine:
    """One component's total on a sale: what it was charged on and how much."""

    code: str
    name: str
    rate: Decimal
    taxable: Money
    amount: Money


@dataclass(slots=True)
class _Accumulator:
    taxable: Fraction = Fraction(0)
    exact: Fraction = Fraction(0)
    rounded: int = 0
    seen: bool = field(default=False)


def compute_taxes(
    lines: Sequence[tuple[str, Money]], table: TaxTable, currency: str
) -> tuple[TaxLine, ...]:
    """Tax per component for lines given as (tax class, net amount), in table order."""
    acc = {code: _Accumulator() for code in table.components}
    for tax_class, net in lines:
        components = table.components_for(tax_class)
        combined = sum((c.rate for c in components), Decimal(0))
        base = Fraction(net.minor)
        if table.prices_include_tax:
            base /= 1 + _fraction(combined)
        for component in components:
            exact = base * _fraction(component.rate)
            entry = acc[component.code]
            entry.seen = True
            entry.taxable += base
            entry.exact += exact
            entry.rounded += _half_up(exact)
    result = []
    for code, entry in acc.items():
        if not entry.seen:
            continue
        component = table.components[code]
        per_line = table.rounding is TaxRounding.PER_LINE
        amount = entry.rounded if per_line else _half_up(entry.exact)
        result.append(
            TaxLine(
                code=code,
                name=component.name,
                rate=component.rate,
                taxable=Money(_half_up(entry.taxable), currency),
                amount=Money(amount, currency),
            )
        )
    return tuple(result)


@functools.cache
def _fraction(rate: Decimal) -> Fraction:
    return Fraction(rate)


def _half_up(value: Fraction) -> int:
    """`money.round_half_up` for an exact fraction: half a minor unit goes away from zero."""
    whole = math.floor(abs(value) + Fraction(1, 2))
    return whole if value >= 0 else -whole
