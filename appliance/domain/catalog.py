"""The catalogue a register sells from: products, categories and tier price matrices.

A product is sold either by the each (a count) or by weight in one unit (g, kg,
lb, oz). A weighed product may offer presets (3.5 g, 7 g, 14 g, 28 g); when it
belongs to a price tier, each preset has its own price from the tier's matrix,
so 14 g and 7 g of the same product keep their own tier price. A weight that is
not a preset (typed in or read from a scale) is priced by the product's price
per unit of weight.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from appliance.domain.errors import DomainError, UnknownProduct
from appliance.domain.money import Money


class WeightUnit(Enum):
    """A unit of weight a product can be sold by."""

    G = "g"
    KG = "kg"
    LB = "lb"
    OZ = "oz"

    @property
    def grams(self) -> Decimal:
        """Grams in one of this unit (exact by definition of the pound)."""
        return _GRAMS[self]


_GRAMS = {
    WeightUnit.G: Decimal(1),
    WeightUnit.KG: Decimal(1000),
    WeightUnit.LB: Decimal("453.59237"),
    WeightUnit.OZ: Decimal("28.349523125"),
}


@dataclass(frozen=True, slots=True)
class Category:
    """A shelf the products sit on (and a promotion can target)."""

    id: str
    name: str
    parent: str | None = None


@dataclass(frozen=True, slots=True)
class TierPrice:
    """The price of one preset weight in a tier's matrix."""

    weight: Decimal
    price: Money


@dataclass(frozen=True, slots=True)
class PriceTier:
    """A quality tier's price matrix: preset weight -> price of that pack."""

    id: str
    name: str
    prices: tuple[TierPrice, ...]

    def price_for(self, weight: Decimal) -> Money | None:
        """The matrix price of exactly this weight, or None when it has none."""
        for entry in self.prices:
            if entry.weight == weight:
                return entry.price
        return None


@dataclass(frozen=True, slots=True)
class Product:
    """Something the register sells.

    `price` is per item when `unit` is None, else per one `unit` of weight.
    `limit_class` names a purchase-limit class; `limit_amount` is how much of that
    class one item counts for (e.g. a pre-roll counts as 1 g); weighed products
    count their weight instead.
    """

    sku: str
    name: str
    category: str
    price: Money
    tax_class: str
    barcodes: tuple[str, ...] = ()
    unit: WeightUnit | None = None
    presets: tuple[Decimal, ...] = ()
    price_tier: str | None = None
    limit_class: str | None = None
    limit_amount: Decimal = Decimal(1)

    def __post_init__(self) -> None:
        if not self.sku:
            raise DomainError("a product needs a sku")
        if self.price.minor < 0:
            raise DomainError(f"product {self.sku}: price {self.price} is negative")
        if self.presets and self.unit is None:
            raise DomainError(f"product {self.sku}: presets need a weight unit")
        for preset in self.presets:
            if preset <= 0:
                raise DomainError(f"product {self.sku}: preset weight {preset} is not positive")

    @property
    def sold_by_weight(self) -> bool:
        """True when the product is priced by weight."""
        return self.unit is not None


@dataclass(frozen=True, slots=True)
class Catalog:
    """An immutable, indexed catalogue (a copy of the back office's, maybe stale)."""

    currency: str
    products: Mapping[str, Product]
    categories: Mapping[str, Category] = field(default_factory=dict)
    tiers: Mapping[str, PriceTier] = field(default_factory=dict)
    barcodes: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        currency: str,
        products: Iterable[Product],
        categories: Iterable[Category] = (),
        tiers: Iterable[PriceTier] = (),
    ) -> Catalog:
        """Index products by sku and barcode; a duplicate sku or barcode is an error."""
        by_sku: dict[str, Product] = {}
        by_code: dict[str, str] = {}
        for product in products:
            if product.sku in by_sku:
                raise DomainError(f"duplicate sku {product.sku!r} in the catalogue")
            if product.price.currency != currency:
                raise DomainError(f"product {product.sku}: priced in {product.price.currency}")
            by_sku[product.sku] = product
            for code in product.barcodes:
                if code in by_code:
                    raise DomainError(
                        f"barcode {code!r} is on both {by_code[code]!r} and {product.sku!r}"
                    )
                by_code[code] = product.sku
        return cls(
            currency=currency,
            products=by_sku,
            categories={c.id: c for c in categories},
            tiers={t.id: t for t in tiers},
            barcodes=by_code,
        )

    def product(self, sku: str) -> Product:
        """The product with this sku, or UnknownProduct naming it."""
        try:
            return self.products[sku]
        except KeyError:
            raise UnknownProduct(f"unknown product: sku {sku!r} is not in the catalogue") from None

    def by_barcode(self, code: str) -> Product:
        """The product carrying this barcode, or UnknownProduct naming it."""
        sku = self.barcodes.get(code)
        if sku is None:
            raise UnknownProduct(f"unknown product: barcode {code!r} is not in the catalogue")
        return self.products[sku]

    def preset_price(self, product: Product, weight: Decimal) -> Money | None:
        """The tier-matrix price of a preset weight of `product`, if its tier has one."""
        if product.price_tier is None:
            return None
        tier = self.tiers.get(product.price_tier)
        return None if tier is None else tier.price_for(weight)
