"""The discount screen: percent or amount, on a line or the order; customers; limits.

A discount over the store's cap is the register's call: it answers NeedsManager,
the override asks for a PIN, and the same discount is retried with it. The
customer is found in the cache (by name or id), attached by the register, and
shown with their loyalty points and balances. Purchase limits are shown as the
cart stands against the customer's day so far; `complete` enforces them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from appliance.domain.cart import Discount
from appliance.domain.codec import decimal_text
from appliance.domain.limits import LimitUsage
from appliance.domain.pricing import PricedCart
from appliance.domain.tender import CUSTOMER_ACCOUNTS, TenderKind
from appliance.register import Register
from appliance.ui.viewmodels.base import INFO, ScreenState, ViewModel
from appliance.ui.viewmodels.formatting import (
    money,
    money_decimals,
    parse_decimal,
    parse_money,
    press,
)
from appliance.ui.viewmodels.manager import ManagerOverride, OverrideState
from appliance.ui.viewmodels.runner import Runner

PERCENT, AMOUNT = "percent", "amount"
ORDER, LINE = "order", "line"
BALANCE_LABELS = {
    TenderKind.STORE_CREDIT: "Store credit",
    TenderKind.HOUSE_ACCOUNT: "House account",
    TenderKind.GIFT_CARD: "Gift card",
}


@dataclass(frozen=True, slots=True)
class CustomerRow:
    """A customer found by the search."""

    id: str
    name: str
    points: str


@dataclass(frozen=True, slots=True)
class BalanceRow:
    """A balance the customer holds: label, account and amount."""

    label: str
    account: str
    amount: str


@dataclass(frozen=True, slots=True)
class CustomerCard:
    """The attached customer: name, loyalty and balances."""

    id: str
    name: str
    points: str
    tier: str
    balances: tuple[BalanceRow, ...]


@dataclass(frozen=True, slots=True)
class DiscountState(ScreenState):
    """The discount screen (`kind`: percent|amount, `target`: order|line)."""

    override: OverrideState = field(default_factory=OverrideState)
    kind: str = PERCENT
    target: str = ORDER
    line_id: int | None = None
    value_text: str = ""
    reason: str = ""
    can_apply: bool = False
    customer_query: str = ""
    customers: tuple[CustomerRow, ...] = ()
    customer: CustomerCard | None = None
    limits: tuple[str, ...] = ()
    over_limit: bool = False


def _limit_text(use: LimitUsage) -> str:
    unit = "g" if use.limit.unit == "g" else "items"
    text = (
        f"{use.limit.name}: {decimal_text(use.after)} of {decimal_text(use.limit.max_per_day)}"
        f" {unit} today"
    )
    return text + (": over the daily limit" if use.exceeded else "")


class DiscountViewModel(ViewModel[DiscountState]):
    """The discount and customer screen (see the module docstring)."""

    def __init__(self, register: Register, runner: Runner, override: ManagerOverride) -> None:
        super().__init__(register, runner, DiscountState(override=override.state))
        self.approver = override
        override.subscribe(lambda s: self._update(override=s))
        self.on_changed: Callable[[PricedCart], None] | None = None
        self.on_customer: Callable[[str], None] | None = None

    def open(self, line_id: int | None = None) -> None:
        """Bring the screen up: on a line if one is given, else on the order."""
        self._update(
            target=LINE if line_id is not None else ORDER,
            line_id=line_id,
            value_text="",
            reason="",
            can_apply=False,
            message="",
            message_kind="",
        )
        self.refresh_limits()

    def reset(self) -> None:
        """A new sale: no customer, nothing typed, no limits shown."""
        self._update(
            value_text="",
            reason="",
            can_apply=False,
            customer_query="",
            customers=(),
            customer=None,
            limits=(),
            over_limit=False,
            line_id=None,
            target=ORDER,
            message="",
            message_kind="",
        )

    def set_kind(self, kind: str) -> None:
        """Percent or amount off (clears the value typed)."""
        if kind in (PERCENT, AMOUNT):
            self._update(kind=kind, value_text="", can_apply=False)

    def set_target(self, target: str, line_id: int | None = None) -> None:
        """The whole order, or one line."""
        if target == ORDER or (target == LINE and line_id is not None):
            self._update(target=target, line_id=line_id if target == LINE else None)

    def key(self, key: str) -> None:
        """A keypad key for the value: a digit, ".", "back" or "clear"."""
        decimals = money_decimals(self.register.currency) if self.state.kind == AMOUNT else 2
        text = press(self.state.value_text, key, decimals=decimals, max_len=9)
        self._update(value_text=text, can_apply=any(c in "123456789" for c in text))

    def set_reason(self, text: str) -> None:
        """Why the discount is given (printed on the receipt)."""
        self._update(reason=text)

    def _discount(self, kind: str, text: str, reason: str) -> Discount:
        if kind == PERCENT:
            return Discount.percent(parse_decimal(text, "percent"), reason)
        return Discount.amount(parse_money(text, self.register.currency).minor, reason)

    def apply(self, manager_pin: str | None = None) -> None:
        """Apply the discount typed; over the cap, the register asks for a manager."""
        s = self.state
        self._apply(
            s.kind, s.value_text, s.reason, s.line_id if s.target == LINE else None, manager_pin
        )

    def _apply(
        self, kind: str, text: str, reason: str, line_id: int | None, manager_pin: str | None
    ) -> None:
        def run() -> PricedCart:
            discount = self._discount(kind, text, reason)
            if line_id is None:
                return self.register.discount_order(discount, manager_pin)
            return self.register.discount_line(line_id, discount, manager_pin)

        self._call(
            run,
            self._changed,
            retry=lambda pin: self._apply(kind, text, reason, line_id, pin),
            approving=manager_pin is not None,
        )

    def remove(self) -> None:
        """Take the discount off the line (or the order)."""
        line_id = self.state.line_id if self.state.target == LINE else None
        if line_id is None:
            self._call(lambda: self.register.discount_order(None), self._changed)
        else:
            self._call(lambda: self.register.discount_line(line_id, None), self._changed)

    def _changed(self, priced: PricedCart) -> None:
        self._update(value_text="", can_apply=False)
        self._say("discount applied" if priced.discount_total.minor else "no discount", INFO)
        if self.on_changed is not None:
            self.on_changed(priced)
        self.refresh_limits()

    # --- customers and limits ---------------------------------------------------------------

    def search_customers(self, text: str) -> None:
        """Find cached customers by name (any word's start) or by id."""
        self._update(customer_query=text)
        self._call(
            lambda: self.register.find_customers(text),
            lambda found: self._found(found, text),
            keep_message=True,
        )

    def _found(self, found: list[dict[str, Any]], text: str) -> None:
        if text == self.state.customer_query:
            rows = tuple(
                CustomerRow(
                    str(r["id"]), str(r.get("name", "")), f"{int(r.get('points', 0))} points"
                )
                for r in found
            )
            self._update(customers=rows)

    def attach(self, customer_id: str) -> None:
        """Attach a cached customer to the sale."""

        def run() -> tuple[CustomerCard, PricedCart]:
            record = self.register.attach_customer(customer_id)
            assert record is not None
            return self._card(record), self.register.price()

        self._call(run, self._attached)

    def _card(self, record: dict[str, Any]) -> CustomerCard:
        customer_id = str(record["id"])
        accounts = [(kind, customer_id) for kind in CUSTOMER_ACCOUNTS]
        held = self.register.balances(accounts)
        rows = tuple(
            BalanceRow(BALANCE_LABELS[kind], account, money(amount))
            for (kind, account), amount in held.items()
        )
        tier = self.register.loyalty_tier(int(record.get("lifetime_points", 0)))
        return CustomerCard(
            customer_id,
            str(record.get("name", "")),
            f"{int(record.get('points', 0))} points",
            tier,
            rows,
        )

    def _attached(self, found: tuple[CustomerCard, PricedCart]) -> None:
        card, priced = found
        self._update(customer=card, customers=())
        if self.on_changed is not None:
            self.on_changed(priced)
        if self.on_customer is not None:
            self.on_customer(card.name)
        self.refresh_limits()

    def detach(self) -> None:
        """Take the customer off the sale."""

        def run() -> PricedCart:
            self.register.attach_customer(None)
            return self.register.price()

        self._call(run, self._detached)

    def _detached(self, priced: PricedCart) -> None:
        self._update(customer=None)
        if self.on_changed is not None:
            self.on_changed(priced)
        self.refresh_limits()

    def refresh_limits(self) -> None:
        """Where the cart stands on each purchase limit (shown as warnings)."""
        self._call(self.register.limits, self._limits, keep_message=True)

    def _limits(self, usages: tuple[LimitUsage, ...]) -> None:
        shown = [u for u in usages if u.in_cart > 0 or u.before > 0]
        self._update(
            limits=tuple(_limit_text(u) for u in shown),
            over_limit=any(u.exceeded and u.in_cart > 0 for u in shown),
        )
