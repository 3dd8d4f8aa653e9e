"""The cache: a copy of what the register sells from, maybe stale, always readable.

Products are kept one record per sku with three secondary indexes (barcode,
category, name tokens for search-as-you-type). The small tables (categories,
tiers, promotions, limits, loyalty, label templates) sit in `catalog` under a
kind prefix. Every kind carries its sync metadata: when it was last loaded,
how many records, how long it took, and the back office's version.

Pricing reads products lazily through `CachedProducts`, a Mapping bound to one
transaction, so a sale is priced and committed against one consistent snapshot
without loading 100,000 products into memory.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from appliance.catalog_file import StoreData, parse_tax
from appliance.domain import codec
from appliance.domain.catalog import Catalog, Category, PriceTier, Product
from appliance.domain.errors import EncodingError
from appliance.domain.limits import LimitClass
from appliance.domain.loyalty import LoyaltyProgram
from appliance.domain.promotions import Promotion
from appliance.domain.tax import TaxTable
from appliance.store.errors import CorruptRecord
from appliance.store.lmdb_env import Storage, Txn

_TOKEN = re.compile(r"[^\W_]+")
SEP = b"\0"


def tokens(text: str) -> list[str]:
    """Lower-case word tokens of a name or a query."""
    return _TOKEN.findall(text.lower())


def dump(data: Any) -> bytes:
    """A record's stored bytes (canonical JSON)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def load(database: str, key: bytes, raw: bytes) -> Any:
    """A stored record, or CorruptRecord naming where it lives."""
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptRecord(database, key, str(exc)) from None


V = TypeVar("V")


class _Keyed(Mapping[str, V]):
    """A read-only mapping over one database, read on demand from one transaction."""

    def __init__(self, txn: Txn, storage: Storage, database: str) -> None:
        self._txn, self._db = txn, storage.dbs[database]

    def __iter__(self) -> Iterator[str]:
        with self._txn.cursor(db=self._db) as cursor:
            for key in cursor.iternext(keys=True, values=False):
                yield key.decode()

    def __len__(self) -> int:
        return int(self._txn.stat(self._db)["entries"])


class CachedProducts(_Keyed[Product]):
    """Products by sku."""

    MEMO_MAX = 20_000

    def __init__(
        self, txn: Txn, storage: Storage, currency: str, memo: dict[str, Product] | None = None
    ) -> None:
        super().__init__(txn, storage, "products")
        self._currency = currency
        # Decoded products; a caller may share one memo across transactions of the same
        # cache version (products change only with it), else it lives for this transaction.
        self._seen: dict[str, Product] = {} if memo is None else memo

    def __getitem__(self, sku: str) -> Product:
        if sku in self._seen:
            return self._seen[sku]
        key = sku.encode()
        raw = self._txn.get(key, db=self._db)
        if raw is None:
            raise KeyError(sku)
        try:
            product = codec.from_data(Product, load("products", key, raw), self._currency)
        except EncodingError as exc:
            raise CorruptRecord("products", key, str(exc)) from None
        if len(self._seen) >= self.MEMO_MAX:
            self._seen.clear()
        self._seen[sku] = product
        return product


class CachedBarcodes(_Keyed[str]):
    """Barcode -> sku."""

    def __init__(self, txn: Txn, storage: Storage) -> None:
        super().__init__(txn, storage, "barcodes")

    def __getitem__(self, code: str) -> str:
        raw = self._txn.get(code.encode(), db=self._db)
        if raw is None:
            raise KeyError(code)
        return str(raw.decode())


@dataclass(frozen=True, slots=True)
class Campaigns:
    """The small tables, decoded once per cache version."""

    categories: tuple[Category, ...]
    tiers: tuple[PriceTier, ...]
    promotions: tuple[Promotion, ...]
    limits: dict[str, LimitClass]
    loyalty: LoyaltyProgram | None
    tax: TaxTable | None


def _table(txn: Txn, storage: Storage, kind: str) -> list[tuple[bytes, Any]]:
    prefix = f"{kind}:".encode()
    out = []
    with txn.cursor(db=storage.dbs["catalog"]) as cursor:
        if cursor.set_range(prefix):
            for key, raw in cursor:
                if not key.startswith(prefix):
                    break
                out.append((key, load("catalog", key, raw)))
    return out


def read_campaigns(txn: Txn, storage: Storage, currency: str) -> Campaigns:
    """Decode the small tables (callers memoise by `cache_version`)."""

    def decoded(kind: str, cls: type[Any]) -> list[Any]:
        items = []
        for key, data in _table(txn, storage, kind):
            try:
                items.append(codec.from_data(cls, data, currency))
            except EncodingError as exc:
                raise CorruptRecord("catalog", key, str(exc)) from None
        return items

    loyalty = decoded("loyalty", LoyaltyProgram)
    raw_tax = txn.get(b"tax", db=storage.dbs["settings"])
    tax = parse_tax(load("settings", b"tax", raw_tax)) if raw_tax is not None else None
    return Campaigns(
        categories=tuple(decoded("category", Category)),
        tiers=tuple(decoded("tier", PriceTier)),
        promotions=tuple(decoded("promotion", Promotion)),
        limits={lc.id: lc for lc in decoded("limit", LimitClass)},
        loyalty=loyalty[0] if loyalty else None,
        tax=tax,
    )


def cached_catalog(
    txn: Txn,
    storage: Storage,
    currency: str,
    campaigns: Campaigns,
    memo: dict[str, Product] | None = None,
) -> Catalog:
    """A Catalog whose products and barcodes are read from this transaction."""
    return Catalog(
        currency=currency,
        products=CachedProducts(txn, storage, currency, memo),
        categories={c.id: c for c in campaigns.categories},
        tiers={t.id: t for t in campaigns.tiers},
        barcodes=CachedBarcodes(txn, storage),
    )


CAMPAIGN_KINDS = ("category", "tier", "promotion", "limit", "loyalty")
"""Kinds in the `catalog` database that a catalogue import replaces (labels are separate)."""


def cache_version(txn: Txn, storage: Storage) -> int:
    """A number that changes whenever the cached catalogue changes."""
    raw = txn.get(b"cache_version", db=storage.dbs["meta"])
    return int(raw) if raw is not None else 0


def _clear(txn: Txn, storage: Storage, *names: str) -> None:
    for name in names:
        txn.drop(storage.dbs[name], delete=False)


def put_product(txn: Txn, storage: Storage, product: Product) -> None:
    """Write one product and its index entries (the caller cleared stale ones and bumps
    the cache version, which readers memoise decoded products by)."""
    dbs = storage.dbs
    sku = product.sku.encode()
    txn.put(sku, dump(codec.to_data(product)), db=dbs["products"])
    for code in product.barcodes:
        txn.put(code.encode(), sku, db=dbs["barcodes"])
    txn.put(product.category.encode() + SEP + sku, b"", db=dbs["by_category"])
    name = " ".join(tokens(product.name)).encode()
    for token in set(tokens(product.name)) | {product.sku.lower()}:
        txn.put(token.encode() + SEP + sku, name, db=dbs["names"])


def replace_catalog(
    txn: Txn,
    storage: Storage,
    data: StoreData,
    *,
    now: datetime,
    duration_s: float,
    version: str,
    tax: dict[str, Any] | None = None,
    products_only: bool = False,
) -> None:
    """Replace the catalogue in this transaction: everything, or only products and categories."""
    _clear(txn, storage, "products", "barcodes", "by_category", "names")
    for product in data.catalog.products.values():
        put_product(txn, storage, product)
    kinds = ("category",) if products_only else CAMPAIGN_KINDS
    for kind in kinds:
        for key, _ in _table(txn, storage, kind):
            txn.delete(key, db=storage.dbs["catalog"])
    tables: list[tuple[str, str, Any]] = [
        ("category", c.id, c) for c in data.catalog.categories.values()
    ]
    if not products_only:
        tables += [
            *(("tier", t.id, t) for t in data.catalog.tiers.values()),
            *(("promotion", p.id, p) for p in data.promotions),
            *(("limit", lc.id, lc) for lc in data.limits.values()),
        ]
        if data.loyalty is not None:
            tables.append(("loyalty", "program", data.loyalty))
    for kind, ident, record in tables:
        txn.put(f"{kind}:{ident}".encode(), dump(codec.to_data(record)), db=storage.dbs["catalog"])
    if tax is not None:
        txn.put(b"tax", dump(tax), db=storage.dbs["settings"])
    count = len(data.catalog.products)
    record_sync(txn, storage, "catalog", now=now, count=count, duration_s=duration_s,
                version=version)  # fmt: skip
    bump_cache_version(txn, storage)


def bump_cache_version(txn: Txn, storage: Storage) -> None:
    """Tell readers that memoised campaign tables are stale."""
    txn.put(b"cache_version", str(cache_version(txn, storage) + 1).encode(),
            db=storage.dbs["meta"])  # fmt: skip


def record_sync(
    txn: Txn,
    storage: Storage,
    kind: str,
    *,
    now: datetime,
    count: int,
    duration_s: float,
    version: str,
) -> None:
    """Note when a kind of data was last loaded, how much, how fast, which version."""
    record = {"last_sync": now.isoformat(), "count": count,
              "duration_s": round(duration_s, 3), "version": version}  # fmt: skip
    txn.put(kind.encode(), dump(record), db=storage.dbs["sync_meta"])


def sync_status(txn: Txn, storage: Storage) -> dict[str, dict[str, Any]]:
    """Sync metadata per data kind."""
    with txn.cursor(db=storage.dbs["sync_meta"]) as cursor:
        return {k.decode(): load("sync_meta", k, v) for k, v in cursor}


SEARCH_SCAN_CAP = 8_000
"""Index entries one keystroke may read at most: bounds the worst case on a huge
catalogue (two common words that rarely meet); the next keystroke narrows it."""


def _prefix_keys(cursor: Any, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
    if cursor.set_range(prefix):
        for key, value in cursor:
            if not key.startswith(prefix):
                return
            yield key, value


def _selectivity(cursor: Any, word: str, cap: int = 256) -> int:
    """How many index entries start with `word`, counted up to `cap`."""
    count = 0
    for _ in _prefix_keys(cursor, word.encode()):
        count += 1
        if count >= cap:
            break
    return count


def search(txn: Txn, storage: Storage, query: str, limit: int = 30) -> list[str]:
    """Skus whose name has a word starting with every word of the query.

    The most selective query word (fewest index entries, ties to the longest)
    drives a prefix scan of the name index; the other words are matched, in C,
    against the name stored beside each index entry, so a keystroke costs little
    more than what it shows and never reads more than SEARCH_SCAN_CAP entries.
    An exact barcode or sku comes first.
    """
    words = tokens(query)
    if not words:
        return []
    found: list[str] = []
    exact = txn.get(query.strip().encode(), db=storage.dbs["barcodes"])
    if exact is not None:
        found.append(exact.decode())
    with txn.cursor(db=storage.dbs["names"]) as cursor:
        driver = min(words, key=lambda w: (_selectivity(cursor, w), -len(w)))
        others = [re.compile(rb"(?:^| )" + re.escape(w.encode())) for w in words if w is not driver]
        for scanned, (key, name) in enumerate(_prefix_keys(cursor, driver.encode())):
            if scanned >= SEARCH_SCAN_CAP:
                break
            if all(pattern.search(name) for pattern in others):
                sku = key[key.index(SEP) + 1 :].decode()
                if sku not in found:
                    found.append(sku)
                    if len(found) >= limit:
                        break
    return found


def skus_in_category(txn: Txn, storage: Storage, category: str, limit: int = 500) -> list[str]:
    """Skus of a category, in sku order."""
    prefix = category.encode() + SEP
    out: list[str] = []
    with txn.cursor(db=storage.dbs["by_category"]) as cursor:
        if cursor.set_range(prefix):
            for key in cursor.iternext(keys=True, values=False):
                if not key.startswith(prefix) or len(out) >= limit:
                    break
                out.append(key[len(prefix) :].decode())
    return out


def stock_level(txn: Txn, storage: Storage, sku: str) -> Decimal | None:
    """The cached stock of a sku (None when the back office never sent one)."""
    raw = txn.get(sku.encode(), db=storage.dbs["stock"])
    return None if raw is None else Decimal(raw.decode())


def replace_label_templates(
    txn: Txn, storage: Storage, templates: dict[str, dict[str, Any]], *, now: datetime,
    version: str,
) -> None:  # fmt: skip
    """Replace the label templates (id -> {name, language, body}) the label screen prints."""
    for key, _ in _table(txn, storage, "label"):
        txn.delete(key, db=storage.dbs["catalog"])
    for ident, template in templates.items():
        txn.put(f"label:{ident}".encode(), dump(template), db=storage.dbs["catalog"])
    record_sync(txn, storage, "labels", now=now, count=len(templates), duration_s=0.0,
                version=version)  # fmt: skip


def label_templates(txn: Txn, storage: Storage) -> dict[str, dict[str, Any]]:
    """The cached label templates by id."""
    return {key.decode().split(":", 1)[1]: data for key, data in _table(txn, storage, "label")}


def replace_customers(
    txn: Txn,
    storage: Storage,
    customers: list[dict[str, Any]],
    balances: list[tuple[str, str, int]],
    *,
    now: datetime,
    duration_s: float,
    version: str,
) -> None:
    """Replace the cached customers and balances (kind, account, minor units) at once.

    The back office is authoritative: its refresh replaces what local sales
    decremented, which is right once those sales are confirmed (the sync
    machine refreshes only with an empty outbox).
    """
    txn.drop(storage.dbs["customers"], delete=False)
    txn.drop(storage.dbs["balances"], delete=False)
    for record in customers:
        txn.put(str(record["id"]).encode(), dump(record), db=storage.dbs["customers"])
    for kind, account, minor in balances:
        txn.put(f"{kind}:{account}".encode(), str(minor).encode(), db=storage.dbs["balances"])
    record_sync(txn, storage, "customers", now=now, count=len(customers),
                duration_s=duration_s, version=version)  # fmt: skip


def replace_settings(
    txn: Txn, storage: Storage, settings: dict[str, Any], *, now: datetime, version: str
) -> None:
    """Replace the store settings (e.g. "tax": a tax table, "store": name and address)."""
    txn.drop(storage.dbs["settings"], delete=False)
    for key, value in settings.items():
        txn.put(key.encode(), dump(value), db=storage.dbs["settings"])
    record_sync(txn, storage, "settings", now=now, count=len(settings), duration_s=0.0,
                version=version)  # fmt: skip
    bump_cache_version(txn, storage)


def setting(txn: Txn, storage: Storage, key: str) -> Any:
    """One cached store setting, or None."""
    raw = txn.get(key.encode(), db=storage.dbs["settings"])
    return None if raw is None else load("settings", key.encode(), raw)


def put_setting(txn: Txn, storage: Storage, key: str, value: Any) -> None:
    """One cached setting (the catalogue version, the store's own settings)."""
    txn.put(key.encode(), dump(value), db=storage.dbs["settings"])
