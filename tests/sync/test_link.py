"""The link over a real Mosquitto: sales drain, the broker dies and comes back, nothing is lost.

The back office here is a minimal acker built on the test's own MQTT client, so
these tests show the register's side alone; tests/backoffice covers the real one.
"""

from __future__ import annotations

import time

from appliance.register import Register
from appliance.store.outbox import EntryState
from appliance.sync import wire
from appliance.sync.link import SyncLink
from devstack import Mosquitto
from devstack.mqtt import MqttProbe
from tests.sync.conftest import sell
from tests.sync.helpers import Acker, wait_for


def test_sales_drain_and_are_confirmed(
    shop: tuple[Register, SyncLink], mosquitto: Mosquitto
) -> None:
    register, link = shop
    acker = Acker(mosquitto, reject=lambda seq: seq == 3)
    try:
        ids = [sell(register) for _ in range(6)]
        assert wait_for(lambda: register.status().unsent == 0), link.status()
        assert wait_for(lambda: link.status() == link.status().__class__("online", 0))
        assert set(acker.seen) == set(ids)
        (rejected,) = register.pending()
        assert (rejected.seq, rejected.state, rejected.reason) == (3, EntryState.REJECTED,
                                                                   "test says no")  # fmt: skip
        assert register.status().rejected == 1
    finally:
        acker.close()


def test_the_broker_dies_sales_go_on_and_drain_when_it_returns(
    shop: tuple[Register, SyncLink],
    mosquitto: Mosquitto,
) -> None:
    register, link = shop
    acker = Acker(mosquitto)
    assert wait_for(lambda: link.status().state == "online")
    first = sell(register)
    assert wait_for(lambda: register.status().unsent == 0)
    acker.close()
    mosquitto.stop()
    assert wait_for(lambda: link.status().state == "offline")
    offline = [sell(register) for _ in range(5)]  # never blocked by the network
    assert register.status().unsent == 5
    assert all(register.sale(i).offline for i in offline)
    mosquitto.start()
    acker = Acker(mosquitto)
    try:
        assert wait_for(lambda: register.status().unsent == 0, timeout=15), link.status()
        assert set(acker.seen) == set(offline), "each sent again after the outage"
        assert first not in acker.seen
    finally:
        acker.close()


def test_no_ack_means_the_same_bytes_again(
    shop: tuple[Register, SyncLink], mosquitto: Mosquitto
) -> None:
    register, link = shop
    probe = MqttProbe(mosquitto.host, mosquitto.port, client_id="silent").start()
    probe.subscribe(wire.OUT_FILTER)
    try:
        sale_id = sell(register)
        first = probe.next_message(timeout=5)
        second = probe.next_message(timeout=5)  # after the 1 s ack deadline
        assert bytes(first.payload) == bytes(second.payload)
        assert wire.decode_envelope(bytes(first.payload)).id == sale_id
        assert link.status().state == "syncing" and register.status().unsent == 1
        # the link records a send at the end of its pass: the copy can arrive before that
        assert wait_for(lambda: register.pending()[0].attempts >= 2, 5), register.pending()
        (entry,) = register.pending()
        assert entry.state is EntryState.IN_FLIGHT
    finally:
        probe.close()


def test_rpc_without_an_answer_times_out_to_none(shop: tuple[Register, SyncLink]) -> None:
    _, link = shop
    assert wait_for(lambda: link.status().state == "online")
    started = time.monotonic()
    assert link.request("price_cart", {"lines": []}, timeout=0.3) is None
    assert time.monotonic() - started < 1.0


def test_consecutive_acks_are_grouped_for_one_commit() -> None:
    from appliance.sync import events as ev

    acks = [ev.AckReceived(f"id-{n}", "accepted", "", 1.0) for n in range(3)]
    timer = ev.Timer(1.0)
    grouped = ev.grouped([acks[0], acks[1], timer, acks[2]])
    assert grouped == [ev.AcksReceived((acks[0], acks[1]), 1.0), timer, acks[2]]
    assert ev.grouped([*acks]) == [ev.AcksReceived(tuple(acks), 1.0)]
