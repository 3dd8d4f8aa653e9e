"""Application services: the one API the touchscreen and the CLI call.

Split in three: `register_core` (state, storage plumbing, rules, who is logged in),
`register_backroom` (till, time clock, shift, the sync link's side) and this module
(session, cart, paying, what was sold), which is the one to import.

The register holds the cashier's session, the cart and the tenders in memory;
everything completed goes to storage in one write transaction before any
method returns. Pricing always runs on the storage thread against one
snapshot of the cache. Every storage call has a deadline (`StorageThread`),
so a failing SD card shows as an error, never as a frozen screen.

A `complete` that times out leaves its commit queued on the storage thread,
which runs operations in order. So the register remembers the attempt, and the
next thing the cashier does first asks storage whether that sale committed:
the answer comes after the queued commit, so it is final. If it did commit,
the cart is cleared and SaleRecorded tells the cashier; if not, they carry on.
A cart can never be sold twice, and no later sale is confused with it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from appliance.domain import codec
from appliance.domain.cart import Cart, CartLine, Discount, DiscountKind, WeightSource
from appliance.domain.catalog import Product
from appliance.domain.codec import decimal_text
from appliance.domain.errors import DiscountOverCap, UnknownProduct
from appliance.domain.labels import scanned
from appliance.domain.money import total
from appliance.domain.pan import contains_card_number
from appliance.domain.pricing import PricedCart, price_cart
from appliance.domain.rules import StoreRules
from appliance.domain.sale import Sale, SaleHeader, complete
from appliance.domain.tender import BALANCE_KINDS, CUSTOMER_ACCOUNTS, Tender, TenderKind
from appliance.register_backroom import Backroom
from appliance.register_core import (
    CompletedSale,
    EntryRecorded,
    NeedsConnection,
    NeedsManager,
    NotLoggedIn,
    RegisterError,
    SaleRecorded,
    Status,
    WeightRequired,
    WrongPin,
    pin_target,
)
from appliance.register_labels import Labels
from appliance.register_lookups import Lookups, StaffMember
from appliance.store import cache, local, outbox
from appliance.store.errors import StorageTimeout
from appliance.store.lmdb_env import Txn
from appliance.store.local import Cashier
from appliance.store.outbox import OutboxEntry

ASK_PAUSE_S = 30.0
# A card number is never stored, nor repeated in a message (messages may reach a log).
CARD_SCANNED = ("that scan looks like a card number (not shown, never stored): "
                "take card payments on the terminal")  # fmt: skip
CARD_AS_ACCOUNT = ("that number looks like a payment card's (never stored): charge cards on "
                   "the terminal; a gift card is found by the number printed on it")  # fmt: skip

# The errors and records the services raise and return live in register_core; they are
# part of this module's API.

__all__ = [
    "CompletedSale",
    "EntryRecorded",
    "NeedsConnection",
    "NeedsManager",
    "NotLoggedIn",
    "Register",
    "RegisterError",
    "SaleRecorded",
    "StaffMember",
    "Status",
    "WeightRequired",
    "WrongPin",
]


class Register(Lookups, Labels, Backroom):
    """The register's services; see the module docstring."""

    # --- session ----------------------------------------------------------------------

    def login(self, cashier_id: str, pin: str) -> Cashier:
        """Log a cashier in by PIN; wrong PINs slow down further attempts."""
        staff = self._staff()
        target = pin_target(staff, cashier_id)
        wait = self._pin_wait(target)
        if wait > 0:
            raise WrongPin(f"too many wrong PINs: try again in {math.ceil(wait)} s")
        found = self._check(pin, lambda c: c.id == cashier_id, staff)
        if found is None:
            self._wrong_pin(target)
            raise WrongPin(f"wrong PIN for {cashier_id}")
        self._wrong_pins.pop(target, None)  # her own: a guess at a manager's goes on counting
        self.cashier = found
        return found

    def logout(self) -> str | None:
        """Log out; a cart in progress is parked (returns its ticket), the queue is kept."""
        ticket = None
        if self.cashier is not None:
            self._who()  # settles a sale whose save timed out before the cart is parked
        if not self.cart.is_empty:
            ticket = self.park(f"left by {self._who().name}")
        self.cashier = None
        return ticket

    # --- the cart -----------------------------------------------------------------------

    def price(self, cart: Cart | None = None) -> PricedCart:
        """The cart (the current one by default) priced against the cache."""
        target = self.cart if cart is None else cart
        now = self.clock()
        return self._read(lambda t: price_cart(target, self.rules(t), now), "pricing")

    def _change(self, cart: Cart) -> PricedCart:
        self._who()
        priced = self.price(cart)  # refuses a cart the rules cannot price
        if _approved_amounts(cart) and priced.subtotal < self.price().subtotal:
            # an amount approved over the cap was approved against a bigger cart: checked
            # again (and refused if now over it), not carried over to a bigger share
            cart = _without_approved_amounts(cart)
            priced = self.price(cart)
        self.cart = cart
        return priced

    def search(self, query: str, limit: int = 30) -> list[Product]:
        """Products for search-as-you-type (an exact barcode or sku first)."""

        def run(txn: Txn) -> list[Product]:
            products = self.rules(txn).catalog.products
            return [products[sku] for sku in cache.search(txn, self.storage, query, limit)]

        return self._read(run, "searching")

    def category(self, category: str) -> list[Product]:
        """Products of a category, for the grid."""

        def run(txn: Txn) -> list[Product]:
            products = self.rules(txn).catalog.products
            return [products[s] for s in cache.skus_in_category(txn, self.storage, category)]

        return self._read(run, "listing the category")

    def _product(self, find: Callable[[StoreRules], Product]) -> Product:
        return self._read(lambda t: find(self.rules(t)), "finding the product")

    def add_barcode(self, code: str) -> PricedCart:
        """Add a scanned item: a product's barcode (a weighed product raises
        WeightRequired), or a weighed item's label, sold at the weight it carries."""
        self._who()
        prefix = self.config.labels.weight_prefix

        def find(txn: Txn) -> tuple[Product, Decimal | None]:
            return scanned(self.rules(txn).catalog, code.strip(), prefix)

        try:
            product, weight = self._read(find, "finding the product")
        except UnknownProduct:
            if contains_card_number(code):  # a card swiped through a keyboard-wedge reader
                raise UnknownProduct(CARD_SCANNED) from None
            raise
        if weight is not None:
            return self._change(self.cart.add_weighed(product, weight, WeightSource.LABEL))
        if product.sold_by_weight:
            raise WeightRequired(product)
        return self._change(self.cart.add_item(product))

    def add_sku(self, sku: str, quantity: Decimal = Decimal(1)) -> PricedCart:
        """Add an item picked on the grid or from a search."""
        self._who()
        product = self._product(lambda r: r.catalog.product(sku))
        if product.sold_by_weight:
            raise WeightRequired(product)
        return self._change(self.cart.add_item(product, quantity))

    def add_weighed(
        self, sku: str, weight: Decimal, source: WeightSource, packs: Decimal = Decimal(1)
    ) -> PricedCart:
        """Add a weighed line: a preset, a typed weight or a stable scale reading."""
        self._who()
        product = self._product(lambda r: r.catalog.product(sku))
        return self._change(self.cart.add_weighed(product, weight, source, packs))

    def set_weight(self, line_id: int, weight: Decimal, source: WeightSource) -> PricedCart:
        """Re-weigh a line."""
        product = self._product(lambda r: r.catalog.product(self.cart.line(line_id).sku))
        return self._change(self.cart.set_weight(line_id, product, weight, source))

    def set_quantity(
        self, line_id: int, quantity: Decimal, manager_pin: str | None = None
    ) -> PricedCart:
        """Change a line's quantity; lowering it once tendering has begun (even if the
        tenders were taken back) is a partial void: a manager must approve."""
        changed = self.cart.set_quantity(line_id, quantity)
        if self.tendered and quantity < self.cart.line(line_id).quantity:
            self.manager(manager_pin, "taking items off a line after tender")
        return self._change(changed)

    def void_line(self, line_id: int, manager_pin: str | None = None) -> PricedCart:
        """Remove a line; once tendering has begun (even if the tenders were taken back),
        a manager must approve."""
        if self.tendered:
            self.manager(manager_pin, "voiding a line after tender")
        return self._change(self.cart.void_line(line_id))

    def _discounted(
        self, make: Callable[[Discount], Cart], discount: Discount, manager_pin: str | None
    ) -> PricedCart:
        try:
            return self._change(make(discount))
        except DiscountOverCap as exc:
            manager = self.manager(manager_pin, str(exc).split(";")[0])
            return self._change(make(replace(discount, approved_by=manager.id)))

    def discount_line(
        self, line_id: int, discount: Discount | None, manager_pin: str | None = None
    ) -> PricedCart:
        """Discount one line (over the cap needs a manager); None removes it."""
        if discount is None:
            return self._change(self.cart.set_line_discount(line_id, None))
        make = lambda d: self.cart.set_line_discount(line_id, d)  # noqa: E731
        return self._discounted(make, discount, manager_pin)

    def discount_order(
        self, discount: Discount | None, manager_pin: str | None = None
    ) -> PricedCart:
        """Discount the whole order (over the cap needs a manager); None removes it."""
        if discount is None:
            return self._change(self.cart.set_order_discount(None))
        return self._discounted(self.cart.set_order_discount, discount, manager_pin)

    def attach_customer(self, customer_id: str | None) -> dict[str, Any] | None:
        """Attach a cached customer (None detaches); returns what the screen shows of them."""
        self._who()
        if customer_id is None:
            self.cart = self.cart.attach_customer(None)
            self.tenders = [t for t in self.tenders if t.kind not in CUSTOMER_ACCOUNTS]
            return None
        try:
            record = self._read(lambda t: local.customer_record(t, self.storage, customer_id))
        except KeyError:
            raise RegisterError(f"customer {customer_id} is not known at this register") from None
        self.cart = self.cart.attach_customer(customer_id)
        # store credit or a house account entered for the customer before goes with them
        self.tenders = [t for t in self.tenders
                        if t.kind not in CUSTOMER_ACCOUNTS or t.account == customer_id]  # fmt: skip
        return record

    def park(self, label: str) -> str:
        """Park the cart (kept on disk) and start a new one."""
        self._who()
        if contains_card_number(label):
            raise RegisterError("the parked cart's name looks like a card number; it is never "
                                "stored: give it another name")  # fmt: skip
        cart, currency, park_id = self.cart, self.currency, self.new_id()
        try:
            ticket = self._write(lambda t: local.park(t, self.storage, label, cart, currency,
                                                      park_id), "parking the cart")  # fmt: skip
        except StorageTimeout:
            self._uncertain_park = park_id  # parked after all? looked for first (else twice)
            raise
        self._start_cart(Cart())
        return ticket

    def parked(self) -> list[tuple[str, str]]:
        """Parked carts: (ticket, label)."""
        return self._read(lambda t: local.parked(t, self.storage))

    def recall(self, ticket: str) -> PricedCart:
        """Bring a parked cart back (the current one must be empty)."""
        self._who()
        if not self.cart.is_empty:
            raise RegisterError("finish or park the current cart first")
        try:
            cart = self._write(lambda t: local.recall(t, self.storage, ticket))
        except KeyError:
            raise RegisterError(f"there is no parked cart {ticket} (recalled already?)") from None
        # a product the back office dropped meanwhile cannot be priced: the line goes, and
        # the cashier is told, rather than a cart that shows empty and refuses everything
        gone = self._read(lambda t: [li for li in cart.lines
                                     if li.sku not in self.rules(t).catalog.products])  # fmt: skip
        for line in gone:
            cart = cart.void_line(line.line_id)
        self._start_cart(cart)
        priced = self.price()
        if gone:
            skus = ", ".join(sorted({li.sku for li in gone}))
            priced = replace(priced, warnings=(*priced.warnings,
                             f"no longer sold, taken off the recalled cart: {skus}"))  # fmt: skip
        return priced

    # --- paying ---------------------------------------------------------------------------

    def add_tender(self, tender: Tender) -> None:
        """Record a payment for the current cart (completed by `complete`).

        The Tender refuses a card number in its reference; an account (a gift card's
        number) that looks like one is refused here unless the cache holds it: it is then
        the store's own gift card, not a payment card.
        """
        self._who()
        kind, account = tender.kind, tender.account
        if (
            kind in BALANCE_KINDS
            and contains_card_number(account)
            and not self.balances([(kind, account)])
        ):
            raise RegisterError(CARD_AS_ACCOUNT)
        self.tendered = True
        self.tenders.append(tender)

    def clear_tenders(self) -> None:
        """Take back the tenders entered so far."""
        self._who()
        self.tenders = []

    def complete(self) -> CompletedSale:
        """Commit the sale with its effects and print job; only then is it paid."""
        cashier = self._who()
        sale_id, cart, tenders = self.new_id(), self.cart, list(self.tenders)
        now = self.clock()
        confirmed, notice = self._office_prices(cart, now)
        offline = not confirmed
        storage = self.storage

        def commit(txn: Txn) -> CompletedSale:
            rules = self.rules(txn)
            seq, prev = outbox.next_place(txn, storage, self.queue)
            header = SaleHeader(sale_id, self.queue.store, self.queue.register, seq, prev,
                                cashier.id, now, offline)  # fmt: skip
            customer = None
            if cart.customer_id is not None:
                customer = local.customer_state(txn, storage, cart.customer_id, now.date())
            accounts = [(t.kind, t.account) for t in tenders if t.kind in BALANCE_KINDS]
            held = local.balances(txn, storage, accounts, self.currency)
            sale = complete(cart, rules, tenders, header, customer, held)
            summary = {"total": sale.total.minor, "lines": len(sale.lines), "cashier": cashier.id}
            outbox.append(txn, storage, self.queue, entry_id=sale.id, kind="sale", at=now,
                          body=codec.to_data(sale), summary=summary)  # fmt: skip
            local.apply_sale(txn, storage, sale, rules.catalog)
            self._take_cash(txn, sale)
            job = local.add_print_job(txn, storage, "receipt", sale.id)
            return CompletedSale(sale, seq, job, notice)

        try:
            done = self._write(commit, "saving the sale")
        except StorageTimeout:
            self._uncertain = (sale_id, "sale")  # the commit may still land: looked for first
            raise
        self._start_cart(Cart())
        self._committed()
        return done

    def _office_prices(self, cart: Cart, now: datetime) -> tuple[bool, str]:
        """Does the back office price this cart as our cache does? (confirmed, notice)

        Only then is the sale sent as online, which the back office checks strictly. It
        answers with the catalogue version it priced with; ours must be the same. No
        answer within `sync.rpc_timeout_s`, a failure on its side, or another version:
        the local price stands and the sale goes as offline (accepted, any drift
        recorded). A refusal (invalid, unauthorized) is shown, never a reason to stop
        selling: the sale goes as offline too. After a question goes unanswered (a link
        that looks up but is dead), none is asked for ASK_PAUSE_S: one customer may wait
        the RPC timeout, the next ones do not.
        """
        if self.ask is None or not self.online() or time.monotonic() < self._ask_after:
            return False, ""
        lines = [_rpc_line(line) for line in cart.lines]
        response = self.ask("price_cart", {"lines": lines, "at": now.isoformat()})
        if response is None:  # no answer in time: do not make the next customers wait too
            self._ask_after = time.monotonic() + ASK_PAUSE_S
            return False, ""
        if response.status == "error":
            return False, ""
        if response.for_the_cashier:
            return False, f"the back office says: {response.error}"
        return response.result.get("version") == self.catalog_version(), ""

    def _take_cash(self, txn: Txn, sale: Sale) -> None:
        cash = total([t.applied for t in sale.tenders if t.kind is TenderKind.CASH], self.currency)
        if cash.is_zero():
            return
        current = local.till(txn, self.storage, self.queue.register, self.currency)
        local.put_till(txn, self.storage, self.queue.register, current.cash_sale(cash))

    # --- what is waiting, what was sold -----------------------------------------------------

    def pending(self, limit: int = 200) -> list[OutboxEntry]:
        """The oldest unsent and rejected entries (up to `limit`), with state and reason.

        `status()` has the full counts; a screen pages through with `limit`.
        """

        def run(txn: Txn) -> list[OutboxEntry]:
            unsent = outbox.entries(txn, self.storage, self.queue, index="unsent", limit=limit)
            rejected = outbox.entries(txn, self.storage, self.queue, index="rejected", limit=limit)
            return sorted(unsent + rejected, key=lambda e: e.seq)[:limit]

        return self._read(run, "listing pending sales")

    def recent_sales(self, limit: int = 20) -> list[OutboxEntry]:
        """The latest sales, newest first, whatever their state."""

        def run(txn: Txn) -> list[OutboxEntry]:
            found = []
            for entry in outbox.entries(txn, self.storage, self.queue, newest_first=True):
                if entry.kind == "sale":
                    found.append(entry)
                    if len(found) >= limit:
                        break
            return found

        return self._read(run, "listing recent sales")

    def sale(self, sale_id: str) -> Sale:
        """A committed sale by id (for a reprint or the pending detail)."""

        def run(txn: Txn) -> Sale:
            entry = outbox.find(txn, self.storage, self.queue, sale_id)
            if entry is None or entry.kind != "sale":
                raise RegisterError(f"no sale {sale_id} on this register")
            return self._sale_of(txn, entry)

        return self._read(run, "reading the sale")

    def reprint(self, sale_id: str) -> int:
        """Queue the receipt of a committed sale again; returns the job number."""
        self.sale(sale_id)  # raises RegisterError for an unknown sale
        return self._write(lambda t: local.add_print_job(t, self.storage, "receipt", sale_id),
                           "queueing a reprint")  # fmt: skip

    def status(self) -> Status:
        """Store, register, counts and sync metadata."""

        def run(txn: Txn) -> Status:
            last_seq, _ = outbox.head(txn, self.storage, self.queue)
            return Status(self.queue.store, self.queue.register,
                          self.cashier.name if self.cashier else None,
                          outbox.unsent_count(txn, self.storage, self.queue),
                          outbox.rejected_count(txn, self.storage, self.queue), last_seq,
                          cache.sync_status(txn, self.storage))  # fmt: skip

        return self._read(run, "reading the status")


def _rpc_line(line: CartLine) -> dict[str, str]:
    """A cart line as `price_cart` takes it (docs/protocol.md)."""
    data = {"sku": line.sku, "quantity": decimal_text(line.quantity)}
    if line.weight is not None and line.weight_source is not None:
        data |= {"weight": decimal_text(line.weight), "weight_source": line.weight_source.value}
    return data


def _approved_amounts(cart: Cart) -> bool:
    """Does the cart hold an amount discount a manager approved over the cap?"""
    discounts = [cart.order_discount, *(line.discount for line in cart.lines)]
    return any(d is not None and d.approved_by is not None and d.kind is DiscountKind.AMOUNT
               for d in discounts)  # fmt: skip


def _without_approved_amounts(cart: Cart) -> Cart:
    def plain(d: Discount | None) -> Discount | None:
        approved = d is not None and d.approved_by is not None and d.kind is DiscountKind.AMOUNT
        return replace(d, approved_by=None) if approved and d is not None else d

    lines = tuple(replace(line, discount=plain(line.discount)) for line in cart.lines)
    return replace(cart, lines=lines, order_discount=plain(cart.order_discount))
