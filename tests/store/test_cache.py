"""The cache: catalogue import, indexes, search, campaigns, customers, labels."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from appliance import pins
from appliance.bootstrap import import_catalog, open_storage
from appliance.config import Config
from appliance.domain.cart import Cart
from appliance.domain.pricing import price_cart
from appliance.domain.tender import TenderKind
from appliance.register import Register
from appliance.store import cache, local
from appliance.store.cache import dump
from appliance.store.errors import CorruptRecord
from appliance.store.lmdb_env import Storage
from tests.store.conftest import DEMO_CATALOG

NOW = datetime(2026, 11, 25, 9)


@pytest.fixture
def storage(config: Config) -> Storage:
    storage = open_storage(config)
    import_catalog(storage, config, DEMO_CATALOG)
    yield storage  # type: ignore[misc]
    storage.close()


def test_import_indexes_and_sync_metadata(storage: Storage) -> None:
    with storage.read() as txn:
        assert cache.search(txn, storage, "") == []
        assert cache.search(txn, storage, "zzz") == []
        assert cache.search(txn, storage, "cho") == ["chocolate", "cookie"]  # chocolate chip
        assert cache.search(txn, storage, "chip cho") == ["cookie"]
        assert cache.search(txn, storage, "POD") == ["pod-mango", "pod-mint", "pod-tobacco"]
        assert cache.search(txn, storage, "pod", limit=2) == ["pod-mango", "pod-mint"]
        assert cache.search(txn, storage, "pods mint") == ["pod-mint"]
        assert cache.search(txn, storage, "4011") == ["bananas"]  # a PLU is a barcode
        assert cache.skus_in_category(txn, storage, "dairy")[:2] == ["brie", "cheddar"]
        assert cache.skus_in_category(txn, storage, "nope") == []
        meta = cache.sync_status(txn, storage)["catalog"]
        assert meta["count"] == 60 and meta["version"] == "file:catalog.toml"
        assert cache.stock_level(txn, storage, "cola") is None


def test_a_second_import_replaces_the_first(
    storage: Storage, config: Config, tmp_path: Path
) -> None:
    small = tmp_path / "small.json"
    small.write_text(
        '{"products": [{"sku": "new", "name": "New thing", "category": "x", "price": 100,'
        ' "tax_class": "standard", "barcodes": ["123"]}]}'
    )
    with storage.read() as txn:
        before = cache.cache_version(txn, storage)
    assert len(import_catalog(storage, config, small).catalog.products) == 1
    with storage.read() as txn:
        assert cache.search(txn, storage, "ched") == [] and cache.search(txn, storage, "new") == [
            "new"
        ]
        assert cache.cache_version(txn, storage) == before + 1
        assert cache.read_campaigns(txn, storage, "CAD").promotions == ()


def test_campaigns_and_a_cached_tax_table(storage: Storage, register_with: Register) -> None:
    with storage.read() as txn:
        campaigns = cache.read_campaigns(txn, storage, "CAD")
        assert {p.id for p in campaigns.promotions} == {"bakery-eve", "cola-deal", "tea-week",
                                                        "free-mug"}  # fmt: skip
        assert campaigns.loyalty is not None and campaigns.limits["vape"].unit == "each"
        assert campaigns.tax is None
    tax = {"prices_include_tax": False, "rounding": "per_line",
           "components": {"HST": {"name": "HST", "rate": "0.13"}},
           "classes": {"standard": ["HST"], "food": [], "zero": [], "vapour": ["HST"]}}  # fmt: skip
    storage.write(lambda t: (t.put(b"tax", dump(tax), db=storage.dbs["settings"]),
                             cache.bump_cache_version(t, storage)))  # fmt: skip
    with storage.read() as txn:
        rules = register_with.rules(txn)
        mug = rules.catalog.product("mug")
        priced = price_cart(Cart().add_item(mug), rules, NOW)
        assert [t.code for t in priced.taxes] == ["HST"], "the back office's tax table wins"


def test_labels_and_customers(storage: Storage) -> None:
    storage.write(lambda t: cache.replace_label_templates(
        t, storage, {"shelf": {"name": "Shelf", "language": "zpl", "body": "^XA^XZ"}},
        now=NOW, version="v1"))  # fmt: skip
    storage.write(lambda t: cache.replace_customers(
        t, storage, [{"id": "c9", "name": "Nine", "points": 5}],
        [("gift_card", "g1", 700)], now=NOW, duration_s=0.1, version="v2"))  # fmt: skip
    with storage.read() as txn:
        assert cache.label_templates(txn, storage)["shelf"]["language"] == "zpl"
        assert local.customer_state(txn, storage, "c9", NOW.date()).points == 5
        held = local.balances(txn, storage, [(TenderKind.GIFT_CARD, "g1")], "CAD")
        assert held[(TenderKind.GIFT_CARD, "g1")].minor == 700
        assert set(cache.sync_status(txn, storage)) == {"catalog", "labels", "customers"}
        with pytest.raises(KeyError, match="customer c1 is not in the cache"):
            local.customer_record(txn, storage, "c1")


def test_corrupt_catalogue_records_name_their_key(storage: Storage) -> None:
    storage.write(lambda t: t.put(b"promotion:bad", b"{", db=storage.dbs["catalog"]))
    with (
        storage.read() as txn,
        pytest.raises(CorruptRecord, match="catalog at key b'promotion:bad'"),
    ):
        cache.read_campaigns(txn, storage, "CAD")
    storage.write(lambda t: t.put(b"promotion:bad", dump({"id": 1}), db=storage.dbs["catalog"]))
    with storage.read() as txn, pytest.raises(CorruptRecord, match="promotion:bad"):
        cache.read_campaigns(txn, storage, "CAD")


def test_products_mapping_is_lazy_and_complete(storage: Storage) -> None:
    with storage.read() as txn:
        products = cache.CachedProducts(txn, storage, "CAD")
        barcodes = cache.CachedBarcodes(txn, storage)
        assert len(products) == 60 and "cola" in products and "ghost" not in products
        assert sorted(products)[:2] == ["almonds", "apples-gala"]
        assert barcodes["4011"] == "bananas" and len(barcodes) == len(list(barcodes))
        with pytest.raises(KeyError):
            barcodes["nope"]


def test_pins_are_salted_slow_hashes() -> None:
    stored = pins.hash_pin("2468", cost=2**4)
    assert stored["alg"] == "scrypt" and "2468" not in str(stored)
    assert pins.check_pin("2468", stored) and not pins.check_pin("2469", stored)
    assert pins.hash_pin("2468", cost=2**4)["salt"] != stored["salt"]
    assert not pins.check_pin("2468", {"salt": "zz"})
    with pytest.raises(ValueError, match="4 to 12 digits"):
        pins.hash_pin("12a4")


def test_a_csv_import_replaces_products_and_keeps_the_campaigns(
    storage: Storage, config: Config, tmp_path: Path
) -> None:
    sheet = tmp_path / "products.csv"
    sheet.write_text(
        "sku,name,category,price,tax_class,barcodes,unit,presets,tier,limit_class\n"
        "pod-new,Pods new x2,vapes,15.99,vapour,0069000000999,,,,vape\n"
    )
    import_catalog(storage, config, sheet)
    with storage.read() as txn:
        campaigns = cache.read_campaigns(txn, storage, "CAD")
        assert "vape" in campaigns.limits and campaigns.promotions, "campaigns are kept"
        assert [c.id for c in campaigns.categories] == ["vapes"]
        assert cache.search(txn, storage, "pods") == ["pod-new"]
