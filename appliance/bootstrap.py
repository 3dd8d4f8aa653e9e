"""The one composition root: config and files in, the register's parts out.

Nothing is built at import time; each function builds what it is asked for
from a loaded Config. Later issues add the store, the sync link and the
hardware here; tests build the same parts with fakes where no real one runs.
"""

from __future__ import annotations

import os
import time
import tomllib
from pathlib import Path

from appliance.catalog_file import StoreData, parse_store
from appliance.config import Config
from appliance.domain.ids import uuid7
from appliance.domain.rules import StoreRules
from appliance.domain.tax import TaxComponent, TaxRounding, TaxTable


def tax_table(config: Config) -> TaxTable:
    """The domain's tax table from the [tax] section."""
    tax = config.tax
    return TaxTable(
        components={code: TaxComponent(code, c.name, c.rate) for code, c in tax.components.items()},
        classes=dict(tax.classes),
        prices_include_tax=tax.prices_include_tax,
        rounding=TaxRounding(tax.rounding),
    )


def load_store_file(path: Path, config: Config) -> StoreData:
    """A catalogue file (TOML or JSON) in the register's currency."""
    raw = path.read_bytes()
    if path.suffix == ".json":
        import json

        data = json.loads(raw)
    else:
        data = tomllib.loads(raw.decode("utf-8"))
    return parse_store(data, currency=config.register.currency)


def store_rules(config: Config, data: StoreData) -> StoreRules:
    """Everything the domain needs to price and pay, from config and catalogue."""
    return StoreRules(
        catalog=data.catalog,
        tax=tax_table(config),
        promotions=data.promotions,
        max_discount_percent=config.discounts.max_percent,
        cash_increment=config.cash.rounding_increment,
        loyalty=data.loyalty,
        limits=data.limits,
    )


def new_sale_id() -> str:
    """A fresh UUIDv7 from the wall clock and the OS's entropy (the shell's job)."""
    return str(uuid7(time.time_ns() // 1_000_000, os.urandom(10)))
