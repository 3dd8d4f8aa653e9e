"""The store's rules, bundled: everything a register needs to price and pay a sale.

The register builds one from its cache; the back office builds one from its
database; both hand it to the same domain functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from appliance.domain.catalog import Catalog
from appliance.domain.limits import LimitClass
from appliance.domain.loyalty import LoyaltyProgram
from appliance.domain.promotions import Promotion
from appliance.domain.tax import TaxTable


@dataclass(frozen=True, slots=True)
class StoreRules:
    """Catalogue, promotions, tax and the store's settings for selling.

    `cash_increment` is the cash rounding step in minor units (1 = none, 5 =
    round cash to 0.05). `max_discount_percent` caps manual discounts without a
    manager's approval.
    """

    catalog: Catalog
    tax: TaxTable
    promotions: tuple[Promotion, ...] = ()
    max_discount_percent: Decimal = Decimal(100)
    cash_increment: int = 1
    loyalty: LoyaltyProgram | None = None
    limits: dict[str, LimitClass] = field(default_factory=dict)

    @property
    def currency(self) -> str:
        """The store's currency."""
        return self.catalog.currency
