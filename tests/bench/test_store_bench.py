"""Storage benchmarks over real LMDB files: a sale's commit, search at 100,000
products, the pending queue at 100,000 entries.

Run with `make bench`. Every figure is printed (a table, then `BENCH` lines);
nothing is asserted on time, only that the answers are right.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import lmdb
import pytest

from appliance.bootstrap import open_storage
from appliance.config import Config
from appliance.domain.cart import WeightSource
from appliance.domain.catalog import Product
from appliance.domain.money import Money
from appliance.domain.tender import Tender
from appliance.register import CompletedSale, Register
from appliance.store import cache, outbox
from appliance.store.lmdb_env import Storage, Txn
from tests.bench.helpers import (
    Stats,
    bench,
    entry_times,
    generated_products,
    sale_like_body,
    table,
    time_ms,
)
from tests.store.conftest import CASHIER_PIN, FakeClock, make_register, seed, write_config

CATALOG_SIZE = 100_000
OUTBOX_SIZE = 100_000
BIG_MAP = "[storage]\nmap_size_mb = 1024\n"  # no map doubling (and re-run) while building


@dataclass
class Opened:
    """A register over its own LMDB environment, closed by the fixture."""

    config: Config
    storage: Storage
    register: Register


def opened(directory: Path, clock: FakeClock, extra: str = "") -> Opened:
    directory.mkdir(parents=True, exist_ok=True)
    config = write_config(directory, extra=extra)
    storage = open_storage(config)
    seed(storage, config)
    return Opened(config, storage, make_register(config, clock, storage))


def close(env: Opened) -> None:
    env.register.io.close()
    env.storage.close()


# --- 1. a sale's commit against a bare LMDB commit ----------------------------------------

SALE_ITEMS = ("cola", "chips", "sourdough", "milk-2l", "chocolate", "french-press", "mug")
SALE_WEIGHED = (
    ("bananas", Decimal("1.234"), WeightSource.SCALE),
    ("cheddar", Decimal("0.412"), WeightSource.MANUAL),
    ("sencha", Decimal("100"), WeightSource.PRESET),
)
BLOCK, BLOCKS, WARMUP = 10, 20, 10  # 200 timed of each, alternated in blocks of 10


def test_complete_vs_bare_lmdb_commit(tmp_path: Path) -> None:
    clock = FakeClock()
    env = opened(tmp_path / "register", clock)
    reg = env.register
    try:
        reg.login("ann", CASHIER_PIN)
        currency = env.config.register.currency
        reg.open_till(Money(20000, currency))
        for sku in SALE_ITEMS:
            reg.add_sku(sku)
        for sku, weight, source in SALE_WEIGHED:
            priced = reg.add_weighed(sku, weight, source)
        cart = reg.cart
        assert len(cart.lines) == 10
        due = priced.total.minor
        tender = Tender.cash(Money((due // 1000 + 2) * 1000, currency))

        last: list[CompletedSale] = []

        def complete() -> float:
            reg.cart, reg.tenders = cart, [tender]
            clock.advance(seconds=30)
            ms, done = time_ms(reg.complete)
            assert done.sale.total.minor == due
            last[:] = [done]
            return ms

        complete()
        sale_lines = len(last[0].sale.lines)
        with env.storage.read() as txn:
            payload = outbox.payload(txn, env.storage, reg.queue.key(1))
            assert outbox.unsent_count(txn, env.storage, reg.queue) == 1

        bare_env = lmdb.open(str(tmp_path / "bare"), map_size=64 << 20, max_dbs=2, sync=True,
                             metasync=True, writemap=False)  # fmt: skip
        bare_db = bare_env.open_db(b"outbox")
        keys = (reg.queue.key(n) for n in range(1, 10**6))

        def bare() -> float:
            key = next(keys)

            def put() -> None:
                with bare_env.begin(write=True) as txn:
                    txn.put(key, payload, db=bare_db)

            return time_ms(put)[0]

        for _ in range(WARMUP):
            complete()
            bare()
        completes: list[float] = []
        bares: list[float] = []
        for _ in range(BLOCKS):
            completes += [complete() for _ in range(BLOCK)]
            bares += [bare() for _ in range(BLOCK)]
        pricing = [time_ms(lambda: reg.price(cart))[0] for _ in range(50)]
        bare_env.close()
    finally:
        close(env)

    c, b = Stats.of("Register.complete() 10 lines", completes), Stats.of("bare put+commit", bares)
    ratio = c.median / b.median
    print(
        f"\nsale payload {len(payload)} bytes; cart of 10 lines (7 items, 3 weighed; the sale "
        f"has {sale_lines} with promotions' free lines), cash tender, till open;\n"
        f"LMDB sync=True metasync=True on both sides, same filesystem ({tmp_path})"
    )
    table("1. sale commit vs bare LMDB commit of the same bytes", [
        c, b, Stats.of("(info) Register.price() same cart, no commit", pricing)])  # fmt: skip
    print(f"  complete median {c.median:.3f} ms, bare median {b.median:.3f} ms, "
          f"ratio {ratio:.2f} (target <= 1.3)")  # fmt: skip
    bench("complete_vs_lmdb_commit", ratio)


# --- 2. search-as-you-type and barcodes at 100,000 products --------------------------------

QUERIES = (
    "cheddar", "aged ched", "dar cho", "dark chocolate", "sourdough", "green tea",
    "oat milk", "sparkling water", "org ban", "pot chips", "kombucha", "valley gouda",
    "greek yogurt", "espresso", "salt spring brie",
)  # fmt: skip
TYPO_QUERIES = ("farmhouse zzz", "coastal q", "organic xylo")  # no match: the whole driver scan
PASSES = 5


def keystrokes(query: str) -> list[str]:
    """What the screen searches for while `query` is typed (a trailing space changes nothing)."""
    return [query[:n] for n in range(1, len(query) + 1) if not query[:n].endswith(" ")]


def load_catalog(storage: Storage, currency: str) -> list[Product]:
    products = list(generated_products(CATALOG_SIZE, currency))
    step = 25_000
    for start in range(0, len(products), step):
        batch = products[start : start + step]

        def put(txn: Txn, batch: list[Product] = batch) -> None:
            for product in batch:
                cache.put_product(txn, storage, product)

        storage.write(put)

    def finish(txn: Txn) -> None:
        cache.record_sync(txn, storage, "catalog", now=datetime(2026, 11, 25, 8, 0),
                          count=CATALOG_SIZE, duration_s=0.0, version="bench")  # fmt: skip
        cache.bump_cache_version(txn, storage)

    storage.write(finish)
    return products


@pytest.fixture(scope="module")
def big_catalog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Opened, list[Product]]]:
    env = opened(tmp_path_factory.mktemp("catalog"), FakeClock(), BIG_MAP)
    ms, products = time_ms(lambda: load_catalog(env.storage, env.config.register.currency))
    print(f"\n(built {CATALOG_SIZE:,} products in {ms / 1000:.1f} s, in 4 write transactions)")
    yield env, products
    close(env)


def words_match(name: str, query: str) -> bool:
    words = cache.tokens(name)
    return all(any(w.startswith(q) for w in words) for q in cache.tokens(query))


def test_catalog_search_and_barcode(big_catalog: tuple[Opened, list[Product]]) -> None:
    env, products = big_catalog
    reg = env.register
    storage = env.storage

    # sanity: what a search returns matches what was typed
    for query in QUERIES:
        found = reg.search(query)
        assert found, query
        assert all(words_match(p.name, query) for p in found), query
    sample = products[12_344]
    assert reg.search(sample.barcodes[0])[0].sku == sample.sku

    typed = [k for q in QUERIES for k in keystrokes(q)]
    for prefix in typed:  # warm-up pass (page cache, memoised campaigns)
        reg.search(prefix)
    per_keystroke: list[float] = []
    per_query: dict[str, list[float]] = {q: [] for q in QUERIES}
    slowest: dict[str, float] = {}
    for _ in range(PASSES):
        for query in QUERIES:
            for prefix in keystrokes(query):
                ms, _ = time_ms(lambda p=prefix: reg.search(p))
                per_keystroke.append(ms)
                per_query[query].append(ms)
                slowest[prefix] = max(ms, slowest.get(prefix, 0.0))
    raw = []
    for _ in range(PASSES):
        for prefix in typed:

            def bare_search(prefix: str = prefix) -> list[str]:
                with storage.read() as txn:
                    return cache.search(txn, storage, prefix)

            raw.append(time_ms(bare_search)[0])
    typos = [time_ms(lambda q=q: reg.search(q))[0] for q in TYPO_QUERIES for _ in range(PASSES)]

    # barcode lookup: what add_barcode does before it touches the cart, i.e. on the
    # storage thread, in a read txn, rules(txn).catalog.by_barcode(code)
    rng = random.Random(3)
    codes = [p.barcodes[0] for p in rng.sample(products, 1000)]

    def lookup(code: str) -> Product:
        with storage.read() as txn:
            return reg.rules(txn).catalog.by_barcode(code)

    for code in codes[:100]:
        reg.io.call(lambda c=code: lookup(c))
    by_code = {p.barcodes[0]: p.sku for p in products}
    barcode_ms = []
    for code in codes:
        ms, product = time_ms(lambda c=code: reg.io.call(lambda: lookup(c)))
        assert product.sku == by_code[code]
        barcode_ms.append(ms)
    barcode_direct = [time_ms(lambda c=code: lookup(c))[0] for code in codes]
    barcode_search = [time_ms(lambda c=code: reg.search(c))[0] for code in codes[:300]]

    keystroke = Stats.of("Register.search(prefix), every keystroke", per_keystroke)
    barcode = Stats.of("barcode: storage thread + read txn + by_barcode", barcode_ms)
    rows = [keystroke, Stats.of("(info) cache.search only, same prefixes (no Product decode)", raw)]
    rows += [Stats.of(f"  query {q!r}", ms) for q, ms in per_query.items()]
    rows += [Stats.of(f"(info) typo, no match: {', '.join(map(repr, TYPO_QUERIES))}", typos)]
    table(f"2. search-as-you-type over {CATALOG_SIZE:,} products "
          f"({len(typed)} keystrokes x {PASSES} passes)", rows)  # fmt: skip
    worst = sorted(slowest.items(), key=lambda kv: -kv[1])[:5]
    print("  slowest keystrokes: " + ", ".join(f"{p!r} {ms:.2f} ms" for p, ms in worst))
    table("   barcode lookup (1,000 random barcodes)", [
        barcode,
        Stats.of("(info) same in the caller thread (no storage-thread hop)", barcode_direct),
        Stats.of("(info) Register.search(full barcode)", barcode_search),
    ])  # fmt: skip
    print(
        "  BENCH barcode_lookup_p99_ms is the first row: what Register.add_barcode does before it"
        " touches the cart (storage thread, read txn, rules(txn).catalog.by_barcode, decode)"
    )
    print("  target: < 5 ms per keystroke")
    bench("catalog_search_keystroke_median_ms", keystroke.median)
    bench("catalog_search_keystroke_p99_ms", keystroke.p99)
    bench("barcode_lookup_p99_ms", barcode.p99)


# --- 3. the pending queue at 100,000 entries ------------------------------------------------

APPEND_BATCH = 2_000
REPEATS = 200


def fill_outbox(storage: Storage, queue: outbox.Queue, currency: str) -> int:
    """Append OUTBOX_SIZE sale-shaped entries; returns the average payload size."""
    rng = random.Random(11)
    times = entry_times(datetime(2026, 11, 1, 9, 0))
    sizes = 0
    for start in range(1, OUTBOX_SIZE + 1, APPEND_BATCH):

        def batch(txn: Txn, start: int = start) -> int:
            size = 0
            for n in range(start, start + APPEND_BATCH):
                entry_id = f"01a22000-0000-7000-8000-{n:012d}"
                at = next(times)
                body = sale_like_body(rng, entry_id, at, currency)
                entry = outbox.append(txn, storage, queue, entry_id=entry_id, kind="sale",
                                      at=at, body=body,
                                      summary={"total": body["total"], "lines": len(body["lines"]),
                                               "cashier": "ann"})  # fmt: skip
                size += len(outbox.payload(txn, storage, entry.key))
            return size

        sizes += storage.write(batch)
    return sizes // OUTBOX_SIZE


def test_pending_queue_100k(tmp_path: Path) -> None:
    env = opened(tmp_path / "register", FakeClock(), BIG_MAP)
    reg, storage, queue = env.register, env.storage, env.register.queue
    try:
        build_ms, avg_payload = time_ms(
            lambda: fill_outbox(storage, queue, env.config.register.currency)
        )
        print(f"\n(appended {OUTBOX_SIZE:,} entries of ~{avg_payload} bytes in "
              f"{build_ms / 1000:.1f} s, {APPEND_BATCH:,} per write transaction)")  # fmt: skip

        def count() -> int:
            with storage.read() as txn:
                return outbox.unsent_count(txn, storage, queue)

        def first_page() -> list[outbox.OutboxEntry]:
            with storage.read() as txn:
                return outbox.entries(txn, storage, queue, index="unsent", limit=50)

        assert count() == OUTBOX_SIZE
        assert reg.status().unsent == OUTBOX_SIZE
        page = first_page()
        assert [e.seq for e in page] == list(range(1, 51))
        assert page[0].state is outbox.EntryState.PENDING

        counts, statuses, pages, pages_thread = [], [], [], []
        for _ in range(REPEATS):
            counts.append(time_ms(count)[0])
            statuses.append(time_ms(reg.status)[0])
            pages.append(time_ms(first_page)[0])
            pages_thread.append(time_ms(lambda: reg.io.call(first_page))[0])

        screens: list[float] = []
        for _ in range(REPEATS):
            ms, screen = time_ms(reg.pending)
            assert [e.seq for e in screen] == list(range(1, 201))
            screens.append(ms)
        full_direct = time_ms(
            lambda: reg.io.call(lambda: storage.write(
                lambda t: outbox.requeue_in_flight(t, storage, queue)))
        )[0]  # fmt: skip
    finally:
        close(env)

    count_stats = Stats.of("outbox.unsent_count (read txn)", counts)
    page_stats = Stats.of("outbox.entries(index='unsent', limit=50) (read txn)", pages)
    rows = [count_stats, Stats.of("Register.status()", statuses), page_stats,
            Stats.of("(info) first page via the storage thread", pages_thread)]  # fmt: skip
    rows.append(Stats.of("(info) Register.pending(): the screen's first 200", screens))
    table(f"3. pending queue with {OUTBOX_SIZE:,} unsent entries", rows)
    print(f"  (info) outbox.requeue_in_flight (write txn over the in-flight index): "
          f"{full_direct:.1f} ms")  # fmt: skip
    print("  target: < 10 ms")
    bench("pending_count_100k_ms", count_stats.median)
    bench("pending_first_page_100k_ms", page_stats.median)
