"""kill -9 at random moments: a crash before commit = no sale; after commit = exactly once.

The parent seeds a register's data dir once, then runs `tests.store.crash_child`
(a real register selling random carts as fast as it can) again and again, and
SIGKILLs it after a random delay: sometimes while it is still starting, often
within a few milliseconds of it starting to sell (so kills land inside LMDB
commits), sometimes after a few hundred sales. After every kill it reopens the
data read-only and checks:

- every sale id the child printed (it prints only after `complete()` returned)
  is in the outbox, exactly once; at most the last sale of a run is committed
  but not printed (killed between the commit and the print);
- the outbox has no gap, starts at 1 on the genesis hash, its hash chain
  verifies, and nothing committed earlier changed or went away;
- the cached effects equal those of the committed sales, no more, no less:
  stock, balances, the customer's points, purchase-limit counters, the till's
  expected cash and one receipt print job per sale.

Reproducible by its seed; every assertion names the seed and the kill.
"""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from appliance.bootstrap import open_storage
from appliance.config import Config
from appliance.domain import codec
from appliance.domain.chain import GENESIS_HASH, Link, payload_hash, verify_chain
from appliance.domain.sale import Sale
from appliance.domain.tender import TenderKind
from appliance.domain.till import TillState
from appliance.store import local, outbox
from appliance.store.cache import SEP, load
from appliance.store.lmdb_env import Storage, Txn
from appliance.store.outbox import Queue
from appliance.sync.wire import decode_envelope
from tests.store import crash_child
from tests.store.conftest import CASHIER_PIN, ROOT, seed, write_config

SEED = 20261125
KILLS = 200
QUEUE = Queue("s1", "r1")
READY_TIMEOUT_S = 20.0


@dataclass
class Committed:
    """What the sales committed so far add up to (decoded once each, in sequence order)."""

    payloads: list[bytes] = field(default_factory=list)  # index = sequence - 1
    ids: list[str] = field(default_factory=list)
    moved: dict[str, Decimal] = field(default_factory=dict)  # sku -> stock taken
    drawn: dict[bytes, int] = field(default_factory=dict)  # balance key -> minor units
    earned: dict[str, int] = field(default_factory=dict)  # customer -> points
    redeemed: dict[str, int] = field(default_factory=dict)
    counters: dict[bytes, Decimal] = field(default_factory=dict)
    cash: int = 0

    def add(self, payload: bytes, where: str) -> None:
        envelope = decode_envelope(payload)
        body = envelope.body
        sale = codec.from_data(Sale, body, body["currency"])
        seq = len(self.payloads) + 1
        assert envelope.kind == "sale", f"{where}: entry {seq} is a {envelope.kind}"
        assert (sale.id, sale.sequence) == (envelope.id, seq), f"{where}: entry {seq} mislabelled"
        self.payloads.append(payload)
        self.ids.append(sale.id)
        for line in sale.lines:  # the same rule as local.apply_sale
            moved = line.quantity if line.weight is None else line.weight * line.quantity
            self.moved[line.sku] = self.moved.get(line.sku, Decimal(0)) + moved
        for use in sale.balance_uses:
            key = local.balance_key(use.kind, use.account)
            self.drawn[key] = self.drawn.get(key, 0) + use.amount.minor
        self.cash += sum(t.applied.minor for t in sale.tenders if t.kind is TenderKind.CASH)
        if sale.customer_id is None:
            return
        if sale.loyalty is not None:
            customer = sale.customer_id
            self.earned[customer] = self.earned.get(customer, 0) + sale.loyalty.earned
            self.redeemed[customer] = self.redeemed.get(customer, 0) + sale.loyalty.redeemed
        for used in sale.limits:
            key = SEP.join((sale.customer_id.encode(), sale.local_time.date().isoformat().encode(),
                            used.limit.encode()))  # fmt: skip
            self.counters[key] = self.counters.get(key, Decimal(0)) + used.amount


@dataclass(frozen=True)
class Start:
    """The cache as seeded, before any sale."""

    stock: dict[str, Decimal]
    balances: dict[bytes, int]
    customers: dict[str, dict[str, Any]]


def _table(txn: Txn, storage: Storage, name: str) -> dict[bytes, bytes]:
    with txn.cursor(db=storage.dbs[name]) as cursor:
        return {bytes(k): bytes(v) for k, v in cursor}


def _stock(txn: Txn, storage: Storage) -> dict[str, Decimal]:
    return {k.decode(): Decimal(v.decode()) for k, v in _table(txn, storage, "stock").items()}


def _balances(txn: Txn, storage: Storage) -> dict[bytes, int]:
    return {k: int(v) for k, v in _table(txn, storage, "balances").items()}


def _customers(txn: Txn, storage: Storage) -> dict[str, dict[str, Any]]:
    rows = _table(txn, storage, "customers").items()
    return {k.decode(): dict(load("customers", k, v)) for k, v in rows}


def snapshot(config: Config) -> Start:
    with open_storage(config, readonly=True) as storage, storage.read() as txn:
        return Start(_stock(txn, storage), _balances(txn, storage), _customers(txn, storage))


def check(
    config: Config, start: Start, done: Committed, printed: list[str], run_printed: list[str],
    where: str, *, whole: bool,
) -> None:  # fmt: skip
    """Everything the module docstring promises, after one kill. `whole`: verify the whole
    chain and look up every printed id; else only what this run added (the entries before
    are compared byte for byte with those verified already, so their links still hold)."""
    before = len(done.ids)
    with open_storage(config, readonly=True) as storage, storage.read() as txn:
        entries = outbox.entries(txn, storage, QUEUE)
        count = len(entries)
        assert [e.seq for e in entries] == list(range(1, count + 1)), f"{where}: sequence gap"
        ids = [e.id for e in entries]
        assert len(set(ids)) == len(ids), f"{where}: a sale id is in the outbox twice"
        # nothing committed before went away or changed
        assert count >= before, f"{where}: {before - count} committed entries disappeared"
        for seq, kept in enumerate(done.payloads, 1):
            now = outbox.payload(txn, storage, QUEUE.key(seq))
            assert now == kept, f"{where}: committed entry {seq} changed"
        # the chain: from 1 on the genesis hash, every back link holds, the head is the last
        added = [outbox.payload(txn, storage, entry.key) for entry in entries[before:]]
        if whole:
            assert outbox.verify(txn, storage, QUEUE) == count, f"{where}: chain length"
            first = decode_envelope(outbox.payload(txn, storage, QUEUE.key(1))) if count else None
            assert first is None or first.prev == GENESIS_HASH, f"{where}: entry 1 unchained"
        else:
            envelopes = [decode_envelope(raw) for raw in added]
            links = [Link(e.seq, e.prev, raw) for e, raw in zip(envelopes, added, strict=True)]
            after = payload_hash(done.payloads[-1]) if before else GENESIS_HASH
            head = verify_chain(links, start_hash=after, start=before + 1)
            assert outbox.head(txn, storage, QUEUE) == (count, head), f"{where}: chain head"
        for raw in added:
            done.add(raw, where)
        assert ids == done.ids, f"{where}: outbox ids differ from the entries' payloads"
        # printed => committed, exactly once
        for sale_id in printed if whole else run_printed:
            found = outbox.find(txn, storage, QUEUE, sale_id)
            assert found is not None, f"{where}: printed sale {sale_id} is not in the outbox"
            assert found.kind == "sale" and found.id == sale_id, f"{where}: {sale_id} misfiled"
        new = done.ids[before:]
        assert new[: len(run_printed)] == run_printed, (
            f"{where}: this run printed {run_printed}, but committed {new}"
        )
        assert len(new) - len(run_printed) <= 1, (
            f"{where}: {len(new) - len(run_printed)} sales committed but not printed in one run "
            "(only the one being printed when the kill came may be)"
        )
        # the effects: exactly those of the committed sales
        stock = _stock(txn, storage)
        for sku in set(stock) | set(start.stock) | set(done.moved):
            expected = start.stock.get(sku, Decimal(0)) - done.moved.get(sku, Decimal(0))
            assert stock.get(sku, Decimal(0)) == expected, (
                f"{where}: stock of {sku} is {stock.get(sku)}, expected {expected}"
            )
        balances = _balances(txn, storage)
        expected_balances = {k: v - done.drawn.get(k, 0) for k, v in start.balances.items()}
        assert balances == expected_balances, f"{where}: balances {balances}"
        assert set(done.drawn) <= set(start.balances), f"{where}: drew on unknown balances"
        customers = _customers(txn, storage)
        for cid, seeded in start.customers.items():
            earned, redeemed = done.earned.get(cid, 0), done.redeemed.get(cid, 0)
            points = int(seeded["points"]) + earned - redeemed
            lifetime = int(seeded.get("lifetime_points", 0)) + earned
            got = customers[cid]
            assert (got["points"], got["lifetime_points"]) == (points, lifetime), (
                f"{where}: {cid} has {got['points']} points ({got['lifetime_points']} lifetime), "
                f"expected {points} ({lifetime}) from {earned} earned, {redeemed} redeemed"
            )
        counters = {k: Decimal(v.decode()) for k, v in _table(txn, storage, "counters").items()}
        assert counters == done.counters, f"{where}: purchase-limit counters {counters}"
        till = local.till(txn, storage, QUEUE.register, "CAD")
        if done.ids:
            assert till.state is TillState.OPEN, f"{where}: sales went into a closed till"
        if till.state is TillState.OPEN:
            assert till.opening_float == crash_child.OPENING_FLOAT, f"{where}: {till}"
            assert (till.cash_sales, till.dropped) == (done.cash, 0), (
                f"{where}: till took {till.cash_sales} in cash, the sales applied {done.cash}"
            )
            assert till.expected.minor == crash_child.OPENING_FLOAT + done.cash, f"{where}"
        jobs = local.print_jobs(txn, storage, pending_only=False)
        assert sorted(j["ref"] for j in jobs) == sorted(done.ids), (
            f"{where}: {len(jobs)} print jobs for {len(done.ids)} sales"
        )
        assert all(j["kind"] == "receipt" for j in jobs), f"{where}: a print job is not a receipt"


def _read_until_ready(proc: subprocess.Popen[bytes], err: Path, where: str) -> bytes:
    """The child's output up to and including its "ready" line."""
    assert proc.stdout is not None
    fd, got = proc.stdout.fileno(), b""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while b"\n" not in got:
        left = deadline - time.monotonic()
        assert left > 0, f"{where}: the child never got ready"
        if select.select([fd], [], [], left)[0]:
            chunk = os.read(fd, 65536)
            assert chunk, f"{where}: the child died: {err.read_text()[-3000:]}"
            got += chunk
    assert got.startswith(b"ready\n"), f"{where}: the child said {got[:80]!r} first"
    return got


def _read_rest(proc: subprocess.Popen[bytes]) -> bytes:
    """What the (dead) child wrote that was not read yet."""
    assert proc.stdout is not None
    chunks = []
    while chunk := os.read(proc.stdout.fileno(), 65536):
        chunks.append(chunk)
    proc.stdout.close()
    return b"".join(chunks)


def _printed(output: bytes, where: str) -> list[str]:
    # The child writes each line in one write() to a pipe (atomic up to PIPE_BUF), so a
    # kill cannot tear a line: a torn one means the child printed in pieces.
    lines = output.split(b"\n")
    complete, rest = lines[:-1], lines[-1]
    assert rest == b"", f"{where}: a torn line in the child's output: {rest!r}"
    ids = [line.decode() for line in complete if line != b"ready"]
    assert all(len(i) == 36 for i in ids), f"{where}: odd output {ids}"
    return ids


@pytest.mark.slow
def test_kill_9_at_random_moments_loses_nothing_and_doubles_nothing(tmp_path: Path) -> None:
    assert crash_child.CASHIER_PIN == CASHIER_PIN
    config = write_config(tmp_path)
    config_path = tmp_path / "register-s1-r1.toml"
    assert config_path.exists()
    storage = open_storage(config)
    seed(storage, config)
    storage.close()
    start = snapshot(config)
    assert start.balances[local.balance_key(TenderKind.STORE_CREDIT, "c1")] == 2500
    assert start.customers["c1"]["points"] == 300

    rng = random.Random(SEED)
    done, printed = Committed(), []
    err = tmp_path / "child.err"
    early = short = runs_with_sales = 0
    started = time.monotonic()
    for kill in range(1, KILLS + 1):
        where = f"seed {SEED}, kill {kill} of {KILLS}"
        output = b""
        with err.open("wb") as err_f:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tests.store.crash_child", str(config_path),
                 str(rng.randrange(2**32))],
                cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err_f,
            )  # fmt: skip
        try:
            mode = rng.random()
            if mode < 0.15:  # while it starts: opening the storage, the till
                early += 1
                time.sleep(rng.uniform(0, 0.2))
            else:
                output = _read_until_ready(proc, err, where)
                if mode < 0.55:  # within a few sales: many kills land mid-commit
                    short += 1
                    time.sleep(rng.uniform(0, 0.01))
                elif mode < 0.8:
                    time.sleep(rng.uniform(0.01, 0.06))
                else:
                    time.sleep(rng.uniform(0.06, 0.3))
            assert proc.poll() is None, f"{where}: the child died: {err.read_text()[-3000:]}"
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        assert proc.returncode == -signal.SIGKILL, f"{where}: {err.read_text()[-3000:]}"
        run_printed = _printed(output + _read_rest(proc), where)
        printed.extend(run_printed)
        runs_with_sales += bool(run_printed)
        check(config, start, done, printed, run_printed, f"{where}, {len(done.ids)} sales so far",
              whole=kill % 25 == 0 or kill == KILLS)  # fmt: skip
    elapsed = time.monotonic() - started

    unprinted = len(done.ids) - len(printed)
    print(
        f"\ncrash test (seed {SEED}): {KILLS} kills ({early} while starting, {short} within "
        f"10 ms of selling) in {elapsed:.1f} s; {len(done.ids)} sales committed, "
        f"{len(printed)} printed, {unprinted} committed but killed before the print"
    )
    assert set(printed) <= set(done.ids) and len(set(printed)) == len(printed)
    assert early > 0 and short > 0, f"seed {SEED}: the kill timing did not spread"
    assert runs_with_sales > KILLS // 2, f"seed {SEED}: only {runs_with_sales} runs sold"
    uses = [k for k in done.drawn if k.startswith(b"store_credit:")]
    assert uses, f"seed {SEED}: no sale drew on store credit: the balance check proved nothing"
    assert done.earned.get("c1", 0) > 0 and done.cash > 0, f"seed {SEED}: too few kinds of sale"
