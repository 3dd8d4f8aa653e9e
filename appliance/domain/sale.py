"""The sale: the immutable record `complete` builds, and `rederive`.

A sale is what was sold, as it was sold: the lines with every derived amount,
the taxes, the tenders exactly as paid. Nothing later rewrites it. It carries
its place in the register's chain (`chain.py`): its sequence number and the
hash of the entry before it, so a gap or an edit anywhere shows.

`rederive(sale, rules)` prices the sale's inputs again with the given rules
(the back office's own copy) and lists every amount that differs: the drift.
With the rules the register used, the drift of any valid sale is empty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from appliance.domain import codec, limits
from appliance.domain.cart import Cart, CartLine, Discount
from appliance.domain.errors import DomainError, EncodingError
from appliance.domain.money import Money, round_to_increment, total
from appliance.domain.pricing import PricedCart, PricedLine, price_cart
from appliance.domain.rules import StoreRules
from appliance.domain.tax import TaxLine
from appliance.domain.tender import (
    BALANCE_KINDS,
    AppliedTender,
    BalanceUse,
    Settlement,
    Tender,
    TenderKind,
    not_the_customers,
    settle,
)

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class SaleHeader:
    """Who sold, where, when, and the sale's place in the register's chain."""

    id: str
    store: str
    register: str
    sequence: int
    previous_hash: str
    cashier: str
    local_time: datetime
    offline: bool

    def __post_init__(self) -> None:
        if self.sequence < 1:
            raise DomainError(f"sale sequence must start at 1, got {self.sequence}")
        if len(self.previous_hash) != 64:
            raise DomainError("previous_hash must be a SHA-256 hex digest")


@dataclass(frozen=True, slots=True)
class CustomerState:
    """What the register's cache knows of the attached customer right now."""

    id: str
    name: str = ""
    lifetime_points: int = 0
    points: int = 0
    limit_counters: Mapping[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LoyaltyOutcome:
    """Points the sale moved for its customer."""

    tier: str
    points_before: int
    earned: int
    redeemed: int

    @property
    def points_after(self) -> int:
        """The customer's points once the sale is applied."""
        return self.points_before + self.earned - self.redeemed


@dataclass(frozen=True, slots=True)
class LimitLine:
    """How much of a purchase-limit class the sale used (added to today's counter)."""

    limit: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Sale:
    """A completed sale. Money is in `currency`; see the module docstring."""

    version: int
    id: str
    store: str
    register: str
    sequence: int
    previous_hash: str
    cashier: str
    local_time: datetime
    offline: bool
    currency: str
    customer_id: str | None
    lines: tuple[PricedLine, ...]
    order_discount: Discount | None
    subtotal: Money
    discount_total: Money
    net_total: Money
    taxes: tuple[TaxLine, ...]
    tax_total: Money
    total: Money
    prices_include_tax: bool
    tenders: tuple[AppliedTender, ...]
    rounding: Money
    change: Money
    balance_uses: tuple[BalanceUse, ...]
    loyalty: LoyaltyOutcome | None
    limits: tuple[LimitLine, ...]

    def __post_init__(self) -> None:
        if self.local_time.tzinfo is not None:  # promotions' hours are the shop's wall clock
            raise DomainError(f"local_time: the shop's wall-clock time, without an offset, "
                              f"got {self.local_time.isoformat()}")  # fmt: skip

    @property
    def promotions(self) -> tuple[str, ...]:
        """Ids of the promotions applied, in line order, each once."""
        seen: dict[str, None] = {}
        for line in self.lines:
            if line.promotion_id is not None:
                seen[line.promotion_id] = None
        return tuple(seen)

    @property
    def paid(self) -> Money:
        """What the tenders paid toward the sale (total + cash rounding)."""
        return total([t.applied for t in self.tenders], self.currency)


def encode(sale: Sale) -> bytes:
    """The canonical encoding (what is hashed, stored and sent)."""
    return codec.dumps(sale)


def decode(raw: bytes) -> Sale:
    """Decode a canonical sale, naming the field of anything malformed."""
    sale = codec.loads(Sale, raw)
    if sale.version != SCHEMA_VERSION:
        raise EncodingError(f"Sale.version: unknown version {sale.version}")
    return sale


def _points_redeemed(
    tenders: Sequence[Tender], rules: StoreRules, customer: CustomerState | None
) -> int:
    points_tenders = [t for t in tenders if t.kind is TenderKind.POINTS]
    if not points_tenders:
        return 0
    if customer is None or rules.loyalty is None:
        raise DomainError("points can only be redeemed by a customer in the loyalty program")
    spent = 0
    for tender in points_tenders:
        reward = rules.loyalty.check_redeem(tender.account, customer.points - spent)
        if tender.points != reward.points or tender.amount != reward.value:
            raise DomainError(f"points tender does not match reward {reward.id!r}")
        spent += reward.points
    return spent


def _loyalty(
    priced: PricedCart,
    settlement: Settlement,
    rules: StoreRules,
    customer: CustomerState | None,
    redeemed: int,
) -> LoyaltyOutcome | None:
    if customer is None or rules.loyalty is None:
        return None
    goods = priced.net_total - priced.tax_total if priced.prices_include_tax else priced.net_total
    by_points = total(
        [t.applied for t in settlement.tenders if t.kind is TenderKind.POINTS], priced.currency
    )
    spend = goods - by_points
    tier = rules.loyalty.tier_for(customer.lifetime_points)
    earned = rules.loyalty.points_earned(spend, customer.lifetime_points)
    return LoyaltyOutcome(tier.name, customer.points, earned, redeemed)


def limit_usage(
    cart: Cart, rules: StoreRules, customer: CustomerState | None
) -> tuple[limits.LimitUsage, ...]:
    """Where the customer stands on each purchase limit with this cart (for warnings)."""
    counters = customer.limit_counters if customer else {}
    return limits.usage(cart.lines, rules.catalog, rules.limits, counters)


def complete(
    cart: Cart,
    rules: StoreRules,
    tenders: Sequence[Tender],
    header: SaleHeader,
    customer: CustomerState | None = None,
    balances: Mapping[tuple[TenderKind, str], Money] | None = None,
) -> Sale:
    """Price, check limits, settle and build the immutable Sale (or raise a DomainError)."""
    if cart.is_empty:
        raise DomainError("the cart is empty: nothing to sell")
    if customer is not None and cart.customer_id not in (None, customer.id):
        raise DomainError(f"the cart belongs to customer {cart.customer_id}, not {customer.id}")
    wrong = not_the_customers(tenders, customer.id if customer else cart.customer_id)
    if wrong is not None:
        raise DomainError(wrong)
    priced = price_cart(cart, rules, header.local_time)
    counters = customer.limit_counters if customer else {}
    # over the priced lines: a free item the promotions added counts toward a limit too
    usages = limits.usage(priced.lines, rules.catalog, rules.limits, counters)
    limits.enforce(usages)
    redeemed = _points_redeemed(tenders, rules, customer)
    settlement = settle(priced.total, tenders, balances or {}, rules.cash_increment)
    return Sale(
        version=SCHEMA_VERSION,
        id=header.id,
        store=header.store,
        register=header.register,
        sequence=header.sequence,
        previous_hash=header.previous_hash,
        cashier=header.cashier,
        local_time=header.local_time,
        offline=header.offline,
        currency=priced.currency,
        customer_id=customer.id if customer else cart.customer_id,
        lines=priced.lines,
        order_discount=priced.order_discount,
        subtotal=priced.subtotal,
        discount_total=priced.discount_total,
        net_total=priced.net_total,
        taxes=priced.taxes,
        tax_total=priced.tax_total,
        total=priced.total,
        prices_include_tax=priced.prices_include_tax,
        tenders=settlement.tenders,
        rounding=settlement.rounding,
        change=settlement.change,
        balance_uses=settlement.balance_uses,
        loyalty=_loyalty(priced, settlement, rules, customer, redeemed),
        limits=tuple(LimitLine(u.limit.id, u.in_cart) for u in usages if u.in_cart > 0),
    )


# --- drift -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DriftItem:
    """One amount the register recorded that the rules derive differently."""

    field: str
    recorded: str
    derived: str


@dataclass(frozen=True, slots=True)
class Drift:
    """All differences between a recorded sale and its re-derivation.

    `total` is the recorded total minus the derived one; None when the rules
    could not price the sale at all (an unknown product, say).
    """

    items: tuple[DriftItem, ...]
    total: Money | None

    @property
    def clean(self) -> bool:
        """True when the register and the rules agree on every amount."""
        return not self.items


def cart_of(sale: Sale) -> Cart:
    """The cashier's inputs of a sale (freebies are derived, so left out)."""
    lines = tuple(
        CartLine(li.line_id, li.sku, li.quantity, li.weight, li.weight_source, li.discount)
        for li in sale.lines
        if not li.free
    )
    next_id = max((li.line_id for li in lines), default=0) + 1
    return Cart(lines, sale.order_discount, sale.customer_id, next_id)


_LINE_FIELDS = (
    "sku", "unit_price", "tier_price", "base", "promotion_id",
    "promotion_discount", "manual_discount", "order_discount", "net",
)  # fmt: skip
_TOTAL_FIELDS = ("subtotal", "discount_total", "net_total", "tax_total", "total")


def _text(value: object) -> str:
    if isinstance(value, Money):
        return str(value.minor)
    return "" if value is None else str(value)


def _compare(items: list[DriftItem], name: str, recorded: object, derived: object) -> None:
    if recorded != derived and _text(recorded) != _text(derived):
        items.append(DriftItem(name, _text(recorded), _text(derived)))


def _settlement_drift(sale: Sale, rules: StoreRules, items: list[DriftItem]) -> None:
    _compare(items, "tenders.paid", sale.paid, sale.total + sale.rounding)
    cash = [t for t in sale.tenders if t.kind is TenderKind.CASH]
    if cash:
        non_cash = total(
            [t.applied for t in sale.tenders if t.kind is not TenderKind.CASH], sale.currency
        )
        due = round_to_increment((sale.total - non_cash).minor, rules.cash_increment)
        _compare(items, "rounding", sale.rounding.minor, due - (sale.total - non_cash).minor)
        handed = total([t.tendered for t in cash], sale.currency)
        _compare(items, "change", sale.change.minor, handed.minor - due)
    else:
        _compare(items, "rounding", sale.rounding.minor, 0)
        _compare(items, "change", sale.change.minor, 0)


def movements_problem(sale: Sale) -> str | None:
    """Why the balances and points the sale says it moved are not what its own tenders
    moved (None: they are). No rules come into it, so no register, online or offline,
    can differ here: a sale that does was not made by one, and must move nothing."""
    drawn: dict[tuple[TenderKind, str], int] = {}
    for tender in sale.tenders:
        if tender.kind in BALANCE_KINDS:
            key = (tender.kind, tender.account)
            drawn[key] = drawn.get(key, 0) + tender.applied.minor
    said: dict[tuple[TenderKind, str], int] = {}
    for use in sale.balance_uses:
        key = (use.kind, use.account)
        if key in said or use.kind not in BALANCE_KINDS:
            return f"balance_uses: {use.kind.value} {use.account} is not one balance drawn once"
        if use.after != use.before - use.amount:
            return f"balance_uses: {use.kind.value} {use.account}: before - amount is not after"
        said[key] = use.amount.minor
    if said != drawn:
        return "balance_uses: not what the sale's balance tenders drew"
    wrong = not_the_customers(sale.tenders, sale.customer_id)
    if wrong is not None:
        return f"tenders: {wrong}"
    spent = sum(t.points for t in sale.tenders if t.kind is TenderKind.POINTS)
    redeemed = sale.loyalty.redeemed if sale.loyalty is not None else 0
    if redeemed != spent:
        return f"loyalty.redeemed: {redeemed} points, but its points tenders spent {spent}"
    if sale.loyalty is not None and sale.loyalty.earned < 0:
        return f"loyalty.earned: {sale.loyalty.earned} is below zero"
    return None


def rederive(sale: Sale, rules: StoreRules) -> Drift:
    """Price the sale's inputs again with `rules` and report every difference."""
    items: list[DriftItem] = []
    try:
        priced = price_cart(cart_of(sale), rules, sale.local_time)
    except DomainError as exc:
        return Drift((DriftItem("pricing", "priced", str(exc)),), None)
    recorded = {li.line_id: li for li in sale.lines}
    derived = {li.line_id: li for li in priced.lines}
    for line_id in sorted(set(recorded) | set(derived)):
        mine, theirs = recorded.get(line_id), derived.get(line_id)
        if mine is None or theirs is None:
            _compare(items, f"lines[{line_id}]", mine and mine.sku, theirs and theirs.sku)
            continue
        for name in _LINE_FIELDS:
            recorded_value, derived_value = getattr(mine, name), getattr(theirs, name)
            if recorded_value != derived_value:  # most lines agree: no name built for them
                _compare(items, f"lines[{line_id}].{name}", recorded_value, derived_value)
    for name in _TOTAL_FIELDS:
        _compare(items, name, getattr(sale, name), getattr(priced, name))
    taxes_recorded = {t.code: t.amount for t in sale.taxes}
    taxes_derived = {t.code: t.amount for t in priced.taxes}
    for code in sorted(set(taxes_recorded) | set(taxes_derived)):
        _compare(items, f"taxes.{code}", taxes_recorded.get(code), taxes_derived.get(code))
    _settlement_drift(sale, rules, items)
    _loyalty_drift(sale, rules, items)
    return Drift(tuple(items), sale.total - priced.total)


def earned_by_rules(sale: Sale, rules: StoreRules) -> int | None:
    """The points the sale earns by `rules` in the tier it was sold in (None: no program,
    no customer, or a tier `rules` do not have)."""
    if sale.loyalty is None or rules.loyalty is None:
        return None
    tier = next((t for t in rules.loyalty.tiers if t.name == sale.loyalty.tier), None)
    if tier is None:
        return None
    goods = sale.net_total - sale.tax_total if sale.prices_include_tax else sale.net_total
    by_points = total([t.applied for t in sale.tenders if t.kind is TenderKind.POINTS],
                      sale.currency)  # fmt: skip
    return rules.loyalty.points_earned(goods - by_points, tier.min_points)


def _loyalty_drift(sale: Sale, rules: StoreRules, items: list[DriftItem]) -> None:
    if sale.loyalty is None or rules.loyalty is None:
        return
    earned = earned_by_rules(sale, rules)
    if earned is None:
        _compare(items, "loyalty.tier", sale.loyalty.tier, "")
    else:
        _compare(items, "loyalty.earned", sale.loyalty.earned, earned)
