"""The dev services work for real: a broker, a database and a faulty link in front of them."""

import os
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from devstack import Mosquitto, MqttProbe, Postgres, ServiceError, TcpProxy, free_port
from tests.devstack.conftest import MosquittoFactory, ProxyFactory

TOPIC = "devstack/test"


@pytest.fixture
def probes() -> Iterator[list[MqttProbe]]:
    """Probes appended here are closed at teardown, even when the test fails."""
    started: list[MqttProbe] = []
    yield started
    for probe in started:
        probe.close()


def connect(probes: list[MqttProbe], host: str, port: int, keepalive: int = 60) -> MqttProbe:
    probe = MqttProbe(host, port, keepalive=keepalive)
    probes.append(probe)
    return probe.start()


def round_trip(probe: MqttProbe, payload: bytes) -> float:
    """Publish QoS 1 to a topic the probe subscribes itself; seconds until it comes back."""
    started = time.monotonic()
    probe.client.publish(TOPIC, payload, qos=1)
    message = probe.next_message(timeout=5)
    assert message.payload == payload
    return time.monotonic() - started


# -- ports -------------------------------------------------------------------------------


def test_free_ports_are_bindable_and_distinct() -> None:
    ports = {free_port() for _ in range(20)}
    assert len(ports) == 20
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", ports.pop()))


# -- Mosquitto ---------------------------------------------------------------------------


def test_mosquitto_qos1_round_trip(mosquitto: Mosquitto, probes: list[MqttProbe]) -> None:
    assert mosquitto.url == f"mqtt://127.0.0.1:{mosquitto.port}"
    probe = connect(probes, mosquitto.host, mosquitto.port)
    probe.subscribe(TOPIC, qos=1)
    round_trip(probe, b"hello")
    config = mosquitto.config_path.read_text()
    assert "set_tcp_nodelay true" in config
    assert f"listener {mosquitto.port} 127.0.0.1" in config
    assert ("user root" in config) == (os.geteuid() == 0)
    assert "New connection from 127.0.0.1" in mosquitto.log_text()


def test_retained_message_survives_a_restart(
    mosquitto_factory: MosquittoFactory, probes: list[MqttProbe]
) -> None:
    broker = mosquitto_factory(persistence=True)
    port = broker.port
    with MqttProbe(broker.host, broker.port) as writer:
        writer.publish("devstack/beacon", b"v42", qos=1, retain=True)
    broker.restart()
    assert broker.port == port
    assert (broker.persistence_dir / "mosquitto.db").exists()
    reader = connect(probes, broker.host, broker.port)
    reader.subscribe("devstack/beacon")
    message = reader.next_message(timeout=5)
    assert (message.payload, message.retain) == (b"v42", True)


def test_kill_then_restart(mosquitto: Mosquitto, probes: list[MqttProbe]) -> None:
    probe = connect(probes, mosquitto.host, mosquitto.port)
    probe.subscribe(TOPIC)
    mosquitto.kill()
    assert not mosquitto.running
    assert probe.disconnected.wait(5)
    mosquitto.restart()
    assert probe.wait_for_connects(2, timeout=10)
    probe.subscribe(TOPIC)  # the SUBACK of the re-subscription, so the round trip is fair
    round_trip(probe, b"after the crash")


def test_a_broker_that_cannot_start_says_why(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path / "bad", extra={"no_such_option": "1"}, start_timeout=2)
    with pytest.raises(ServiceError, match="no_such_option"):
        broker.start()
    broker.close()


# -- PostgreSQL --------------------------------------------------------------------------


def test_postgres_round_trip(postgres: Postgres) -> None:
    assert postgres.url == f"postgresql://postgres@127.0.0.1:{postgres.port}/backoffice"
    with psycopg.connect(postgres.url) as conn:
        conn.execute("CREATE TABLE devstack_sale (id uuid PRIMARY KEY, total_cents bigint)")
        conn.execute(
            "INSERT INTO devstack_sale VALUES ('0190a8a4-0000-7000-8000-000000000001', 1250)"
        )
        conn.commit()
        rows = conn.execute("SELECT total_cents FROM devstack_sale").fetchall()
        fsync = conn.execute("SHOW fsync").fetchone()
    assert rows == [(1250,)]
    assert fsync == ("off",)


def test_postgres_stop_kill_and_cleanup() -> None:
    with Postgres(dbname="scratch") as server:
        with psycopg.connect(server.url, autocommit=True) as conn:
            conn.execute("CREATE TABLE t (x int)")
            conn.execute("INSERT INTO t VALUES (7)")
        server.stop()
        assert not server.running
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(server.url, connect_timeout=2)
        server.start()
        server.kill()  # a crash: the next start recovers from the WAL
        server.start()
        with psycopg.connect(server.url) as conn:
            assert conn.execute("SELECT x FROM t").fetchall() == [(7,)]
        directory = server.directory
    assert not directory.exists()


# -- TcpProxy in front of Mosquitto ------------------------------------------------------


def test_paho_through_the_proxy(
    mosquitto: Mosquitto, proxy_factory: ProxyFactory, probes: list[MqttProbe]
) -> None:
    proxy = proxy_factory(mosquitto.host, mosquitto.port)
    assert proxy.url_for("mqtt") == f"mqtt://127.0.0.1:{proxy.port}"
    probe = connect(probes, proxy.host, proxy.port)
    probe.subscribe(TOPIC)
    round_trip(probe, b"via proxy")
    stats = proxy.stats()
    assert stats.connections_total == stats.connections_open == 1
    assert stats.bytes_up > 0 and stats.bytes_down > 0


def test_latency_delays_each_direction(
    mosquitto: Mosquitto, proxy_factory: ProxyFactory, probes: list[MqttProbe]
) -> None:
    proxy = proxy_factory(mosquitto.host, mosquitto.port)
    probe = connect(probes, proxy.host, proxy.port)
    probe.subscribe(TOPIC)
    proxy.set_latency(0.05)
    probe.client.publish(TOPIC, b"slow", qos=1)
    # Up to the broker and back down: two one-way delays of 50 ms, so nothing may come
    # back within 90 ms (a property of the proxy, not a speed), and it must come back.
    with pytest.raises(TimeoutError):
        probe.next_message(timeout=0.09)
    assert probe.next_message(timeout=5).payload == b"slow"


def test_total_loss_stalls_every_chunk_and_loses_nothing(
    mosquitto: Mosquitto, proxy_factory: ProxyFactory, probes: list[MqttProbe]
) -> None:
    proxy = proxy_factory(mosquitto.host, mosquitto.port)
    probe = connect(probes, proxy.host, proxy.port)
    probe.subscribe(TOPIC)
    with pytest.raises(ValueError, match="probability"):
        proxy.set_loss(1.5)
    proxy.set_loss(1.0, retransmit_s=0.05)  # every segment waits for its retransmission
    for n in range(5):
        probe.client.publish(TOPIC, b"lossy-%d" % n, qos=1)
    with pytest.raises(TimeoutError):  # up and down, each stalled 50 ms
        probe.next_message(timeout=0.09)
    got = [probe.next_message(timeout=5).payload for _ in range(5)]
    assert got == [b"lossy-%d" % n for n in range(5)], "in order, none missing"
    proxy.set_loss(0.0)
    assert round_trip(probe, b"clear") < 5


def test_cut_resets_and_refuses_until_healed(
    mosquitto: Mosquitto, proxy_factory: ProxyFactory, probes: list[MqttProbe]
) -> None:
    proxy = proxy_factory(mosquitto.host, mosquitto.port)
    probe = connect(probes, proxy.host, proxy.port)
    cut_at = time.monotonic()
    proxy.cut()
    assert probe.disconnected.wait(1.0)
    assert probe.disconnect_times[0] - cut_at < 1.0
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(proxy.address, timeout=1).close()
    proxy.heal()
    assert probe.wait_for_connects(2, timeout=10)


def test_blackhole_is_noticed_only_by_the_keepalive(
    mosquitto: Mosquitto, proxy_factory: ProxyFactory, probes: list[MqttProbe]
) -> None:
    proxy = proxy_factory(mosquitto.host, mosquitto.port)
    probe = connect(probes, proxy.host, proxy.port, keepalive=2)
    went_dark = time.monotonic()
    proxy.blackhole()
    assert not probe.disconnected.wait(1.0), "a black hole must not look like a reset"
    assert probe.disconnected.wait(6.0)
    noticed_after = probe.disconnect_times[0] - went_dark
    assert 1.5 <= noticed_after <= 6.5
    # paho now reconnects into the black hole; heal() resets that and it gets through.
    proxy.heal()
    assert probe.wait_for_connects(2, timeout=10)


# -- TcpProxy as a plain TCP forwarder ---------------------------------------------------


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)
        self.request.shutdown(socket.SHUT_WR)


class _EchoServer(socketserver.ThreadingTCPServer):
    # The default backlog of 5 overflows when the proxy connects 100 at once, and the
    # kernel then resets some of them: that would be the server's fault, not the proxy's.
    request_queue_size = 256
    daemon_threads = True


@pytest.fixture
def echo_server() -> Iterator[tuple[str, int]]:
    """An echo server that echoes until EOF, then half-closes: half-closes must pass."""
    server = _EchoServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield str(host), int(port)
    server.shutdown()
    server.server_close()


def _echo_through(address: tuple[str, int], payload: bytes) -> bytes:
    with socket.create_connection(address, timeout=10) as sock:

        def send() -> None:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)

        writer = threading.Thread(target=send)
        writer.start()
        received = bytearray()
        while chunk := sock.recv(65536):
            received += chunk
        writer.join()
    return bytes(received)


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_many_connections_big_transfers_and_no_leaks(echo_server: tuple[str, int]) -> None:
    threads_before, fds_before = threading.active_count(), _open_fds()
    proxy = TcpProxy(*echo_server)
    proxy.set_latency(0.002)
    big = os.urandom(4 << 20)  # past the proxy's 1 MiB buffer: back pressure must not hang
    assert _echo_through(proxy.address, big) == big

    results: list[bool] = []

    def client(n: int) -> None:
        payload = f"sale {n} ".encode() * 50
        results.append(_echo_through(proxy.address, payload) == payload)

    clients = [threading.Thread(target=client, args=(n,)) for n in range(100)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join(30)
    assert results == [True] * 100
    stats = proxy.stats()
    assert stats.connections_total == 101
    assert (
        stats.bytes_up
        == stats.bytes_down
        == len(big) + sum(len(f"sale {n} ".encode() * 50) for n in range(100))
    )
    proxy.close()
    deadline = time.monotonic() + 5
    while threading.active_count() > threads_before and time.monotonic() < deadline:
        time.sleep(0.05)  # the echo server's handler threads wind down after their EOF
    assert threading.active_count() <= threads_before
    assert _open_fds() <= fds_before
    with pytest.raises(ServiceError):
        proxy.heal()
