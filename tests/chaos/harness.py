"""The chaos run: three registers, one broker, two consumers on PostgreSQL, and a nemesis.

Theory of operation. `run(plan)` starts a throwaway PostgreSQL cluster with the demo
catalogue loaded for store s1, one Mosquitto (persistence on), two `backoffice serve`
processes behind the shared subscription `$share/backoffice/...`, and per register a TCP
proxy to the broker and a register process (`tests.chaos.till`) over its own LMDB,
which, as root, lives on its own small tmpfs so that the disk can really fill up. The
registers sell at a steady pace from the start. The nemesis (`tests.chaos.nemesis`)
plays its seeded schedule with one thread per lane; every fault is recorded with the
moment it started and the moment it healed.

When the schedule is done everything is healed, the registers stop selling and the run
waits for every outbox to drain and every receipt to print; then for every register's
cached balances to match the back office after its periodic refresh. Then the
registers and consumers are stopped cleanly and the checker runs:

- lost: a sale a register reported completed (`sold ID` after `complete()` returned)
  that is not in its outbox, or an outbox entry neither stored nor rejected;
- duplicated: any id stored twice, any sale's effects twice;
- `tests.faults.checker.check`: stored == committed - rejected per register, 1..n
  contiguous, every hash link verified, nothing unsent, every rejection with a reason;
- balances: each register's cache equals the back office's balances, which equal
  the opening balances plus the ledger's deltas;
- receipts: nothing left in any print queue.

`Figures` carries the counts by fault kind, sales completed, lost, duplicated and the
longest drain after a heal: for each register, from each moment its path to the
database became whole again (no fault on its process, its link, the broker or a
consumer) until it first reported nothing unsent, unless another fault struck first.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from appliance.bootstrap import open_storage
from appliance.config import Config
from appliance.domain.tender import TenderKind
from appliance.store import local
from backoffice import ledger
from backoffice.db import Database
from devstack import Mosquitto, Postgres, TcpProxy
from tests.chaos.nemesis import Fault, Kind, Lane, schedule
from tests.chaos.till_process import TillProcess
from tests.faults.checker import RegisterOutbox, Verdict, check, read_outbox_at
from tests.faults.shop import Serve, shop_config, stock, wait_for
from tests.store.conftest import seed

STORE = "s1"
KEEPALIVE_S = 5  # the least the config allows: a half-open link is noticed in ~7.5 s
SYNC = (
    "[sync]\nwindow = 8\nack_timeout_s = 1.0\nresend_max_s = 4.0\nrpc_timeout_s = 0.5\n"
    "reconnect_min_s = 0.1\nreconnect_max_s = 1.0\nrefresh_every_s = 1.0\n"
)
DISK_MB = 256  # each register's tmpfs, as root: far more than a run writes
PATH_KINDS = {
    Kind.REGISTER_KILL_COMMIT, Kind.REGISTER_KILL_DRAIN, Kind.LINK_CUT, Kind.HALF_OPEN,
    Kind.LATENCY, Kind.LOSS, Kind.CONSUMER_KILL, Kind.BROKER_KILL,
}  # fmt: skip
"""Faults on the way from a register's outbox to the database (the drain waits on them)."""


@dataclass(frozen=True, slots=True)
class Plan:
    seed: int
    faults: int
    workdir: Path
    registers: int = 3
    consumers: int = 2
    drain_timeout_s: float = 180.0


@dataclass(slots=True)
class Figures:
    """What the run prints; `problems` is empty when every check held."""

    seed: int
    faults: Counter[str] = field(default_factory=Counter)
    sales_reported: int = 0
    committed: int = 0
    committed_unreported: int = 0  # committed, killed before it could say so
    lost: int = 0
    duplicated: int = 0
    rejected: int = 0
    refused_storage_full: int = 0
    scale_faults: int = 0
    kills_in_commit: int = 0  # of the mid-commit kills, those that struck inside a commit
    max_drain_after_heal_s: float = 0.0
    drains_measured: int = 0
    final_drain_s: float = 0.0
    duration_s: float = 0.0
    verdict: Verdict | None = None
    problems: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        kinds = " ".join(f"{k}={n}" for k, n in sorted(self.faults.items()))
        return [
            f"CHAOS seed={self.seed} duration_s={self.duration_s:.1f}",
            f"CHAOS faults={sum(self.faults.values())} {kinds}",
            f"CHAOS sales_reported={self.sales_reported} committed={self.committed} "
            f"committed_unreported={self.committed_unreported} rejected={self.rejected} "
            f"refused_storage_full={self.refused_storage_full} scale_faults={self.scale_faults} "
            f"kills_in_commit={self.kills_in_commit}",
            f"CHAOS lost={self.lost} duplicated={self.duplicated} "
            f"max_drain_after_heal_s={self.max_drain_after_heal_s:.2f} "
            f"(over {self.drains_measured} heals) final_drain_s={self.final_drain_s:.2f}",
            *(f"CHAOS PROBLEM {p}" for p in self.problems),
        ]


@dataclass(slots=True)
class Struck:
    """A fault as it happened: when it struck and when it healed (monotonic)."""

    fault: Fault
    start: float
    healed: float = 0.0
    note: str = ""


class Rig:
    """Every part of the run, started and stopped together."""

    def __init__(self, plan: Plan, stack: contextlib.ExitStack) -> None:
        self.plan, work = plan, plan.workdir
        self.root = os.geteuid() == 0
        self.postgres = stack.enter_context(Postgres(dbname="chaos"))  # its own dir: see devstack
        self.db_url = self.postgres.url
        self.broker = Mosquitto(work / "broker", persistence=True, autosave_interval=1,
                                log_types=("error", "warning"))  # fmt: skip
        stack.enter_context(self.broker)
        self.consumers = [
            Serve(self.db_url, self.broker.url, work / f"serve-{n}.log", f"bo-{n}", "backoffice")
            for n in range(plan.consumers)
        ]
        stack.callback(self._stop_consumers)
        self.proxies = [stack.enter_context(TcpProxy(self.broker.host, self.broker.port))
                        for _ in range(plan.registers)]  # fmt: skip
        self.tills: list[TillProcess] = []
        self.mounts: list[Path] = []
        stack.callback(self._unmount)
        self.db: Database | None = None
        self.opening_balances: dict[tuple[str, str], int] = {}
        for index, proxy in enumerate(self.proxies):
            directory = work / f"r{index + 1}"
            if self.root:
                self._mount(directory / "data")
            config = shop_config(directory, f"r{index + 1}", proxy.url_for("mqtt"),
                                 store=STORE, sync=SYNC, keepalive_s=KEEPALIVE_S)  # fmt: skip
            storage = open_storage(config)
            seed(storage, config)
            storage.close()
            if self.db is None:
                self.db = _office(self.db_url, config)
                self.opening_balances = _office_balances(self.db)
            path = directory / f"register-{STORE}-r{index + 1}.toml"
            self.tills.append(TillProcess(index, config, path, plan.seed, directory / "till.log"))
        stack.callback(self._stop_tills)

    def start(self) -> None:
        for consumer in self.consumers:
            consumer.start()
        for till in self.tills:
            till.start()

    # --- disks -------------------------------------------------------------------------

    def _mount(self, data: Path) -> None:
        data.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m", "tmpfs", str(data)],
                       check=True, capture_output=True)  # fmt: skip
        self.mounts.append(data)

    def _unmount(self) -> None:
        for data in self.mounts:
            subprocess.run(["umount", "-l", str(data)], check=False, capture_output=True)

    def fill_disk(self, index: int) -> Path:
        """Fill register `index`'s disk to the last 16 KiB with a ballast file."""
        data = self.tills[index].config.register.data_dir
        ballast = data / "ballast"
        stat = os.statvfs(data)
        size = stat.f_bavail * stat.f_frsize - (16 << 10)
        fd = os.open(ballast, os.O_CREAT | os.O_WRONLY, 0o600)
        try:
            while size > 0:
                try:
                    os.posix_fallocate(fd, 0, size)
                    break
                except OSError as exc:  # the register wrote meanwhile: take a little less
                    if exc.errno != errno.ENOSPC:
                        raise
                    size -= 256 << 10
        finally:
            os.close(fd)
        return ballast

    # --- stopping ----------------------------------------------------------------------

    def _stop_consumers(self) -> None:
        for consumer in self.consumers:
            consumer.stop()

    def _stop_tills(self) -> None:
        for till in self.tills:
            till.stop()


def _office(db_url: str, config: Config) -> Database:
    """The back office with the demo catalogue and what `seed` gave each register: customer
    c1 with 300 points and store credit, gift card g-100 (the refresh makes them agree)."""
    db = stock(db_url, config)
    with db.transaction() as tx:
        ledger.put_customer(tx, STORE, "c1", "Cy", 0, 300)
        ledger.put_balance(tx, STORE, TenderKind.STORE_CREDIT.value, "c1", 2500)
        ledger.put_balance(tx, STORE, TenderKind.GIFT_CARD.value, "g-100", 1000)
    return db


class Nemesis:
    """Plays the schedule: one thread per lane; a fault that fails to apply stops the run."""

    def __init__(self, rig: Rig, faults: list[Fault]) -> None:
        self.rig, self.faults = rig, faults
        self.struck: list[Struck] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._t0 = 0.0

    def run(self) -> None:
        self._t0 = time.monotonic()
        lanes: dict[tuple[Lane, int], list[Fault]] = {}
        for fault in self.faults:
            lanes.setdefault((fault.lane, fault.target), []).append(fault)
        threads = [threading.Thread(target=self._lane, args=(faults,), daemon=True,
                                    name=f"nemesis-{lane.value}-{target}")
                   for (lane, target), faults in lanes.items()]  # fmt: skip
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _lane(self, faults: list[Fault]) -> None:
        for fault in faults:
            if self.errors:
                return
            delay = self._t0 + fault.at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            struck = Struck(fault, time.monotonic())
            try:
                self._strike(struck)
            except Exception as exc:  # a fault that cannot be applied is a broken run
                with self._lock:
                    self.errors.append(f"{fault}: {type(exc).__name__}: {exc}")
                return
            struck.healed = time.monotonic()
            with self._lock:
                self.struck.append(struck)

    def _strike(self, struck: Struck) -> None:
        fault, rig = struck.fault, self.rig
        hold = fault.hold
        if fault.lane is Lane.BROKER:
            rig.broker.kill()
            time.sleep(hold)
            rig.broker.start()
        elif fault.lane is Lane.CONSUMER:
            consumer = rig.consumers[fault.target]
            consumer.kill()
            time.sleep(hold)
            consumer.start()
        elif fault.lane is Lane.LINK:
            self._link(rig.proxies[fault.target], fault)
        else:
            self._register(rig.tills[fault.target], struck)

    @staticmethod
    def _link(proxy: TcpProxy, fault: Fault) -> None:
        if fault.kind is Kind.LINK_CUT:
            proxy.cut()
        elif fault.kind is Kind.HALF_OPEN:
            proxy.blackhole()
        elif fault.kind is Kind.LATENCY:
            proxy.set_latency(fault.size)
        else:
            proxy.set_loss(fault.size, 0.2, seed=int(fault.at * 1000))
        time.sleep(fault.hold)
        proxy.heal()
        proxy.set_latency(0.0)
        proxy.set_loss(0.0)

    def _register(self, till: TillProcess, struck: Struck) -> None:
        fault = struck.fault
        kind = fault.kind
        if kind in (Kind.CLOCK_FORWARD, Kind.CLOCK_BACK):
            till.command(f"clock {fault.size:+.0f}")
        elif kind is Kind.SCALE_GARBAGE:
            till.command("scale garbage")
            time.sleep(fault.hold)
            till.command("scale clear")
        elif kind is Kind.PAPER_OUT:
            till.command("paper out")
            time.sleep(fault.hold)
            till.command("paper in")
        elif kind is Kind.DISK_FULL:
            ballast = self.rig.fill_disk(till.index)
            time.sleep(fault.hold)
            ballast.unlink()
        elif kind is Kind.REGISTER_KILL_COMMIT:
            till.command("die-in-commit")
            if till.wait_death(10.0):
                struck.note = "in-commit"
            else:  # selling stalled (nothing to commit): kill it anyway
                till.kill()
            time.sleep(fault.hold)
            till.start()
        else:  # mid-drain: wait (a little) for entries in flight, then kill
            if till.wait_status(lambda unsent, state, waiting: unsent > 0, 3.0):
                struck.note = "in-flight"
            till.kill()
            time.sleep(fault.hold)
            till.start()


def run(plan: Plan) -> Figures:
    """Run the plan; the figures, with `problems` listing whatever did not hold."""
    exclude = set() if os.geteuid() == 0 else {Kind.DISK_FULL}
    faults = schedule(plan.seed, plan.faults, plan.registers, plan.consumers, exclude)
    figures = Figures(plan.seed)
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        rig = Rig(plan, stack)
        rig.start()
        nemesis = Nemesis(rig, faults)
        nemesis.run()
        figures.problems += nemesis.errors
        for struck in nemesis.struck:
            figures.faults[struck.fault.kind.value] += 1
        figures.kills_in_commit = sum(1 for s in nemesis.struck if s.note == "in-commit")
        healed = _heal_everything(rig)
        _drain(rig, plan, healed, figures)
        _check_balances(rig, figures)
        _stop(rig, figures)
        figures.problems += [crash for till in rig.tills for crash in till.crashes]
        _check(rig, figures)
        _drain_times(rig, nemesis.struck, figures)
    figures.duration_s = time.monotonic() - started
    return figures


def _heal_everything(rig: Rig) -> float:
    for proxy in rig.proxies:
        proxy.heal()
        proxy.set_latency(0.0)
        proxy.set_loss(0.0)
    if not rig.broker.running:
        rig.broker.start()
    for consumer in rig.consumers:
        if consumer.process is None or consumer.process.poll() is not None:
            consumer.start()
    for till in rig.tills:
        till.command("scale clear")
        till.command("paper in")
        till.command("idle")
    return time.monotonic()


def _drain(rig: Rig, plan: Plan, healed: float, figures: Figures) -> None:
    for till in rig.tills:
        done = till.wait_status(
            lambda unsent, state, waiting: unsent == 0 and state == "online" and waiting == 0,
            max(1.0, healed + plan.drain_timeout_s - time.monotonic()),
        )
        if not done:
            figures.problems.append(f"r{till.index + 1} did not drain: last status {till.last()}")
    figures.final_drain_s = time.monotonic() - healed


def _check_balances(rig: Rig, figures: Figures) -> None:
    """Every register's cache == the office's balances == opening + the ledger's deltas."""
    assert rig.db is not None
    office = _office_balances(rig.db)
    with rig.db.transaction(readonly=True) as tx:
        deltas = {(str(k), str(a)): int(d) for k, a, d in tx.all(
            "SELECT kind, account, SUM(delta) FROM balance_ledger WHERE store = ? "
            "GROUP BY kind, account", (STORE,))}  # fmt: skip
    opening = rig.opening_balances
    for key, amount in office.items():
        if opening.get(key, 0) + deltas.get(key, 0) != amount:
            figures.problems.append(
                f"balance {key}: office {amount} != opening {opening.get(key, 0)} "
                f"+ ledger {deltas.get(key, 0)}"
            )
    wanted = {local.balance_key(TenderKind(k), a): v for (k, a), v in office.items()}
    for till in rig.tills:
        config = till.config
        if not wait_for(lambda c=config: _cached_balances(c) == wanted, 30, poll=0.2):
            figures.problems.append(
                f"r{till.index + 1} cached balances {_cached_balances(till.config)} "
                f"!= office {wanted} after its refresh"
            )


def _office_balances(db: Database) -> dict[tuple[str, str], int]:
    with db.transaction(readonly=True) as tx:
        rows = tx.all("SELECT kind, account, amount FROM balances WHERE store = ?", (STORE,))
    return {(str(kind), str(account)): int(amount) for kind, account, amount in rows}


def _cached_balances(config: Config) -> dict[bytes, int]:
    storage = open_storage(config, readonly=True)
    try:
        with storage.read() as txn:
            return {bytes(k): int(v) for k, v in txn.cursor(db=storage.dbs["balances"])}
    finally:
        storage.close()


def _stop(rig: Rig, figures: Figures) -> None:
    codes = [till.stop() for till in rig.tills]
    if any(codes):
        figures.problems.append(f"registers exited with {codes}")
    codes = [consumer.stop() for consumer in rig.consumers]
    if any(codes):
        figures.problems.append(f"consumers exited with {codes}")


def _check(rig: Rig, figures: Figures) -> None:
    assert rig.db is not None
    outboxes: list[RegisterOutbox] = [read_outbox_at(till.config) for till in rig.tills]
    with rig.db.transaction(readonly=True) as tx:
        stored = {str(i) for (i,) in tx.all("SELECT id FROM entries")}
        rejected = {str(i) for (i,) in tx.all("SELECT id FROM rejected")}
        figures.duplicated = int(tx.scalar(
            "SELECT COALESCE(SUM(n - 1), 0) FROM (SELECT COUNT(*) AS n FROM entries "
            "GROUP BY id) AS c", (), 0)) + int(tx.scalar(
            "SELECT COALESCE(SUM(n - 1), 0) FROM (SELECT COUNT(*) AS n FROM sales "
            "GROUP BY id) AS c", (), 0))  # fmt: skip
    for till, box in zip(rig.tills, outboxes, strict=True):
        committed = {e.id for e in box.entries}
        reported = set(till.sold)
        figures.sales_reported += len(reported)
        figures.committed += len(committed)
        figures.committed_unreported += len({e.id for e in box.entries if e.kind == "sale"}
                                            - reported)  # fmt: skip
        figures.lost += len(reported - committed) + len(committed - stored - rejected)
        figures.refused_storage_full += till.refused
        figures.scale_faults += till.scale_faults
    try:
        figures.verdict = check(rig.db, outboxes, f"chaos seed={figures.seed}")
        figures.rejected = figures.verdict.rejected
    except AssertionError as exc:
        figures.problems.append(str(exc))
    if figures.lost or figures.duplicated:
        figures.problems.append(f"lost {figures.lost}, duplicated {figures.duplicated}")


def _drain_times(rig: Rig, struck: list[Struck], figures: Figures) -> None:
    """See the module docstring: from each whole-again moment to nothing unsent."""
    for till in rig.tills:
        broken = sorted((s.start, s.healed) for s in struck if s.fault.kind in PATH_KINDS
                        and (s.fault.lane in (Lane.BROKER, Lane.CONSUMER)
                             or s.fault.target == till.index))  # fmt: skip
        for whole, next_break in _whole_moments(broken):
            drained = next((t for t, unsent, _, _ in till.status if t >= whole and unsent == 0),
                           None)  # fmt: skip
            if drained is not None and (next_break is None or drained <= next_break):
                figures.drains_measured += 1
                figures.max_drain_after_heal_s = max(figures.max_drain_after_heal_s,
                                                     drained - whole)  # fmt: skip


def _whole_moments(broken: list[tuple[float, float]]) -> Iterator[tuple[float, float | None]]:
    """Ends of the union of the intervals, each with the start of the next one (or None)."""
    merged: list[list[float]] = []
    for start, end in broken:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for n, (_, end) in enumerate(merged):
        yield end, merged[n + 1][0] if n + 1 < len(merged) else None


def clean(workdir: Path) -> None:
    """Remove a run's directory (its tmpfs mounts are already lazily unmounted)."""
    shutil.rmtree(workdir, ignore_errors=True)
