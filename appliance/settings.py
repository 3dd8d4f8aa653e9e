"""From configuration and files to the domain's types: tax table, store rules, catalogues."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from appliance.catalog_csv import load_csv
from appliance.catalog_file import CatalogFileError, StoreData, parse_store
from appliance.config import Config
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
    """A catalogue file (TOML, JSON or CSV) in the register's currency; errors name the file."""
    suffix = path.suffix.lower()
    currency = config.register.currency
    if suffix == ".csv":
        return load_csv(path, currency)
    if suffix not in (".toml", ".json"):
        raise CatalogFileError(f"{path}: expected a .toml, .json or .csv catalogue")
    try:
        raw = path.read_bytes()
        data = json.loads(raw) if suffix == ".json" else tomllib.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        # ValueError covers both decoders' syntax errors, bad UTF-8 and an integer past
        # Python's digit limit; RecursionError arrays nested thousands deep.
        raise CatalogFileError(f"{path}: not valid {suffix[1:].upper()}: {exc}") from None
    try:
        return parse_store(data, currency=currency)
    except CatalogFileError as exc:
        raise CatalogFileError(f"{path}: {exc}") from None


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
