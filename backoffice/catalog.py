"""Each store's catalogue, tax table and selling settings, and the rules built from them.

The `stores` table keeps the catalogue as JSON in the shape `appliance.catalog_file.
parse_store` reads and the tax table in the shape `parse_tax` reads, so the register and
the back office parse the same documents with the same code. `catalog load` turns any
catalogue file (TOML, JSON, CSV) into that shape with `store_document` and bumps the
store's version; the version is what the retained beacon announces and what
`changes_since` compares.

`RulesCache` builds `StoreRules` once per store and catalogue version: the consumer asks
for them on every sale, and parsing a catalogue is far slower than one indexed read of
the version.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from appliance.catalog_file import StoreData, parse_store, parse_tax
from appliance.config import Config
from appliance.domain.codec import decimal_text
from appliance.domain.rules import StoreRules
from appliance.domain.tax import TaxTable
from appliance.settings import load_store_file, tax_table
from backoffice.db import Database, Tx


def _money_or_zero(value: Any) -> int:
    return 0 if value is None else int(value.minor)


def store_document(data: StoreData) -> dict[str, Any]:
    """The catalogue as a `parse_store` document (JSON-ready; prices in minor units)."""
    catalog = data.catalog
    products = []
    for p in catalog.products.values():
        product: dict[str, Any] = {
            "sku": p.sku,
            "name": p.name,
            "category": p.category,
            "price": p.price.minor,
            "tax_class": p.tax_class,
            "barcodes": list(p.barcodes),
            "limit_amount": decimal_text(p.limit_amount),
        }
        if p.unit is not None:
            product["unit"] = p.unit.value
        if p.presets:
            product["presets"] = [decimal_text(w) for w in p.presets]
        if p.price_tier:
            product["tier"] = p.price_tier
        if p.limit_class:
            product["limit_class"] = p.limit_class
        products.append(product)
    document: dict[str, Any] = {
        "currency": catalog.currency,
        "categories": [{"id": c.id, "name": c.name} for c in catalog.categories.values()],
        "tiers": [
            {
                "id": t.id,
                "name": t.name,
                "prices": {decimal_text(e.weight): e.price.minor for e in t.prices},
            }
            for t in catalog.tiers.values()
        ],
        "products": products,
        "promotions": [_promotion(p) for p in data.promotions],
        "limits": [
            {
                "id": lc.id,
                "name": lc.name,
                "max_per_day": decimal_text(lc.max_per_day),
                "unit": lc.unit,
            }
            for lc in data.limits.values()
        ],
    }
    if data.loyalty is not None:
        document["loyalty"] = {
            "tiers": [
                {"name": t.name, "min_points": t.min_points, "rate": decimal_text(t.rate)}
                for t in data.loyalty.tiers
            ],
            "rewards": [
                {"id": r.id, "name": r.name, "points": r.points, "value": r.value.minor}
                for r in data.loyalty.rewards
            ],
        }
    return document


def _promotion(p: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": p.id,
        "name": p.name,
        "kind": p.kind.value,
        "value": decimal_text(p.value),
        "skus": sorted(p.skus),
        "categories": sorted(p.categories),
        "threshold": _money_or_zero(p.threshold),
    }
    for name in ("starts", "ends"):
        moment: datetime | None = getattr(p, name)
        if moment is not None:
            out[name] = moment.isoformat()
    if p.free_sku:
        out["free_sku"] = p.free_sku
    return out


def tax_document(table: TaxTable) -> dict[str, Any]:
    """The tax table as a `parse_tax` document."""
    return {
        "prices_include_tax": table.prices_include_tax,
        "rounding": table.rounding.value,
        "components": {
            code: {"name": c.name, "rate": decimal_text(c.rate)}
            for code, c in table.components.items()
        },
        "classes": {name: list(codes) for name, codes in table.classes.items()},
    }


@dataclass(frozen=True, slots=True)
class StoreRow:
    """What the back office holds for one store."""

    store: str
    currency: str
    tax: dict[str, Any]
    catalog: dict[str, Any]
    version: int
    cash_increment: int
    max_discount_percent: Decimal

    def rules(self) -> StoreRules:
        """The domain's rules for this store (parsing the documents: slow, cache it)."""
        data = parse_store(self.catalog, currency=self.currency)
        return StoreRules(
            catalog=data.catalog,
            tax=parse_tax(self.tax),
            promotions=data.promotions,
            max_discount_percent=self.max_discount_percent,
            cash_increment=self.cash_increment,
            loyalty=data.loyalty,
            limits=data.limits,
        )


_COLUMNS = "store, currency, tax, catalog, version, cash_increment, max_discount_percent"


def read_store(tx: Tx, store: str) -> StoreRow | None:
    """The store's row, or None when no catalogue was ever loaded for it."""
    row = tx.one(f"SELECT {_COLUMNS} FROM stores WHERE store = ?", (store,))
    if row is None:
        return None
    return StoreRow(
        row[0],
        row[1],
        json.loads(row[2]),
        json.loads(row[3]),
        int(row[4]),
        int(row[5]),
        Decimal(row[6]),
    )


def store_versions(tx: Tx) -> dict[str, int]:
    """Every store's catalogue version."""
    return {str(s): int(v) for s, v in tx.all("SELECT store, version FROM stores")}


def save_store(tx: Tx, store: str, config: Config, data: StoreData, now: datetime) -> int:
    """Store a catalogue and the config's tax and settings; returns the new version."""
    catalog = store_document(data)
    tax = tax_document(tax_table(config))
    parse_store(catalog, currency=config.register.currency)  # what we store must read back
    parse_tax(tax)
    version = int(tx.scalar("SELECT version FROM stores WHERE store = ?", (store,), 0)) + 1
    values = (
        store,
        config.register.currency,
        json.dumps(tax, sort_keys=True),
        json.dumps(catalog, sort_keys=True),
        version,
        config.cash.rounding_increment,
        decimal_text(config.discounts.max_percent),
        now.isoformat(),
    )
    tx.execute(
        f"INSERT INTO stores ({_COLUMNS}, loaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (store) DO UPDATE SET currency = excluded.currency, tax = excluded.tax, "
        "catalog = excluded.catalog, version = excluded.version, "
        "cash_increment = excluded.cash_increment, "
        "max_discount_percent = excluded.max_discount_percent, loaded_at = excluded.loaded_at",
        values,
    )
    return version


def load_catalog(db: Database, store: str, config: Config, path: Path, now: datetime) -> int:
    """Read a catalogue file with the register's currency and store it; returns the version."""
    data = load_store_file(path, config)
    with db.transaction() as tx:
        return save_store(tx, store, config, data, now)


class RulesCache:
    """StoreRules per store, rebuilt only when the store's catalogue version moves."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: dict[str, tuple[int, StoreRow, StoreRules]] = {}

    def get(self, tx: Tx, store: str) -> tuple[StoreRow, StoreRules] | None:
        """The store's row and rules as of this transaction, or None for an unknown store."""
        version = tx.scalar("SELECT version FROM stores WHERE store = ?", (store,))
        if version is None:
            return None
        with self._lock:
            cached = self._rules.get(store)
        if cached is not None and cached[0] == int(version):
            return cached[1], cached[2]
        row = read_store(tx, store)
        if row is None:
            return None
        rules = row.rules()
        with self._lock:
            self._rules[store] = (row.version, row, rules)
        return row, rules
