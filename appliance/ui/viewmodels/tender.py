"""The tender screen: amount due, cash with quick amounts, card, balances, split, paid.

"Paid" shows only once `Register.complete` has returned, that is once the sale
is committed to disk; only then is the drawer kicked and the print queue woken.
A sale whose save timed out and landed after all (`SaleRecorded`) is paid too.
A refused commit (storage full, a tender short, a limit) shows the reason and
keeps the cart and the tenders as they were.

What is left to pay is a preview (`tender_preview`): the register settles the sale
in `complete` (cash rounding, change) and "Paid" shows the change it recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from appliance.domain.money import Money
from appliance.domain.pan import contains_card_number
from appliance.domain.pricing import PricedCart
from appliance.domain.tender import (
    BALANCE_KINDS,
    CUSTOMER_ACCOUNTS,
    Outstanding,
    Tender,
    TenderKind,
    outstanding,
)
from appliance.register import CARD_AS_ACCOUNT, CompletedSale, Register
from appliance.ui.viewmodels.base import ERROR, INFO, ScreenState, ViewModel
from appliance.ui.viewmodels.devices import DrawerKicker, PrintWaker, kick_text, receipt_text
from appliance.ui.viewmodels.formatting import money, money_decimals, parse_money, press
from appliance.ui.viewmodels.runner import Runner
from appliance.ui.viewmodels.tender_preview import QuickAmount, quick_amounts
from hw.ports import DeviceError, KickResult

LABELS = {
    TenderKind.CASH: "Cash",
    TenderKind.CARD: "Card",
    TenderKind.STORE_CREDIT: "Store credit",
    TenderKind.GIFT_CARD: "Gift card",
    TenderKind.HOUSE_ACCOUNT: "House account",
    TenderKind.POINTS: "Points",
}


@dataclass(frozen=True, slots=True)
class TenderRow:
    """A tender entered so far."""

    label: str
    amount: str


@dataclass(frozen=True, slots=True)
class BalanceOption:
    """A balance that can pay: kind (a TenderKind value), account, label and what it holds."""

    kind: str
    account: str
    label: str
    available: str


@dataclass(frozen=True, slots=True)
class TenderState(ScreenState):
    """The tender screen; after the commit, `paid` with `change` in large type."""

    total: str = ""
    remaining: str = ""
    cash_due: str = ""
    change_preview: str = ""
    quick: tuple[QuickAmount, ...] = ()
    entry_text: str = ""
    tenders: tuple[TenderRow, ...] = ()
    balances: tuple[BalanceOption, ...] = ()
    can_complete: bool = False
    paid: bool = False
    change: str = ""
    sale_number: str = ""
    drawer: str = ""
    drawer_ok: bool | None = None
    receipt: str = ""
    notice: str = ""
    card_methods: tuple[tuple[str, str], ...] = ()  # (method recorded, button label)


class TenderViewModel(ViewModel[TenderState]):
    """The tender screen (see the module docstring)."""

    def __init__(
        self,
        register: Register,
        runner: Runner,
        drawer: DrawerKicker | None,
        print_queue: PrintWaker | None,
        device_runner: Runner | None = None,
    ) -> None:
        methods = register.config.tender.card_methods
        labels = tuple((m, m.replace("_", " ").replace("-", " ").title()) for m in methods)
        super().__init__(register, runner, TenderState(card_methods=labels))
        self.drawer, self.print_queue = drawer, print_queue
        self.device_runner = device_runner or runner
        self._due: Outstanding | None = None
        self._gift_cards: dict[str, BalanceOption] = {}  # looked up for this sale
        self.on_paid: Callable[[CompletedSale], None] | None = None

    def open(self) -> None:
        """Bring the screen up for the cart as it stands (balances of its customer too)."""
        self._update(paid=False, change="", drawer="", drawer_ok=None, receipt="", notice="")
        self._call(self._read, self._show)

    def _read(self) -> tuple[PricedCart, list[Tender], dict[tuple[TenderKind, str], Money]]:
        priced = self.register.price()
        held: dict[tuple[TenderKind, str], Money] = {}
        if priced.customer_id is not None:
            accounts = [(k, priced.customer_id) for k in CUSTOMER_ACCOUNTS]
            held = self.register.balances(accounts)
        return priced, list(self.register.tenders), held

    def _show(
        self, found: tuple[PricedCart, list[Tender], dict[tuple[TenderKind, str], Money]]
    ) -> None:
        priced, tenders, held = found
        increment = self.register.config.cash.rounding_increment
        due = self._due = outstanding(priced.total, tenders, increment)
        options = tuple(
            BalanceOption(k.value, a, LABELS[k], money(m)) for (k, a), m in held.items()
        )
        rows = tuple(
            TenderRow(LABELS[t.kind] + (f" {t.method}" if t.method else ""), money(t.amount))
            for t in tenders
        )
        self._update(
            total=money(due.due),
            remaining=money(due.left),
            cash_due=money(due.cash_due),
            tenders=rows,
            entry_text="",
            change_preview=money(due.change) if due.change.minor else "",
            quick=quick_amounts(due.cash_due.minor, priced.currency),
            can_complete=bool(priced.lines) and bool(tenders) and due.covered,
            balances=options + tuple(self._gift_cards.values()),
        )

    def key(self, key: str) -> None:
        """A keypad key for the amount: a digit, ".", "back" or "clear"."""
        text = press(self.state.entry_text, key, decimals=money_decimals(self.register.currency))
        self._update(entry_text=text)

    # --- tenders -------------------------------------------------------------------------------

    def _typed(self, amount: str | None) -> str:
        """The amount given, else what the keypad shows (read here, on the UI thread)."""
        return self.state.entry_text if amount is None else amount

    def _amount(self, typed: str, default: Money | None) -> Money:
        """Parsed in the job, so a bad amount is the cashier's message, not an exception."""
        if not typed and default is not None:
            return default
        return parse_money(typed, self.register.currency)

    def _add(self, make: Callable[[], Tender], then: Callable[[], None] | None = None) -> None:
        def run() -> tuple[PricedCart, list[Tender], dict[tuple[TenderKind, str], Money]]:
            self.register.add_tender(make())  # a card number in the reference is refused here
            return self._read()

        def added(
            found: tuple[PricedCart, list[Tender], dict[tuple[TenderKind, str], Money]],
        ) -> None:
            self._show(found)
            if then is not None and self.state.can_complete:
                then()

        self._call(run, added)

    def cash(self, amount: str | None = None) -> None:
        """Cash handed over: `amount` (keypad text) or what the keypad shows."""
        typed = self._typed(amount)
        if not typed:
            self._say("type the cash handed over, or pick a quick amount", INFO)
            return
        self._add(lambda: Tender.cash(self._amount(typed, None)))

    def quick(self, value: str) -> None:
        """A quick cash amount: tendered, and the sale completed when it covers what is due."""
        self._add(lambda: Tender.cash(parse_money(value, self.register.currency)), self.complete)

    def card(self, method: str, reference: str = "", amount: str | None = None) -> None:
        """A card payment taken on the terminal: method, the terminal's reference, amount
        (default: what is left). Card numbers are refused by the register."""
        if method not in self.register.config.tender.card_methods:
            self._say(f"card method {method!r} is not one of tender.card_methods", ERROR)
            return
        typed, left = self._typed(amount), self._due.left if self._due else None
        self._add(lambda: Tender.card(self._amount(typed, left), method, reference))

    def gift_card(self, account: str) -> None:
        """Look up a gift card's cached balance; it becomes a balance option."""
        self._call(
            lambda: self.register.balances([(TenderKind.GIFT_CARD, account)]),
            lambda held: self._gift_card(account, held),
        )

    def _gift_card(self, account: str, held: dict[tuple[TenderKind, str], Money]) -> None:
        found = held.get((TenderKind.GIFT_CARD, account))
        if found is None and contains_card_number(account):
            self._say(CARD_AS_ACCOUNT, ERROR)  # a payment card's number: never repeated
            return
        if found is None:
            self._say(f"gift card {account} is not in the cache", ERROR)
            return
        self._gift_cards[account] = BalanceOption(
            TenderKind.GIFT_CARD.value, account, LABELS[TenderKind.GIFT_CARD], money(found)
        )
        customer = tuple(b for b in self.state.balances if b.kind != TenderKind.GIFT_CARD.value)
        self._update(balances=customer + tuple(self._gift_cards.values()))

    def balance(self, kind: str, account: str, amount: str | None = None) -> None:
        """Pay from a store credit, gift card or house account balance (default: what is left,
        up to the cached balance; the register refuses more than it holds)."""
        tender_kind = TenderKind(kind)
        if tender_kind not in BALANCE_KINDS:
            raise ValueError(f"{kind} is not a balance")
        option = next(
            (b for b in self.state.balances if b.kind == kind and b.account == account), None
        )
        typed, left = self._typed(amount), self._due.left if self._due else None
        if left is not None and option is not None:
            left = min(left, parse_money(option.available, self.register.currency))
        self._add(lambda: Tender.balance(tender_kind, account, self._amount(typed, left)))

    def clear_tenders(self) -> None:
        """Take back every tender entered."""

        def run() -> tuple[PricedCart, list[Tender], dict[tuple[TenderKind, str], Money]]:
            self.register.clear_tenders()
            return self._read()

        self._call(run, self._show)

    # --- completing ----------------------------------------------------------------------------

    def complete(self) -> None:
        """Commit the sale; "Paid" shows when the register says it is committed."""
        self._call(self.register.complete, self.paid)

    def paid(self, done: CompletedSale) -> None:
        """The sale is committed (or was found committed): show it paid, then drawer, receipt."""
        sale = done.sale
        cash = any(t.kind is TenderKind.CASH for t in sale.tenders)
        with self._batch():
            self._update(
                paid=True,
                change=money(sale.change),
                total=money(sale.total),
                sale_number=f"{sale.register}-{sale.sequence}",
                notice=done.notice,
                tenders=(),
                entry_text="",
                remaining="",
                cash_due="",
                change_preview="",
                can_complete=False,
                quick=(),
                drawer_ok=None,
                drawer="" if cash else "no cash: the drawer stays shut",
            )
            if self.print_queue is not None:
                self.print_queue.wake()
                self._update(receipt=receipt_text(self.print_queue.state))
            if cash and self.drawer is None:
                self._update(drawer="no drawer is connected: open it with the key", drawer_ok=False)
        if self.on_paid is not None:
            self.on_paid(done)
        if cash and self.drawer is not None:
            self.device_runner.run(self.drawer.kick, self._kicked, self._kick_failed)

    def _kicked(self, result: KickResult) -> None:
        text, ok = kick_text(result)
        self._update(drawer=text, drawer_ok=ok)

    def _kick_failed(self, exc: Exception) -> None:
        if not isinstance(exc, DeviceError):
            raise exc
        text, ok = kick_text(exc)
        self._update(drawer=text, drawer_ok=ok)

    def new_sale(self) -> None:
        """The cashier has read the change: clear the screen for the next sale."""
        self._due, self._gift_cards = None, {}
        self._update(
            paid=False,
            change="",
            total="",
            remaining="",
            cash_due="",
            change_preview="",
            sale_number="",
            drawer="",
            drawer_ok=None,
            receipt="",
            notice="",
            balances=(),
            message="",
            message_kind="",
        )
