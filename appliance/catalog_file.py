"""Reading a catalogue (products, tiers, promotions, limits, loyalty) from plain data.

The data comes from TOML or JSON files (the demo catalogue, a first load with
no back office, the test cases) and, later, from the back office's sync
messages. Every problem names its place: `products[3].price: expected an
integer of minor units, got '4.99'`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from appliance.domain.catalog import Catalog, Category, PriceTier, Product, TierPrice, WeightUnit
from appliance.domain.errors import DomainError
from appliance.domain.limits import LimitClass
from appliance.domain.loyalty import LoyaltyProgram, LoyaltyTier, Reward
from appliance.domain.money import Money
from appliance.domain.promotions import Promotion, PromotionKind
from appliance.domain.tax import TaxComponent, TaxRounding, TaxTable


class CatalogFileError(ValueError):
    """A catalogue entry that cannot be read; the message names where."""


@dataclass(frozen=True, slots=True)
class StoreData:
    """What a catalogue file holds."""

    catalog: Catalog
    promotions: tuple[Promotion, ...]
    limits: dict[str, LimitClass]
    loyalty: LoyaltyProgram | None


class _Reader:
    """Typed access to one table of the data, naming the path in every error."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, Mapping):
            raise CatalogFileError(f"{path}: expected a table, got {type(data).__name__}")
        self.data = data
        self.path = path

    def _get(self, key: str, default: Any) -> Any:
        if key in self.data:
            return self.data[key]
        if default is _REQUIRED:
            raise CatalogFileError(f"{self.path}.{key}: missing")
        return default

    def _fail(self, key: str, expected: str) -> CatalogFileError:
        try:
            shown = repr(self.data[key])
        except ValueError:  # an int of more digits than repr() writes
            shown = "an integer of more than 4300 digits"
        shown = shown if len(shown) <= 60 else f"{shown[:57]}... ({len(shown)} characters)"
        return CatalogFileError(f"{self.path}.{key}: expected {expected}, got {shown}")

    def text(self, key: str, default: Any = None) -> Any:
        value = self._get(key, _REQUIRED if default is None else default)
        if value is not None and not isinstance(value, str):
            raise self._fail(key, "a string")
        return value

    def integer(self, key: str, default: Any = None) -> Any:
        value = self._get(key, _REQUIRED if default is None else default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(key, "an integer")
        return value

    def number(self, key: str, default: Any = None) -> Decimal:
        value = self._get(key, _REQUIRED if default is None else default)
        try:
            number = Decimal(str(value)) if isinstance(value, (str, int, float)) else None
        except (InvalidOperation, ValueError):  # ValueError: str() of a 5,000-digit int
            number = None
        if isinstance(value, bool) or number is None or not number.is_finite():
            raise self._fail(key, "a decimal number")
        return number

    def strings(self, key: str) -> tuple[str, ...]:
        value = self._get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._fail(key, "a list of strings")
        return tuple(value)

    def time(self, key: str) -> datetime | None:
        value = self._get(key, "")
        if value == "":
            return None
        try:
            moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        except ValueError:
            moment = None
        # Promotions run by the register's local clock: a UTC offset has no meaning there
        # (and a zoned start cannot be compared with a local end).
        if moment is None or moment.tzinfo is not None:
            raise self._fail(key, "a local date-time") from None
        return moment

    def weight(self, key: str) -> Decimal:
        """A key that is a weight (a tier's matrix is keyed by its preset weights)."""
        try:
            weight = Decimal(key)
        except InvalidOperation:
            weight = None
        if weight is None or not weight.is_finite() or weight <= 0:
            shown = key if len(key) <= 40 else f"{key[:37]}..."
            raise CatalogFileError(f"{self.path}.{shown}: expected a positive weight such as 3.5")
        return weight

    def tables(self, key: str) -> list[_Reader]:
        value = self._get(key, [])
        if not isinstance(value, list):
            raise self._fail(key, "a list of tables")
        return [_Reader(item, f"{self.path}.{key}[{i}]") for i, item in enumerate(value)]


_REQUIRED = object()


def _wrap(path: str, exc: DomainError) -> CatalogFileError:
    return CatalogFileError(f"{path}: {exc}")


def _product(r: _Reader, currency: str) -> Product:
    unit = r.text("unit", "")
    try:
        return Product(
            sku=r.text("sku"),
            name=r.text("name"),
            category=r.text("category", ""),
            price=Money(r.integer("price"), currency),
            tax_class=r.text("tax_class"),
            barcodes=r.strings("barcodes"),
            unit=WeightUnit(unit) if unit else None,
            presets=tuple(Decimal(p) for p in r.strings("presets")),
            price_tier=r.text("tier", "") or None,
            limit_class=r.text("limit_class", "") or None,
            limit_amount=r.number("limit_amount", "1"),
        )
    except (ValueError, ArithmeticError) as exc:  # DomainError, a bad unit or preset
        raise CatalogFileError(f"{r.path}: {exc}") from None


def _tier(r: _Reader, currency: str) -> PriceTier:
    prices = _Reader(r._get("prices", _REQUIRED), f"{r.path}.prices")
    return PriceTier(
        id=r.text("id"),
        name=r.text("name", ""),
        prices=tuple(
            TierPrice(prices.weight(weight), Money(prices.integer(weight), currency))
            for weight in prices.data
        ),
    )


def _promotion(r: _Reader, currency: str) -> Promotion:
    kind = r.text("kind")
    try:
        threshold = r.integer("threshold", 0)
        return Promotion(
            id=r.text("id"),
            name=r.text("name"),
            kind=PromotionKind(kind),
            value=r.number("value", "0"),
            skus=frozenset(r.strings("skus")),
            categories=frozenset(r.strings("categories")),
            starts=r.time("starts"),
            ends=r.time("ends"),
            threshold=Money(threshold, currency) if threshold else None,
            free_sku=r.text("free_sku", "") or None,
        )
    except CatalogFileError:
        raise
    except (ValueError, DomainError) as exc:  # a bad kind; a value, range or freebie refused
        raise CatalogFileError(f"{r.path}: {exc}") from None


def _loyalty(r: _Reader, currency: str) -> LoyaltyProgram:
    tiers = tuple(
        LoyaltyTier(t.text("name"), t.integer("min_points"), t.number("rate"))
        for t in r.tables("tiers")
    )
    try:
        rewards = tuple(
            Reward(w.text("id"), w.text("name"), w.integer("points"),
                   Money(w.integer("value"), currency))
            for w in r.tables("rewards")
        )  # fmt: skip
        return LoyaltyProgram(tiers, rewards)
    except DomainError as exc:
        raise _wrap(r.path, exc) from None


def parse_store(data: Mapping[str, Any], currency: str | None = None) -> StoreData:
    """Build the catalogue and its campaigns from a decoded TOML/JSON document."""
    root = _Reader(data, "catalog")
    currency = currency or root.text("currency")
    categories = [Category(c.text("id"), c.text("name")) for c in root.tables("categories")]
    try:
        catalog = Catalog.build(
            currency,
            [_product(p, currency) for p in root.tables("products")],
            categories,
            [_tier(t, currency) for t in root.tables("tiers")],
        )
    except DomainError as exc:
        raise _wrap("catalog", exc) from None
    limits = {
        lc.text("id"): LimitClass(lc.text("id"), lc.text("name"), lc.number("max_per_day"),
                                 "each" if lc.text("unit", "g") == "each" else "g")
        for lc in root.tables("limits")
    }  # fmt: skip
    loyalty = _loyalty(_Reader(data["loyalty"], "loyalty"), currency) if "loyalty" in data else None
    promotions = tuple(_promotion(p, currency) for p in root.tables("promotions"))
    return StoreData(catalog, promotions, limits, loyalty)


def parse_tax(data: Mapping[str, Any], path: str = "tax") -> TaxTable:
    """A tax table from `{prices_include_tax, rounding, components, classes}`."""
    r = _Reader(data, path)
    components = _Reader(r._get("components", _REQUIRED), f"{path}.components")
    classes = _Reader(r._get("classes", _REQUIRED), f"{path}.classes")
    try:
        return TaxTable(
            components={
                code: TaxComponent(code, c.text("name"), c.number("rate"))
                for code, c in (
                    (code, _Reader(v, f"{path}.components.{code}"))
                    for code, v in components.data.items()
                )
            },
            classes={name: classes.strings(name) for name in classes.data},
            prices_include_tax=bool(r._get("prices_include_tax", False)),
            rounding=TaxRounding(r.text("rounding", "per_line")),
        )
    except (DomainError, ValueError) as exc:
        if isinstance(exc, CatalogFileError):
            raise
        raise CatalogFileError(f"{path}: {exc}") from None
