"""The register's commands as a field tech runs them: real processes over real LMDB data.

Each test rings up sales with a real Register over real LMDB files, closes it
(as if the register were stopped), then runs `python -m appliance.cli` in a
subprocess against the same data dir; the busy tests keep the register open.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from appliance.bootstrap import open_storage
from appliance.catalog_csv import COLUMNS, _placed, load_csv, parse_csv
from appliance.catalog_file import CatalogFileError
from appliance.config import Config
from appliance.domain.money import Money
from appliance.domain.tender import Tender
from appliance.register import Register
from appliance.store import outbox
from appliance.store.outbox import EntryState
from tests.store.conftest import CASHIER_PIN, FakeClock, make_register, seed, write_config

ROOT = Path(__file__).resolve().parent.parent
HEADER = ",".join(COLUMNS)


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "appliance.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


@dataclass
class Shop:
    """A register's config file and the sales it completed (id -> total as printed)."""

    path: Path
    config: Config
    sales: dict[str, str]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run(*args, "--config", str(self.path))

    @property
    def ids(self) -> list[str]:
        return list(self.sales)


@pytest.fixture
def shop(tmp_path: Path) -> Shop:
    """Three cash sales completed, then the register stopped."""
    config = write_config(tmp_path)
    storage = open_storage(config)
    seed(storage, config)
    register = make_register(config, FakeClock(), storage)
    sales = {}
    try:
        register.login("ann", CASHIER_PIN)
        register.open_till(Money(20000, "CAD"))
        for sku in ("cola", "sourdough", "croissant"):
            register.add_sku(sku)
            register.add_tender(Tender.cash(Money(2000, "CAD")))
            sale = register.complete().sale
            sales[sale.id] = sale.total.format()
    finally:
        register.io.close()
        storage.close()
    return Shop(tmp_path / "register-s1-r1.toml", config, sales)


@pytest.fixture
def running(shop: Shop) -> Iterator[Register]:
    """The register running: it holds the storage (and its writer lock)."""
    storage = open_storage(shop.config)
    register = make_register(shop.config, FakeClock(), storage)
    yield register
    register.io.close()
    storage.close()


def settle(shop: Shop, entry_id: str, state: EntryState, reason: str = "") -> None:
    storage = open_storage(shop.config)
    register = make_register(shop.config, FakeClock(), storage)
    try:
        assert register.settle_entry(entry_id, state, reason)
    finally:
        register.io.close()
        storage.close()


def stored_payloads(config: Config) -> dict[str, bytes]:
    queue = outbox.Queue(config.register.store, config.register.id)
    with open_storage(config, readonly=True) as storage, storage.read() as txn:
        return {
            e.id: outbox.payload(txn, storage, e.key) for e in outbox.entries(txn, storage, queue)
        }


def stored_payload(config: Config, key: bytes) -> bytes:
    with open_storage(config, readonly=True) as storage, storage.read() as txn:
        return outbox.payload(txn, storage, key)


def search(config: Config, query: str) -> list[str]:
    with open_storage(config, readonly=True) as storage:
        register = make_register(config, FakeClock(), storage)
        try:
            return [p.sku for p in register.search(query)]
        finally:
            register.io.close()


def field(output: str, name: str) -> str:
    """The value of a `name  value` line of `appliance status`."""
    for line in output.splitlines():
        if line.startswith(name + " "):
            return line[len(name) :].strip()
    raise AssertionError(f"no {name!r} line in:\n{output}")


# --- status -----------------------------------------------------------------------------


def test_status_shows_counts_and_the_last_catalogue_sync(shop: Shop) -> None:
    settle(shop, shop.ids[0], EntryState.REJECTED, "tax mismatch")
    result = shop.cli("status")
    assert result.returncode == 0, result.stderr
    assert field(result.stdout, "store") == "s1" and field(result.stdout, "register") == "r1"
    assert field(result.stdout, "unsent") == "2" and field(result.stdout, "rejected") == "1"
    assert field(result.stdout, "last seq") == "3"
    sync = field(result.stdout, "sync catalog")
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d, 60 records in [\d.]+ s", sync), sync
    assert "version file:catalog.toml" in sync


def test_status_finds_the_config_through_the_environment_and_prints_no_secret(
    shop: Shop,
) -> None:
    secret = shop.path.parent / "mqtt-password"
    secret.write_text("hunter2-very-secret\n")
    text = shop.path.read_text().replace(
        'url = "mqtt://127.0.0.1:1883"',
        f'url = "mqtt://127.0.0.1:1883"\nusername = "r1"\npassword_file = "{secret}"',
    )
    shop.path.write_text(text)
    result = run("status", env={"APPLIANCE_CONFIG": str(shop.path)})
    assert result.returncode == 0, result.stderr
    assert field(result.stdout, "unsent") == "3"
    assert "hunter2" not in result.stdout + result.stderr


# --- outbox list and show ---------------------------------------------------------------


def test_outbox_list_shows_the_pending_sales_with_their_totals(shop: Shop) -> None:
    result = shop.cli("outbox", "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:6] == ["SEQ", "ID", "TIME", "KIND", "STATE", "TOTAL"]
    assert len(lines) == 4
    for seq, (sale_id, total) in enumerate(shop.sales.items(), 1):
        expected = f"{seq} {sale_id} 2026-11-25 09:00:00 sale pending {total} 0"
        assert lines[seq].split() == expected.split()


def test_outbox_list_lists_every_unsent_entry_however_many(shop: Shop) -> None:
    queue = outbox.Queue("s1", "r1")

    def punches(txn: object) -> None:
        for n in range(250):
            outbox.append(txn, storage, queue, entry_id=f"01a21000-0000-7000-8001-{n:012d}",
                          kind="timeclock", at=datetime(2026, 11, 25, 10), body={"n": n},
                          summary={"action": "in"})  # fmt: skip

    with open_storage(shop.config) as storage:
        storage.write(punches)
    result = shop.cli("outbox", "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1 + 253 and lines[-1].split()[:2] == [
        "253",
        "01a21000-0000-7000-8001-000000000249",
    ]


def test_outbox_list_hides_confirmed_entries_unless_asked_for_all(shop: Shop) -> None:
    settle(shop, shop.ids[0], EntryState.CONFIRMED)
    settle(shop, shop.ids[1], EntryState.REJECTED, "stale price list")
    listed = shop.cli("outbox", "list")
    assert listed.returncode == 0, listed.stderr
    assert shop.ids[0] not in listed.stdout
    assert "rejected" in listed.stdout and "stale price list" in listed.stdout
    every = shop.cli("outbox", "list", "--all")
    assert every.returncode == 0, every.stderr
    assert all(sale_id in every.stdout for sale_id in shop.ids)
    assert "confirmed" in every.stdout


def test_outbox_show_prints_the_state_the_payload_and_the_receipt(shop: Shop) -> None:
    sale_id = shop.ids[1]
    result = shop.cli("outbox", "show", sale_id)
    assert result.returncode == 0, result.stderr
    head, rest = result.stdout.split("payload:\n")
    payload_text, receipt = rest.split("receipt:\n")
    assert f"entry {sale_id}" in head and "pending" in head and "attempts  0" in head
    assert json.loads(payload_text) == json.loads(stored_payloads(shop.config)[sale_id])
    assert '\n  "body": {' in payload_text  # indented
    assert "Demo Store" in receipt and "Sourdough loaf" in receipt
    assert "TOTAL CAD" in receipt and shop.sales[sale_id] in receipt
    by_seq = shop.cli("outbox", "show", "2")
    assert by_seq.returncode == 0 and by_seq.stdout == result.stdout


def test_outbox_show_of_an_unknown_id_is_a_clear_error(shop: Shop) -> None:
    result = shop.cli("outbox", "show", "01a21000-0000-7000-8000-999999999999")
    assert result.returncode == 2
    assert "error: no outbox entry '01a21000-0000-7000-8000-999999999999'" in result.stderr
    assert "Traceback" not in result.stderr


# --- outbox export ----------------------------------------------------------------------


def read_export(path: Path) -> tuple[dict[str, object], list[dict[str, object]]]:
    header, *entries = (json.loads(line) for line in path.read_text().splitlines())
    return header, entries


def test_export_writes_every_unconfirmed_entry_with_its_exact_payload(
    shop: Shop, tmp_path: Path
) -> None:
    settle(shop, shop.ids[0], EntryState.CONFIRMED)
    settle(shop, shop.ids[2], EntryState.REJECTED, "stale price list")
    stick = tmp_path / "stick"
    stick.mkdir()
    target = stick / "outbox.jsonl"
    result = shop.cli("outbox", "export", str(target))
    assert result.returncode == 0, result.stderr
    assert "exported 2 unconfirmed entries (1 pending, 1 rejected)" in result.stdout
    assert str(target) in result.stdout
    header, entries = read_export(target)
    assert {k: header[k] for k in ("export", "store", "register", "count")} == {
        "export": "outbox",
        "store": "s1",
        "register": "r1",
        "count": 2,
    }
    assert datetime.fromisoformat(str(header["exported_at"])).tzinfo is not None
    assert [(e["seq"], e["id"], e["state"], e["reason"]) for e in entries] == [
        (2, shop.ids[1], "pending", ""),
        (3, shop.ids[2], "rejected", "stale price list"),
    ]
    stored = stored_payloads(shop.config)
    for entry in entries:
        assert entry["kind"] == "sale"
        assert entry["payload"] == json.loads(stored[str(entry["id"])])
    assert os.listdir(stick) == ["outbox.jsonl"]  # no temp file left behind
    assert field(shop.cli("status").stdout, "unsent") == "1"  # the confirmed one left


def test_export_replaces_an_older_file_and_reads_only(shop: Shop, tmp_path: Path) -> None:
    target = tmp_path / "outbox.jsonl"
    target.write_text("an older, longer export\n" * 1000)
    before = stored_payloads(shop.config)
    result = shop.cli("outbox", "export", str(target))
    assert result.returncode == 0, result.stderr
    header, entries = read_export(target)
    assert header["count"] == 3 and len(entries) == 3
    assert stored_payloads(shop.config) == before
    to_dir = shop.cli("outbox", "export", str(tmp_path))
    assert to_dir.returncode == 2 and "is a directory" in to_dir.stderr


def test_export_keeps_an_entry_whose_state_record_is_damaged(shop: Shop, tmp_path: Path) -> None:
    queue = outbox.Queue("s1", "r1")
    with open_storage(shop.config) as storage:
        storage.write(lambda t: t.put(queue.key(2), b"{not json", db=storage.dbs["outbox_state"]))
    target = tmp_path / "outbox.jsonl"
    result = shop.cli("outbox", "export", str(target))
    assert result.returncode == 0, result.stderr
    header, entries = read_export(target)
    assert header["count"] == 3
    damaged = entries[1]
    assert damaged["seq"] == 2 and damaged["id"] == shop.ids[1] and damaged["state"] == "unknown"
    assert "corrupt record in outbox_state" in str(damaged["reason"])
    assert damaged["payload"] == json.loads(stored_payload(shop.config, queue.key(2)))


# --- catalog import ---------------------------------------------------------------------


def test_catalog_import_of_a_csv_replaces_the_catalogue(shop: Shop, tmp_path: Path) -> None:
    csv_file = tmp_path / "catalog.csv"
    csv_file.write_text(
        f"{HEADER}\n"
        "dragonfruit,Dragon fruit,produce,3.49,zero,4100;0200009000004,,,,\n"
        'oolong,"Oolong, loose",tea,0.48,zero,,g,50;100,,\n'
    )
    result = shop.cli("catalog", "import", str(csv_file))
    assert result.returncode == 0, result.stderr
    assert f"imported 2 products from {csv_file} in " in result.stdout
    assert search(shop.config, "dragon") == ["dragonfruit"]
    assert search(shop.config, "4100") == ["dragonfruit"]
    assert search(shop.config, "cola") == []  # replaced, not merged
    sync = field(shop.cli("status").stdout, "sync catalog")
    assert "2 records" in sync and "version file:catalog.csv" in sync


def test_catalog_import_of_json_replaces_the_catalogue(shop: Shop, tmp_path: Path) -> None:
    json_file = tmp_path / "catalog.json"
    pastrami = {"sku": "pastrami", "name": "Smoked pastrami", "category": "deli", "price": 3990}
    catalogue = {
        "categories": [{"id": "deli", "name": "Deli"}],
        "products": [{**pastrami, "tax_class": "zero", "unit": "kg"}],
    }
    json_file.write_text(json.dumps(catalogue))
    result = shop.cli("catalog", "import", str(json_file))
    assert result.returncode == 0, result.stderr
    assert "imported 1 products" in result.stdout
    assert search(shop.config, "pastrami") == ["pastrami"]
    assert search(shop.config, "sourdough") == []


def test_catalog_import_of_a_bad_csv_names_row_and_column_and_changes_nothing(
    shop: Shop, tmp_path: Path
) -> None:
    csv_file = tmp_path / "catalog.csv"
    csv_file.write_text(
        f"{HEADER}\nkale,Kale,produce,2.99,zero,,,,,\nfigs,Figs,produce,4.999,zero,,,,,\n"
    )
    result = shop.cli("catalog", "import", str(csv_file))
    assert result.returncode == 2
    assert result.stderr == (
        f"error: {csv_file}: row 3, price: '4.999' has more decimals than CAD allows\n"
    )
    assert search(shop.config, "cola") == ["cola"]


def test_catalog_import_is_refused_while_the_register_runs_but_reading_works(
    shop: Shop, running: Register, tmp_path: Path
) -> None:
    result = shop.cli("catalog", "import", str(ROOT / "config" / "demo" / "catalog.csv"))
    assert result.returncode == 2
    assert "in use by another process" in result.stderr and f"pid {os.getpid()}" in result.stderr
    assert "Traceback" not in result.stderr
    status = shop.cli("status")
    assert status.returncode == 0 and field(status.stdout, "unsent") == "3", status.stderr
    listed = shop.cli("outbox", "list")
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) == 4, listed.stderr
    exported = shop.cli("outbox", "export", str(tmp_path / "outbox.jsonl"))
    assert exported.returncode == 0, exported.stderr
    assert running.search("cola")  # the running register was not disturbed


def test_catalog_import_warns_of_tiers_and_limits_the_file_does_not_define(
    shop: Shop, tmp_path: Path
) -> None:
    json_file = tmp_path / "catalog.json"
    json_file.write_text(
        '{"products": ['
        '{"sku": "sencha", "name": "Sencha", "category": "tea", "price": 32, "tax_class": "zero",'
        ' "unit": "g", "presets": ["50", "100"], "tier": "tea-premium"},'
        '{"sku": "pod-mint", "name": "Pods mint", "category": "vapes", "price": 1599,'
        ' "tax_class": "vapour", "limit_class": "vape"}]}'
    )
    result = shop.cli("catalog", "import", str(json_file))
    assert result.returncode == 0, result.stderr
    assert "warning: price tiers not defined in the file: tea-premium" in result.stderr
    assert "warning: limit classes not defined in the file: vape" in result.stderr


def test_a_csv_import_keeps_the_cached_campaigns(shop: Shop, tmp_path: Path) -> None:
    csv_file = tmp_path / "catalog.csv"
    csv_file.write_text(f"{HEADER}\npod-mint,Pods mint,vapes,15.99,vapour,,,,,vape\n")
    result = shop.cli("catalog", "import", str(csv_file))
    assert result.returncode == 0, result.stderr
    assert "limit classes and loyalty were kept" in result.stdout and not result.stderr


# --- failures a tech may meet -----------------------------------------------------------


def test_a_missing_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    write_config(tmp_path)
    config = tmp_path / "register-s1-r1.toml"
    for command in (["status"], ["outbox", "list"], ["outbox", "export", "x.jsonl"]):
        result = run(*command, "--config", str(config))
        assert result.returncode == 2, command
        assert result.stderr == (
            f"error: no register data in {tmp_path / 'data'} (has the register run?)\n"
        )
    assert not (tmp_path / "data").exists()


def test_a_missing_config_is_a_clear_error(tmp_path: Path) -> None:
    result = run("status", "--config", str(tmp_path / "nowhere.toml"))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {tmp_path / 'nowhere.toml'}: cannot read")


# --- the CSV format, in process ---------------------------------------------------------


def test_the_demo_csv_reads() -> None:
    data = load_csv(ROOT / "config" / "demo" / "catalog.csv", "CAD")
    assert len(data.catalog.products) == 13
    assert data.catalog.products["cola"].barcodes == ("0067000000010", "0067000000095")
    assert data.catalog.products["chips"].name == "Sea salt chips, 200 g"
    assert data.catalog.products["cheddar"].price == Money(3299, "CAD")
    assert data.catalog.categories["produce"].name == "produce"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "x.csv: empty file; the first row must name the columns"),
        (
            "sku,name,colour\n",
            "x.csv: row 1 (header): unknown column 'colour'; missing columns 'category', "
            "'price', 'tax_class', 'barcodes', 'unit', 'presets', 'tier', 'limit_class'",
        ),
        (HEADER + ",price\n", "x.csv: row 1 (header): column named twice: 'price'"),
        (f"{HEADER}\na,A,c,1.00,zero,,,,\n", "x.csv: row 2: 9 fields, the header has 10"),
        (f"{HEADER}\na,A,c,1.00,,,,,,\n", "x.csv: row 2, tax_class: empty"),
        (f"{HEADER}\na,A,c,$1,zero,,,,,\n", "x.csv: row 2, price: not an amount of money: '$1'"),
        (f"{HEADER}\na,A,c,-1,zero,,,,,\n", "x.csv: row 2, price: '-1' is negative"),
        (f"{HEADER}\na,A,c,1,zero,,lbs,,,\n", "x.csv: row 2, unit: 'lbs' is not a weight unit"),
        (f"{HEADER}\na,A,c,1,zero,,,50,,\n", "x.csv: row 2, presets: preset weights need a unit"),
        (f"{HEADER}\na,A,c,1,zero,,g,5;x,,\n", "x.csv: row 2, presets: 'x' is not a positive"),
        (f"{HEADER}\na,A,c,1,zero,,g,0,,\n", "x.csv: row 2, presets: '0' is not a positive"),
        (
            f"{HEADER}\na,A,c,1,zero,,,,,\n\nb,B,c,1,zero,,,,,\na,A2,c,1,zero,,,,,\n",
            "x.csv: row 5, sku: 'a' is already on row 2",
        ),
        (
            f"{HEADER}\na,A,c,1,zero,123,,,,\nb,B,c,1,zero,9;123,,,,\n",
            "x.csv: row 3, barcodes: '123' is already on row 2 (sku 'a')",
        ),
        (f'{HEADER}\na,"A,c,1,zero,,,,,\n', "x.csv: not valid CSV"),
    ],
)
def test_a_bad_csv_names_the_row_and_the_column(text: str, message: str) -> None:
    with pytest.raises(CatalogFileError) as caught:
        parse_csv(text, "CAD", "x.csv")
    assert str(caught.value).startswith(message), str(caught.value)


def test_header_names_are_trimmed_and_case_blind_and_columns_may_come_in_any_order() -> None:
    text = (
        " Price ,SKU,name,category,tax_class,barcodes,unit,presets,tier,limit_class\n"
        "0.05,nail,Nail,,standard,,,,,\n"
    )
    product = parse_csv(text, "CAD").catalog.products["nail"]
    assert product.price == Money(5, "CAD") and product.category == ""


def test_a_rule_parse_store_adds_later_is_still_placed_at_its_row_and_column() -> None:
    placed = _placed(
        CatalogFileError("catalog.products[1].price_tier: no such tier"), [2, 7], "x.csv"
    )
    assert str(placed) == "x.csv: row 7, tier: no such tier"
    whole = _placed(CatalogFileError("catalog.products[0]: product a: odd"), [4], "x.csv")
    assert str(whole) == "x.csv: row 4: product a: odd"
