"""Sync benchmarks over a real Mosquitto and the real back office: how fast a register's
backlog drains through a slow link (window 1 against 32, against raw paho QoS 1), and how
fast the back office ingests a burst of sales (SQLite, PostgreSQL with fsync on) against
the broker alone and against a bare one-row upsert.

Run with `make bench`. Every figure is printed (tables, then `BENCH` lines); nothing is
asserted on time, only that every sale was stored exactly once. The back office runs as
its own process (`python -m backoffice.cli serve`), connected straight to the broker.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter as Tally
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from appliance.bootstrap import open_storage, start_sync
from appliance.domain import codec
from appliance.domain.pan import card_number_at, may_hold_card_number
from appliance.domain.sale import Sale, rederive
from appliance.sync import wire
from backoffice.catalog import RulesCache
from backoffice.consumer import Consumer
from backoffice.db import Database, Tx
from backoffice.service import MAX_BATCH
from devstack import Mosquitto, Postgres, TcpProxy
from tests.bench.helpers import Stats, bench, table, time_ms
from tests.bench.sync_helpers import (
    QUIET,
    BackOfficeProcess,
    Counter,
    Filled,
    Message,
    Publisher,
    fill_register,
    instrument,
    outbox_messages,
    stocked_database,
)
from tests.store.conftest import FakeClock, make_register

# --- 1. draining a backlog through a 50 ms round trip -------------------------------------

ONE_WAY_S = 0.025  # TcpProxy.set_latency: each way, so a round trip gains 50 ms
W1_SALES, W32_SALES, WIDE = 500, 10_000, 32
PORT_CALLS = ("record_sync", "unsent_after")  # what the sync thread waits on
RAW_ROOT = "bench/raw/"  # the raw run's topics: nobody subscribes, the broker only acks


@dataclass(frozen=True, slots=True)
class Drain:
    """One timed run: `sales` messages, `seconds` from start to the last ack."""

    label: str
    sales: int
    inflight: int
    seconds: float
    connect_s: float | None = None  # start -> the link reported itself online
    steady_rate: float | None = None  # messages/s between 10% and 90% drained
    storage: dict[str, list[float]] | None = None  # the link's outbox calls, ms each

    @property
    def per_sale_ms(self) -> float:
        return self.seconds * 1000 / self.sales


def _sync(window: int) -> str:
    return f"[sync]\nwindow = {window}\n"


def drain(filled: Filled, label: str, timeout: float) -> Drain:
    """Open the filled register, start its link and time it until nothing is unsent."""
    storage = open_storage(filled.config)
    register = make_register(filled.config, FakeClock(), storage)
    total = filled.count
    try:
        assert register.status().unsent == total
        samples: list[tuple[float, int]] = []
        connected: float | None = None
        spent = instrument(register, PORT_CALLS)
        started = time.perf_counter()
        link = start_sync(register)
        try:
            while True:
                now = time.perf_counter()
                if connected is None and link.status().state != "offline":
                    connected = now - started
                unsent = register.status().unsent  # the outbox's own count, not the link's
                samples.append((now, unsent))
                if unsent == 0:
                    break
                if now - started > timeout:
                    raise TimeoutError(f"{label}: {unsent} of {total} unsent after {timeout} s")
                time.sleep(0.01)
            seconds = samples[-1][0] - started
        finally:
            link.stop()
        status = register.status()
        assert status.unsent == 0 and status.rejected == 0, status
    finally:
        register.io.close()
        storage.close()
    first = next(t for t, u in samples if u <= total * 0.9)
    last = next(t for t, u in samples if u <= total * 0.1)
    steady = total * 0.8 / (last - first) if last > first else None
    return Drain(label, total, filled.config.sync.window, seconds, connected, steady, spent)


def test_drain_window_over_a_50ms_link(tmp_path: Path) -> None:
    with (
        Mosquitto(tmp_path / "mosquitto", log_types=QUIET) as broker,
        TcpProxy(broker.host, broker.port) as proxy,
    ):
        proxy.set_latency(ONE_WAY_S)
        via_proxy = proxy.url_for("mqtt")
        narrow = fill_register(tmp_path / "w1", "w1", W1_SALES, extra=_sync(1), broker=via_proxy)
        wide = fill_register(tmp_path / "w32", "w32", W32_SALES, extra=_sync(WIDE),
                             broker=via_proxy)  # fmt: skip
        raw = [(RAW_ROOT + m.topic, m.payload) for m in outbox_messages(wide.config)]
        assert len(raw) == W32_SALES
        db_url = f"sqlite:///{tmp_path / 'backoffice.db'}"
        stocked_database(db_url, wide.config)
        office = BackOfficeProcess(db_url, broker.url, tmp_path / "backoffice.log")
        with office:
            w1 = drain(narrow, "register link, sync.window = 1", timeout=180)
            w32 = drain(wide, f"register link, sync.window = {WIDE}", timeout=300)
        publisher = Publisher(proxy.host, proxy.port, WIDE, "bench-raw")
        try:
            raw_s = publisher.publish_all(raw, timeout=300)
        finally:
            publisher.close()

    with Database(db_url) as db, db.transaction(readonly=True) as tx:
        stored, distinct = tx.one("SELECT COUNT(*), COUNT(DISTINCT id) FROM sales") or (0, 0)
        broken = tx.scalar("SELECT COUNT(*) FROM entries WHERE COALESCE(chain_ok, 0) <> 1", (), 0)
        rejected = tx.scalar("SELECT COUNT(*) FROM rejected", (), 0)
    assert stored == distinct == W1_SALES + W32_SALES, "every sale stored exactly once"
    assert broken == 0 and rejected == 0

    raw_run = Drain(f"raw paho QoS 1, max_inflight_messages_set({WIDE})", W32_SALES, WIDE, raw_s)
    rtt_ms = ONE_WAY_S * 2 * 1000
    print(
        f"\n(filled {narrow.count:,} + {wide.count:,} offline sales with Register.complete in "
        f"{narrow.seconds + wide.seconds:.1f} s; payloads avg "
        f"{sum(len(p) for _, p in raw) // len(raw)} bytes)"
    )
    print(
        f"\n1. outbox drain through a TcpProxy adding {ONE_WAY_S * 1000:.0f} ms each way "
        f"(round trip +{rtt_ms:.0f} ms) to a real Mosquitto;\n   back office: `backoffice serve` "
        f"on SQLite (WAL, synchronous=FULL) in its own process, straight to the broker"
    )
    print(f"  {'run':<44} {'sales':>7} {'in flight':>9} {'total s':>8} {'ms/sale':>8} "
          f"{'msg/s':>7} {'bound ms':>8} {'connect s':>9} {'steady/s':>8}")  # fmt: skip
    for run in (w1, w32, raw_run):
        bound = rtt_ms / run.inflight
        connect = "-" if run.connect_s is None else f"{run.connect_s:.3f}"
        steady = "-" if run.steady_rate is None else f"{run.steady_rate:.0f}"
        print(f"  {run.label:<44} {run.sales:>7,} {run.inflight:>9} {run.seconds:>8.2f} "
              f"{run.per_sale_ms:>8.3f} {run.sales / run.seconds:>7.0f} {bound:>8.3f} "
              f"{connect:>9} {steady:>8}")  # fmt: skip
    print(
        "  bound: the round trip divided by the messages in flight (the best any sender can do);"
        "\n  register runs are timed from start_sync() (connect and subscribe included) until"
        " Register.status().unsent == 0,\n  polled every 10 ms; the raw run from the first"
        " publish until the last PUBACK (its topics have no subscriber)"
    )
    print(
        "\n   the register's side: each outbox call the sync thread makes through the storage"
        " thread\n   (record_sync: one synced LMDB write per pass for its acks and sends;"
        " unsent_after: a load, one read)"
    )
    print(f"  {'run':<44} " + " ".join(f"{name + ' ms':>15}" for name in PORT_CALLS)
          + f" {'calls/sale':>10} {'ms/sale':>8} {'of wall':>7}")  # fmt: skip
    for run in (w1, w32):
        assert run.storage is not None
        calls = sum(len(samples) for samples in run.storage.values())
        busy = sum(sum(samples) for samples in run.storage.values())
        means = " ".join(
            f"{statistics.fmean(run.storage[name] or [0.0]):>15.3f}" for name in PORT_CALLS
        )
        print(f"  {run.label:<44} {means} {calls / run.sales:>10.2f} {busy / run.sales:>8.3f} "
              f"{busy / 1000 / run.seconds:>7.0%}")  # fmt: skip
    w1_vs_w32 = w1.per_sale_ms / w32.per_sale_ms
    w32_vs_raw = w32.per_sale_ms / raw_run.per_sale_ms
    print(f"  W=1 / W={WIDE} per sale: {w1_vs_w32:.1f} (target >= 20); "
          f"W={WIDE} / raw per sale: {w32_vs_raw:.2f} (target <= 2)")  # fmt: skip
    bench("drain_w1_vs_w32", w1_vs_w32)
    bench("drain_w32_vs_raw_qos1", w32_vs_raw)


# --- 2. the back office ingesting a burst -------------------------------------------------

INGEST_REGISTERS, PER_REGISTER = 5, 1_000
PUBLISH_INFLIGHT, RECEIVE_MAXIMUM = 64, 100  # 100: BackOffice's default Receive Maximum
RAW_REPEATS, DIRECT, BATCH = 3, 512, MAX_BATCH
# Mosquitto's default max_queued_messages (1000) drops QoS 1 messages queued for the back
# office past Receive Maximum + 1000, even while it is connected: with the default, this burst
# stored about 1,150 of 5,000 sales (registers would resend only after sync.ack_timeout_s).
BURST_QUEUE = 100_000


def _broker(directory: Path) -> Mosquitto:
    return Mosquitto(directory, log_types=QUIET, max_queued_messages=BURST_QUEUE)


def raw_ingest(directory: Path, messages: list[Message]) -> list[float]:
    """Seconds from the first publish until a plain subscriber received every message."""
    times = []
    with _broker(directory) as broker:
        subscriber = Counter(broker.host, broker.port, wire.OUT_FILTER, "bench-subscriber",
                             receive_maximum=RECEIVE_MAXIMUM)  # fmt: skip
        publisher = Publisher(broker.host, broker.port, PUBLISH_INFLIGHT, "bench-publisher")
        try:
            for _ in range(RAW_REPEATS):
                subscriber.expect(len(messages))
                started = time.perf_counter()
                publisher.publish_all([(m.topic, m.payload) for m in messages], timeout=60)
                assert subscriber.reached.wait(60), f"{subscriber.count} received"
                times.append(time.perf_counter() - started)
                assert sorted(subscriber.payloads) == sorted(m.payload for m in messages)
        finally:
            publisher.close()
            subscriber.close()
    return times


def office_ingest(
    directory: Path, db_url: str, messages: list[Message], consumers: int = 1
) -> tuple[float, float]:
    """Seconds from the first publish until the back office acked every message; then the
    same for the whole burst published again (every one a duplicate: the service's floor).
    With several consumers: one `serve --consumers N` (N processes, one shared group)."""
    directory.mkdir(parents=True, exist_ok=True)
    burst = [(m.topic, m.payload) for m in messages]
    timed: list[tuple[float, list[wire.Ack]]] = []
    extra = ["--consumers", str(consumers)]
    with (
        _broker(directory / "mosquitto") as broker,
        BackOfficeProcess(db_url, broker.url, directory / "backoffice.log", extra, consumers),
    ):
        acks = Counter(broker.host, broker.port, "pos/v1/+/+/ack", "bench-acks")
        publisher = Publisher(broker.host, broker.port, PUBLISH_INFLIGHT, "bench-publisher")
        try:
            for _ in range(2):
                acks.expect(len(messages))
                started = time.perf_counter()
                publisher.publish_all(burst, timeout=120)
                assert acks.reached.wait(300), f"{acks.count} of {len(messages)} acks"
                seconds = time.perf_counter() - started
                timed.append((seconds, [wire.decode_ack(p) for p in acks.payloads]))
        finally:
            publisher.close()
            acks.close()
    for (_, decoded), status in zip(timed, ("accepted", "duplicate"), strict=True):
        assert Tally(a.status for a in decoded) == {status: len(messages)}
        assert {a.id for a in decoded} == {m.id for m in messages}
    with Database(db_url) as db, db.transaction(readonly=True) as tx:
        stored, distinct = tx.one("SELECT COUNT(*), COUNT(DISTINCT id) FROM sales") or (0, 0)
        broken = tx.scalar("SELECT COUNT(*) FROM entries WHERE COALESCE(chain_ok, 0) <> 1", (), 0)
    assert stored == distinct == len(messages), "every sale stored exactly once"
    assert broken == 0
    return timed[0][0], timed[1][0]


def bare_upserts(url: str, messages: list[Message]) -> float:
    """Seconds for one `INSERT ... ON CONFLICT (id) DO NOTHING` per transaction, per message."""
    with psycopg.connect(url, autocommit=True) as conn:
        for setting in ("fsync", "synchronous_commit"):
            shown = conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(setting))).fetchone()
            assert shown is not None and shown[0] == "on", f"{setting} is off: not honest"
        conn.execute("CREATE TABLE bare_upsert (id TEXT PRIMARY KEY, payload BYTEA NOT NULL)")
        insert = "INSERT INTO bare_upsert (id, payload) VALUES (%s, %s) ON CONFLICT (id) DO NOTHING"
        started = time.perf_counter()
        for m in messages:
            conn.execute(insert, (m.id, m.payload))  # autocommit: a transaction each
        seconds = time.perf_counter() - started
        stored = conn.execute("SELECT COUNT(*) FROM bare_upsert").fetchone()
    assert stored is not None and stored[0] == len(messages)
    return seconds


def create_database(server: Postgres, name: str) -> str:
    with psycopg.connect(server.url_for("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return server.url_for(name)


@contextmanager
def counting_statements() -> Iterator[list[int]]:
    """Count the statements the back office sends through `Tx` (BEGIN/COMMIT not included)."""
    counted = [0]
    original = Tx._sql

    def counting(self: Tx, text: str) -> str:
        counted[0] += 1
        return original(self, text)

    Tx._sql = counting  # type: ignore[method-assign]
    try:
        yield counted
    finally:
        Tx._sql = original  # type: ignore[method-assign]


def direct_handle(
    db_url: str, messages: list[Message], batch: int = 1
) -> tuple[list[float], float]:
    """Consumer.handle_batch called in this process, no MQTT, `batch` messages a call:
    ms per message (one sample per call), statements per message."""
    samples = []
    with Database(db_url) as db, counting_statements() as counted:
        handler = Consumer(db, RulesCache())
        now = datetime.now(UTC)
        for start in range(0, len(messages), batch):
            part = [(m.topic, m.payload) for m in messages[start : start + batch]]
            ms, acks = time_ms(lambda part=part: handler.handle_batch(part, now))
            assert all(a is not None and a.status == "accepted" for a in acks), acks
            samples.append(ms / len(part))
    return samples, counted[0] / len(messages)


def cpu_phases(db_url: str, messages: list[Message]) -> list[Stats]:
    """What Consumer.handle does per sale before touching the database, phase by phase."""
    with Database(db_url) as db, db.transaction(readonly=True) as tx:
        found = RulesCache().get(tx, "s1")
    assert found is not None
    rules = found[1]
    phases: dict[str, list[float]] = {"wire.decode_envelope (JSON, schema, depth)": [],
                                      "card-number scan (raw first look, then the body)": [],
                                      "codec.from_data(Sale, body)": [],
                                      "rederive(sale, rules)": []}  # fmt: skip
    timers = list(phases.values())
    for m in messages:
        ms, envelope = time_ms(lambda m=m: wire.decode_envelope(m.payload))
        timers[0].append(ms)
        body: dict[str, Any] = envelope.body
        timers[1].append(time_ms(lambda b=body, raw=m.payload: may_hold_card_number(raw)
                                 and card_number_at(b, "body"))[0])  # fmt: skip
        ms, sale = time_ms(lambda b=body: codec.from_data(Sale, b, b["currency"], "body"))
        timers[2].append(ms)
        timers[3].append(time_ms(lambda s=sale: rederive(s, rules))[0])
    rows = [Stats.of(label, samples) for label, samples in phases.items()]
    summed = [sum(parts) for parts in zip(*timers, strict=True)]
    return [*rows, Stats.of("  sum of the above (CPU, no database)", summed)]


def test_consumer_ingest_rate(tmp_path: Path) -> None:
    registers = [
        fill_register(tmp_path / f"r{n}", f"r{n}", PER_REGISTER)
        for n in range(1, INGEST_REGISTERS + 1)
    ]
    per_register = [outbox_messages(filled.config) for filled in registers]
    messages = [m for batch in zip(*per_register, strict=True) for m in batch]  # interleaved
    total = len(messages)
    config = registers[0].config
    fill_s = sum(filled.seconds for filled in registers)

    raw_times = raw_ingest(tmp_path / "raw", messages)
    sqlite_url = f"sqlite:///{tmp_path / 'sqlite' / 'backoffice.db'}"
    stocked_database(sqlite_url, config)
    sqlite_s, sqlite_dup_s = office_ingest(tmp_path / "sqlite", sqlite_url, messages)
    sqlite_two_url = f"sqlite:///{tmp_path / 'sqlite-two' / 'backoffice.db'}"
    stocked_database(sqlite_two_url, config)
    sqlite_two_s, _ = office_ingest(tmp_path / "sqlite-two", sqlite_two_url, messages, 2)

    with Postgres(fsync=True) as server:
        stocked_database(server.url, config)
        postgres_s, postgres_dup_s = office_ingest(tmp_path / "postgres", server.url, messages)
        pg_two_url = create_database(server, "two")
        stocked_database(pg_two_url, config)
        pg_two_s, _ = office_ingest(tmp_path / "postgres-two", pg_two_url, messages, consumers=2)
        bare_s = bare_upserts(create_database(server, "bare"), messages)
        direct_pg = {}
        for batch in (1, BATCH):
            url = create_database(server, f"direct{batch}")
            stocked_database(url, config)
            direct_pg[batch] = direct_handle(url, messages[:DIRECT], batch)
    direct_sqlite = {}
    for batch in (1, BATCH):
        url = f"sqlite:///{tmp_path / f'direct{batch}' / 'backoffice.db'}"
        stocked_database(url, config)
        direct_sqlite[batch] = direct_handle(url, messages[:DIRECT], batch)
    direct_sqlite_url = url
    phases = cpu_phases(direct_sqlite_url, messages[:DIRECT])

    raw_s = statistics.median(raw_times)
    timed = {"raw": raw_s, "sqlite": sqlite_s, "postgres": postgres_s, "bare": bare_s,
             "sqlite_dup": sqlite_dup_s, "pg_dup": postgres_dup_s, "pg_two": pg_two_s,
             "sqlite_two": sqlite_two_s}  # fmt: skip
    rates = {name: total / seconds for name, seconds in timed.items()}
    avg = sum(len(m.payload) for m in messages) // total
    print(
        f"\n(filled {INGEST_REGISTERS} registers x {PER_REGISTER:,} offline sales with "
        f"Register.complete in {fill_s:.1f} s; payloads avg {avg} bytes)"
    )
    print(
        f"\n2. back office ingest of a burst of {total:,} distinct sale envelopes from "
        f"{INGEST_REGISTERS} registers (interleaved), QoS 1 from one paho client "
        f"(max {PUBLISH_INFLIGHT} in flight), loopback;\n   subscriber and back office "
        f"with Receive Maximum {RECEIVE_MAXIMUM}; broker max_queued_messages {BURST_QUEUE:,}"
        f"; PostgreSQL 15 with fsync=on (synchronous_commit on)"
    )
    rows = (
        (f"raw: plain subscriber received all (median of {RAW_REPEATS})", raw_s, "raw"),
        ("back office on SQLite: all acked (WAL, synchronous=FULL)", sqlite_s, "sqlite"),
        ("back office on PostgreSQL: all acked", postgres_s, "postgres"),
        ("bare upsert on PostgreSQL, one row per transaction", bare_s, "bare"),
        ("(info) SQLite: the same burst again, all duplicates", sqlite_dup_s, "sqlite_dup"),
        ("(info) PostgreSQL: the same burst again, all duplicates", postgres_dup_s, "pg_dup"),
        ("(info) SQLite: serve --consumers 2 (two processes)", sqlite_two_s, "sqlite_two"),
        ("(info) PostgreSQL: serve --consumers 2 (two processes)", pg_two_s, "pg_two"),
    )
    print(f"  {'path':<60} {'seconds':>8} {'msg/s':>8} {'ms/msg':>8}")
    for label, seconds, name in rows:
        print(f"  {label:<60} {seconds:>8.2f} {rates[name]:>8.0f} {seconds * 1000 / total:>8.3f}")
    print(f"  (raw runs: {', '.join(f'{t:.2f}' for t in raw_times)} s; the back office runs"
          f" time from the first publish to the last ack received by a subscriber)")  # fmt: skip
    direct_rows = [
        Stats.of(f"handle_batch of {batch}, {name} ({statements:.1f} statements/msg)", samples)
        for name, runs in (("SQLite", direct_sqlite), ("PostgreSQL", direct_pg))
        for batch, (samples, statements) in runs.items()
    ]
    table(
        f"   where a message's time goes: first {DIRECT} messages, called in this process "
        "(no MQTT), fresh databases; per message",
        [*phases, *direct_rows],
    )
    for name, service_s, (samples, _) in (
        ("SQLite", sqlite_s, direct_sqlite[BATCH]),
        ("PostgreSQL", postgres_s, direct_pg[BATCH]),
    ):
        print(f"  {name}: {service_s * 1000 / total:.3f} ms/msg through the service; "
              f"Consumer.handle_batch of {BATCH} alone {statistics.fmean(samples):.3f} ms/msg "
              "(mean)")  # fmt: skip
    print(
        "  a duplicate costs the service the checks before the transaction and a share of one"
        " that stores nothing:\n  near the service's floor (MQTT in, queue, worker, ack out,"
        " PUBACK), itself several times the raw subscriber's cost per message"
    )
    sqlite_vs_raw = rates["sqlite"] / rates["raw"]
    postgres_vs_raw = rates["postgres"] / rates["raw"]
    postgres_vs_bare = rates["postgres"] / rates["bare"]
    print(f"  SQLite/raw {sqlite_vs_raw:.3f} (target >= 0.5), PostgreSQL/raw "
          f"{postgres_vs_raw:.3f} (target >= 0.5), PostgreSQL/bare upsert "
          f"{postgres_vs_bare:.3f} (target >= 0.7)")  # fmt: skip
    bench("ingest_sqlite_vs_raw_qos1_rate", sqlite_vs_raw)
    bench("ingest_postgres_vs_raw_qos1_rate", postgres_vs_raw)
    bench("ingest_postgres_vs_bare_upsert_rate", postgres_vs_bare)
