"""Paying for a sale: cash, card (recorded), balances and loyalty points.

Rules of `settle`:
- Non-cash tenders (card, store credit, gift card, house account, points) pay
  exactly what they say and can never exceed what is still due: only cash gives
  change.
- Cash pays what the non-cash tenders leave, rounded to the store's cash
  increment (e.g. 0.05); the difference is the rounding adjustment, recorded
  beside the tenders. Card and balance amounts are never rounded.
- Balance tenders draw on balances passed in; drawing more than an account has
  (summed over the tenders of the sale) is BalanceOverdrawn.
- Tenders short of the total: TenderShort naming the shortfall.
So: sum of applied tenders == total + rounding, and change >= 0, always.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from appliance.domain.errors import (
    BalanceOverdrawn,
    CardNumberRefused,
    TenderError,
    TenderExceedsDue,
    TenderShort,
)
from appliance.domain.money import Money, round_to_increment, total
from appliance.domain.pan import contains_card_number


class TenderKind(Enum):
    """How a customer pays."""

    CASH = "cash"
    CARD = "card"
    STORE_CREDIT = "store_credit"
    GIFT_CARD = "gift_card"
    HOUSE_ACCOUNT = "house_account"
    POINTS = "points"


BALANCE_KINDS = (TenderKind.STORE_CREDIT, TenderKind.GIFT_CARD, TenderKind.HOUSE_ACCOUNT)
CUSTOMER_ACCOUNTS = (TenderKind.STORE_CREDIT, TenderKind.HOUSE_ACCOUNT)
"""Balances kept under the customer's own id (a gift card has a number of its own): only
that customer's sale may draw on them."""


@dataclass(frozen=True, slots=True)
class Tender:
    """One payment as the cashier entered it.

    `amount` is what the customer hands over (cash) or what is charged. `method`
    is the card scheme or terminal method ("visa", "debit"); `reference` is the
    terminal's approval or transaction reference; `account` names the store
    credit / gift card / house account, or the reward id for POINTS; `points`
    is what a POINTS tender spends. There is deliberately no field for a card
    number, and a reference that looks like one is refused.
    """

    kind: TenderKind
    amount: Money
    method: str = ""
    reference: str = ""
    account: str = ""
    points: int = 0

    def __post_init__(self) -> None:
        if self.amount.minor < 0:
            raise TenderError(f"{self.kind.value} tender of {self.amount} is negative")
        for name, text in (("reference", self.reference), ("method", self.method)):
            if contains_card_number(text):
                raise CardNumberRefused(
                    f"card {name} looks like a card number; record the terminal's reference only"
                )
        if self.kind in BALANCE_KINDS and not self.account:
            raise TenderError(f"a {self.kind.value} tender needs an account")

    @classmethod
    def cash(cls, amount: Money) -> Tender:
        """Cash handed over."""
        return cls(TenderKind.CASH, amount)

    @classmethod
    def card(cls, amount: Money, method: str, reference: str = "") -> Tender:
        """A card payment taken on the separate terminal, recorded here."""
        return cls(TenderKind.CARD, amount, method=method, reference=reference)

    @classmethod
    def balance(cls, kind: TenderKind, account: str, amount: Money) -> Tender:
        """A draw on a store credit, gift card or house account balance."""
        return cls(kind, amount, account=account)


@dataclass(frozen=True, slots=True)
class AppliedTender:
    """A tender as it paid the sale: `applied` counts toward the total."""

    kind: TenderKind
    tendered: Money
    applied: Money
    method: str = ""
    reference: str = ""
    account: str = ""
    points: int = 0


@dataclass(frozen=True, slots=True)
class BalanceUse:
    """A balance drawn down by the sale (applied to the cache in the same commit)."""

    kind: TenderKind
    account: str
    amount: Money
    before: Money
    after: Money


@dataclass(frozen=True, slots=True)
class Settlement:
    """How the total was paid."""

    tenders: tuple[AppliedTender, ...]
    rounding: Money
    change: Money
    balance_uses: tuple[BalanceUse, ...]

    @property
    def paid(self) -> Money:
        """Sum of the applied tenders (= total + rounding)."""
        return total([t.applied for t in self.tenders], self.rounding.currency)


@dataclass(frozen=True, slots=True)
class Outstanding:
    """What tenders entered so far leave of the amount due, by `settle`'s rules.

    `left` is what is still unpaid (for a card or a balance); `cash_due` is what cash
    must still hand over, rounded to the cash increment; `change` is what cash
    handed over beyond its rounded due.
    """

    due: Money
    left: Money
    cash_due: Money
    change: Money
    has_cash: bool

    @property
    def covered(self) -> bool:
        """True when the tenders pay the whole amount (cash by its rounded amount)."""
        return self.cash_due.is_zero() and (self.left.is_zero() or self.has_cash)


def outstanding(due: Money, tenders: Sequence[Tender], cash_increment: int) -> Outstanding:
    """What `tenders` leave of `due` while they are being entered (non-cash first, then
    cash rounded to `cash_increment`, as `settle` applies them). Never raises: a
    tender too big shows as nothing left, not as an error; `settle` refuses it."""
    currency = due.currency
    non_cash = total([t.amount for t in tenders if t.kind is not TenderKind.CASH], currency)
    cash = total([t.amount for t in tenders if t.kind is TenderKind.CASH], currency)
    before_cash = due - non_cash
    rounded = max(round_to_increment(before_cash.minor, cash_increment), 0)
    return Outstanding(
        due,
        Money(max((before_cash - cash).minor, 0), currency),
        Money(max(rounded - cash.minor, 0), currency),
        Money(max(cash.minor - rounded, 0), currency),
        not cash.is_zero(),
    )


def _balance_uses(
    tenders: Sequence[Tender], balances: Mapping[tuple[TenderKind, str], Money]
) -> tuple[BalanceUse, ...]:
    drawn: dict[tuple[TenderKind, str], Money] = {}
    for tender in tenders:
        if tender.kind in BALANCE_KINDS:
            key = (tender.kind, tender.account)
            drawn[key] = drawn.get(key, Money.zero(tender.amount.currency)) + tender.amount
    uses = []
    for (kind, account), amount in drawn.items():
        before = balances.get((kind, account), Money.zero(amount.currency))
        if amount.minor > before.minor:
            raise BalanceOverdrawn(
                f"{kind.value.replace('_', ' ')} {account}: {amount} asked, {before} available"
            )
        uses.append(BalanceUse(kind, account, amount, before, before - amount))
    return tuple(uses)


def not_the_customers(
    tenders: Sequence[Tender | AppliedTender], customer_id: str | None
) -> str | None:
    """Why a tender draws on another customer's store credit or house account (None: none do)."""
    for tender in tenders:
        if tender.kind in CUSTOMER_ACCOUNTS and tender.account != customer_id:
            whose = f"customer {customer_id}'s sale" if customer_id else "a sale with no customer"
            return (f"{tender.kind.value.replace('_', ' ')} {tender.account}: that customer's "
                    f"own, not for {whose}")  # fmt: skip
    return None


def settle(
    due: Money,
    tenders: Sequence[Tender],
    balances: Mapping[tuple[TenderKind, str], Money],
    cash_increment: int,
) -> Settlement:
    """Apply tenders to the amount due; see the module docstring for the rules."""
    currency = due.currency
    non_cash = [t for t in tenders if t.kind is not TenderKind.CASH]
    cash = [t for t in tenders if t.kind is TenderKind.CASH]
    uses = _balance_uses(tenders, balances)
    remaining = due
    applied: list[AppliedTender] = []
    for tender in non_cash:
        if tender.amount.minor > remaining.minor:
            raise TenderExceedsDue(
                f"{tender.kind.value} tender of {tender.amount} is more than the {remaining} due"
            )
        remaining = remaining - tender.amount
        applied.append(
            AppliedTender(
                tender.kind,
                tender.amount,
                tender.amount,
                tender.method,
                tender.reference,
                tender.account,
                tender.points,
            )
        )
    rounding = Money.zero(currency)
    change = Money.zero(currency)
    if cash:
        cash_due = Money(round_to_increment(remaining.minor, cash_increment), currency)
        rounding = cash_due - remaining
        handed = total([t.amount for t in cash], currency)
        if handed.minor < cash_due.minor:
            raise TenderShort(f"tenders are {cash_due - handed} short of the {due} total")
        change = handed - cash_due
        # the cash applied is spread over the cash tenders in order
        left = cash_due
        for tender in cash:
            part = Money(min(tender.amount.minor, left.minor), currency)
            left = left - part
            applied.append(AppliedTender(TenderKind.CASH, tender.amount, part))
    elif remaining.minor > 0:
        raise TenderShort(f"tenders are {remaining} short of the {due} total")
    return Settlement(tuple(applied), rounding, change, uses)
