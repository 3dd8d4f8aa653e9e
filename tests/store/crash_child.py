"""The crash test's child: a register that sells random carts until it is killed.

Run as `python -m tests.store.crash_child CONFIG_PATH SEED` with the repository
root as the working directory. It opens the register over the configured data
dir (real LMDB, real clock, real UUIDv7 ids), logs in as "ann", opens the till
if it is closed, prints "ready", then sells forever: each cart mixes items by
sku, scale-weighed items and tea presets, sometimes for customer "c1" with part
paid by store credit or loyalty points, sometimes from gift card "g-100", the
rest by cash and/or card. A sale's id is printed (one write to stdout) only
after `complete()` returned, so every printed id is a sale the register said was
paid. The parent (test_crash.py) SIGKILLs this process at random moments.

Kept cheap to start: no pytest, no test fixtures imported.
"""

from __future__ import annotations

import os
import random
import sys
from decimal import Decimal
from pathlib import Path

from appliance.bootstrap import local_now, new_sale_id, open_storage
from appliance.config import load_config
from appliance.domain.cart import WeightSource
from appliance.domain.catalog import Product
from appliance.domain.errors import BalanceOverdrawn, PurchaseLimitExceeded
from appliance.domain.money import Money, round_to_increment
from appliance.domain.tender import Tender, TenderKind
from appliance.domain.till import TillState
from appliance.register import Register
from appliance.store import local
from appliance.store.executor import StorageThread

CASHIER, CASHIER_PIN, MANAGER_PIN = "ann", "1234", "9999"  # as tests/store/conftest.py seeds
CUSTOMER = "c1"
GIFT_CARD = "g-100"
OPENING_FLOAT = 20000
CATEGORIES = ("produce", "bakery", "dairy", "bulk", "tea", "drinks", "snacks", "vapes")
REWARD_ID, REWARD_POINTS, REWARD_VALUE = "r5", 250, 500  # config/demo/catalog.toml
LOW_BALANCE = 100  # stop drawing on a balance below 1.00 (but see `overdraw` below)


class Child:
    """One register process and its random shopper."""

    def __init__(self, register: Register, rng: random.Random) -> None:
        self.register, self.rng = register, rng
        self.currency = register.currency
        products = [p for c in CATEGORIES for p in register.category(c)]
        self.each = [p for p in products if not p.sold_by_weight]
        self.scale = [p for p in products if p.sold_by_weight and not p.presets]
        self.presets = [p for p in products if p.presets]
        if not (self.each and self.scale and self.presets):
            raise SystemExit("crash_child: the demo catalogue is not in the cache")

    def money(self, minor: int) -> Money:
        return Money(minor, self.currency)

    def balance(self, kind: TenderKind, account: str) -> int:
        """The cached balance of an account, in minor units."""
        storage = self.register.storage

        def run() -> int:
            with storage.read() as txn:
                held = local.balances(txn, storage, [(kind, account)], self.currency)
            return held.get((kind, account), self.money(0)).minor

        return self.register.io.call(run, "reading a balance")

    def fill_cart(self) -> None:
        rng, register = self.rng, self.register
        for _ in range(rng.randint(1, 5)):
            pick = rng.random()
            if pick < 0.5:
                product = rng.choice(self.each)
                register.add_sku(product.sku, Decimal(rng.randint(1, 3)))
            elif pick < 0.75:
                product = rng.choice(self.scale)
                grams = rng.randint(5, 2000)  # a stable scale reading, 0.005 to 2 kg
                register.add_weighed(product.sku, Decimal(grams).scaleb(-3), WeightSource.SCALE)
            else:
                product = rng.choice(self.presets)
                preset = rng.choice(product.presets)
                packs = Decimal(rng.randint(1, 2))
                register.add_weighed(product.sku, preset, WeightSource.PRESET, packs)

    def tenders(self, points: int, balances_ok: bool) -> list[Tender]:
        """Tenders covering the cart: points, a balance draw, then cash and/or card."""
        rng, money = self.rng, self.money
        remaining = self.register.price().total.minor
        customer = self.register.cart.customer_id
        out: list[Tender] = []
        if (
            customer
            and points >= REWARD_POINTS
            and remaining >= REWARD_VALUE
            and rng.random() < 0.3
        ):
            out.append(Tender(TenderKind.POINTS, money(REWARD_VALUE), account=REWARD_ID,
                              points=REWARD_POINTS))  # fmt: skip
            remaining -= REWARD_VALUE
        account = None
        if balances_ok and customer and rng.random() < 0.6:
            account = (TenderKind.STORE_CREDIT, customer)
        elif balances_ok and rng.random() < 0.1:
            account = (TenderKind.GIFT_CARD, GIFT_CARD)
        if account is not None and remaining > 0:
            held = self.balance(*account)
            if rng.random() < 0.03:  # overdraw on purpose: the typed error path
                draw = held + 1
            elif held >= LOW_BALANCE:
                draw = rng.randint(5, 20)
            else:
                draw = 0
            draw = min(draw, remaining)
            if draw > 0:
                out.append(Tender.balance(account[0], account[1], money(draw)))
                remaining -= draw
        if remaining > 0:
            reference = f"A{rng.randint(0, 999999):06d}"
            how = rng.random()
            if how < 0.45:
                out.append(Tender.cash(money(self.cash_handed(remaining))))
            elif how < 0.85 or remaining < 2:
                out.append(Tender.card(money(remaining), "visa", reference))
            else:
                on_card = rng.randint(1, remaining - 1)
                out.append(Tender.card(money(on_card), "debit", reference))
                out.append(Tender.cash(money(self.cash_handed(remaining - on_card))))
        return out

    def cash_handed(self, due: int) -> int:
        exact = round_to_increment(due, self.register.config.cash.rounding_increment)
        if self.rng.random() < 0.5:
            return exact
        return (exact // 500 + 1) * 500 + self.rng.choice((0, 0, 1000, 5000))

    def sell(self) -> str:
        """Ring up a random cart, pay it and complete it; return the committed sale id."""
        self.fill_cart()
        return self.sell_cart()

    def sell_cart(self) -> str:
        """Attach a customer (sometimes), pay the cart in hand and complete it; its id."""
        register, rng = self.register, self.rng
        points = 0
        if rng.random() < 0.35:
            record = register.attach_customer(CUSTOMER)
            points = int((record or {}).get("points", 0))
        balances_ok = True
        for _ in range(5):
            register.clear_tenders()
            for tender in self.tenders(points, balances_ok):
                register.add_tender(tender)
            try:
                return register.complete().sale.id
            except BalanceOverdrawn:
                balances_ok = False  # pay the balance's part by cash or card instead
                points = 0
            except PurchaseLimitExceeded:
                self.drop_limited()
        raise SystemExit("crash_child: could not complete a sale in 5 attempts")

    def drop_limited(self) -> None:
        """Void the lines of limited products (vapes); keep the cart non-empty."""
        register = self.register
        register.clear_tenders()
        limited = {p.sku for p in self.each if p.limit_class is not None}
        for line in register.cart.lines:
            if line.sku in limited:  # after tender: a manager comes over
                register.void_line(line.line_id, MANAGER_PIN)
        if register.cart.is_empty:
            product: Product = next(p for p in self.each if p.limit_class is None)
            register.add_sku(product.sku)


def say(line: str) -> None:
    """One line in ONE write: print() may write the text and its newline separately
    (it does when PYTHONUNBUFFERED is set), so a kill between them would tear the line.
    """
    os.write(sys.stdout.fileno(), f"{line}\n".encode())


def main(argv: list[str]) -> None:
    config = load_config(Path(argv[1]))
    rng = random.Random(int(argv[2]))
    storage = open_storage(config)
    io = StorageThread(config.storage.op_timeout_s)
    register = Register(config, storage, io, local_now(config), new_sale_id)
    register.login(CASHIER, CASHIER_PIN)
    if register.till().state is TillState.CLOSED:
        register.open_till(Money(OPENING_FLOAT, register.currency))
    child = Child(register, rng)
    say("ready")
    while True:
        sale_id = child.sell()
        say(sale_id)  # only now: the sale is committed


if __name__ == "__main__":
    main(sys.argv)
