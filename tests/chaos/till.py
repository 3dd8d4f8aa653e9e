"""One register of the chaos run, as its own process: it sells, syncs, prints and weighs.

Run as `python -m tests.chaos.till CONFIG_PATH SEED` from the repository root. It opens
the register over its LMDB data dir (seeded by the parent), logs in, opens the till if it
is closed, starts the sync link (`bootstrap.start_sync`), its own simulated receipt
printer (TCP) and Toledo 8217 scale (a pseudo-terminal) through the register's normal
device drivers, and the print queue, then sells random carts (`tests.store.crash_child`'s
shopper: customers, store credit, a gift card, points, presets, split tenders) with one
line in five weighed on the scale, at a steady pace, until SIGTERM.

The nemesis talks to it on stdin, one command per line:

    clock SECONDS     move the register's wall clock (sale times and UUIDv7 ids) by
                      SECONDS, forward or back: a clock jump, as an NTP step would make
    die-in-commit     SIGKILL this process inside the next write that commits an outbox
                      entry, after its puts and before the commit: a kill mid-commit
    scale FAULT       the scale simulator shows FAULT (`garbage`, `stall`...; `clear`)
    paper out|in      the printer simulator runs out of paper, or is refilled
    idle              stop selling (the drain at the end); `sell` starts again

and reads its stdout, one line per write (a kill never tears a line):

    ready                            the register is open and syncing
    sold ID                          `complete()` returned: the sale is committed
    refused KIND                     the sale was refused (storage full); the cart is kept
                                     and tried again, as a cashier would
    status UNSENT STATE WAITING      every 100 ms: unsent entries, the link's state and
                                     receipts waiting to print
    scale-fault REASON               a weighing failed (garbage, no answer): sold without it

Kept free of pytest and the back office so that it starts quickly after a kill.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from appliance.bootstrap import local_now, open_storage, start_sync
from appliance.config import Config, load_config
from appliance.devices import open_devices
from appliance.domain.cart import WeightSource
from appliance.domain.ids import uuid7
from appliance.domain.money import Money
from appliance.domain.till import TillState
from appliance.print_queue import PrintQueue
from appliance.register import Register
from appliance.store.errors import StorageError
from appliance.store.executor import StorageThread
from appliance.store.lmdb_env import Storage, Txn
from hw.protocols.scale import ScaleFault, ScaleStatus, WeightUnit
from hw.sim.printer import EscposPrinterSimulator
from hw.sim.scale import SerialScaleSimulator
from tests.store.crash_child import CASHIER, CASHIER_PIN, OPENING_FLOAT, Child

PACE_S = 0.08  # a busy till: a sale every 80 ms at most
T = TypeVar("T")


def say(line: str) -> None:
    """One line in ONE write (see tests/store/crash_child.py)."""
    os.write(sys.stdout.fileno(), f"{line}\n".encode())


class JumpingClock:
    """The register's wall clock, with the jumps the nemesis asks for."""

    def __init__(self, config: Config) -> None:
        self.local = local_now(config)
        self.offset_s = 0.0

    def __call__(self) -> datetime:
        return self.local() + timedelta(seconds=self.offset_s)

    def new_id(self) -> str:
        """A UUIDv7 from the jumped clock: ids stay unique when time goes backwards."""
        return str(uuid7(int((time.time() + self.offset_s) * 1000), os.urandom(10)))


def arm_kill_in_commit(storage: Storage) -> Callable[[], None]:
    """Wrap `storage.write` so that, once armed, the write appending an outbox entry
    SIGKILLs the process after its puts, before LMDB commits them."""
    armed = threading.Event()
    write = storage.write

    def killing_write(fn: Callable[[Txn], T]) -> T:
        if not armed.is_set():
            return write(fn)

        def run(txn: Txn) -> T:
            before = _outbox_size(txn, storage)
            result = fn(txn)
            if _outbox_size(txn, storage) > before:
                os.kill(os.getpid(), signal.SIGKILL)
            return result

        return write(run)

    storage.write = killing_write  # type: ignore[method-assign]
    return armed.set


def _outbox_size(txn: Txn, storage: Storage) -> int:
    return int(txn.stat(storage.dbs["outbox"])["entries"])


class Devices:
    """This till's simulated printer and scale, reached through the real drivers."""

    def __init__(self, config: Config, var: Path) -> None:
        self.printer = EscposPrinterSimulator(port=0).start()
        self.scale = SerialScaleSimulator("toledo8217", "0.500", WeightUnit.KG, link=var / "scale")
        self.scale.start()
        urls = {"printer": self.printer.url, "scale": str(self.scale.link)}
        devices = {name: replace(section, url=urls[name]) for name, section in
                   config.devices.items() if name in urls}  # fmt: skip
        self.config = replace(config, devices=devices)
        self.opened = open_devices(self.config)
        if self.opened.problems:
            raise SystemExit(f"chaos till: devices did not open: {self.opened.problems}")

    def weigh(self, rng: random.Random) -> Decimal | str:
        """Put something on the platter and read it: kilograms, or why not."""
        self.scale.weight = Decimal(rng.randint(50, 2000)).scaleb(-3)
        self.scale.stable = True
        event = self.opened.by_name["scale"].read(1.0)
        if isinstance(event, ScaleFault):
            return event.reason or "scale fault"
        if event.status is not ScaleStatus.STABLE:
            return f"not stable: {event.status.value}"
        return event.weight

    def command(self, words: list[str]) -> None:
        if words[0] == "scale":
            self.scale.fault = None if words[1] == "clear" else words[1]
        elif words[0] == "paper":
            self.printer.paper_out = words[1] == "out"

    def close(self) -> None:
        self.opened.close()
        self.scale.stop()
        self.printer.stop()


class Till:
    """The register, its shopper and the nemesis's commands."""

    def __init__(self, config_path: Path, seed: int) -> None:
        config = load_config(config_path)
        self.rng = random.Random(seed)
        self.devices = Devices(config, config_path.parent)
        self.clock = JumpingClock(config)
        self.storage = open_storage(config)
        self.die_in_commit = arm_kill_in_commit(self.storage)
        self.io = StorageThread(config.storage.op_timeout_s)
        self.register = Register(self.devices.config, self.storage, self.io, self.clock,
                                 self.clock.new_id)  # fmt: skip
        self.register.login(CASHIER, CASHIER_PIN)
        if self.register.till().state is TillState.CLOSED:
            self.register.open_till(Money(OPENING_FLOAT, self.register.currency))
        self.shopper = Child(self.register, self.rng)
        self.printing = PrintQueue(self.register, self.devices.opened.by_name["printer"],
                                   config.receipt, retry_s=0.3)  # fmt: skip
        self.stopping, self.selling = threading.Event(), threading.Event()
        self.selling.set()

    def run(self) -> int:
        link = start_sync(self.register)
        self.printing.start()
        for name, target in (("chaos-commands", self._commands), ("chaos-status", self._status)):
            threading.Thread(target=target, args=(link,), name=name, daemon=True).start()
        say("ready")
        while not self.stopping.is_set():
            if self.selling.is_set():
                self._sell_one()
            self.stopping.wait(PACE_S)
        link.stop()
        self.printing.stop()
        self.io.close()
        self.storage.close()
        self.devices.close()
        return 0

    def _sell_one(self) -> None:
        if self.register.cart.is_empty:
            self.shopper.fill_cart()
            if self.rng.random() < 0.2:
                self._weigh_one()
        try:
            sale_id = self.shopper.sell_cart()
        except StorageError as exc:  # full disk, a write that timed out: keep the cart
            say(f"refused {type(exc).__name__}")
            self.stopping.wait(0.2)
            return
        say(f"sold {sale_id}")
        self.printing.wake()

    def _weigh_one(self) -> None:
        product = self.rng.choice(self.shopper.scale)
        weight = self.devices.weigh(self.rng)
        if isinstance(weight, str):
            say(f"scale-fault {weight.replace(' ', '_')[:60]}")
        else:
            self.register.add_weighed(product.sku, weight, WeightSource.SCALE)

    def _commands(self, link: Any) -> None:
        for raw in sys.stdin:
            words = raw.split()
            if not words:
                continue
            if words[0] == "clock":
                self.clock.offset_s += float(words[1])
            elif words[0] == "die-in-commit":
                self.die_in_commit()
            elif words[0] in ("scale", "paper"):
                self.devices.command(words)
            elif words[0] == "idle":
                self.selling.clear()
            elif words[0] == "sell":
                self.selling.set()

    def _status(self, link: Any) -> None:
        while not self.stopping.wait(0.1):
            try:
                unsent = self.register.status().unsent
                waiting = len(self.register.print_jobs())
            except StorageError:
                continue  # the disk is full right now; the next round tells
            say(f"status {unsent} {link.status().state} {waiting}")


def main(argv: list[str]) -> int:
    till = Till(Path(argv[1]), int(argv[2]))
    signal.signal(signal.SIGTERM, lambda signum, frame: till.stopping.set())
    return till.run()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
