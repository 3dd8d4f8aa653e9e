"""Promotions: campaigns the store runs without the cashier doing anything.

- PERCENT: a percentage off the targeted lines.
- AMOUNT: an amount (minor units) off each targeted item or pack, never more
  than the line's price.
- FREEBIE: when the cart's spend reaches a threshold, one free item is added;
  it disappears again when the spend falls below.

A promotion targets skus and/or categories; with neither it targets every
product. It runs from `starts` (inclusive) to `ends` (exclusive), compared with
the register's local clock passed in as `now`; an open end never ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum

from appliance.domain.catalog import Product
from appliance.domain.errors import DomainError
from appliance.domain.money import Money, round_half_up


class PromotionKind(Enum):
    """What a promotion gives."""

    PERCENT = "percent"
    AMOUNT = "amount"
    FREEBIE = "freebie"


@dataclass(frozen=True, slots=True)
class Promotion:
    """A campaign. `value` is a percent (PERCENT) or minor units per item (AMOUNT)."""

    id: str
    name: str
    kind: PromotionKind
    value: Decimal = Decimal(0)
    skus: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    starts: datetime | None = None
    ends: datetime | None = None
    threshold: Money | None = None
    free_sku: str | None = None

    def __post_init__(self) -> None:
        if self.kind is PromotionKind.FREEBIE:
            if self.threshold is None or self.free_sku is None:
                raise DomainError(f"promotion {self.id}: a freebie needs a threshold and a sku")
        elif self.value <= 0 or (self.kind is PromotionKind.PERCENT and self.value > 100):
            raise DomainError(f"promotion {self.id}: value {self.value} is out of range")
        if self.starts and self.ends and self.ends <= self.starts:
            raise DomainError(f"promotion {self.id}: ends before it starts")

    def is_active(self, now: datetime) -> bool:
        """True while `now` is within [starts, ends)."""
        if self.starts is not None and now < self.starts:
            return False
        return self.ends is None or now < self.ends

    def targets(self, product: Product) -> bool:
        """True when this promotion applies to the product."""
        if not self.skus and not self.categories:
            return True
        return product.sku in self.skus or product.category in self.categories

    def discount_on(self, base: Money, packs: Decimal) -> Money:
        """What this PERCENT or AMOUNT promotion takes off a line worth `base`."""
        if self.kind is PromotionKind.PERCENT:
            off = round_half_up(Decimal(base.minor) * self.value / 100)
        else:
            off = round_half_up(self.value * packs)
        return Money(min(off, base.minor), base.currency)


def best_promotion(
    promotions: tuple[Promotion, ...], product: Product, base: Money, packs: Decimal, now: datetime
) -> tuple[Promotion, Money] | None:
    """The single active promotion giving the largest discount on a line.

    Promotions do not stack on one line: the best one wins; on a tie, the
    promotion with the smaller id (stable across register and back office).
    """
    best: tuple[Promotion, Money] | None = None
    for promo in sorted(promotions, key=lambda p: p.id):
        if promo.kind is PromotionKind.FREEBIE or not promo.is_active(now):
            continue
        if not promo.targets(product):
            continue
        off = promo.discount_on(base, packs)
        if off.minor > 0 and (best is None or off.minor > best[1].minor):
            best = (promo, off)
    return best
