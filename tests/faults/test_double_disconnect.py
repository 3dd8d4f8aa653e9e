"""A reset right behind an ack: paho reports the one lost connection twice.

Found by the broker-SIGKILL fault test (test_sync_faults.py, test 1), which lost the
register's sync thread about every other run; fixed meanwhile in ac45aaa (the machine
ignores a failure reported twice; `SyncLink._feed` survives a MachineError). This
test reproduces the cause over a real socket so that it stays fixed.

paho-mqtt 2.1, driven by the link's own `client.loop()` (no `loop_start`), writes a
QoS 1 PUBACK straight from `_handle_publish` (`_packet_queue` -> `loop_write`). When
the connection was reset right after the broker's PUBLISH (an ack) arrived, that
write fails: paho closes the socket and calls `on_disconnect` (from `loop_write`),
then returns the error up through `loop_read`, which calls `on_disconnect` AGAIN.
`SyncLink._on_disconnect` turns the first into `Disconnected` (it was connected) and
the second into `ConnectFailed` (it no longer is), which reaches an OFFLINE machine.
Before the fix that was a MachineError that killed the sync thread: no reconnect, no
drain, a frozen status, sales piling up silently until the register was restarted.

Here a fake broker on a socket makes it deterministic: it accepts the register and
answers CONNACK and SUBACK. The test then keeps the register's storage thread busy for
a second and tells the link an entry was committed, so the sync thread sits in its
outbox read; meanwhile the fake broker sends one QoS 1 PUBLISH on the register's ack
topic and resets the connection (SO_LINGER 0). When the sync thread comes back, Linux
hands it the bytes that arrived before the RST: paho reads the PUBLISH, its PUBACK
write fails, and the double callback follows. A healthy link connects again within
reconnect_max_s (0.5 s).
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from pathlib import Path

import pytest

from appliance.sync import wire
from tests.faults.shop import Shop, wait_for


def _read_packet(conn: socket.socket) -> tuple[int, bytes]:
    """One MQTT packet: (first byte, body)."""
    first = conn.recv(1)
    if not first:
        raise ConnectionError("the client closed")
    length, shift = 0, 0
    while True:
        byte = conn.recv(1)[0]
        length += (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    body = b""
    while len(body) < length:
        chunk = conn.recv(length - len(body))
        if not chunk:
            raise ConnectionError("the client closed mid-packet")
        body += chunk
    return first[0], body


def _packet(first: int, body: bytes) -> bytes:
    assert len(body) < 128
    return bytes([first, len(body)]) + body


def _accept_and_subscribe(server: socket.socket) -> socket.socket:
    conn, _ = server.accept()
    conn.settimeout(5)
    kind, _ = _read_packet(conn)
    assert kind >> 4 == 1, "expected CONNECT"
    conn.sendall(_packet(0x20, b"\x00\x00\x00"))  # CONNACK: no session, success, no properties
    while True:
        kind, body = _read_packet(conn)
        if kind >> 4 == 8:  # SUBSCRIBE: answer with QoS 1 granted for each of the 3 filters
            conn.sendall(_packet(0x90, body[:2] + b"\x00" + b"\x01\x01\x01"))
            return conn


def _publish_then_reset(conn: socket.socket, ack_topic: str) -> None:
    ack = b'{"id":"01a21000-0000-7000-8000-000000000001","seq":1,"status":"accepted","v":1}'
    topic = ack_topic.encode()
    publish = struct.pack("!H", len(topic)) + topic + b"\x00\x07" + b"\x00" + ack
    conn.sendall(bytes([0x32, len(publish)]) + publish)  # PUBLISH, QoS 1, packet id 7
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()  # RST right behind the PUBLISH


@pytest.mark.slow
def test_the_link_reconnects_after_a_reset_right_behind_an_ack(
    tmp_path: Path, shops: list[Shop]
) -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(5)
    try:
        broker = f"mqtt://127.0.0.1:{server.getsockname()[1]}"
        shop = Shop(tmp_path, "r1", broker)
        shops.append(shop)
        link = shop.start_link()
        calls: list[object] = []
        reported = link.client.on_disconnect
        assert reported is not None

        def counting(*args: object) -> None:
            calls.append(args[3])  # the reason code
            reported(*args)

        link.client.on_disconnect = counting
        conn = _accept_and_subscribe(server)
        time.sleep(0.3)  # the link is up and subscribed
        busy = threading.Thread(target=shop.register.io.call, args=(lambda: time.sleep(1.0),))
        busy.start()  # the storage thread sleeps for a second...
        link.notify_committed(1)  # ...and the sync thread waits on it to load the outbox
        time.sleep(0.3)
        _publish_then_reset(conn, wire.ack_topic("s1", "r1"))  # arrives while nobody reads
        busy.join(5)
        assert wait_for(lambda: len(calls) >= 2, 5), f"paho reported the loss {len(calls)} time(s)"
        server.settimeout(3)  # reconnect_max_s is 0.5 s
        try:
            again, _ = server.accept()
            again.close()
        except TimeoutError:
            pytest.fail(f"the link never connected again (status {link.status()})")
    finally:
        server.close()
