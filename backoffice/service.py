"""The back office service: MQTT 5 in, one database commit per batch of entries, acks out.

Threads (also listed in docs/architecture.md):

- paho's network thread (`loop_start`): reads packets and runs the callbacks. They only
  queue messages and set events, so keepalives never wait on the database.
- the worker thread (`backoffice-worker`): takes the messages waiting (up to MAX_BATCH,
  never waiting for more), runs `Consumer.handle_batch` on the outbox entries among them
  (one transaction, committed), publishes each ack (QoS 1) on its register's ack topic
  and only THEN acknowledges the deliveries at MQTT level (`manual_ack`). A lone
  message is a batch of one; under load the queue fills while a batch commits, so the
  next batch is bigger and a commit's cost is shared. A consumer killed before its
  commit never sent the PUBACK, so the broker delivers the message again to the
  resumed session (clean_start=False with a session expiry) or, with a shared
  subscription, to another consumer. If the database is unavailable the worker
  retries the same batch with a backoff and acks nothing.
  RPC requests and register status go through the same worker.
- the beacon thread (`backoffice-beacon`): every few seconds compares each store's
  catalogue version with the one last announced and publishes the retained beacon when
  it moved (`backoffice catalog load` runs in another process and only writes the
  database).

MQTT 5's Receive Maximum caps how many unacked deliveries the broker hands us, which
bounds the worker's queue. With `shared_group`, outbox entries and RPC requests are
taken from `$share/{group}/...` so each is handled by one consumer of the group; status
stays a plain subscription, so every consumer gets the retained presence at start.
Dedupe never relies on this: the database's unique key on the entry id does it.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from appliance.redact import redact_url
from appliance.sync import wire
from appliance.sync.ports import set_nodelay
from appliance.sync.wire import Beacon, RpcResponse, WireError
from backoffice.catalog import RulesCache, store_versions
from backoffice.consumer import Consumer
from backoffice.db import Database, DatabaseUnavailable
from backoffice.presence import record_status
from backoffice.rpc import Rpc

log = logging.getLogger(__name__)

MAX_BATCH = 64
"""Most messages in one batch: big enough to share a commit, small enough to ack soon."""


def utc_now() -> datetime:
    """The back office's clock: aware UTC."""
    return datetime.now(UTC)


def parse_broker_url(url: str) -> tuple[str, int, bool, str | None, str | None]:
    """(host, port, tls, username, password) from `mqtt://[user:pass@]host[:port]` or mqtts."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:  # the password never shown
        raise ValueError(f"{redact_url(url)!r}: expected mqtt://host:port or mqtts://host:port")
    tls = parts.scheme == "mqtts"
    port = parts.port or (8883 if tls else 1883)
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return parts.hostname, port, tls, user, password


class BackOffice:
    """The consumer service; `start()`, `wait_ready()`, `stop()`."""

    def __init__(
        self,
        db_url: str,
        broker_url: str,
        client_id: str = "backoffice",
        shared_group: str | None = None,
        session_expiry_s: int = 3600,
        *,
        receive_maximum: int = 100,
        beacon_interval_s: float = 2.0,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.db_url, self.broker_url = db_url, broker_url
        self.client_id, self.shared_group = client_id, shared_group
        self.session_expiry_s, self.receive_maximum = session_expiry_s, receive_maximum
        self.beacon_interval_s, self.clock = beacon_interval_s, clock
        self._host, self._port, self._tls, self._user, self._password = parse_broker_url(broker_url)
        self._queue: queue.Queue[mqtt.MQTTMessage | None] = queue.Queue()
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._pending_subs: set[int] = set()
        self._announced: dict[str, int] = {}
        self._threads: list[threading.Thread] = []
        self.db: Database | None = None
        self.client: mqtt.Client | None = None
        self.handled = 0  # messages the worker finished (for tests and logs)

    @property
    def subscriptions(self) -> list[str]:
        """The filters subscribed to (shared where a group is set)."""
        share = f"$share/{self.shared_group}/" if self.shared_group else ""
        return [share + wire.OUT_FILTER, share + wire.RPC_FILTER, wire.STATUS_FILTER]

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Open the database, connect (retrying in the background) and start the threads."""
        self.db = Database(self.db_url)
        rules = RulesCache()
        self.consumer, self.rpc = Consumer(self.db, rules), Rpc(self.db, rules)
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=True,
        )
        client.on_socket_open = set_nodelay
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.max_inflight_messages_set(0)  # never hold an ack publish behind a full window
        client.reconnect_delay_set(1, 10)
        if self._user is not None:
            client.username_pw_set(self._user, self._password)
        if self._tls:
            client.tls_set()
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self.session_expiry_s
        props.ReceiveMaximum = self.receive_maximum
        client.connect_async(
            self._host, self._port, keepalive=30, clean_start=False, properties=props
        )
        self.client = client
        self._queue = queue.Queue()
        self._stopping.clear()
        self._threads = [
            threading.Thread(target=self._work, name="backoffice-worker", daemon=True),
            threading.Thread(target=self._watch_beacons, name="backoffice-beacon", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        client.loop_start()
        log.info(
            "back office %s: database %s, broker %s:%d",
            self.client_id,
            self.db.safe_url,
            self._host,
            self._port,
        )

    def wait_ready(self, timeout: float) -> bool:
        """True once connected and every subscription is granted (within `timeout` s)."""
        return self._ready.wait(timeout)

    def stop(self) -> None:
        """Finish the message in hand, disconnect, stop the threads, close the database."""
        self._stopping.set()
        self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=30)
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()
        if self.db is not None:
            self.db.close()
        self._ready.clear()

    def __enter__(self) -> BackOffice:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- paho callbacks (network thread: no waiting here) ------------------------------------

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            log.error("broker refused the connection: %s", reason)
            return
        log.info(
            "connected to %s:%d (session present: %s)",
            self._host,
            self._port,
            flags.session_present,
        )
        self._announced.clear()  # a broker that lost its retained beacons gets them again
        result, mid = client.subscribe([(topic, 1) for topic in self.subscriptions])
        if result == mqtt.MQTT_ERR_SUCCESS and mid is not None:
            self._pending_subs = {mid}  # a SUBACK lost with an old connection never comes

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        self._ready.clear()
        if not self._stopping.is_set():
            log.warning("disconnected from the broker (%s); reconnecting", reason)

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, reasons: list[Any], properties: Any
    ) -> None:
        refused = [str(r) for r in reasons if r.is_failure]
        if refused:
            log.error("broker refused subscriptions %s: %s", self.subscriptions, refused)
            return
        self._pending_subs.discard(mid)
        if not self._pending_subs:
            log.info("subscribed to %s", ", ".join(self.subscriptions))
            self._ready.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._queue.put(message)

    # --- the worker ------------------------------------------------------------------------

    def _work(self) -> None:
        while not self._stopping.is_set():
            batch = self._take()
            if not batch:
                return
            delay = 0.1
            while not self._stopping.is_set():
                try:
                    self._process(batch)
                    break
                except DatabaseUnavailable as exc:
                    log.warning("database unavailable, retrying in %.1f s: %s", delay, exc)
                    self._stopping.wait(delay)
                    delay = min(delay * 2, 5.0)
                except Exception:  # a bug: log it, and let the register's resend try again
                    log.exception("failed on %d messages from %s", len(batch), batch[0].topic)
                    for message in batch:
                        self._mqtt_ack(message)
                    break

    def _take(self) -> list[mqtt.MQTTMessage]:
        """The next message (waiting for it) and those already behind it; [] to stop."""
        message = self._queue.get()
        batch: list[mqtt.MQTTMessage] = []
        while message is not None:
            batch.append(message)
            if len(batch) == MAX_BATCH:
                break
            try:
                message = self._queue.get_nowait()
            except queue.Empty:
                break
        if message is None:
            self._queue.put(None)  # stop after this batch
        return batch

    def _mqtt_ack(self, message: mqtt.MQTTMessage) -> None:
        assert self.client is not None
        if message.qos > 0:
            self.client.ack(message.mid, message.qos)

    def _process(self, batch: list[mqtt.MQTTMessage]) -> None:
        assert self.client is not None
        now = self.clock()
        entries: list[tuple[mqtt.MQTTMessage, wire.Topic]] = []
        for message in batch:
            try:
                where = wire.parse_topic(message.topic)
            except WireError as exc:
                log.warning("ignored a message on a foreign topic: %s", exc)
                continue
            if where.channel == "out":
                entries.append((message, where))
            elif where.channel == "rpc/req":
                self._answer(message, where.store, where.register, bytes(message.payload), now)
            elif where.channel == "status":
                record_status(self.db_or_fail, where.store, where.register,
                              bytes(message.payload), now)  # fmt: skip
        if entries:
            acks = self.consumer.handle_batch(
                [(message.topic, bytes(message.payload)) for message, _ in entries], now
            )  # committed
            for (_, where), ack in zip(entries, acks, strict=True):
                if ack is not None:
                    self.client.publish(
                        wire.ack_topic(where.store, where.register), wire.encode_ack(ack), qos=1
                    )
        for message in batch:
            self._mqtt_ack(message)
        self.handled += len(batch)

    @property
    def db_or_fail(self) -> Database:
        """The open database (the service was started)."""
        assert self.db is not None
        return self.db

    def _answer(
        self, message: mqtt.MQTTMessage, store: str, register: str, payload: bytes, now: datetime
    ) -> None:
        assert self.client is not None
        own = wire.rpc_response_topic(store, register)
        asked = getattr(message.properties, "ResponseTopic", None) or own
        if asked != own:  # a register hears only its own answers (broker ACL)
            response = RpcResponse("unauthorized", error=f"answers go to {own} only")
        else:
            response = self.rpc.answer(store, payload, now, register)
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        correlation = getattr(message.properties, "CorrelationData", None)
        if correlation is not None:
            props.CorrelationData = correlation
        self.client.publish(own, wire.encode_response(response), qos=1, properties=props)

    # --- beacons ---------------------------------------------------------------------------

    def publish_beacons(self) -> int:
        """Announce every store whose catalogue version moved since last time; returns how many."""
        if self.client is None or self.db is None or not self._ready.is_set():
            return 0
        with self.db.transaction(readonly=True) as tx:
            versions = store_versions(tx)
        sent = 0
        for store, version in sorted(versions.items()):
            if self._announced.get(store) == version:
                continue
            beacon = Beacon(version, self.clock().isoformat())
            self.client.publish(
                wire.beacon_topic(store), wire.encode_beacon(beacon), qos=1, retain=True
            )
            self._announced[store] = version
            sent += 1
            log.info("announced catalogue version %d of store %s", version, store)
        return sent

    def _watch_beacons(self) -> None:
        while not self._stopping.is_set():
            try:
                self.publish_beacons()
            except DatabaseUnavailable as exc:
                log.warning("beacons: database unavailable: %s", exc)
            except Exception:
                log.exception("beacons failed")
            self._stopping.wait(self.beacon_interval_s if self._ready.is_set() else 0.05)
