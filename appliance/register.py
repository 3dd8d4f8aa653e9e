"""Application services: the one API the touchscreen and the CLI call.

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

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from appliance import pins
from appliance.catalog_file import parse_store
from appliance.config import Config
from appliance.domain import codec
from appliance.domain.cart import Cart, Discount, WeightSource
from appliance.domain.catalog import Product
from appliance.domain.errors import DiscountOverCap
from appliance.domain.money import Money, total
from appliance.domain.pan import contains_card_number
from appliance.domain.pricing import PricedCart, price_cart
from appliance.domain.rules import StoreRules
from appliance.domain.sale import Sale, SaleHeader, complete
from appliance.domain.tender import BALANCE_KINDS, Tender, TenderKind
from appliance.domain.till import CashDrop, Till, TillClose
from appliance.domain.timeclock import ClockAction, Punch
from appliance.settings import tax_table
from appliance.shift import ShiftReport, build_report
from appliance.store import cache, local, outbox
from appliance.store.cache import Campaigns
from appliance.store.errors import StorageTimeout
from appliance.store.executor import StorageThread
from appliance.store.lmdb_env import Storage, Txn
from appliance.store.local import Cashier
from appliance.store.outbox import EntryState, OutboxEntry, Queue, UnsentEntry
from appliance.sync.wire import decode_envelope

T = TypeVar("T")
MANAGER = "manager"


class RegisterError(Exception):
    """A refusal the cashier sees, in words they can act on."""


class NotLoggedIn(RegisterError):
    """Nobody is logged in."""


class WrongPin(RegisterError):
    """The PIN does not match."""


class NeedsManager(RegisterError):
    """The action needs a manager's PIN; the message says why."""


class NeedsConnection(RegisterError):
    """The feature needs the back office, which cannot be reached."""


class SaleRecorded(RegisterError):
    """A sale whose save timed out was recorded after all; its cart is cleared."""

    def __init__(self, done: CompletedSale) -> None:
        super().__init__(
            f"the last sale ({done.sale.total}) was saved after all: it is paid, "
            "and its receipt is in the print queue"
        )
        self.done = done


class WeightRequired(RegisterError):
    """A weighed product was scanned: the weight screen must come up."""

    def __init__(self, product: Product) -> None:
        super().__init__(f"{product.name} is sold by weight: weigh it or pick a preset")
        self.product = product


@dataclass(frozen=True, slots=True)
class CompletedSale:
    """A committed sale, its outbox place and its receipt's print job."""

    sale: Sale
    seq: int
    print_job: int


@dataclass(frozen=True, slots=True)
class Status:
    """What `appliance status` and the header show."""

    store: str
    register: str
    cashier: str | None
    unsent: int
    rejected: int
    last_seq: int
    sync: dict[str, dict[str, Any]]


class Register:
    """The register's services; see the module docstring."""

    def __init__(
        self,
        config: Config,
        storage: Storage,
        io: StorageThread,
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
        online: Callable[[], bool] = lambda: False,
    ) -> None:
        self.config, self.storage, self.io = config, storage, io
        self.clock, self.new_id, self.online = clock, new_id, online
        self.queue = Queue(config.register.store, config.register.id)
        self.currency = config.register.currency
        self.cashier: Cashier | None = None
        self.cart = Cart()
        self.tenders: list[Tender] = []
        self._uncertain: str | None = None  # id of a sale whose save timed out
        self.on_commit: Callable[[int], None] | None = None  # the sync link's notify_committed
        self._campaigns: tuple[int, Campaigns] | None = None
        self._products: dict[str, Product] = {}  # decoded per cache version (storage thread)
        self._wrong_pins = 0
        self._locked_until = 0.0

    # --- plumbing -------------------------------------------------------------------

    def _read(self, fn: Callable[[Txn], T], what: str = "reading") -> T:
        def run() -> T:
            with self.storage.read() as txn:
                return fn(txn)

        return self.io.call(run, what)

    def _write(self, fn: Callable[[Txn], T], what: str = "saving") -> T:
        return self.io.call(lambda: self.storage.write(fn), what)

    def rules(self, txn: Txn) -> StoreRules:
        """The store's rules over this snapshot (campaigns memoised per cache version)."""
        version = cache.cache_version(txn, self.storage)
        if self._campaigns is None or self._campaigns[0] != version:
            self._campaigns = (version, cache.read_campaigns(txn, self.storage, self.currency))
            self._products = {}
        campaigns = self._campaigns[1]
        catalog = cache.cached_catalog(txn, self.storage, self.currency, campaigns, self._products)
        return StoreRules(
            catalog=catalog,
            tax=campaigns.tax or tax_table(self.config),
            promotions=campaigns.promotions,
            max_discount_percent=self.config.discounts.max_percent,
            cash_increment=self.config.cash.rounding_increment,
            loyalty=campaigns.loyalty,
            limits=campaigns.limits,
        )

    def _who(self) -> Cashier:
        """The logged-in cashier, after settling any sale whose save timed out."""
        if self._uncertain is not None:
            self._settle_uncertain(self._uncertain)
        if self.cashier is None:
            raise NotLoggedIn("log in first")
        return self.cashier

    def _settle_uncertain(self, sale_id: str) -> None:
        def run(txn: Txn) -> CompletedSale | None:
            entry = outbox.find(txn, self.storage, self.queue, sale_id)
            if entry is None:
                return None
            jobs = [j["number"] for j in local.print_jobs(txn, self.storage, pending_only=False)
                    if j["ref"] == sale_id]  # fmt: skip
            return CompletedSale(self._sale_of(txn, entry), entry.seq, jobs[0] if jobs else 0)

        done = self._read(run, "checking the last sale")  # runs after the queued commit
        self._uncertain = None
        if done is not None:
            self.cart, self.tenders = Cart(), []
            raise SaleRecorded(done)

    # --- session ----------------------------------------------------------------------

    def login(self, cashier_id: str, pin: str) -> Cashier:
        """Log a cashier in by PIN; wrong PINs slow down further attempts."""
        wait = self._locked_until - time.monotonic()
        if wait > 0:
            raise WrongPin(f"too many wrong PINs: try again in {wait:.0f} s")
        found = self._check(pin, lambda c: c.id == cashier_id)
        if found is None:
            self._wrong_pins += 1
            if self._wrong_pins >= 3:
                self._locked_until = time.monotonic() + min(2 ** (self._wrong_pins - 3), 300)
            raise WrongPin(f"wrong PIN for {cashier_id}")
        self._wrong_pins = 0
        self.cashier = found
        return found

    def _check(self, pin: str, which: Callable[[Cashier], bool]) -> Cashier | None:
        candidates = [c for c in self._read(lambda t: local.cashiers(t, self.storage)) if which(c)]
        return next((c for c in candidates if pins.check_pin(pin, c.pin)), None)

    def manager(self, pin: str | None, why: str) -> Cashier:
        """The manager whose PIN this is, or NeedsManager saying why one is needed."""
        if pin is None:
            raise NeedsManager(f"{why}: a manager's PIN is needed")
        found = self._check(pin, lambda c: c.role == MANAGER)
        if found is None:
            raise NeedsManager(f"{why}: that is not a manager's PIN")
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
        """Add a scanned item; a weighed product raises WeightRequired."""
        self._who()
        product = self._product(lambda r: r.catalog.by_barcode(code.strip()))
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

    def set_quantity(self, line_id: int, quantity: Decimal) -> PricedCart:
        """Change a line's quantity."""
        return self._change(self.cart.set_quantity(line_id, quantity))

    def void_line(self, line_id: int, manager_pin: str | None = None) -> PricedCart:
        """Remove a line; once tendering has begun, a manager must approve."""
        if self.tenders:
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
            return None
        record = self._read(lambda t: local.customer_record(t, self.storage, customer_id))
        self.cart = self.cart.attach_customer(customer_id)
        return record

    def park(self, label: str) -> str:
        """Park the cart (kept on disk) and start a new one."""
        self._who()
        cart, currency = self.cart, self.currency
        ticket = self._write(lambda t: local.park(t, self.storage, label, cart, currency))
        self.cart, self.tenders = Cart(), []
        return ticket

    def parked(self) -> list[tuple[str, str]]:
        """Parked carts: (ticket, label)."""
        return self._read(lambda t: local.parked(t, self.storage))

    def recall(self, ticket: str) -> PricedCart:
        """Bring a parked cart back (the current one must be empty)."""
        self._who()
        if not self.cart.is_empty:
            raise RegisterError("finish or park the current cart first")
        self.cart = self._write(lambda t: local.recall(t, self.storage, ticket))
        return self.price()

    # --- paying ---------------------------------------------------------------------------

    def add_tender(self, tender: Tender) -> None:
        """Record a payment for the current cart (completed by `complete`)."""
        self._who()
        self.tenders.append(tender)

    def clear_tenders(self) -> None:
        """Take back the tenders entered so far."""
        self._who()
        self.tenders = []

    def complete(self) -> CompletedSale:
        """Commit the sale with its effects and print job; only then is it paid."""
        cashier = self._who()
        sale_id, cart, tenders = self.new_id(), self.cart, list(self.tenders)
        now, offline = self.clock(), not self.online()
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
            return CompletedSale(sale, seq, job)

        try:
            done = self._write(commit, "saving the sale")
        except StorageTimeout:
            self._uncertain = sale_id  # the commit may still land: settled before anything else
            raise
        self.cart, self.tenders = Cart(), []
        self._committed()
        return done

    def _take_cash(self, txn: Txn, sale: Sale) -> None:
        cash = total([t.applied for t in sale.tenders if t.kind is TenderKind.CASH], self.currency)
        if cash.is_zero():
            return
        current = local.till(txn, self.storage, self.queue.register, self.currency)
        local.put_till(txn, self.storage, self.queue.register, current.cash_sale(cash))

    def _sale_of(self, txn: Txn, entry: OutboxEntry) -> Sale:
        body = decode_envelope(outbox.payload(txn, self.storage, entry.key)).body
        return codec.from_data(Sale, body, str(body.get("currency")))

    # --- till, time clock, shift ----------------------------------------------------------

    def till(self) -> Till:
        """The till as it stands."""
        return self._read(lambda t: local.till(t, self.storage, self.queue.register, self.currency))

    def open_till(self, opening_float: Money) -> Till:
        """Count the float in at the start of a shift."""
        self._who()

        def run(txn: Txn) -> Till:
            opened = local.till(txn, self.storage, self.queue.register, self.currency).open(
                opening_float
            )
            local.put_till(txn, self.storage, self.queue.register, opened)
            return opened

        return self._write(run, "opening the till")

    def _record(self, kind: str, body: dict[str, Any], summary: dict[str, Any],
                txn: Txn, now: datetime) -> None:  # fmt: skip
        outbox.append(txn, self.storage, self.queue, entry_id=self.new_id(), kind=kind, at=now,
                      body=body, summary=summary)  # fmt: skip

    def cash_drop(self, amount: Money, bag: str) -> CashDrop:
        """Take cash from the drawer to the safe; sent to the back office like a sale."""
        cashier, now = self._who(), self.clock()

        def run(txn: Txn) -> CashDrop:
            current = local.till(txn, self.storage, self.queue.register, self.currency)
            after, drop = current.drop(cashier.id, amount, bag, now)
            local.put_till(txn, self.storage, self.queue.register, after)
            body = {**codec.to_data(drop), "currency": self.currency}
            self._record("cashdrop", body, {"total": amount.minor, "bag": bag}, txn, now)
            return drop

        drop = self._write(run, "recording the cash drop")
        self._committed()
        return drop

    def close_till(self, counted: Money) -> TillClose:
        """Count out the till: over or short."""
        self._who()

        def run(txn: Txn) -> TillClose:
            current = local.till(txn, self.storage, self.queue.register, self.currency)
            closed, result = current.close(counted)
            local.put_till(txn, self.storage, self.queue.register, closed)
            return result

        return self._write(run, "closing the till")

    def no_sale(self, manager_pin: str | None, reason: str) -> Cashier:
        """Approve opening the drawer without a sale; recorded and sent like a sale."""
        cashier = self._who()
        manager = self.manager(manager_pin, "opening the drawer without a sale")
        if contains_card_number(reason):
            raise RegisterError("the reason looks like a card number; it is never stored")
        now = self.clock()
        body = {"cashier": cashier.id, "manager": manager.id, "reason": reason,
                "at": now.isoformat()}  # fmt: skip
        self._write(lambda t: self._record("nosale", body, {"reason": reason}, t, now),
                    "recording the drawer opening")  # fmt: skip
        self._committed()
        return manager

    def prune_history(self) -> int:
        """Drop confirmed entries older than `storage.history_days` (never unconfirmed ones)."""
        cutoff = self.clock() - timedelta(days=self.config.storage.history_days)
        return self._write(lambda t: outbox.prune(t, self.storage, self.queue, cutoff), "pruning")

    def punch(self, action: ClockAction) -> Punch:
        """A time clock punch for the logged-in cashier."""
        cashier, now = self._who(), self.clock()

        def run(txn: Txn) -> Punch:
            clock, punched = local.time_clock(txn, self.storage, cashier.id).punch(action, now)
            local.put_time_clock(txn, self.storage, clock)
            self._record("timeclock", codec.to_data(punched), {"action": action.value}, txn, now)
            return punched

        punched = self._write(run, "recording the punch")
        self._committed()
        return punched

    def shift_report(self, close: bool = False, manager_pin: str | None = None) -> ShiftReport:
        """X report (running) or, with a manager, Z report (closes the shift)."""
        self._who()
        if close:
            self.manager(manager_pin, "closing the shift")
        now = self.clock()

        def run(txn: Txn) -> ShiftReport:
            name = f"shift/{self.queue.store}/{self.queue.register}"
            shift = local.local_record(txn, self.storage, name) or {
                "number": 1, "opened_at": now.isoformat(), "first_seq": 1}  # fmt: skip
            sales, drops, reasons = self._shift_entries(txn, int(shift["first_seq"]))
            report = build_report(int(shift["number"]), str(shift["opened_at"]), self.currency,
                                  sales, drops, outbox.unsent_count(txn, self.storage, self.queue),
                                  reasons, closed=close)  # fmt: skip
            if close:
                last_seq, _ = outbox.head(txn, self.storage, self.queue)
                z_name = f"z/{name}/{report.number}"
                local.put_local_record(txn, self.storage, z_name, report.lines())
                after = {"number": report.number + 1, "opened_at": now.isoformat(),
                         "first_seq": last_seq + 1}  # fmt: skip
                local.put_local_record(txn, self.storage, name, after)
            return report

        return self._write(run, "building the shift report")

    def _shift_entries(
        self, txn: Txn, first_seq: int
    ) -> tuple[list[Sale], list[CashDrop], list[str]]:
        sales: list[Sale] = []
        drops: list[CashDrop] = []
        for entry in outbox.entries(txn, self.storage, self.queue, newest_first=True):
            if entry.seq < first_seq:
                break
            body = decode_envelope(outbox.payload(txn, self.storage, entry.key)).body
            if entry.kind == "sale":
                sales.append(codec.from_data(Sale, body, self.currency))
            elif entry.kind == "cashdrop":
                fields = {k: v for k, v in body.items() if k != "currency"}
                drops.append(codec.from_data(CashDrop, fields, self.currency))
        rejected = outbox.entries(txn, self.storage, self.queue, index="rejected")
        return sales, drops, [f"{e.kind} {e.id}: {e.reason}" for e in rejected]

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

    # --- the sync link's side (appliance.sync.link.OutboxPort) --------------------------------

    def unsent_after(self, after: int, limit: int) -> tuple[list[UnsentEntry], int]:
        """Unsent entries after a sequence number, with their bytes, and the unsent count."""

        def run(txn: Txn) -> tuple[list[UnsentEntry], int]:
            rows = outbox.unsent_after(txn, self.storage, self.queue, after, limit)
            return rows, outbox.unsent_count(txn, self.storage, self.queue)

        return self._read(run, "loading the outbox")

    def record_sync(self, settled: list[tuple[str, EntryState, str]], sent: list[int]) -> None:
        """One commit for a sync pass: entries handed to the broker, entries acked."""
        keys, now = [self.queue.key(s) for s in sent], self.clock()

        def run(txn: Txn) -> None:
            outbox.mark_sent(txn, self.storage, self.queue, keys, now)
            for entry_id, state, reason in settled:
                outbox.mark_settled(txn, self.storage, self.queue, entry_id, state, now, reason)

        self._write(run, "recording acks")

    def requeue(self) -> int:
        """After a dropped link: in-flight entries are pending again."""
        return self._write(lambda t: outbox.requeue_in_flight(t, self.storage, self.queue))

    def catalog_version(self) -> int:
        """The back office's catalogue version the cache holds (0: never synced)."""
        raw = self._read(lambda t: cache.setting(t, self.storage, "catalog_version"))
        return int(raw) if raw is not None else 0

    def apply_catalog_changes(self, result: dict[str, Any]) -> int | None:
        """Apply a `changes_since` answer to the cache; the version now held (None: nothing)."""
        if not result:
            return None
        version = int(result["version"])
        data = parse_store(result["catalog"], currency=self.currency)
        now = self.clock()

        def run(txn: Txn) -> None:
            cache.replace_catalog(txn, self.storage, data, now=now, duration_s=0.0,
                                  version=str(version), tax=result.get("tax"))  # fmt: skip
            cache.put_setting(txn, self.storage, "catalog_version", version)
            cache.put_setting(txn, self.storage, "store", result.get("settings", {}))

        self._write(run, "updating the catalogue")
        return version

    def apply_refresh(self, result: dict[str, Any]) -> bool:
        """Replace cached customers and balances, only while nothing is unsent (else False)."""
        customers = list(result.get("customers", []))
        balances = [(b["kind"], b["account"], int(b["amount"])) for b in result.get("balances", [])]
        now = self.clock()

        def run(txn: Txn) -> bool:
            if outbox.unsent_count(txn, self.storage, self.queue):
                return False  # a sale slipped in: its deductions must not be overwritten
            cache.replace_customers(txn, self.storage, customers, balances, now=now,
                                    duration_s=0.0, version="refresh")  # fmt: skip
            return True

        return self._write(run, "refreshing customers and balances")

    def _committed(self) -> None:
        """Tell whoever listens (the sync link) that the outbox grew."""
        if self.on_commit is not None:
            self.on_commit(self._read(lambda t: outbox.unsent_count(t, self.storage, self.queue)))

    def settle_entry(self, entry_id: str, state: EntryState, reason: str = "") -> bool:
        """Mark an entry confirmed or rejected (the sync link calls this on an ack)."""
        now = self.clock()
        return self._write(
            lambda t: outbox.mark_settled(t, self.storage, self.queue, entry_id, state, now, reason)
        )

    def needs_server(self, feature: str) -> None:
        """Returns, server history and the integrated terminal live on the back office."""
        raise NeedsConnection(
            f"{feature}: needs a connection to the back office"
            + ("" if self.online() else "; the register is offline right now")
        )
