"""paho-mqtt 2.x helpers for tests, benchmarks and the demo: Nagle off, and a probe client.

:class:`MqttProbe` turns paho's callbacks into events, counters and a message queue, so a
test can say "wait until connected", "publish and wait for the PUBACK" or "the next
message within 2 s" without writing callbacks. It re-subscribes after every connect,
because an MQTT 5 session with the default expiry of 0 ends with the connection.
"""

import queue
import threading
import time
from typing import Any, Self

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from appliance.sync.ports import set_nodelay


class MqttProbe:
    """A paho MQTT 5 client on its own network thread, observable from the test thread.

    ``connect_count`` and ``disconnect_times`` (monotonic) record every connect and
    disconnect; ``messages`` receives every message. paho reconnects by itself after a
    lost connection, waiting `reconnect_delay` (min, max) seconds.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        client_id: str = "",
        keepalive: int = 60,
        reconnect_delay: tuple[int, int] = (1, 2),
    ) -> None:
        self.host = host
        self.port = port
        self.keepalive = keepalive
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self.client.on_socket_open = set_nodelay
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.reconnect_delay_set(*reconnect_delay)
        self.connected = threading.Event()
        self.disconnected = threading.Event()
        self.connect_count = 0
        self.disconnect_times: list[float] = []
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self._subscriptions: dict[str, int] = {}
        self._acked: set[int] = set()
        self._changed = threading.Condition()

    # -- paho callbacks (paho's thread) --------------------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            return
        for topic, qos in self._subscriptions.items():
            client.subscribe(topic, qos)
        with self._changed:
            self.connect_count += 1
            self.disconnected.clear()
            self.connected.set()
            self._changed.notify_all()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._changed:
            self.disconnect_times.append(time.monotonic())
            self.connected.clear()
            self.disconnected.set()
            self._changed.notify_all()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.messages.put(message)

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        with self._changed:
            self._acked.add(mid)
            self._changed.notify_all()

    # -- the test's side -----------------------------------------------------------------

    def start(self, timeout: float = 5.0) -> Self:
        """Connect, start paho's network thread and wait for the CONNACK."""
        self.client.connect(self.host, self.port, keepalive=self.keepalive)
        self.client.loop_start()
        if not self.connected.wait(timeout):
            self.close()
            raise TimeoutError(f"no CONNACK from {self.host}:{self.port} within {timeout} s")
        return self

    def wait_for_connects(self, count: int, timeout: float) -> bool:
        """Wait until `count` connects in all have happened; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self.connect_count >= count, timeout)

    def subscribe(self, topic: str, qos: int = 1, timeout: float = 5.0) -> None:
        """Subscribe (now and after every reconnect) and wait for the SUBACK."""
        self._subscriptions[topic] = qos
        result, mid = self.client.subscribe(topic, qos)
        if result != mqtt.MQTT_ERR_SUCCESS or mid is None:
            raise ConnectionError(f"subscribe {topic!r} failed: {result}")
        with self._changed:
            if not self._changed.wait_for(lambda: mid in self._acked, timeout):
                raise TimeoutError(f"no SUBACK for {topic!r} within {timeout} s")

    def publish(
        self,
        topic: str,
        payload: bytes | str,
        *,
        qos: int = 1,
        retain: bool = False,
        timeout: float = 5.0,
    ) -> None:
        """Publish and, for QoS > 0, wait for the broker's acknowledgement."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(timeout)
        if not info.is_published():
            raise TimeoutError(f"publish to {topic!r} not acknowledged within {timeout} s")

    def next_message(self, timeout: float = 5.0) -> mqtt.MQTTMessage:
        """The next message received; TimeoutError if none comes within `timeout`."""
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no message within {timeout} s") from None

    def close(self) -> None:
        """Disconnect cleanly and stop paho's network thread."""
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()
