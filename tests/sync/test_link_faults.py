"""The link when the register's storage or the back office misbehaves: it goes on syncing.

Each test breaks one thing once (a read of the outbox, a write of acks, an answer of a
shape the register does not expect) over a real Mosquitto, and checks that the sale
still reaches the office and is settled, with nobody restarting anything.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from paho.mqtt.client import MQTTMessage
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from appliance.register import Register
from appliance.store.errors import StorageTimeout
from appliance.sync import wire
from appliance.sync.link import SyncLink
from devstack import Mosquitto
from tests.sync.conftest import sell
from tests.sync.helpers import Acker, Answerer, wait_for


def _fails_once(
    real: Callable[..., Any], what: str, when: Callable[..., bool] = lambda *args: True
) -> Callable[..., Any]:
    failed: list[bool] = []

    def flaky(*args: Any) -> Any:
        if not failed and when(*args):
            failed.append(True)
            raise StorageTimeout(f"{what} did not finish within 5 s (injected once)")
        return real(*args)

    return flaky


def test_a_load_the_storage_could_not_read_is_tried_again(
    shop: tuple[Register, SyncLink], mosquitto: Mosquitto
) -> None:
    """Once stuck waiting for an answer to its failed load, the link sent nothing more."""
    register, link = shop
    acker = Acker(mosquitto)
    try:
        assert wait_for(lambda: link.status().state == "online")
        register.unsent_after = _fails_once(register.unsent_after, "loading the outbox")  # type: ignore[method-assign]
        sale = sell(register)
        assert wait_for(lambda: register.status().unsent == 0, 10), link.status()
        assert sale in acker.seen
        assert wait_for(lambda: link.status().state == "online")
    finally:
        acker.close()


def test_acks_the_storage_could_not_write_are_written_with_the_next_pass(
    shop: tuple[Register, SyncLink], mosquitto: Mosquitto
) -> None:
    """Once dropped, they left the entry in flight on disk for as long as the link was up,
    while the screen said online with nothing unsent."""
    register, link = shop
    acker = Acker(mosquitto)
    try:
        assert wait_for(lambda: link.status().state == "online")
        register.record_sync = _fails_once(  # type: ignore[method-assign]
            register.record_sync, "recording acks", when=lambda settles, sent: bool(settles)
        )
        sale = sell(register)
        assert wait_for(lambda: register.status().unsent == 0, 10), link.status()
        assert acker.seen[sale] == 1, "settled from the ack in hand, not by sending again"
    finally:
        acker.close()


class _Office(Answerer):
    """Answers every `refresh` with `result`, as a back office of another version might."""

    def __init__(self, broker: Mosquitto, result: dict[str, Any]) -> None:
        self.result, self.asked = result, threading.Event()
        super().__init__(broker, wire.RPC_FILTER, "office")

    def answer(self, message: MQTTMessage) -> None:
        request = wire.decode_request(bytes(message.payload))
        result = self.result if request.method == "refresh" else {}
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        props.CorrelationData = message.properties.CorrelationData
        self.probe.client.publish(message.properties.ResponseTopic,
                                  wire.encode_response(wire.RpcResponse("ok", result)),
                                  qos=1, properties=props)  # fmt: skip
        self.asked.set()


def test_an_answer_of_an_unexpected_shape_leaves_the_sync_thread_running(
    shop: tuple[Register, SyncLink], mosquitto: Mosquitto
) -> None:
    """A balance of null once raised out of paho's loop and ended the sync thread for good,
    with the screen still saying online."""
    register, link = shop
    link.apply_refresh = register.apply_refresh  # as bootstrap.start_sync wires it
    bad = {"customers": [], "balances": [{"kind": "gift_card", "account": "g-1", "amount": None}]}
    office, acker = _Office(mosquitto, bad), Acker(mosquitto)
    try:
        assert office.asked.wait(10), "no refresh was asked for"
        sale = sell(register)
        assert wait_for(lambda: register.status().unsent == 0, 10), link.status()
        assert sale in acker.seen
    finally:
        office.close()
        acker.close()
