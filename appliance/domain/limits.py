"""Purchase limits: how much of a limit class a customer may buy in a day.

A limit class (e.g. cannabis 30 g a day, pseudoephedrine 3 packs) has a daily
maximum in grams or in items. A weighed product counts its weight in grams;
an item counts its `limit_amount` (a pre-roll counts as 1 g) per item. The
register checks the cart plus the customer's counters for today (kept by the
store, passed in) against the maximum; with no customer attached, the cart
alone must fit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol

from appliance.domain.catalog import Catalog
from appliance.domain.codec import decimal_text
from appliance.domain.errors import PurchaseLimitExceeded


@dataclass(frozen=True, slots=True)
class LimitClass:
    """A daily purchase limit."""

    id: str
    name: str
    max_per_day: Decimal
    unit: Literal["g", "each"] = "g"


@dataclass(frozen=True, slots=True)
class LimitUsage:
    """Where a customer stands for one class: today so far, in this cart, the maximum."""

    limit: LimitClass
    before: Decimal
    in_cart: Decimal

    @property
    def after(self) -> Decimal:
        """Today's total if this cart is sold."""
        return self.before + self.in_cart

    @property
    def exceeded(self) -> bool:
        """True when the cart would take the customer past the limit."""
        return self.after > self.limit.max_per_day


class _Countable(Protocol):
    """What limits need of a line (a cart line or a priced line)."""

    @property
    def sku(self) -> str: ...
    @property
    def quantity(self) -> Decimal: ...
    @property
    def weight(self) -> Decimal | None: ...


def usage(
    lines: Sequence[_Countable],
    catalog: Catalog,
    limits: Mapping[str, LimitClass],
    counters: Mapping[str, Decimal],
) -> tuple[LimitUsage, ...]:
    """Usage per limit class touched by the cart or by today's counters."""
    in_cart: dict[str, Decimal] = {}
    for line in lines:
        product = catalog.product(line.sku)
        if product.limit_class is None or product.limit_class not in limits:
            continue
        limit = limits[product.limit_class]
        if line.weight is not None and product.unit is not None and limit.unit == "g":
            amount = line.weight * product.unit.grams * line.quantity
        elif line.weight is not None and product.unit is not None:
            amount = line.quantity
        else:
            amount = product.limit_amount * line.quantity
        in_cart[limit.id] = in_cart.get(limit.id, Decimal(0)) + amount
    touched = sorted(set(in_cart) | {k for k in counters if k in limits})
    return tuple(
        LimitUsage(limits[k], counters.get(k, Decimal(0)), in_cart.get(k, Decimal(0)))
        for k in touched
    )


def enforce(usages: Sequence[LimitUsage]) -> None:
    """Raise PurchaseLimitExceeded for the first class the cart takes past its limit."""
    for use in usages:
        if use.exceeded and use.in_cart > 0:
            unit = "g" if use.limit.unit == "g" else "items"
            raise PurchaseLimitExceeded(
                f"{use.limit.name}: {decimal_text(use.before)} {unit} bought today + "
                f"{decimal_text(use.in_cart)} {unit} in this sale is over the daily limit of "
                f"{decimal_text(use.limit.max_per_day)} {unit}"
            )
