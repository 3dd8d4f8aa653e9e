"""The register services' core: state, storage plumbing, rules, who is logged in.

See `appliance.register` for the services themselves; this module holds what
every part of them shares.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from appliance import pins
from appliance.config import Config
from appliance.domain import codec
from appliance.domain.cart import Cart
from appliance.domain.catalog import Product
from appliance.domain.rules import StoreRules
from appliance.domain.sale import Sale
from appliance.domain.tender import Tender
from appliance.settings import tax_table
from appliance.store import cache, local, outbox
from appliance.store.cache import Campaigns
from appliance.store.errors import StorageTimeout
from appliance.store.executor import StorageThread
from appliance.store.lmdb_env import Storage, Txn
from appliance.store.local import Cashier
from appliance.store.outbox import OutboxEntry, Queue
from appliance.sync.wire import RpcResponse, decode_envelope

T = TypeVar("T")
MANAGER = "manager"
MANAGERS = "managers"  # the target of a guess at any manager's PIN (see `_pin_target`)
WRONG_PINS_FREE = 3  # wrong PINs before each further one costs a pause
WRONG_PIN_PAUSE_MAX_S = 300.0


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


class EntryRecorded(RegisterError):
    """A punch, cash drop or drawer opening whose save timed out was recorded after all."""


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
    notice: str = ""  # what the back office said when it would not price the cart


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


class RegisterCore:
    """State and plumbing shared by the register's services (see `appliance.register`)."""

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
        # Asks the back office (method, params) -> response or None; the sync link's request.
        self.ask: Callable[[str, dict[str, Any]], RpcResponse | None] | None = None
        self._ask_after = 0.0  # monotonic time before which the office is not asked
        self.queue = Queue(config.register.store, config.register.id)
        self.currency = config.register.currency
        self.cashier: Cashier | None = None
        self.cart = Cart()
        self.tenders: list[Tender] = []
        self.tendered = False  # a tender was entered for this cart (taken back or not)
        self._uncertain: tuple[str, str] | None = None  # (id, what) of an entry whose save
        # timed out: the commit may still land, so it is looked for before anything else
        self._uncertain_park: str | None = None  # id of a park whose write timed out
        self.on_commit: Callable[[int], None] | None = None  # the sync link's notify_committed
        self._campaigns: tuple[int, Campaigns] | None = None
        self._products: dict[str, Product] = {}  # decoded per cache version (storage thread)
        # wrong PINs per target: a cashier's own login, or any manager's PIN (at the
        # override prompt or a manager's login); a right PIN clears only its own target's
        self._wrong_pins: dict[str, int] = {}
        self._locked_until: dict[str, float] = {}

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
        """The logged-in cashier, after settling any entry or park whose save timed out."""
        if self._uncertain is not None:
            self._settle_uncertain(*self._uncertain)
        if self._uncertain_park is not None:
            park_id, self._uncertain_park = self._uncertain_park, None
            ticket = self._read(lambda t: local.parked_as(t, self.storage, park_id))
            if ticket is not None:  # the cart is on the parked list: not in hand as well
                self._start_cart(Cart())
                raise EntryRecorded(f"the cart was parked after all, as ticket {ticket}")
        if self.cashier is None:
            raise NotLoggedIn("log in first")
        return self.cashier

    def _settle_uncertain(self, entry_id: str, what: str) -> None:
        """Was the entry whose save timed out committed after all? Then say so (and tell the
        sync link), so that the cashier does not enter it a second time."""

        def run(txn: Txn) -> CompletedSale | bool:
            entry = outbox.find(txn, self.storage, self.queue, entry_id)
            if entry is None or entry.kind != "sale":
                return entry is not None
            jobs = [j["number"] for j in local.print_jobs(txn, self.storage, pending_only=False)
                    if j["ref"] == entry_id]  # fmt: skip
            return CompletedSale(self._sale_of(txn, entry), entry.seq, jobs[0] if jobs else 0)

        done = self._read(run, f"checking the last {what}")  # runs after the queued commit
        self._uncertain = None
        if done is False:
            return
        self._committed()
        if isinstance(done, CompletedSale):
            self._start_cart(Cart())
            raise SaleRecorded(done)
        raise EntryRecorded(f"the last {what} was saved after all: do not enter it again")

    def _start_cart(self, cart: Cart) -> None:
        """`cart` becomes the current one, with no tender entered for it yet."""
        self.cart, self.tenders, self.tendered = cart, [], False

    def _write_entry(self, run: Callable[[Txn], T], entry_id: str, what: str) -> T:
        """Commit an outbox entry; a timeout leaves it uncertain (see `_settle_uncertain`)."""
        try:
            done = self._write(run, f"recording the {what}")
        except StorageTimeout:
            self._uncertain = (entry_id, what)
            raise
        self._committed()
        return done

    def _staff(self) -> list[Cashier]:
        return self._read(lambda t: local.cashiers(t, self.storage))

    def _check(
        self, pin: str, which: Callable[[Cashier], bool], staff: list[Cashier] | None = None
    ) -> Cashier | None:
        candidates = [c for c in (self._staff() if staff is None else staff) if which(c)]
        return next((c for c in candidates if pins.check_pin(pin, c.pin)), None)

    def manager(self, pin: str | None, why: str) -> Cashier:
        """The manager whose PIN this is, or NeedsManager saying why one is needed.

        Wrong manager PINs count with wrong login PINs: the override prompt is no faster
        a way to guess a PIN than the login screen.
        """
        if pin is None:
            raise NeedsManager(f"{why}: a manager's PIN is needed")
        wait = self._pin_wait(MANAGERS)
        if wait > 0:
            raise NeedsManager(f"{why}: too many wrong PINs: try again in {math.ceil(wait)} s")
        found = self._check(pin, lambda c: c.role == MANAGER)
        if found is None:
            self._wrong_pin(MANAGERS)
            raise NeedsManager(f"{why}: that is not a manager's PIN")
        self._wrong_pins.pop(MANAGERS, None)
        return found

    def _pin_wait(self, target: str) -> float:
        """Seconds before another PIN for `target` may be tried (0 or less: now)."""
        return self._locked_until.get(target, 0.0) - time.monotonic()

    def _wrong_pin(self, target: str) -> None:
        """One more wrong PIN: from the third on, a pause that doubles (at most 5 min)."""
        wrong = self._wrong_pins[target] = self._wrong_pins.get(target, 0) + 1
        if wrong >= WRONG_PINS_FREE:
            pause = min(2.0 ** (wrong - WRONG_PINS_FREE), WRONG_PIN_PAUSE_MAX_S)
            self._locked_until[target] = time.monotonic() + pause

    def _sale_of(self, txn: Txn, entry: OutboxEntry) -> Sale:
        body = decode_envelope(outbox.payload(txn, self.storage, entry.key)).body
        return codec.from_data(Sale, body, str(body.get("currency")))

    def _committed(self) -> None:
        """Tell whoever listens (the sync link) that the outbox grew."""
        if self.on_commit is not None:
            self.on_commit(self._read(lambda t: outbox.unsent_count(t, self.storage, self.queue)))

    def _record(self, entry_id: str, kind: str, body: dict[str, Any], summary: dict[str, Any],
                txn: Txn, now: datetime) -> None:  # fmt: skip
        outbox.append(txn, self.storage, self.queue, entry_id=entry_id, kind=kind, at=now,
                      body=body, summary=summary)  # fmt: skip


def pin_target(staff: list[Cashier], cashier_id: str) -> str:
    """Whose PIN a login tries: a manager's counts with the override prompt's guesses."""
    manager = any(c.id == cashier_id and c.role == MANAGER for c in staff)
    return MANAGERS if manager else cashier_id
