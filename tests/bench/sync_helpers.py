"""Helpers for the sync benchmarks: filled outboxes, the back office as its own process,
and plain paho clients that publish or count QoS 1 messages.

The back office runs as `python -m backoffice.cli serve` (what a server runs), not in
the benchmark's process: its worker then competes with nothing of the register's side
for the GIL, as on a real server.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from appliance.bootstrap import open_storage
from appliance.config import Config
from appliance.domain.cart import Cart, WeightSource
from appliance.domain.money import Money
from appliance.domain.tender import Tender
from appliance.store import outbox
from appliance.sync import wire
from backoffice.catalog import load_catalog
from backoffice.db import Database
from devstack import set_nodelay
from tests.store.conftest import (
    CASHIER_PIN,
    DEMO_CATALOG,
    FakeClock,
    make_register,
    seed,
    write_config,
)

ROOT = Path(__file__).resolve().parents[2]
QUIET = ("error", "warning")  # Mosquitto log types: `all` logs every packet
BIG_MAP = "[storage]\nmap_size_mb = 512\n"  # no map growth while filling

# Carts rung up in turn: 2 to 6 lines, items and weighed goods, promotions apply to some.
CARTS: tuple[tuple[tuple[str, Decimal | None], ...], ...] = (
    (("cola", None), ("chips", None), ("sourdough", None), ("milk-2l", None),
     ("bananas", Decimal("1.234"))),
    (("croissant", None), ("eggs", None)),
    (("cheddar", Decimal("0.412")), ("baguette", None), ("yogurt", None)),
    (("apples-gala", Decimal("0.850")), ("carrots", None), ("spinach", None), ("cream", None),
     ("muffin", None), ("cookie", None)),
    (("almonds", Decimal("0.250")), ("bagels", None), ("cola", None)),
    (("avocado", None), ("lemons", None), ("cinnamon-bun", None), ("oats", Decimal("1.000"))),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Filled:
    """A register whose outbox holds `count` unsent sales, its storage closed."""

    config: Config
    count: int
    seconds: float


@dataclass(frozen=True, slots=True)
class Message:
    """One outbox entry as the register publishes it."""

    topic: str
    payload: bytes
    id: str


def fill_register(
    directory: Path, register: str, count: int, *, extra: str = "", broker: str = ""
) -> Filled:
    """A register of store s1 with `count` offline sales completed by `Register.complete`.

    The carts of CARTS are priced once and completed in turn (a new id, sequence and
    hash link each time), cash tendered; the clock moves 5 s per sale.
    """
    directory.mkdir(parents=True, exist_ok=True)
    config = write_config(directory, "s1", register, extra=BIG_MAP + extra, broker=broker)
    storage = open_storage(config)
    seed(storage, config)
    clock = FakeClock()
    reg = make_register(config, clock, storage)
    started = time.perf_counter()
    try:
        reg.login("ann", CASHIER_PIN)
        reg.open_till(Money(200_00, "CAD"))
        rung: list[tuple[Cart, Tender]] = []
        for lines in CARTS:
            for sku, weight in lines:
                if weight is None:
                    priced = reg.add_sku(sku)
                else:
                    priced = reg.add_weighed(sku, weight, WeightSource.SCALE)
            paid = Money((priced.total.minor // 1000 + 1) * 1000, "CAD")
            rung.append((reg.cart, Tender.cash(paid)))
            reg.cart = Cart()
        for n in range(count):
            reg.cart, tender = rung[n % len(rung)]
            reg.tenders = [tender]
            clock.advance(seconds=5)
            reg.complete()
        assert reg.status().unsent == count
    finally:
        reg.io.close()
        storage.close()
    return Filled(config, count, time.perf_counter() - started)


def outbox_messages(config: Config) -> list[Message]:
    """Every outbox entry of a (closed) register: topic, exact payload bytes, id."""
    storage = open_storage(config, readonly=True)
    try:
        with storage.read() as txn:
            queue = outbox.Queue(config.register.store, config.register.id)
            return [
                Message(
                    wire.out_topic(queue.store, queue.register, entry.kind),
                    outbox.payload(txn, storage, entry.key),
                    entry.id,
                )
                for entry in outbox.entries(txn, storage, queue)
            ]
    finally:
        storage.close()


def stocked_database(url: str, config: Config) -> None:
    """Create the schema and load the demo catalogue for store s1."""
    with Database(url) as db:
        load_catalog(db, "s1", config, DEMO_CATALOG, datetime.now(UTC))


def wait_until(condition: Callable[[], bool], timeout: float, every: float = 0.01) -> bool:
    """Poll `condition` every `every` s; False if it never held within `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()


def instrument(target: Any, names: Sequence[str]) -> dict[str, list[float]]:
    """Wrap these methods on the instance `target` to record each call's wall time (ms)."""
    spent: dict[str, list[float]] = {name: [] for name in names}
    for name in names:
        original = getattr(target, name)

        def timed(*args: Any, _original: Any = original, _samples: list[float] = spent[name],
                  **kwargs: Any) -> Any:  # fmt: skip
            start = time.perf_counter_ns()
            try:
                return _original(*args, **kwargs)
            finally:
                _samples.append((time.perf_counter_ns() - start) / 1e6)

        setattr(target, name, timed)
    return spent


# --- the back office in its own process ---------------------------------------------------


class BackOfficeProcess:
    """`python -m backoffice.cli serve --db URL --broker URL`, its log in `log_path`;
    ready once `consumers` consumers (`--consumers N` in `extra`) have subscribed."""

    def __init__(
        self,
        db_url: str,
        broker_url: str,
        log_path: Path,
        extra: Sequence[str] = (),
        consumers: int = 1,
    ) -> None:
        self.db_url, self.broker_url, self.log_path = db_url, broker_url, log_path
        self.extra = list(extra)  # e.g. --shared GROUP --client-id NAME
        self.consumers = consumers
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> BackOfficeProcess:
        argv = [sys.executable, "-m", "backoffice.cli", "serve", "--db", self.db_url,
                "--broker", self.broker_url, *self.extra]  # fmt: skip
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        ready = wait_until(
            lambda: self.subscribed() >= self.consumers or self.process.poll() is not None,  # type: ignore[union-attr]
            timeout,
            every=0.02,
        )
        if not ready or self.process.poll() is not None:
            self.stop()
            raise RuntimeError(f"the back office did not come up:\n{self.log()[-3000:]}")
        return self

    def subscribed(self) -> int:
        """How many times a consumer logged its subscriptions granted."""
        return self.log().count("subscribed to")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        """SIGTERM (the service finishes the message in hand), then wait; kill if stuck."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> BackOfficeProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- plain paho clients ------------------------------------------------------------------


def _client(client_id: str, receive_maximum: int | None = None) -> tuple[mqtt.Client, Any]:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.on_socket_open = set_nodelay
    props = None
    if receive_maximum is not None:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.ReceiveMaximum = receive_maximum
    return client, props


class Publisher:
    """A plain QoS 1 publisher with at most `inflight` messages unacknowledged."""

    def __init__(self, host: str, port: int, inflight: int, client_id: str) -> None:
        self.client, props = _client(client_id)
        self.client.max_inflight_messages_set(inflight)
        self._acked = 0
        self._target = 0
        self._done = threading.Event()
        self._connected = threading.Event()
        self.client.on_connect = lambda c, u, f, rc, p: self._connected.set()
        self.client.on_publish = self._on_publish
        self.client.connect(host, port, keepalive=60, clean_start=True, properties=props)
        self.client.loop_start()
        if not self._connected.wait(10):
            self.close()
            raise TimeoutError(f"no CONNACK from {host}:{port}")

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        self._acked += 1  # paho's network thread only
        if self._acked >= self._target:
            self._done.set()

    def publish_all(self, messages: Sequence[tuple[str, bytes]], timeout: float) -> float:
        """Queue every message at once; seconds from the first publish to the last PUBACK."""
        self._acked, self._target = 0, len(messages)
        self._done.clear()
        started = time.perf_counter()
        for topic, payload in messages:
            info = self.client.publish(topic, payload, qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                raise RuntimeError(f"publish failed: {info.rc}")
        if not self._done.wait(timeout):
            raise TimeoutError(f"{self._acked} of {len(messages)} PUBACKs within {timeout} s")
        return time.perf_counter() - started

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Counter:
    """A plain QoS 1 subscriber counting what it receives (and keeping the payloads)."""

    def __init__(
        self,
        host: str,
        port: int,
        topic: str,
        client_id: str,
        receive_maximum: int | None = None,
    ) -> None:
        self.client, props = _client(client_id, receive_maximum)
        self.count = 0
        self.payloads: list[bytes] = []
        self._target = 0
        self.reached = threading.Event()
        subscribed = threading.Event()
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(host, port, keepalive=60, clean_start=True, properties=props)
        self.client.loop_start()
        if not subscribed.wait(10):
            self.close()
            raise TimeoutError(f"no SUBACK from {host}:{port}")

    def expect(self, total: int) -> None:
        """Set `reached` once `total` messages have arrived since the last `expect`."""
        self.count, self.payloads, self._target = 0, [], total
        self.reached.clear()

    def _on_message(self, client: Any, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.count += 1  # paho's network thread only
        self.payloads.append(bytes(message.payload))
        if self.count >= self._target:
            self.reached.set()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
