"""Reading a catalogue from a spreadsheet's CSV export (stdlib csv).

One header row naming exactly these columns, in any order:

    sku,name,category,price,tax_class,barcodes,unit,presets,tier,limit_class

`price` is in major units ("4.99"), converted exactly to minor units; `barcodes`
and `presets` hold several values separated by ";"; `category`, `barcodes`,
`unit`, `presets`, `tier` and `limit_class` may be empty. Categories are the
distinct values of the category column, each named after its id.

The rows become the same plain data a TOML or JSON catalogue decodes to and go
through `parse_store`, so every rule is checked in one place. What a CSV adds is
the place of a problem: rows are counted as a spreadsheet shows them (the header
is row 1), and every error names the file, the row and the column:
`catalog.csv: row 7, price: '4.999' has more decimals than CAD allows`.
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from appliance.catalog_file import CatalogFileError, StoreData, parse_store
from appliance.domain.catalog import WeightUnit
from appliance.domain.errors import DomainError
from appliance.domain.money import Money

COLUMNS = ("sku", "name", "category", "price", "tax_class", "barcodes", "unit", "presets",
           "tier", "limit_class")  # fmt: skip
_UNITS = tuple(u.value for u in WeightUnit)
# Where parse_store puts a product problem: `catalog.products[3].price: ...`.
_PRODUCT_PATH = re.compile(r"catalog\.products\[(\d+)\](?:\.(\w+))?: (.*)", re.DOTALL)
_FIELD_COLUMN = {"price_tier": "tier"}
# A spreadsheet's price: plain digits, never 1e999999999 (a Decimal that cannot be scaled
# to cents, or an integer of a million digits that takes minutes to make).
_AMOUNT = re.compile(r"[+-]?([0-9]{1,15}(\.[0-9]*)?|\.[0-9]+)")


def load_csv(path: Path, currency: str) -> StoreData:
    """The catalogue in a CSV file (UTF-8, with or without Excel's byte order mark)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogFileError(f"{path}: not UTF-8 text ({exc})") from None
    return parse_csv(text, currency, str(path))


def parse_csv(text: str, currency: str, source: str = "catalog.csv") -> StoreData:
    """The catalogue in CSV text; `source` names the file in every error."""
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise CatalogFileError(f"{source}: not valid CSV: {exc}") from None
    if not records:
        raise CatalogFileError(f"{source}: empty file; the first row must name the columns")
    header = _header(records[0], source)
    products: list[dict[str, Any]] = []
    rows: list[int] = []  # the spreadsheet row of each product
    categories: dict[str, dict[str, str]] = {}
    places = _Places(source)
    for number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue  # a blank row
        if len(record) != len(header):
            raise CatalogFileError(
                f"{source}: row {number}: {len(record)} fields, the header has {len(header)}"
            )
        cells = {column: cell.strip() for column, cell in zip(header, record, strict=True)}
        products.append(_product(cells, number, currency, source))
        places.check(cells, number)
        rows.append(number)
        if cells["category"]:
            categories.setdefault(cells["category"], {"id": cells["category"],
                                                      "name": cells["category"]})  # fmt: skip
    data = {"products": products, "categories": list(categories.values())}
    try:
        return parse_store(data, currency=currency)
    except CatalogFileError as exc:
        raise _placed(exc, rows, source) from None


def _header(cells: list[str], source: str) -> list[str]:
    names = [cell.strip().lower() for cell in cells]
    problems = []
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        problems.append("unknown column" + "s" * (len(unknown) > 1) + " " + _quoted(unknown))
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        problems.append("column" + "s" * (len(twice) > 1) + " named twice: " + _quoted(twice))
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        problems.append("missing column" + "s" * (len(missing) > 1) + " " + _quoted(missing))
    if problems:
        raise CatalogFileError(
            f"{source}: row 1 (header): {'; '.join(problems)}; expected {','.join(COLUMNS)}"
        )
    return names


def _quoted(names: list[str]) -> str:
    return ", ".join(repr(n) for n in names)


def _product(cells: dict[str, str], row: int, currency: str, source: str) -> dict[str, Any]:
    def fail(column: str, problem: str) -> CatalogFileError:
        return CatalogFileError(f"{source}: row {row}, {column}: {problem}")

    for column in ("sku", "name", "tax_class"):
        if not cells[column]:
            raise fail(column, "empty; every product needs one")
    if not _AMOUNT.fullmatch(cells["price"]):
        raise fail("price", f"not an amount of money: {_shown(cells['price'])}")
    try:
        price = Money.parse(cells["price"], currency)
    except DomainError as exc:
        raise fail("price", str(exc)) from None
    if price.minor < 0:
        raise fail("price", f"{cells['price']!r} is negative")
    if cells["unit"] and cells["unit"] not in _UNITS:
        raise fail("unit", f"{cells['unit']!r} is not a weight unit; expected one of "
                           f"{', '.join(_UNITS)} or empty for items sold by the each")  # fmt: skip
    presets = _split(cells["presets"])
    if presets and not cells["unit"]:
        raise fail("presets", "preset weights need a unit (g, kg, lb or oz)")
    for preset in presets:
        try:
            ok = Decimal(preset).is_finite() and Decimal(preset) > 0
        except InvalidOperation:
            ok = False
        if not ok:
            raise fail("presets", f"{preset!r} is not a positive weight")
    return {
        "sku": cells["sku"],
        "name": cells["name"],
        "category": cells["category"],
        "price": price.minor,
        "tax_class": cells["tax_class"],
        "barcodes": _split(cells["barcodes"]),
        "unit": cells["unit"],
        "presets": presets,
        "tier": cells["tier"],
        "limit_class": cells["limit_class"],
    }


def _shown(cell: str) -> str:
    return repr(cell) if len(cell) <= 40 else f"{cell[:40]!r}... ({len(cell)} characters)"


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


class _Places:
    """First row of every sku and barcode, so a duplicate names both rows."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.skus: dict[str, int] = {}
        self.barcodes: dict[str, tuple[int, str]] = {}

    def check(self, cells: dict[str, str], row: int) -> None:
        sku = cells["sku"]
        if sku in self.skus:
            raise CatalogFileError(
                f"{self.source}: row {row}, sku: {sku!r} is already on row {self.skus[sku]}"
            )
        self.skus[sku] = row
        for code in _split(cells["barcodes"]):
            if code in self.barcodes:
                first, owner = self.barcodes[code]
                raise CatalogFileError(f"{self.source}: row {row}, barcodes: {code!r} is "
                                       f"already on row {first} (sku {owner!r})")  # fmt: skip
            self.barcodes[code] = (row, sku)


def _placed(exc: CatalogFileError, rows: list[int], source: str) -> CatalogFileError:
    """parse_store's `catalog.products[i].field` turned into the row and column."""
    found = _PRODUCT_PATH.fullmatch(str(exc))
    if found is None:
        return CatalogFileError(f"{source}: {str(exc).removeprefix('catalog: ')}")
    index, field, problem = int(found[1]), found[2], found[3]
    row = rows[index] if index < len(rows) else index + 2
    if field is None:
        return CatalogFileError(f"{source}: row {row}: {problem}")
    return CatalogFileError(f"{source}: row {row}, {_FIELD_COLUMN.get(field, field)}: {problem}")
