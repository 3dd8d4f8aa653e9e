"""The cart: what the customer is buying, before it is priced.

A cart is an immutable value; every change returns a new cart, so the register
can keep the last good cart when a change is refused and can park a cart as it
is. The cart holds only the cashier's inputs (what, how many, what weight,
which manual discounts); prices, promotions, freebies and tax are derived by
`pricing.price_cart`, never stored here, so they can never go stale.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from enum import Enum

from appliance.domain.catalog import Product
from appliance.domain.errors import (
    CardNumberRefused,
    InvalidDiscount,
    InvalidQuantity,
    UnknownLine,
)
from appliance.domain.pan import contains_card_number


class WeightSource(Enum):
    """Where a line's weight came from; only a preset is priced by the tier matrix.

    LABEL: read from a weighed item's label (`appliance.domain.labels`), weighed at
    a counter's scale when the label was printed."""

    PRESET = "preset"
    MANUAL = "manual"
    SCALE = "scale"
    LABEL = "label"


class DiscountKind(Enum):
    """A percentage off, or an amount off in minor units."""

    PERCENT = "percent"
    AMOUNT = "amount"


@dataclass(frozen=True, slots=True)
class Discount:
    """A manual discount typed by the cashier.

    `value` is a percentage in (0, 100] for PERCENT, a whole number of minor
    units > 0 for AMOUNT. `approved_by` names the manager who approved a
    discount above the store's cap.
    """

    kind: DiscountKind
    value: Decimal
    reason: str = ""
    approved_by: str | None = None

    def __post_init__(self) -> None:
        if self.value <= 0:
            raise InvalidDiscount(f"a discount must be positive, got {self.value}")
        if self.kind is DiscountKind.PERCENT and self.value > 100:
            raise InvalidDiscount(f"a percent discount cannot exceed 100, got {self.value}")
        if self.kind is DiscountKind.AMOUNT and self.value != self.value.to_integral_value():
            raise InvalidDiscount(f"an amount discount is whole minor units, got {self.value}")
        if contains_card_number(self.reason):
            raise CardNumberRefused("the discount reason looks like a card number")

    @classmethod
    def percent(cls, value: Decimal | int | str, reason: str = "") -> Discount:
        """A percent-off discount."""
        return cls(DiscountKind.PERCENT, Decimal(value), reason)

    @classmethod
    def amount(cls, minor: int, reason: str = "") -> Discount:
        """An amount-off discount in minor units."""
        return cls(DiscountKind.AMOUNT, Decimal(minor), reason)


@dataclass(frozen=True, slots=True)
class CartLine:
    """One line: a product by quantity, or a weighed product (weight in its unit)."""

    line_id: int
    sku: str
    quantity: Decimal = Decimal(1)
    weight: Decimal | None = None
    weight_source: WeightSource | None = None
    discount: Discount | None = None


MAX_QUANTITY = Decimal(100_000)
"""The most of one product a line can hold: past it, a slip of the finger, not a sale."""
MAX_WEIGHT = Decimal(10_000)
"""The heaviest a weighed line can be, in the product's unit (kg or lb)."""


def check_quantity(sku: str, quantity: Decimal) -> None:
    """A line's quantity (of items, or of packs of a weight): whole, 1 to MAX_QUANTITY."""
    if not quantity.is_finite() or quantity <= 0:
        raise InvalidQuantity(f"{sku}: quantity must be positive, got {str(quantity)[:20]}")
    if quantity > MAX_QUANTITY:
        raise InvalidQuantity(f"{sku}: quantity must be at most {MAX_QUANTITY}, "
                              f"got {str(quantity)[:20]}")  # fmt: skip
    if quantity != quantity.to_integral_value():
        raise InvalidQuantity(f"{sku}: quantity must be a whole number, got {quantity}")


def check_weight(sku: str, weight: Decimal) -> None:
    """A line's weight: positive and at most MAX_WEIGHT."""
    if not weight.is_finite() or weight <= 0:
        raise InvalidQuantity(f"{sku}: weight must be positive, got {str(weight)[:20]}")
    if weight > MAX_WEIGHT:
        raise InvalidQuantity(f"{sku}: weight must be at most {MAX_WEIGHT}, "
                              f"got {str(weight)[:20]}")  # fmt: skip


def _check_weight(product: Product, weight: Decimal, source: WeightSource) -> None:
    if not product.sold_by_weight:
        raise InvalidQuantity(f"{product.sku}: {product.name} is not sold by weight")
    check_weight(product.sku, weight)
    if source is WeightSource.PRESET and weight not in product.presets:
        raise InvalidQuantity(f"{product.sku}: {weight} is not one of its presets")


@dataclass(frozen=True, slots=True)
class Cart:
    """The cashier's inputs for one sale."""

    lines: tuple[CartLine, ...] = ()
    order_discount: Discount | None = None
    customer_id: str | None = None
    next_line_id: int = 1

    def line(self, line_id: int) -> CartLine:
        """The line with this id, or UnknownLine."""
        for line in self.lines:
            if line.line_id == line_id:
                return line
        raise UnknownLine(f"no line {line_id} in the cart")

    def _append(self, line: CartLine) -> Cart:
        return replace(self, lines=(*self.lines, line), next_line_id=self.next_line_id + 1)

    def _replace_line(self, line: CartLine) -> Cart:
        self.line(line.line_id)
        lines = tuple(line if old.line_id == line.line_id else old for old in self.lines)
        return replace(self, lines=lines)

    def add_item(self, product: Product, quantity: Decimal = Decimal(1)) -> Cart:
        """Add a product sold by the each; scanning it again adds to its undiscounted line."""
        if product.sold_by_weight:
            raise InvalidQuantity(f"{product.sku}: {product.name} is sold by weight; weigh it")
        check_quantity(product.sku, quantity)
        for line in self.lines:
            if line.sku == product.sku and line.discount is None:
                return self._replace_line(replace(line, quantity=line.quantity + quantity))
        return self._append(CartLine(self.next_line_id, product.sku, quantity))

    def add_weighed(
        self,
        product: Product,
        weight: Decimal,
        source: WeightSource,
        packs: Decimal = Decimal(1),
    ) -> Cart:
        """Add a weighed line. Every weighed line stays its own line (never merged).

        `packs` counts identical preset packs (two 3.5 g packs); a typed or scale
        weight is always one pack.
        """
        _check_weight(product, weight, source)
        check_quantity(product.sku, packs)
        if source is not WeightSource.PRESET and packs != 1:
            raise InvalidQuantity(f"{product.sku}: only preset packs can be counted")
        return self._append(CartLine(self.next_line_id, product.sku, packs, weight, source))

    def set_quantity(self, line_id: int, quantity: Decimal) -> Cart:
        """Change how many items (or preset packs) a line holds."""
        line = self.line(line_id)
        check_quantity(line.sku, quantity)
        if line.weight_source not in (None, WeightSource.PRESET):
            raise InvalidQuantity(f"{line.sku}: a weighed line's quantity is its weight")
        return self._replace_line(replace(line, quantity=quantity))

    def set_weight(
        self, line_id: int, product: Product, weight: Decimal, source: WeightSource
    ) -> Cart:
        """Re-weigh a line (a new scale reading, a typed weight or another preset)."""
        line = self.line(line_id)
        _check_weight(product, weight, source)
        quantity = line.quantity if source is WeightSource.PRESET else Decimal(1)
        return self._replace_line(
            replace(line, weight=weight, weight_source=source, quantity=quantity)
        )

    def void_line(self, line_id: int) -> Cart:
        """Remove a line from the cart."""
        self.line(line_id)
        return replace(self, lines=tuple(li for li in self.lines if li.line_id != line_id))

    def set_line_discount(self, line_id: int, discount: Discount | None) -> Cart:
        """Put a manual discount on one line (None removes it)."""
        return self._replace_line(replace(self.line(line_id), discount=discount))

    def set_order_discount(self, discount: Discount | None) -> Cart:
        """Put a manual discount on the whole order (None removes it)."""
        return replace(self, order_discount=discount)

    def attach_customer(self, customer_id: str | None) -> Cart:
        """Attach a customer (for balances, loyalty and purchase limits), or detach."""
        return replace(self, customer_id=customer_id)

    @property
    def is_empty(self) -> bool:
        """True when nothing has been rung up."""
        return not self.lines
