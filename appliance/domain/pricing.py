"""Pricing a cart: the one function the register and the back office both run.

Stacking order (each step works on what the previous one left):

1. Base price of each line. By the each: price x quantity. By weight: a preset
   whose tier matrix has a price for that weight costs the matrix price per
   pack; any other weight costs price-per-unit x weight, rounded half up, per pack.
2. Promotions (PERCENT, AMOUNT): the single best active promotion per line
   (largest discount, ties to the smaller id) comes off the base. They never stack.
3. Manual line discount, on what the promotion left: a percent of it (rounded
   half up) or an amount (never more than what is left).
4. Manual order discount, on the sum of what step 3 left: a percent (rounded
   half up once on the sum) or an amount, spread over the lines in proportion
   to their amounts (largest remainder), so tax is charged on what was paid.
5. The max-discount cap: a manual discount (line or order) above the store's
   cap, as a percent of what it applies to, needs a manager's approval.
6. Freebies: each active FREEBIE whose threshold the spend reaches (the sum of
   line nets after step 4, i.e. before tax where prices exclude tax) adds one
   free item, priced at its price and discounted to zero. Lines ids are -1, -2...
7. Tax on each line's net, see `tax.py` (inclusive/exclusive, per-line or
   per-invoice rounding).
8. Total = nets + tax (exclusive) or nets (inclusive). Cash rounding is not a
   price: it applies to the cash tender only (see `tender.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from appliance.domain.cart import (
    Cart,
    CartLine,
    Discount,
    DiscountKind,
    WeightSource,
    check_quantity,
    check_weight,
)
from appliance.domain.catalog import Product
from appliance.domain.errors import DiscountOverCap, InvalidDiscount, InvalidQuantity
from appliance.domain.money import Money, allocate, round_half_up, total
from appliance.domain.promotions import PromotionKind, best_promotion
from appliance.domain.rules import StoreRules
from appliance.domain.tax import TaxLine, compute_taxes


@dataclass(frozen=True, slots=True)
class PricedLine:
    """A cart line with every amount the rules derived for it."""

    line_id: int
    sku: str
    name: str
    tax_class: str
    quantity: Decimal
    weight: Decimal | None
    unit: str | None
    weight_source: WeightSource | None
    unit_price: Money
    tier_price: Money | None
    base: Money
    promotion_id: str | None
    promotion_name: str | None
    promotion_discount: Money
    discount: Discount | None
    manual_discount: Money
    order_discount: Money
    net: Money
    free: bool = False

    def __post_init__(self) -> None:  # a sale decoded from its bytes holds only such lines
        check_quantity(self.sku, self.quantity)
        if self.weight is not None:
            check_weight(self.sku, self.weight)

    @property
    def discount_total(self) -> Money:
        """Everything taken off this line."""
        return self.promotion_discount + self.manual_discount + self.order_discount


@dataclass(frozen=True, slots=True)
class PricedCart:
    """A priced cart: lines (with injected freebies), tax and the total due."""

    currency: str
    lines: tuple[PricedLine, ...]
    order_discount: Discount | None
    customer_id: str | None
    subtotal: Money
    discount_total: Money
    net_total: Money
    taxes: tuple[TaxLine, ...]
    tax_total: Money
    total: Money
    prices_include_tax: bool
    warnings: tuple[str, ...] = ()


def _pack_price(product: Product, line: CartLine, rules: StoreRules) -> tuple[Money, Money | None]:
    """(price of one pack, tier price if the matrix set it) for a weighed line."""
    assert line.weight is not None
    if line.weight_source is WeightSource.PRESET:
        tier_price = rules.catalog.preset_price(product, line.weight)
        if tier_price is not None:
            return tier_price, tier_price
    return product.price.times(line.weight), None


def _base(product: Product, line: CartLine, rules: StoreRules) -> tuple[Money, Money | None]:
    """(base price of the line, tier price used or None)."""
    check_quantity(product.sku, line.quantity)  # a sale's own lines come here unchecked
    if line.weight is None:
        if product.sold_by_weight:
            raise InvalidQuantity(f"line {line.line_id}: {product.sku} is sold by weight")
        return product.price.times(line.quantity), None
    if not product.sold_by_weight:
        raise InvalidQuantity(f"line {line.line_id}: {product.sku} is not sold by weight")
    check_weight(product.sku, line.weight)
    pack, tier_price = _pack_price(product, line, rules)
    return pack.times(line.quantity), tier_price


def _discount_amount(discount: Discount, applies_to: Money, what: str) -> Money:
    if discount.kind is DiscountKind.PERCENT:
        off = round_half_up(Decimal(applies_to.minor) * discount.value / 100)
    else:
        off = int(discount.value)
        if off > applies_to.minor:
            raise InvalidDiscount(
                f"{what}: discount of {Money(off, applies_to.currency)} is more than "
                f"its price {applies_to}"
            )
    return Money(off, applies_to.currency)


def _check_cap(discount: Discount, off: Money, applies_to: Money, cap: Decimal, what: str) -> None:
    if discount.approved_by is not None or off.minor == 0:
        return
    if Decimal(off.minor) * 100 > cap * Decimal(applies_to.minor):
        share = Decimal(off.minor) * 100 / Decimal(applies_to.minor)
        raise DiscountOverCap(
            f"{what}: a discount of {off} is {share:.1f}% of {applies_to}, over the "
            f"{cap}% cap; a manager must approve it"
        )


@dataclass(slots=True)
class _Draft:
    line: CartLine
    product: Product
    base: Money
    tier_price: Money | None
    promo: tuple[str, str, Money] | None
    manual: Money
    order: Money

    @property
    def after_line_discounts(self) -> Money:
        promo_off = self.promo[2].minor if self.promo else 0
        return Money(self.base.minor - promo_off - self.manual.minor, self.base.currency)


def _draft(line: CartLine, rules: StoreRules, now: datetime) -> _Draft:
    product = rules.catalog.product(line.sku)
    base, tier_price = _base(product, line, rules)
    best = best_promotion(rules.promotions, product, base, line.quantity, now)
    promo = (best[0].id, best[0].name, best[1]) if best else None
    after_promo = base - best[1] if best else base
    manual = Money.zero(base.currency)
    if line.discount is not None:
        what = f"line {line.line_id} ({product.name})"
        manual = _discount_amount(line.discount, after_promo, what)
        _check_cap(line.discount, manual, after_promo, rules.max_discount_percent, what)
    return _Draft(line, product, base, tier_price, promo, manual, Money.zero(base.currency))


def _apply_order_discount(drafts: list[_Draft], discount: Discount, rules: StoreRules) -> None:
    amounts = [d.after_line_discounts.minor for d in drafts]
    order_base = Money(sum(amounts), rules.catalog.currency)
    off = _discount_amount(discount, order_base, "the order")
    _check_cap(discount, off, order_base, rules.max_discount_percent, "the order")
    for draft, share in zip(drafts, allocate(off.minor, amounts), strict=True):
        draft.order = Money(share, order_base.currency)


def _freebies(spend: Money, rules: StoreRules, now: datetime) -> tuple[list[_Draft], list[str]]:
    drafts: list[_Draft] = []
    warnings: list[str] = []
    for promo in sorted(rules.promotions, key=lambda p: p.id):
        if promo.kind is not PromotionKind.FREEBIE or not promo.is_active(now):
            continue
        assert promo.threshold is not None and promo.free_sku is not None
        if spend.minor < promo.threshold.minor:
            continue
        product = rules.catalog.products.get(promo.free_sku)
        if product is None or product.sold_by_weight:
            warnings.append(f"promotion {promo.id}: free item {promo.free_sku!r} cannot be given")
            continue
        line = CartLine(-(len(drafts) + 1), product.sku)
        zero = Money.zero(spend.currency)
        freebie = (promo.id, promo.name, product.price)
        drafts.append(_Draft(line, product, product.price, None, freebie, zero, zero))
    return drafts, warnings


def _priced_line(draft: _Draft, free: bool) -> PricedLine:
    line, product = draft.line, draft.product
    zero = Money.zero(draft.base.currency)
    net = draft.after_line_discounts - draft.order
    return PricedLine(
        line_id=line.line_id,
        sku=product.sku,
        name=product.name,
        tax_class=product.tax_class,
        quantity=line.quantity,
        weight=line.weight,
        unit=product.unit.value if product.unit else None,
        weight_source=line.weight_source,
        unit_price=product.price,
        tier_price=draft.tier_price,
        base=draft.base,
        promotion_id=draft.promo[0] if draft.promo else None,
        promotion_name=draft.promo[1] if draft.promo else None,
        promotion_discount=draft.promo[2] if draft.promo else zero,
        discount=line.discount,
        manual_discount=draft.manual,
        order_discount=draft.order,
        net=net,
        free=free,
    )


def price_cart(cart: Cart, rules: StoreRules, now: datetime) -> PricedCart:
    """Price the cart by the stacking order above; `now` is the local clock."""
    currency = rules.catalog.currency
    drafts = [_draft(line, rules, now) for line in cart.lines]
    if cart.order_discount is not None and drafts:
        _apply_order_discount(drafts, cart.order_discount, rules)
    lines = [_priced_line(d, free=False) for d in drafts]
    spend = total([line.net for line in lines], currency)
    free_drafts, warnings = _freebies(spend, rules, now)
    lines += [_priced_line(d, free=True) for d in free_drafts]
    taxes = compute_taxes(
        [(li.tax_class, li.net) for li in lines if not li.free], rules.tax, currency
    )
    subtotal = total([li.base for li in lines], currency)
    discount_total = total([li.discount_total for li in lines], currency)
    net_total = subtotal - discount_total
    tax_total = total([t.amount for t in taxes], currency)
    grand_total = net_total if rules.tax.prices_include_tax else net_total + tax_total
    return PricedCart(
        currency=currency,
        lines=tuple(lines),
        order_discount=cart.order_discount,
        customer_id=cart.customer_id,
        subtotal=subtotal,
        discount_total=discount_total,
        net_total=net_total,
        taxes=taxes,
        tax_total=tax_total,
        total=grand_total,
        prices_include_tax=rules.tax.prices_include_tax,
        warnings=tuple(warnings),
    )
