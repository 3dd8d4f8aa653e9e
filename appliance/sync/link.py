"""The link: paho-mqtt under the sync machine, in one thread of its own.

Theory of operation. The `sync` thread owns the MQTT client and drives paho's
network loop itself (`client.loop`), so paho's callbacks run in this thread
too; they only turn what arrived into machine events. The thread feeds each
event to the SyncMachine and carries out its actions: storage reads and writes
go through the register's storage thread (with its deadline), publishes go to
paho. Other threads talk to the link only through thread-safe calls:
`notify_committed` (a new outbox entry), `request` (an RPC with a timeout) and
`status`.

No network call blocks the cashier: `request` returns None on timeout, on a
network error or while offline, and the caller's local answer stands. The
outbox is the only truth; paho's in-memory QoS 1 state is a convenience.
Every client socket gets TCP_NODELAY (with Nagle on, an application ack round
trip costs 44-88 ms instead of 0.2 ms).
"""

from __future__ import annotations

import itertools
import logging
import queue
import random
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from appliance.config import Config
from appliance.store import outbox
from appliance.store.errors import StorageError
from appliance.store.outbox import UnsentEntry
from appliance.sync import events as ev
from appliance.sync import machine as m
from appliance.sync import wire
from appliance.sync.parts import Part, join_parts, read_part
from appliance.sync.ports import SETTLED, LinkStatus, OutboxPort, set_nodelay

log = logging.getLogger("appliance.sync")

Answered = Callable[[wire.RpcResponse | None], ev.Event | None]
"""Turns the answer to one of the sync thread's calls (None: none came) into the next
event, or None when the call goes on (the next part of an answer was asked for)."""


class SyncLink:
    """The register's side of the sync: see the module docstring."""

    def __init__(
        self,
        config: Config,
        port: OutboxPort,
        *,
        apply_changes: Callable[[dict[str, Any]], int | None] | None = None,
        apply_refresh: Callable[[dict[str, Any]], bool] | None = None,
        known_version: int = 0,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.config, self.port, self.clock = config, port, clock
        self.store, self.register = config.register.store, config.register.id
        self.apply_changes, self.apply_refresh = apply_changes, apply_refresh
        sync = config.sync
        self.machine = m.SyncMachine(
            m.Settings(
                window=sync.window,
                ack_timeout=sync.ack_timeout_s,
                resend_max=sync.resend_max_s,
                reconnect_min=sync.reconnect_min_s,
                reconnect_max=sync.reconnect_max_s,
                refresh_every=sync.refresh_every_s,
            ),
            known_version=known_version,
            rand=rand,
        )
        self._events: queue.SimpleQueue[ev.Event | None] = queue.SimpleQueue()
        self._pending_rpc: dict[bytes, Future[wire.RpcResponse]] = {}
        self._payloads: dict[str, UnsentEntry] = {}  # loaded, not yet settled: resends reuse them
        self._settles: list[tuple[str, outbox.EntryState, str]] = []  # written once per pass
        self._sent: list[int] = []
        # The sync thread's own requests (pull, refresh): it cannot wait for an answer that
        # its own network loop must receive, so each is a deadline and what to do with it.
        self._calls: dict[bytes, tuple[float, Answered]] = {}
        self._rpc_ids = itertools.count(1)
        self._lock = threading.Lock()
        self._status = LinkStatus("offline", 0)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sync", daemon=True)
        self.client = self._make_client()
        self._connected = False

    # --- what other threads call ------------------------------------------------------------

    def start(self) -> None:
        """Start the sync thread (it connects by itself)."""
        self._events.put(ev.Start(self.clock()))
        self._thread.start()

    def stop(self) -> None:
        """Publish offline if possible, disconnect, stop the thread."""
        self._stopping.set()
        self._events.put(None)
        self._thread.join(timeout=10)

    def notify_committed(self, unsent: int) -> None:
        """A new outbox entry was committed (thread-safe, never blocks)."""
        self._events.put(ev.Pending(unsent, self.clock()))

    def status(self) -> LinkStatus:
        """Online, syncing or offline, and the unsent count."""
        with self._lock:
            return self._status

    def request(
        self, method: str, params: dict[str, Any], timeout: float | None = None
    ) -> wire.RpcResponse | None:
        """Ask the back office; None when offline, on timeout or on a network error."""
        timeout = self.config.sync.rpc_timeout_s if timeout is None else timeout
        if not self._connected:
            return None
        correlation = self._correlation()
        future: Future[wire.RpcResponse] = Future()
        self._pending_rpc[correlation] = future
        try:
            if not self._publish_request(correlation, method, params):
                return None
            return future.result(timeout=timeout)
        except (FutureTimeout, CancelledError, OSError, ValueError):  # dropped link: cancelled
            return None
        finally:
            self._pending_rpc.pop(correlation, None)

    def _correlation(self) -> bytes:
        return f"{self.register}-{next(self._rpc_ids)}".encode()

    def _publish_request(self, correlation: bytes, method: str, params: dict[str, Any]) -> bool:
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        props.ResponseTopic = wire.rpc_response_topic(self.store, self.register)
        props.CorrelationData = correlation
        payload = wire.encode_request(wire.RpcRequest(method, params))
        info = self.client.publish(
            wire.rpc_request_topic(self.store, self.register), payload, qos=1, properties=props
        )
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    # --- the client -------------------------------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        broker = self.config.broker
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"reg-{self.store}-{self.register}",
            protocol=mqtt.MQTTv5,
            reconnect_on_failure=False,
        )
        client.on_socket_open = set_nodelay
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.max_inflight_messages_set(self.config.sync.window + 8)
        if broker.username:
            password = None
            if broker.password_file:
                with open(broker.password_file, encoding="utf-8") as f:
                    password = f.read().strip()
            client.username_pw_set(broker.username, password)
        if urlsplit(broker.url).scheme == "mqtts":
            client.tls_set(
                ca_certs=broker.ca_file or None,
                certfile=broker.cert_file or None,
                keyfile=broker.key_file or None,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        will = wire.encode_status(wire.Status("offline", 0, ""))
        client.will_set(wire.status_topic(self.store, self.register), will, qos=1, retain=True)
        return client

    def _connect(self) -> None:
        url = urlsplit(self.config.broker.url)
        default = 8883 if url.scheme == "mqtts" else 1883
        try:
            self.client.connect(
                url.hostname or "localhost",
                url.port or default,
                keepalive=self.config.broker.keepalive_s,
                clean_start=True,
            )
        except (OSError, ssl.SSLError, ValueError) as exc:
            log.info("cannot reach the broker %s: %s", url.hostname, exc)
            self._events.put(ev.ConnectFailed(self.clock()))

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            log.warning("the broker refused the connection: %s", reason)
            self._events.put(ev.ConnectFailed(self.clock()))
            return
        client.subscribe(
            [
                (wire.ack_topic(self.store, self.register), 1),
                (wire.rpc_response_topic(self.store, self.register), 1),
                (wire.beacon_topic(self.store), 1),
            ]
        )

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, properties: Any
    ) -> None:
        if any(r.is_failure for r in reasons):
            log.error("the broker refused a subscription: %s (check its ACL)", reasons)
        self._connected = True
        self._events.put(ev.Connected(self.clock()))

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        was = self._connected
        self._connected = False
        for future in list(self._pending_rpc.values()):
            future.cancel()
        calls, self._calls = list(self._calls.values()), {}
        for _, done in calls:
            self._event(done(None))
        self._events.put(ev.Disconnected(self.clock()) if was else ev.ConnectFailed(self.clock()))

    def _event(self, event: ev.Event | None) -> None:
        """Queue an event for the machine (None: a call goes on, nothing happened yet)."""
        if event is not None:
            self._events.put(event)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            topic, body = message.topic, bytes(message.payload)
            if topic == wire.beacon_topic(self.store):
                beacon = wire.decode_beacon(body)
                self._events.put(ev.BeaconSeen(beacon.version, self.clock()))
            elif topic == wire.ack_topic(self.store, self.register):
                ack = wire.decode_ack(body)
                self._events.put(ev.AckReceived(ack.id, ack.status, ack.reason, self.clock()))
            elif topic == wire.rpc_response_topic(self.store, self.register):
                correlation = bytes(getattr(message.properties, "CorrelationData", b""))
                response = wire.decode_response(body)  # a garbled answer is left to time out
                if correlation in self._calls:  # the sync thread's own call: answered here
                    _, done = self._calls.pop(correlation)
                    self._event(done(response))
                    return
                future = self._pending_rpc.get(correlation)
                if future is not None and not future.done():
                    future.set_result(response)
        except wire.WireError as exc:
            log.warning("ignored a malformed message on %s: %s", message.topic, exc)
        except Exception:  # paho would raise it out of loop(), and the sync thread with it
            log.exception("ignored a message on %s that could not be handled", message.topic)

    # --- the sync thread ----------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._turn()
            except Exception:  # a bug: logged, and the register goes on syncing
                log.exception("sync thread: an unexpected failure; going on")
                self._stopping.wait(1.0)
        self._goodbye()

    def _turn(self) -> None:
        """One pass: the network for up to 50 ms (less before a deadline), then the events."""
        deadline = self.machine.next_deadline()
        wait = 0.05 if deadline is None else max(0.0, min(0.05, deadline - self.clock()))
        if self.client.is_connected() or self.client.socket() is not None:
            self.client.loop(timeout=wait)
        else:
            time.sleep(wait)
        self._drain_events()

    def _drain_events(self) -> None:
        now = self.clock()
        events: list[ev.Event] = []
        while True:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                break
            if event is None:
                return
            events.append(event)
        for correlation, (expires, done) in list(self._calls.items()):
            if expires <= now:
                del self._calls[correlation]
                event = done(None)
                if event is not None:
                    events.append(event)
        deadline = self.machine.next_deadline()
        if deadline is not None and deadline <= now:
            events.append(ev.Timer(now))
        for event in ev.grouped(events):
            self._feed(event)
        self._flush()

    def _flush(self) -> None:
        """Write what this pass settled and sent, in one commit (not one per message)."""
        if self._settles or self._sent:
            settles, sent = self._settles, self._sent
            self._settles, self._sent = [], []
            try:
                self.port.record_sync(settles, sent)
            except StorageError as exc:  # kept, and written with the next pass's
                self._settles, self._sent = settles + self._settles, sent + self._sent
                log.error("storage failed recording acks (%s); trying again", exc)

    def _feed(self, event: ev.Event) -> None:
        pending: list[ev.Event] = [event]
        while pending:
            try:
                actions = self.machine.handle(pending.pop(0))
            except m.MachineError as exc:  # a bug, but the sync thread must outlive it
                log.error("sync machine: %s", exc)
                continue
            for action in actions:
                try:
                    follow = self._act(action)
                except StorageError as exc:
                    log.error("storage failed during sync (%s); retrying later", exc)
                    follow = None
                if follow is not None:
                    pending.append(follow)
        with self._lock:
            self._status = LinkStatus(self.machine.status, self.machine.unsent)

    def _act(self, action: ev.Action) -> ev.Event | None:
        if isinstance(action, ev.Connect):
            self._connect()
        elif isinstance(action, ev.Load):
            self._flush()  # what was settled must not be loaded as unsent again
            try:
                rows, unsent = self.port.unsent_after(action.after, action.limit)
            except StorageError as exc:  # loaded nothing: the machine asks again on its timer
                log.error("storage failed loading the outbox (%s); trying again", exc)
                return ev.Loaded(action.token, (), None, self.clock())
            self._payloads.update({row.id: row for row in rows})
            entries = tuple(ev.OutboxEntry(row.seq, row.id) for row in rows)
            return ev.Loaded(action.token, entries, unsent, self.clock())
        elif isinstance(action, ev.Send):
            self._send(action)
        elif isinstance(action, ev.Settle):
            self._settles.append((action.id, SETTLED[action.status], action.reason))
            self._payloads.pop(action.id, None)
        elif isinstance(action, ev.Requeue):
            self._flush()
            self.port.requeue()
        elif isinstance(action, ev.PublishStatus):
            self.client.publish(
                wire.status_topic(self.store, self.register),
                self._status_bytes("online", action.unsent),
                qos=1,
                retain=True,
            )
        elif isinstance(action, ev.Pull):
            return self._pull(action.since)
        elif isinstance(action, ev.Refresh):
            return self._refresh()
        return None

    def _send(self, action: ev.Send) -> None:
        self._sent.extend(e.seq for e in action.entries)
        for entry in action.entries:
            row = self._payloads.get(entry.id)
            if row is None:  # loaded before a restart of the link's memory: read it again
                rows, _ = self.port.unsent_after(entry.seq - 1, 1)
                if not rows or rows[0].id != entry.id:
                    continue  # settled meanwhile
                row = self._payloads[entry.id] = rows[0]
            self.client.publish(
                wire.out_topic(self.store, self.register, row.kind), row.payload, qos=1
            )

    def _call(
        self,
        method: str,
        params: dict[str, Any],
        done: Callable[[wire.RpcResponse | None], ev.Event],
    ) -> ev.Event | None:
        """Start a request from the sync thread; `done` turns its answer into the next event.

        An answer sent in parts is fetched part by part (each with its own timeout) and
        handed to `done` whole; a part that does not come or does not fit ends it as
        no answer, and the machine asks again later.
        """
        return self._ask(method, params, self._parts_then(method, params, done, []))

    def _ask(
        self,
        method: str,
        params: dict[str, Any],
        answered: Answered,
    ) -> ev.Event | None:
        correlation = self._correlation()
        if not self._connected or not self._publish_request(correlation, method, params):
            return answered(None)
        self._calls[correlation] = (self.clock() + self.config.sync.rpc_timeout_s, answered)
        return None

    def _parts_then(
        self,
        method: str,
        params: dict[str, Any],
        done: Callable[[wire.RpcResponse | None], ev.Event],
        parts: list[Part],
    ) -> Answered:
        def answered(response: wire.RpcResponse | None) -> ev.Event | None:
            if response is None or response.status != "ok":
                return done(response)
            try:
                part = read_part(response.result)
                if part is None:
                    return done(response)
                parts.append(part)
                if part.index + 1 < part.count:
                    more = {**params, "part": part.index + 1, "digest": part.digest}
                    return self._ask(method, more, self._parts_then(method, params, done, parts))
                return done(wire.RpcResponse("ok", join_parts(parts)))
            except wire.WireError as exc:
                log.warning("rpc %s: a part of the answer is unusable: %s", method, exc)
                return done(None)

        return answered

    def _pull(self, since: int) -> ev.Event | None:
        def done(response: wire.RpcResponse | None) -> ev.Event:
            if response is None or response.status != "ok" or self.apply_changes is None:
                return ev.Pulled(None, self.clock())
            try:
                applied = self.apply_changes(response.result)
            except Exception as exc:  # an answer of an unexpected shape too: the cache stands
                log.error("could not apply catalogue changes: %s: %s", type(exc).__name__, exc)
                return ev.Pulled(None, self.clock())
            return ev.Pulled(since if applied is None else applied, self.clock())

        return self._call("changes_since", {"version": since}, done)

    def _refresh(self) -> ev.Event | None:
        def done(response: wire.RpcResponse | None) -> ev.Event:
            if response is None or response.status != "ok" or self.apply_refresh is None:
                return ev.Refreshed(False, self.clock())
            try:
                return ev.Refreshed(self.apply_refresh(response.result), self.clock())
            except Exception as exc:  # an answer of an unexpected shape too: the cache stands
                log.error("could not apply the refresh: %s: %s", type(exc).__name__, exc)
                return ev.Refreshed(False, self.clock())

        return self._call("refresh", {}, done)

    def _status_bytes(self, state: str, unsent: int) -> bytes:
        """A status with how long the oldest unsent entry has waited (when it can tell)."""
        oldest = None
        if unsent:
            try:
                oldest = self.port.oldest_unsent_age_s()
            except StorageError as exc:  # the office learns the count, if not the age
                log.warning("could not read the oldest unsent entry: %s", exc)
        at = time.strftime("%Y-%m-%dT%H:%M:%S")
        return wire.encode_status(wire.Status(state, unsent, at, oldest))

    def _goodbye(self) -> None:
        self._flush()
        if self._connected:
            info = self.client.publish(
                wire.status_topic(self.store, self.register),
                self._status_bytes("offline", self.machine.unsent),
                qos=1,
                retain=True,
            )
            deadline = time.monotonic() + 2
            while not info.is_published() and time.monotonic() < deadline:
                self.client.loop(timeout=0.05)
        self.client.disconnect()
