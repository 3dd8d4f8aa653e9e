"""The demo shop: seed a register's cache and ring up the demo cart through the services.

Used by `appliance demo-sale` (a throwaway register) and by `make run` (the
demo with a broker and the back office). The cart exercises what the rules
can do: tea by preset weight from a tier matrix (100 g and 50 g at their own
prices), cheese and bananas weighed on the scale, scanned colas with an
amount-off promotion, bakery items in a dated campaign, a vape pod with a line
discount and the vapour tax, a free mug over the spend threshold, GST + PST,
and a card + cash split with cash rounded to the nickel.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from appliance import pins
from appliance.bootstrap import import_catalog
from appliance.config import Config
from appliance.domain.cart import Discount, WeightSource
from appliance.domain.money import Money
from appliance.domain.tender import Tender, TenderKind
from appliance.register import CompletedSale, Register
from appliance.store import cache, local
from appliance.store.lmdb_env import Storage

DEMO_DIR = Path(__file__).resolve().parent.parent / "config" / "demo"
CASHIER, CASHIER_PIN = "demo", "1234"
MANAGER, MANAGER_PIN = "boss", "9999"


def seed_demo(storage: Storage, config: Config, catalog: Path = DEMO_DIR / "catalog.toml") -> None:
    """Load the demo catalogue, cashiers and a customer, unless the cache has them already."""
    with storage.read() as txn:
        loaded = "catalog" in cache.sync_status(txn, storage)
    if not loaded:
        import_catalog(storage, config, catalog)
    currency = config.register.currency

    def run(txn: object) -> None:
        if not local.cashiers(txn, storage):
            local.put_cashier(txn, storage, local.Cashier(CASHIER, "Demo cashier", "cashier",
                                                          pins.hash_pin(CASHIER_PIN)))  # fmt: skip
            local.put_cashier(txn, storage, local.Cashier(MANAGER, "Demo manager", "manager",
                                                          pins.hash_pin(MANAGER_PIN)))  # fmt: skip
            local.put_customer(txn, storage, {"id": "c-100", "name": "Casey Demo", "points": 120,
                                              "lifetime_points": 2400})  # fmt: skip
            local.set_balance(txn, storage, TenderKind.STORE_CREDIT, "c-100",
                              Money(25_00, currency))  # fmt: skip

    storage.write(run)


def ring_up_demo(register: Register) -> CompletedSale:
    """Log in, open the till if needed, ring up the demo cart and pay card + cash."""
    register.login(CASHIER, CASHIER_PIN)
    if register.till().state.value == "closed":
        register.open_till(Money(register.config.cash.float_default, register.currency))
    register.add_weighed("sencha", Decimal(100), WeightSource.PRESET)
    register.add_weighed("sencha", Decimal(50), WeightSource.PRESET)
    register.add_weighed("cheddar", Decimal("0.412"), WeightSource.SCALE)
    register.add_weighed("bananas", Decimal("1.135"), WeightSource.SCALE)
    register.add_barcode("0067000000010")  # cola, scanned four times
    for _ in range(3):
        register.add_barcode("0067000000010")
    register.add_sku("sourdough")
    register.add_sku("croissant", Decimal(2))
    register.add_sku("pod-mint")
    register.discount_line(register.cart.lines[-1].line_id, Discount.percent(10, "Loyal customer"))
    due = register.price().total
    card = Money(due.minor // 2, due.currency)
    register.add_tender(Tender.card(card, "visa", "DEMO-0001"))
    cash = ((due.minor - card.minor) // 10_00 + 1) * 10_00
    register.add_tender(Tender.cash(Money(cash, due.currency)))
    return register.complete()
