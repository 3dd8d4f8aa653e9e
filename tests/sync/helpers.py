"""Test helpers for the sync tests: a minimal back office that acks, and waiting."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from paho.mqtt.client import MQTTMessage

from appliance.sync import wire
from devstack import Mosquitto
from devstack.mqtt import MqttProbe


class Answerer:
    """A plain MQTT client that answers what arrives on `topic`, on a thread of its own."""

    def __init__(
        self,
        broker: Mosquitto,
        topic: str,
        client_id: str,
        setup: Callable[[MqttProbe], None] = lambda probe: None,
    ) -> None:
        self.probe = MqttProbe(broker.host, broker.port, client_id=client_id)
        setup(self.probe)  # credentials or TLS before connecting
        self.probe.start()
        self.probe.subscribe(topic)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                message = self.probe.next_message(timeout=0.1)
            except TimeoutError:
                continue
            self.answer(message)

    def answer(self, message: MQTTMessage) -> None:
        """Answer one message (the subclass's part)."""
        raise NotImplementedError

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.probe.close()


class Acker(Answerer):
    """Answers every entry on the broker: accepted the first time, duplicate after."""

    def __init__(
        self,
        broker: Mosquitto,
        reject: Callable[[int], bool] = lambda seq: False,
        setup: Callable[[MqttProbe], None] = lambda probe: None,
    ) -> None:
        self.seen: dict[str, int] = {}
        self.reject = reject
        super().__init__(broker, wire.OUT_FILTER, "acker", setup)

    def answer(self, message: MQTTMessage) -> None:
        envelope = wire.decode_envelope(bytes(message.payload))
        if envelope.id in self.seen:
            status, reason = "duplicate", ""
        elif self.reject(envelope.seq):
            status, reason = "rejected", "test says no"
        else:
            status, reason = "accepted", ""
        self.seen[envelope.id] = self.seen.get(envelope.id, 0) + 1
        ack = wire.Ack(envelope.id, envelope.seq, status, reason)
        self.probe.publish(wire.ack_topic(envelope.store, envelope.register),
                           wire.encode_ack(ack), qos=1)  # fmt: skip


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()
