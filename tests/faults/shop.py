"""The parts the fault tests assemble: registers, the back office, watchers, waits.

- `Shop`: a real register over its own LMDB dir (the demo shop, logged in, till open),
  whose link starts when the test says the network is there.
- `office`: the real `BackOffice` service in this process; `Serve`: `backoffice serve`
  as a child process, to be SIGKILLed.
- `WireWatch`: a plain MQTT client that counts every copy of every entry and every ack.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from appliance.bootstrap import new_sale_id, open_storage, start_sync
from appliance.config import Config
from appliance.domain.money import Money
from appliance.register import Register
from appliance.store.executor import StorageThread
from appliance.sync import wire
from appliance.sync.link import SyncLink
from backoffice.catalog import load_catalog
from backoffice.db import Database
from backoffice.service import BackOffice
from devstack import Mosquitto
from devstack.mqtt import MqttProbe
from tests.faults.carts import sell
from tests.faults.checker import RegisterOutbox, read_outbox
from tests.store.conftest import CASHIER_PIN, DEMO_CATALOG, FakeClock, seed, write_config

ROOT = Path(__file__).resolve().parents[2]


def sync_section(
    window: int = 8,
    ack_timeout_s: float = 2.0,
    reconnect_min_s: float = 0.1,
    reconnect_max_s: float = 0.5,
) -> str:
    """A `[sync]` table for `write_config(extra=...)`: fast reconnects for tests."""
    return (
        f"[sync]\nwindow = {window}\nack_timeout_s = {ack_timeout_s}\n"
        f"reconnect_min_s = {reconnect_min_s}\nreconnect_max_s = {reconnect_max_s}\n"
    )


def shop_config(
    directory: Path,
    register: str,
    broker: str,
    *,
    store: str = "s1",
    sync: str = "",
    keepalive_s: int | None = None,
) -> Config:
    """A register config in `directory` (data in directory/data), talking to `broker`."""
    directory.mkdir(parents=True, exist_ok=True)
    keys = {} if keepalive_s is None else {"broker_keys": f"keepalive_s = {keepalive_s}"}
    config = write_config(
        directory, store, register, extra=sync or sync_section(), broker=broker, **keys
    )
    if keepalive_s is not None:
        assert config.broker.keepalive_s == keepalive_s
    return config


def wait_for(condition: Callable[[], bool], timeout: float, poll: float = 0.02) -> bool:
    """Poll until `condition()` holds; False after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(poll)
    return condition()


class Shop:
    """A register of store `store` in its own dir, seeded with the demo shop."""

    def __init__(
        self,
        root: Path,
        register: str,
        broker: str,
        *,
        store: str = "s1",
        sync: str = "",
        keepalive_s: int | None = None,
        seed_rng: int = 0,
    ) -> None:
        self.config = shop_config(
            root / f"{store}-{register}",
            register,
            broker,
            store=store,
            sync=sync,
            keepalive_s=keepalive_s,
        )
        self.storage = open_storage(self.config)
        seed(self.storage, self.config)
        self.clock = FakeClock()
        self.register = Register(
            self.config, self.storage, StorageThread(5.0), self.clock, new_sale_id
        )
        self.register.login("ann", CASHIER_PIN)
        self.register.open_till(Money(200_00, self.register.currency))
        self.rng = random.Random(seed_rng)
        self.link: SyncLink | None = None
        self.sold: list[str] = []

    @property
    def name(self) -> str:
        return f"{self.config.register.store}/{self.config.register.id}"

    def sell(self, count: int = 1) -> list[str]:
        """Complete `count` random sales (a second of the register's clock apart)."""
        ids = []
        for _ in range(count):
            self.clock.advance(seconds=1)
            ids.append(sell(self.register, self.rng))
        self.sold += ids
        return ids

    def start_link(self) -> SyncLink:
        """The network is here: start the sync link (the outbox drains by itself)."""
        self.link = start_sync(self.register)
        return self.link

    def stop_link(self) -> None:
        if self.link is not None:
            self.link.stop()
            self.link = None

    def unsent(self) -> int:
        return self.register.status().unsent

    def state(self) -> str:
        return "offline" if self.link is None else self.link.status().state

    def outbox(self) -> RegisterOutbox:
        """Everything the register committed, as the checker reads it."""
        return read_outbox(self.storage, self.register.queue)

    def close(self) -> None:
        self.stop_link()
        self.register.io.close()
        self.storage.close()


def stock(db_url: str, config: Config) -> Database:
    """The back office database with the demo catalogue of store s1 (version 1)."""
    db = Database(db_url)
    load_catalog(db, config.register.store, config, DEMO_CATALOG, datetime.now(UTC))
    return db


@contextmanager
def office(db_url: str, broker: Mosquitto, client_id: str = "bo-faults") -> Iterator[BackOffice]:
    """The real back office service in this process, subscribed, stopped at the end."""
    service = BackOffice(db_url, broker.url, client_id=client_id, beacon_interval_s=0.5)
    service.start()
    try:
        assert service.wait_ready(15), "the back office did not subscribe within 15 s"
        yield service
    finally:
        service.stop()


class Serve:
    """`backoffice serve` as a child process, restartable with the same client id."""

    def __init__(
        self, db_url: str, broker: str, log: Path, client_id: str, shared: str | None = None
    ) -> None:
        self.db_url, self.broker, self.log = db_url, broker, log
        self.client_id, self.shared = client_id, shared
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0
        self.started_at = 0.0  # monotonic time of the last launch

    def start(self, timeout: float = 20.0) -> None:
        """Start and wait until it has subscribed (its log says so)."""
        before = self.log_text().count("subscribed to")
        argv = [
            sys.executable,
            "-m",
            "backoffice.cli",
            "serve",
            "--db",
            self.db_url,
            "--broker",
            self.broker,
            "--client-id",
            self.client_id,
        ]
        if self.shared:
            argv += ["--shared", self.shared]
        self.started_at = time.monotonic()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                argv,
                cwd=ROOT,
                stdout=out,
                stderr=out,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
        self.starts += 1
        ok = wait_for(lambda: self.log_text().count("subscribed to") > before, timeout, 0.01)
        assert ok, f"{self.client_id} did not subscribe within {timeout} s:\n{self.log_text()}"

    def kill(self) -> None:
        """SIGKILL: no goodbye, no commit of the transaction in hand."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.kills += 1

    def stop(self) -> int:
        """SIGTERM and wait; the exit code."""
        if self.process is None or self.process.poll() is not None:
            return 0 if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return -9

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""


class WireWatch:
    """Counts, on the broker itself (no proxy), every outbox copy and every ack."""

    def __init__(self, broker: Mosquitto) -> None:
        self.copies: Counter[str] = Counter()  # entry id -> times it crossed the broker
        self.acks: Counter[str] = Counter()  # status -> count
        self.foreign: list[str] = []  # messages that are not valid envelopes
        self._lock = threading.Lock()
        self.probe = MqttProbe(broker.host, broker.port, client_id="wire-watch").start()
        self.probe.client.on_message = self._on_message
        self.probe.subscribe(wire.OUT_FILTER)
        self.probe.subscribe("pos/v1/+/+/ack")

    def _on_message(self, client: object, userdata: object, message: object) -> None:
        topic, payload = message.topic, bytes(message.payload)  # type: ignore[attr-defined]
        with self._lock:
            try:
                if topic.endswith("/ack"):
                    ack = wire.decode_ack(payload)
                    self.acks[ack.status] += 1
                else:
                    self.copies[wire.decode_envelope(payload).id] += 1
            except wire.WireError:
                self.foreign.append(topic)

    def resent(self) -> int:
        """Copies beyond the first, over all entries."""
        with self._lock:
            return sum(n - 1 for n in self.copies.values())

    def close(self) -> None:
        self.probe.close()


class StateLog:
    """Samples a link's status every 20 ms in a thread: (monotonic time, state)."""

    def __init__(self, link: SyncLink) -> None:
        self.link = link
        self.samples: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="state-log", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        last = None
        while not self._stop.is_set():
            state = self.link.status().state
            if state != last:
                self.samples.append((time.monotonic(), state))
                last = state
            self._stop.wait(0.02)

    def first(self, state: str, after: float) -> float | None:
        """When the link was first seen in `state` at or after `after`."""
        return next((t for t, s in list(self.samples) if s == state and t >= after), None)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)


class RegisterChild:
    """`python -m tests.faults.register_child CONFIG SEED MODE`, its output read in a thread."""

    def __init__(self, config_path: Path, seed: int, mode: str, log: Path) -> None:
        self.log = log
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.started_at = time.monotonic()
        with log.open("ab") as err:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.faults.register_child",
                    str(config_path),
                    str(seed),
                    mode,
                ],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=err,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
        self._reader = threading.Thread(target=self._read, name="child-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            with self._changed:
                self.lines.append(raw.decode().strip())
                self._changed.notify_all()

    def wait_line(self, line: str, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: line in self.lines, timeout)

    @property
    def sold(self) -> list[str]:
        """Ids of the sales it said were committed (every line but ready/drained)."""
        with self._changed:
            return [x for x in self.lines if x not in ("ready", "drained")]

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self._reader.join(5)  # everything it wrote before dying is read

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self._reader.join(5)
        return code

    def stderr(self) -> str:
        """The tail of what the children wrote to stderr."""
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except FileNotFoundError:
            return ""
