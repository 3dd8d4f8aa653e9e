"""The shift report: X (running totals) and Z (close the shift).

Built from the sales the register committed in the shift, with the outbox's
count of what is still unsent and what was rejected. A shift is called clean
only when everything reached the back office and nothing was rejected: the
unsent sales found only at cash-up that peers' registers hide are the first
thing this report shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from appliance.domain.money import Money, total
from appliance.domain.sale import Sale
from appliance.domain.till import CashDrop


@dataclass(frozen=True, slots=True)
class ShiftReport:
    """Totals of one shift, and whether it is clean."""

    number: int
    opened_at: str
    closed: bool
    sales: int
    subtotal: Money
    discounts: Money
    tax: dict[str, Money]
    total: Money
    rounding: Money
    tenders: dict[str, Money]
    change: Money
    drops: Money
    unsent: int
    rejected: int
    rejected_reasons: tuple[str, ...] = field(default=())

    @property
    def clean(self) -> bool:
        """True when nothing is unsent and nothing was rejected."""
        return self.unsent == 0 and self.rejected == 0

    def verdict(self) -> str:
        """One line for the screen and the printout."""
        if self.clean:
            return "CLEAN: every sale reached the back office"
        parts = []
        if self.unsent:
            parts.append(f"{self.unsent} not yet sent")
        if self.rejected:
            parts.append(f"{self.rejected} rejected by the back office")
        return "NOT CLEAN: " + ", ".join(parts)

    def lines(self) -> list[str]:
        """The report as text lines."""
        kind = "Z (shift closed)" if self.closed else "X (running)"
        out = [f"Shift {self.number} report {kind}", f"Opened {self.opened_at}",
               f"Sales: {self.sales}", f"Subtotal: {self.subtotal}",
               f"Discounts: {self.discounts}"]  # fmt: skip
        out += [f"Tax {code}: {amount}" for code, amount in sorted(self.tax.items())]
        out += [f"Total: {self.total}", f"Cash rounding: {self.rounding}"]
        out += [f"Paid by {kind}: {amount}" for kind, amount in sorted(self.tenders.items())]
        out += [f"Change given: {self.change}", f"Cash drops: {self.drops}", self.verdict()]
        out += [f"  rejected: {reason}" for reason in self.rejected_reasons]
        return out


def build_report(
    number: int,
    opened_at: str,
    currency: str,
    sales: Sequence[Sale],
    drops: Sequence[CashDrop],
    unsent: int,
    rejected_reasons: Sequence[str],
    closed: bool = False,
) -> ShiftReport:
    """Add up a shift's sales and drops."""
    taxes: dict[str, Money] = {}
    tenders: dict[str, Money] = {}
    for sale in sales:
        for tax in sale.taxes:
            taxes[tax.code] = taxes.get(tax.code, Money.zero(currency)) + tax.amount
        for tender in sale.tenders:
            name = tender.kind.value
            tenders[name] = tenders.get(name, Money.zero(currency)) + tender.applied

    def add(attr: str) -> Money:
        return total([getattr(s, attr) for s in sales], currency)

    return ShiftReport(
        number=number,
        opened_at=opened_at,
        closed=closed,
        sales=len(sales),
        subtotal=add("subtotal"),
        discounts=add("discount_total"),
        tax=taxes,
        total=add("total"),
        rounding=add("rounding"),
        tenders=tenders,
        change=add("change"),
        drops=total([d.amount for d in drops], currency),
        unsent=unsent,
        rejected=len(rejected_reasons),
        rejected_reasons=tuple(rejected_reasons),
    )
