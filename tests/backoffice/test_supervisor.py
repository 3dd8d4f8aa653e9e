"""`backoffice serve --consumers N`: N real consumer processes behind one shared group.

A real Mosquitto and the back office on SQLite (the engine only matters to the consumer,
tested on both elsewhere); real sales from a real register, published with a plain
client; the processes are looked at through /proc as a field tech would with `ps`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.sync import wire
from backoffice import supervisor
from backoffice.catalog import load_catalog
from backoffice.db import Database
from devstack import Mosquitto, procs
from tests.backoffice.conftest import NOW, Till
from tests.bench.sync_helpers import BackOfficeProcess, Counter, Publisher, wait_until
from tests.store.conftest import DEMO_CATALOG

SECRET = "s3cret-pw"


def cmdline(pid: int) -> str:
    return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()


@pytest.fixture
def unit(tmp_path: Path, mosquitto: Mosquitto, till: Till) -> Iterator[BackOfficeProcess]:
    """`backoffice serve --consumers 3` on the till's catalogue, the broker password given
    in the URL."""
    db_url = f"sqlite:///{tmp_path / 'backoffice.db'}"
    with Database(db_url) as db:
        load_catalog(db, "s1", till.config, DEMO_CATALOG, NOW)
    broker = f"mqtt://office:{SECRET}@{mosquitto.host}:{mosquitto.port}"
    office = BackOfficeProcess(db_url, broker,
                               tmp_path / "backoffice.log", ["--consumers", "3"],
                               consumers=3)  # fmt: skip
    with office:
        yield office


def publish_and_count(mosquitto: Mosquitto, till: Till, sales: int) -> list[wire.Ack]:
    """Sell `sales` sales on the till, publish them all, and return the acks received."""
    entries = [till.sell("cola") for _ in range(sales)]
    acks = Counter(mosquitto.host, mosquitto.port, "pos/v1/+/+/ack", f"acks-{time.time_ns()}")
    publisher = Publisher(mosquitto.host, mosquitto.port, 16, f"pub-{time.time_ns()}")
    try:
        acks.expect(sales)
        publisher.publish_all([(e.topic, e.payload) for e in entries], timeout=30)
        assert acks.reached.wait(30), f"{acks.count} of {sales} acks"
        return [wire.decode_ack(p) for p in acks.payloads]
    finally:
        publisher.close()
        acks.close()


def test_three_consumers_share_the_work_and_no_password_shows_on_a_command_line(
    unit: BackOfficeProcess, mosquitto: Mosquitto, till: Till
) -> None:
    assert unit.process is not None
    children = procs.children(unit.process.pid)
    assert len(children) == 2, children
    lines = [cmdline(pid) for pid in children]
    assert sorted(line.split("--client-id ")[1].split()[0] for line in lines) == [
        "backoffice-1",
        "backoffice-2",
    ]
    assert all("--shared backoffice" in line for line in lines)
    assert not any(SECRET in line for line in lines)
    log = unit.log()
    for n in range(3):
        assert f"backoffice-{n} backoffice.service: subscribed to $share/backoffice/" in log

    acks = publish_and_count(mosquitto, till, 30)
    assert sorted(a.status for a in acks) == ["accepted"] * 30
    assert {a.id for a in acks} == {e.id for e in till.entries()}


def test_a_consumer_killed_is_started_again_and_the_unit_keeps_storing(
    unit: BackOfficeProcess, mosquitto: Mosquitto, till: Till
) -> None:
    assert unit.process is not None
    victim = procs.children(unit.process.pid)[0]
    os.kill(victim, signal.SIGKILL)
    assert wait_until(lambda: "ended with signal SIGKILL; starting it again" in unit.log(), 10)
    assert wait_until(lambda: unit.subscribed() == 4, 20), unit.log()[-2000:]
    children = procs.children(unit.process.pid)
    assert len(children) == 2 and victim not in children

    acks = publish_and_count(mosquitto, till, 12)
    assert sorted(a.status for a in acks) == ["accepted"] * 12


def test_sigterm_stops_every_consumer_cleanly(unit: BackOfficeProcess) -> None:
    assert unit.process is not None
    children = procs.children(unit.process.pid)
    unit.stop()
    assert unit.process.returncode == 0, unit.log()[-2000:]
    assert not any(procs.alive(pid) for pid in children)


def test_the_children_stop_when_the_parent_is_killed(unit: BackOfficeProcess) -> None:
    assert unit.process is not None
    children = procs.children(unit.process.pid)
    unit.process.kill()
    unit.process.wait()
    try:
        assert wait_until(lambda: not any(procs.alive(pid) for pid in children), 15), "orphans left"
    finally:
        for pid in filter(procs.alive, children):
            os.kill(pid, signal.SIGKILL)
    assert "the parent `backoffice serve` is gone: stopping" in unit.log()


def test_a_worker_without_its_urls_on_stdin_says_what_it_expected() -> None:
    run = subprocess.run(
        supervisor.worker_argv("bo", 1, "backoffice", 60),
        input=b"",
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert run.returncode == 2
    assert b"expected the broker and database URLs" in run.stderr


@pytest.mark.parametrize("argv, message", [
    (["--consumers", "0", "--broker", "mqtt://127.0.0.1:1"], "--consumers 0: expected 1 or more"),
    ([], "serve: --broker URL is required"),
])  # fmt: skip
def test_serve_refuses_a_bad_command_line(argv: list[str], message: str) -> None:
    run = subprocess.run([sys.executable, "-m", "backoffice.cli", "serve", *argv],
                         capture_output=True, timeout=30, check=False)  # fmt: skip
    assert run.returncode != 0
    assert message in run.stderr.decode()


@pytest.mark.parametrize("previous, ran, expected", [
    (0.0, 0.5, 1.0),  # the first restart waits 1 s
    (1.0, 0.5, 2.0),  # dying again at once doubles it
    (16.0, 3.0, 30.0),  # capped
    (30.0, 3.0, 30.0),
    (30.0, 61.0, 1.0),  # a child that ran a minute is back to 1 s
])  # fmt: skip
def test_restart_backoff(previous: float, ran: float, expected: float) -> None:
    assert supervisor.restart_delay(previous, ran) == expected
