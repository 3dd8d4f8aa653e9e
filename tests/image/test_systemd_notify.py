"""sd_notify over a real datagram socket, as systemd listens for it."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from appliance import systemd_notify as sd


def listener(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2)
    return sock


def test_ready_watchdog_and_stopping_reach_the_socket(tmp_path: Path) -> None:
    path = tmp_path / "notify"
    env = {sd.NOTIFY_SOCKET: str(path)}
    with listener(path) as sock:
        assert sd.ready("selling", env)
        assert sock.recv(256) == b"READY=1\nSTATUS=selling"
        assert sd.watchdog(env)
        assert sock.recv(256) == b"WATCHDOG=1"
        assert sd.stopping(env)
        assert sock.recv(256) == b"STOPPING=1"


def test_an_abstract_socket(tmp_path: Path) -> None:
    name = f"register-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        sock.settimeout(2)
        assert sd.notify("READY=1", {sd.NOTIFY_SOCKET: "@" + name})
        assert sock.recv(64) == b"READY=1"


def test_outside_systemd_every_call_is_a_quiet_no(tmp_path: Path) -> None:
    assert not sd.ready(environ={})
    assert not sd.watchdog({sd.NOTIFY_SOCKET: "relative/path"})
    assert not sd.watchdog({sd.NOTIFY_SOCKET: str(tmp_path / "nobody-listens")})


def test_the_watchdog_interval() -> None:
    mine = str(os.getpid())
    assert sd.watchdog_interval({sd.WATCHDOG_USEC: "30000000", sd.WATCHDOG_PID: mine}) == 30.0
    assert sd.watchdog_interval({sd.WATCHDOG_USEC: "30000000"}) == 30.0
    # under xinit systemd names xinit's pid; the app still pings
    assert sd.watchdog_interval({sd.WATCHDOG_USEC: "30000000", sd.WATCHDOG_PID: "1"}) == 30.0
    assert sd.watchdog_interval({sd.WATCHDOG_USEC: "0"}) is None
    assert sd.watchdog_interval({}) is None
    assert sd.watchdog_interval({sd.WATCHDOG_USEC: "soon"}) is None
