"""A register process for the fault tests: it syncs while it sells, until it is killed.

Run as `python -m tests.faults.register_child CONFIG_PATH SEED MODE` from the repository
root. It opens the register over the configured data dir (seeded by the parent: real
LMDB, real clock, real UUIDv7 ids), logs in as "ann", opens the till if it is closed,
starts the sync link (`bootstrap.start_sync`) and prints "ready". Then, by MODE:

- `sell`: sells random plain carts (`tests.faults.shop.sell`) every few milliseconds,
  printing each sale's id only after `complete()` returned (one write per line, so a
  kill never tears one), while the link drains in its own thread. The parent SIGKILLs it.
- `drain`: sells nothing; prints "drained" once the outbox has nothing unsent and the
  link is online, then waits.

SIGTERM stops the link (goodbye status) and closes the storage: exit code 0.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from appliance.bootstrap import local_now, new_sale_id, open_storage, start_sync
from appliance.config import load_config
from appliance.domain.money import Money
from appliance.domain.till import TillState
from appliance.register import Register
from appliance.store.executor import StorageThread
from tests.faults.carts import sell

PACE_S = 0.004  # a busy till, not a benchmark: the link gets its share of the storage thread


def say(line: str) -> None:
    """One line in ONE write (see tests/store/crash_child.py)."""
    os.write(sys.stdout.fileno(), f"{line}\n".encode())


def main(argv: list[str]) -> int:
    config = load_config(Path(argv[1]))
    rng, mode = random.Random(int(argv[2])), argv[3]
    stop = threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    storage = open_storage(config)
    io = StorageThread(config.storage.op_timeout_s)
    register = Register(config, storage, io, local_now(config), new_sale_id)
    register.login("ann", "1234")
    if register.till().state is TillState.CLOSED:
        register.open_till(Money(200_00, register.currency))
    link = start_sync(register)
    say("ready")
    drained = False
    while not stop.is_set():
        if mode == "sell":
            say(sell(register, rng))
            stop.wait(PACE_S)
        else:
            if not drained and register.status().unsent == 0 and link.status().state == "online":
                say("drained")
                drained = True
            stop.wait(0.02)
    link.stop()
    io.close()
    storage.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
