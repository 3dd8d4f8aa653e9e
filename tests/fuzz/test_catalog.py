"""Catalogue import: TOML/JSON documents, spreadsheet CSV, label templates, the back office.

Every reader either gives its result or raises its own error naming the place
(`CatalogFileError` "catalog.products[3].price: ...", "catalog.csv: row 7, price: ...";
`LabelTemplateError` "<file>: elements[2].y: ..."). Inputs start as the demo
catalogue and the shipped label templates and are mutated as documents (a value of
another type, 5,000-digit numbers, nan, deep nesting, long strings, aware and naive
date-times), as CSV cells and as bytes. The back office's stored form round-trips:
what `store_document` writes, `parse_store` reads back to the same document.
"""

from __future__ import annotations

import copy
import csv
import functools
import io
import json
import tomllib
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.catalog_csv import COLUMNS, load_csv, parse_csv
from appliance.catalog_file import CatalogFileError, StoreData, parse_store, parse_tax
from appliance.config import PACKAGED_DEFAULTS, Config, load_config
from appliance.labels import read_template_files
from appliance.settings import load_store_file
from backoffice.catalog import StoreRow, store_document, tax_document
from hw.labels import LabelTemplateError, parse_template
from tests.fuzz.mutate import (
    HUGE_INT,
    Raw,
    check_message,
    fuzz,
    json_bytes,
    mutated_bytes,
    mutated_doc,
    plain_values,
    text_values,
    toml_bytes,
)

REPO = Path(__file__).resolve().parents[2]
CATALOG = tomllib.loads((REPO / "config" / "demo" / "catalog.toml").read_text())
CSV_TEXT = (REPO / "config" / "demo" / "catalog.csv").read_text()
TEMPLATES = {p.stem: (p.read_bytes(), tomllib.loads(p.read_text()))
             for p in sorted((REPO / "config" / "labels").glob("*.toml"))}  # fmt: skip
TAX = {"prices_include_tax": False, "rounding": "per_invoice",
       "components": {"GST": {"name": "GST", "rate": "0.05"},
                      "PST": {"name": "PST", "rate": "0.07"}},
       "classes": {"standard": ["GST", "PST"], "food": ["GST"], "zero": []}}  # fmt: skip
CATALOG_KEYS = ["sku", "name", "category", "price", "tax_class", "barcodes", "unit", "presets",
                "tier", "limit_class", "limit_amount", "id", "prices", "kind", "value", "skus",
                "categories", "starts", "ends", "threshold", "free_sku", "max_per_day",
                "min_points", "rate", "points", "tiers", "rewards", "loyalty",
                "currency"]  # fmt: skip
ZONED = datetime.fromisoformat("2026-11-20T00:00:00+00:00")
date_times = st.sampled_from([ZONED, datetime(2026, 11, 21), "2026-11-20T00:00:00+01:00",
                              "2026-11-20", "20261120", "2026-W47"])  # fmt: skip
catalog_values = plain_values | date_times


def parses_or_names_the_place(data: Any, currency: str | None = "CAD") -> StoreData | None:
    try:
        return parse_store(data, currency=currency)
    except CatalogFileError as exc:
        check_message(exc, starts=("catalog", "loyalty"))
        return None


@fuzz(200)
@given(st.data())
def test_mutated_catalogues_parse_or_name_the_place(data: st.DataObject) -> None:
    doc = data.draw(mutated_doc(CATALOG, values=catalog_values, keys=CATALOG_KEYS, max_ops=4))
    currency = data.draw(st.sampled_from(["CAD", None, "JPY"]))
    store = parses_or_names_the_place(doc, currency)
    if store is not None:  # what parses is what the back office stores, and reads back
        document = store_document(store)
        again = parse_store(json.loads(json.dumps(document)), currency=store.catalog.currency)
        assert store_document(again) == document


@fuzz(150)
@given(st.data())
def test_mutated_tax_tables_parse_or_name_the_place(data: st.DataObject) -> None:
    doc = data.draw(mutated_doc(TAX, values=plain_values, keys=["name", "rate", "classes"]))
    try:
        table = parse_tax(doc)
    except CatalogFileError as exc:
        check_message(exc, starts="tax")
        return
    assert parse_tax(tax_document(table)) == table


@fuzz(150)
@given(st.data())
def test_the_back_office_reads_its_stored_documents_or_names_the_place(
    data: st.DataObject,
) -> None:
    # A stored row whose JSON documents were damaged (by hand, by a migration gone wrong).
    catalog = data.draw(mutated_doc(CATALOG, values=plain_values, keys=CATALOG_KEYS))
    tax = data.draw(st.just(TAX) | mutated_doc(TAX, values=plain_values))
    row = StoreRow("s1", "CAD", _json_round_trip(tax), _json_round_trip(catalog), 3, 5,
                   Decimal(20))  # fmt: skip
    try:
        row.rules()
    except CatalogFileError as exc:
        check_message(exc, starts=("catalog", "loyalty", "tax"))


def _json_round_trip(doc: Any) -> Any:
    return json.loads(json.dumps(doc, default=str))


# --- CSV ---------------------------------------------------------------------------------

CSV_ROWS = list(csv.reader(io.StringIO(CSV_TEXT)))
CELLS = st.one_of(
    st.sampled_from(["", " ", "4.99", "4.999", "-1", "1e5", "1e999999999", "9" * 5000, "NaN",
                     "Infinity", "0x10", "1_000", "١٢", "kg", "KG", "lb;oz", "0;-1", "1e400",
                     ";;", "a,b", '"', "\x00", "\r", "sku", "produce", "zero", "x" * 10_000]),
    st.text(max_size=12),
)  # fmt: skip


@st.composite
def csv_documents(draw: st.DrawFn) -> str:
    rows = [list(r) for r in CSV_ROWS]
    for _ in range(draw(st.integers(1, 5))):
        op = draw(st.sampled_from(["cell", "cell", "cell", "row", "column", "duplicate"]))
        at = draw(st.integers(0, len(rows) - 1))
        if op == "cell" and rows[at]:
            rows[at][draw(st.integers(0, len(rows[at]) - 1))] = draw(CELLS)
        elif op == "row":
            del rows[at]
            if not rows:
                rows = [[]]
        elif op == "column":
            column = draw(st.integers(0, len(COLUMNS)))
            for row in rows:
                row[column:column] = [draw(CELLS)] if draw(st.booleans()) else []
        else:
            rows.insert(at, list(rows[at]))
    out = io.StringIO()
    csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n"]))).writerows(rows)
    return out.getvalue()


def csv_parses_or_names_the_row(text: str) -> StoreData | None:
    try:
        return parse_csv(text, "CAD", "catalog.csv")
    except CatalogFileError as exc:
        check_message(exc, starts="catalog.csv: ")
        return None


@fuzz(200)
@given(csv_documents())
def test_mutated_csv_cells_parse_or_name_the_row_and_column(text: str) -> None:
    csv_parses_or_names_the_row(text)


@fuzz(200)
@given(mutated_bytes(CSV_TEXT.encode(), max_ops=5, tokens=[b",", b'"', b";", b"\r\n", b"\n"]))
def test_mutated_csv_bytes_load_or_name_the_file(raw: bytes) -> None:
    text = raw.decode("utf-8", "replace")
    csv_parses_or_names_the_row(text)


def test_a_csv_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    path.write_bytes(CSV_TEXT.encode()[:40] + b"\xff\xfe" + CSV_TEXT.encode()[40:])
    with pytest.raises(CatalogFileError, match=f"^{path}: not UTF-8 text"):
        load_csv(path, "CAD")


# --- catalogue files, as `catalog load` and the register's import read them ---------------


@fuzz(150)
@given(st.data())
def test_mutated_catalogue_files_load_or_name_the_file(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    config = demo_config()
    suffix = data.draw(st.sampled_from([".toml", ".json"]))
    doc = data.draw(mutated_doc(CATALOG, values=catalog_values, keys=CATALOG_KEYS))
    raw = toml_bytes(doc) if suffix == ".toml" else json_bytes(doc)
    if data.draw(st.booleans()):
        raw = data.draw(mutated_bytes(raw, tokens=[b'"', b"[", b"{", b"\xff"]))
    path = tmp_path_factory.mktemp("catalog") / f"catalog{suffix}"
    path.write_bytes(raw)
    try:
        load_store_file(path, config)
    except CatalogFileError as exc:
        check_message(exc, starts=f"{path}: ")


@functools.cache
def demo_config() -> Config:
    return load_config(REPO / "config" / "demo" / "register.toml", PACKAGED_DEFAULTS)


# --- label templates --------------------------------------------------------------------

LABEL_KEYS = ["name", "width_mm", "height_mm", "gap_mm", "elements", "type", "x", "y", "size",
              "text", "height", "symbology", "data", "width", "thickness", "length",
              "vertical"]  # fmt: skip


@fuzz(200)
@given(st.data())
def test_mutated_label_templates_parse_or_name_the_key(data: st.DataObject) -> None:
    _, doc = TEMPLATES[data.draw(st.sampled_from(sorted(TEMPLATES)))]
    mutated = data.draw(mutated_doc(doc, values=plain_values, keys=LABEL_KEYS, max_ops=4))
    try:
        parse_template(mutated, "label.toml")
    except LabelTemplateError as exc:
        check_message(exc, starts="label.toml: ")


@fuzz(150)
@given(st.data())
def test_mutated_template_files_import_or_name_the_file(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    raw, doc = TEMPLATES[data.draw(st.sampled_from(sorted(TEMPLATES)))]
    if data.draw(st.booleans()):
        raw = data.draw(mutated_bytes(raw, max_ops=5, tokens=[b"=", b'"', b"[[", b"]]", b"\n"]))
    else:
        raw = toml_bytes(data.draw(mutated_doc(doc, values=text_values, keys=LABEL_KEYS)))
    directory = tmp_path_factory.mktemp("labels")
    (directory / "label.toml").write_bytes(raw)
    try:
        templates = read_template_files([directory])
    except LabelTemplateError as exc:
        check_message(exc, starts=str(directory))
    else:
        assert len(templates) == 1


# --- what fuzzing found -----------------------------------------------------------------


def _with(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(CATALOG)
    target: Any = doc
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return doc


CATALOG_FOUND = {
    # Each escaped parse_store as something other than CatalogFileError before the fix.
    "a tier weight that is not a number (decimal.InvalidOperation)": (
        _with(("tiers", 0, "prices"), {"abc": 100}),
        "catalog.tiers[0].prices.abc: expected",
    ),
    "a promotion starting zoned and ending naive (TypeError comparing them)": (
        _with(("promotions", 0, "starts"), ZONED),
        "catalog.promotions[0].starts: expected",
    ),
    "a 5,000-digit integer where a decimal goes (int() digit limit)": (
        _with(("promotions", 0, "value"), 10**4400),
        "catalog.promotions[0].value: expected",
    ),
}


@pytest.mark.parametrize(("doc", "says"), list(CATALOG_FOUND.values()), ids=list(CATALOG_FOUND))
def test_what_fuzzing_found_in_catalogues_is_named(doc: dict[str, Any], says: str) -> None:
    with pytest.raises(CatalogFileError) as caught:
        parse_store(doc, currency="CAD")
    assert str(caught.value).startswith(says)


CSV_FOUND = {
    "a price of 1e999999999 (decimal.Overflow)": "1e999999999",
    "a price of 1e999990 (an int of a million digits: minutes of work)": "1e999990",
    "a price of nine thousand digits": "9" * 9000,
}


@pytest.mark.parametrize("price", list(CSV_FOUND.values()), ids=list(CSV_FOUND))
def test_what_fuzzing_found_in_csv_is_named(price: str) -> None:
    text = ",".join(COLUMNS) + f"\nmug,Mug,,{price},standard,,,,,\n"
    with pytest.raises(CatalogFileError, match="^catalog.csv: row 2, price: "):
        parse_csv(text, "CAD")


SETTINGS = [
    # Each escaped load_store_file before the fix.
    b'{"products": ' + b"[" * 5000 + b"]" * 5000 + b"}",  # RecursionError from json
    b'{"products": [], "x": ' + b"9" * 5000 + b"}",  # ValueError from int()
]


@pytest.mark.parametrize("raw", SETTINGS, ids=["deep", "digits"])
def test_catalogue_files_that_escape_load_store_file(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "catalog.json"
    path.write_bytes(raw)
    with pytest.raises(CatalogFileError):
        load_store_file(path, demo_config())


TEMPLATES_FOUND = {
    # Each escaped parse_template or read_template_file before the fix.
    "width_mm = 10**400 (OverflowError from math.isfinite)": {"width_mm": Raw("1" + "0" * 400)},
    "a 5,000-digit integer (ValueError from tomllib's int())": {"width_mm": HUGE_INT},
    "arrays nested 600 deep (RecursionError in tomllib)": {"elements": Raw("[" * 600 + "]" * 600)},
}


@pytest.mark.parametrize("change", list(TEMPLATES_FOUND.values()), ids=list(TEMPLATES_FOUND))
def test_template_files_that_escape_the_import(tmp_path: Path, change: dict[str, Any]) -> None:
    _, doc = TEMPLATES["shelf"]
    (tmp_path / "shelf.toml").write_bytes(toml_bytes({**doc, **change}))
    with pytest.raises(LabelTemplateError):
        read_template_files([tmp_path])
