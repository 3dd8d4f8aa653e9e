"""The back office service over a real Mosquitto, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from appliance.sync import wire
from appliance.sync.wire import Ack, RpcRequest, Status
from backoffice.catalog import load_catalog
from backoffice.db import Database, DatabaseUnavailable
from backoffice.service import BackOffice, parse_broker_url
from devstack import Mosquitto
from devstack.mqtt import MqttProbe
from tests.backoffice.conftest import NOW, Till, count
from tests.store.conftest import DEMO_CATALOG

ROOT = Path(__file__).resolve().parents[2]
_CLIENTS = itertools.count(1)


def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


@pytest.fixture
def service(stocked: Database, db_url: str, mosquitto: Mosquitto) -> Iterator[BackOffice]:
    office = BackOffice(
        db_url, mosquitto.url, client_id=f"bo-test-{next(_CLIENTS)}", beacon_interval_s=0.1
    )
    office.start()
    assert office.wait_ready(10), "the back office did not subscribe"
    yield office
    office.stop()


@pytest.fixture
def probe(mosquitto: Mosquitto) -> Iterator[MqttProbe]:
    with MqttProbe(mosquitto.host, mosquitto.port) as client:
        yield client


def test_an_entry_is_stored_and_acked_on_the_ack_topic(
    service: BackOffice, probe: MqttProbe, till: Till, stocked: Database
) -> None:
    probe.subscribe(wire.ack_topic("s1", "r1"))
    sent = till.sell("cola", "chips")
    probe.publish(sent.topic, sent.payload)
    message = probe.next_message(10)
    assert message.topic == wire.ack_topic("s1", "r1")
    ack = wire.decode_ack(bytes(message.payload))
    assert (ack.id, ack.seq, ack.status) == (sent.id, 1, "accepted")
    probe.publish(sent.topic, sent.payload)  # a register's resend after a lost ack
    assert wire.decode_ack(bytes(probe.next_message(10).payload)).status == "duplicate"
    assert count(stocked, "sales") == 1


def test_rpc_answers_on_the_registers_response_topic(service: BackOffice, probe: MqttProbe) -> None:
    own = wire.rpc_response_topic("s1", "r1")
    probe.subscribe(own)
    request = wire.encode_request(RpcRequest("changes_since", {"version": 1}))
    for topic, correlation in ((own, b"c-1"), (wire.rpc_response_topic("s1", "r2"), b"c-2")):
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        props.ResponseTopic = topic
        props.CorrelationData = correlation
        probe.client.publish(wire.rpc_request_topic("s1", "r1"), request, qos=1, properties=props)
        message = probe.next_message(10)
        assert message.topic == own
        assert getattr(message.properties, "CorrelationData", None) == correlation
        response = wire.decode_response(bytes(message.payload))
        if correlation == b"c-1":
            assert (response.status, response.result) == ("ok", {})
        else:  # a register never gets answers sent where another register reads
            assert response.status == "unauthorized"


def test_status_and_beacons(
    service: BackOffice, probe: MqttProbe, stocked: Database, till: Till
) -> None:
    probe.subscribe(wire.beacon_topic("s1"))
    assert wire.decode_beacon(bytes(probe.next_message(10).payload)).version == 1  # retained
    probe.publish(
        wire.status_topic("s1", "r1"),
        wire.encode_status(Status("online", 4, "2026-11-25T09:00:00")),
        retain=True,
    )
    assert wait_until(lambda: count(stocked, "register_status", "WHERE pending = 4") == 1)
    load_catalog(stocked, "s1", till.config, DEMO_CATALOG, NOW)  # another process, say
    assert wire.decode_beacon(bytes(probe.next_message(10).payload)).version == 2


def test_shared_consumers_store_each_entry_once(
    stocked: Database, db_url: str, mosquitto: Mosquitto, probe: MqttProbe, till: Till
) -> None:
    offices = [
        BackOffice(db_url, mosquitto.url, client_id=f"bo-shared-{i}", shared_group="backoffice")
        for i in range(2)
    ]
    for office in offices:
        office.start()
        assert office.wait_ready(10)
    try:
        probe.subscribe(wire.ack_topic("s1", "r1"))
        sent = [till.sell("gum") for _ in range(12)]
        for entry in sent:
            probe.publish(entry.topic, entry.payload)
        acks = [wire.decode_ack(bytes(probe.next_message(10).payload)) for _ in sent]
    finally:
        for office in offices:
            office.stop()
    assert sorted(a.seq for a in acks) == list(range(1, 13))
    assert {a.status for a in acks} == {"accepted"}
    assert all(office.handled > 0 for office in offices)  # the load was shared
    assert count(stocked, "sales") == 12


def test_a_database_outage_holds_the_entry_until_it_is_stored(
    service: BackOffice, probe: MqttProbe, till: Till, monkeypatch: pytest.MonkeyPatch
) -> None:
    real, calls = service.consumer.handle_batch, []

    def flaky(messages: list[tuple[str, bytes]], now: datetime) -> list[Ack | None]:
        calls.append(messages)
        if len(calls) < 3:
            raise DatabaseUnavailable("the database is restarting")
        return real(messages, now)

    monkeypatch.setattr(service.consumer, "handle_batch", flaky)
    probe.subscribe(wire.ack_topic("s1", "r1"))
    sent = till.sell("cola")
    probe.publish(sent.topic, sent.payload)
    ack = wire.decode_ack(bytes(probe.next_message(10).payload))
    assert (ack.id, ack.status, len(calls)) == (sent.id, "accepted", 3)


def test_the_service_comes_back_after_a_broker_restart(
    service: BackOffice, mosquitto: Mosquitto, till: Till
) -> None:
    mosquitto.restart()
    assert wait_until(lambda: not service.wait_ready(0), 5)  # it saw the broker go
    assert service.wait_ready(15)
    with MqttProbe(mosquitto.host, mosquitto.port) as probe:
        probe.subscribe(wire.ack_topic("s1", "r1"))
        sent = till.sell("cola")
        probe.publish(sent.topic, sent.payload)
        assert wire.decode_ack(bytes(probe.next_message(10).payload)).status == "accepted"


def test_broker_urls() -> None:
    assert parse_broker_url("mqtt://127.0.0.1:1884") == ("127.0.0.1", 1884, False, None, None)
    assert parse_broker_url("mqtts://u:p%40ss@host") == ("host", 8883, True, "u", "p@ss")
    with pytest.raises(ValueError, match="expected mqtt://host:port"):
        parse_broker_url("http://host")


# --- a consumer killed before its commit ------------------------------------------------------


@contextmanager
def database_held(db_url: str) -> Iterator[Callable[[], bool]]:
    """Hold what the consumer writes first, so its transaction cannot finish.

    Yields a check that the consumer is waiting on the lock (PostgreSQL shows it; a
    SQLite writer waits inside its busy timeout where nothing shows).
    """
    if db_url.startswith("sqlite"):
        holder = Database(db_url)
        with holder.transaction():
            yield lambda: True
        holder.close()
        return
    with psycopg.connect(db_url) as conn, psycopg.connect(db_url, autocommit=True) as watch:
        conn.execute("LOCK TABLE watermarks IN ACCESS EXCLUSIVE MODE")

        def waiting() -> bool:
            row = watch.execute(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = "
                "'Lock' AND query LIKE 'INSERT INTO watermarks%'"
            ).fetchone()
            return row is not None and row[0] > 0

        yield waiting
        conn.rollback()


def serve(db_url: str, broker: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "backoffice.cli",
                "serve",
                "--db",
                db_url,
                "--broker",
                broker,
                "--client-id",
                "bo-killed",
            ],
            cwd=ROOT,
            stdout=out,
            stderr=out,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    return process


def test_a_consumer_killed_before_its_commit_gets_the_entry_again(
    stocked: Database,
    db_url: str,
    mosquitto: Mosquitto,
    probe: MqttProbe,
    till: Till,
    tmp_path: Path,
) -> None:
    log = tmp_path / "serve.log"
    probe.subscribe(wire.ack_topic("s1", "r1"))
    first = serve(db_url, mosquitto.url, log)
    try:
        assert wait_until(lambda: log.read_text().count("subscribed to") == 1, 20), log.read_text()
        sent = till.sell("cola")
        with database_held(db_url) as consumer_waits:
            probe.publish(sent.topic, sent.payload)
            assert wait_until(consumer_waits)  # it has the entry, its transaction is stuck
            with pytest.raises(TimeoutError):
                probe.next_message(0.5)
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        assert count(stocked, "entries") == 0
    finally:
        if first.poll() is None:
            first.kill()
    second = serve(db_url, mosquitto.url, log)  # same client id: the session resumes
    try:
        ack = wire.decode_ack(bytes(probe.next_message(20).payload))
        assert (ack.id, ack.status) == (sent.id, "accepted")
        assert count(stocked, "sales") == 1
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(20) == 0
    text = log.read_text()
    assert "session present: True" in text and "signal 15: stopping" in text
