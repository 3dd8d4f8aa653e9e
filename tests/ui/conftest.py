"""View models over a real register on real LMDB files, with fakes for the link and devices.

The register, its storage and the demo catalogue come from tests.store.conftest;
the runner is synchronous (or deferred, where a test must look between a call
and its answer), and the scale, drawer, print queue and link status are fakes of
a few lines each, as the view models' protocols allow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest

from appliance.bootstrap import open_storage
from appliance.config import Config
from appliance.domain.money import Money
from appliance.print_queue import QueueState
from appliance.register import Register
from appliance.store.lmdb_env import Storage
from appliance.sync.ports import LinkStatus
from appliance.ui.viewmodels.runner import SyncRunner
from appliance.ui.viewmodels.session import Session
from hw.labels import FilledLabel
from hw.ports import DeviceError, KickResult
from hw.protocols.scale import ScaleEvent, ScaleReading, ScaleStatus, WeightUnit
from tests.store.conftest import (
    CASHIER_PIN,
    MANAGER_PIN,
    FakeClock,
    make_register,
    seed,
    write_config,
)

__all__ = ["CASHIER_PIN", "MANAGER_PIN", "FakeClock", "cad"]

T = TypeVar("T")
COLA = "0067000000010"  # Cola 355 ml, 1.49, food tax (GST), "Cola 30c off"
BANANAS = "4011"  # 1.74/kg


def cad(minor: int) -> Money:
    return Money(minor, "CAD")


class FakeLink:
    """The sync link's status, set by the test."""

    def __init__(self, state: str = "online") -> None:
        self.state = state

    def status(self) -> LinkStatus:
        return LinkStatus(self.state, 0)


class FakeScale:
    """A scale that answers what the test puts on it (an event, or a DeviceError to raise)."""

    def __init__(self, event: ScaleEvent | DeviceError | None = None) -> None:
        self.event: ScaleEvent | DeviceError = event or ScaleReading(
            Decimal("0.000"), WeightUnit.KG, ScaleStatus.STABLE
        )
        self.reads = 0

    def read(self, timeout: float) -> ScaleEvent:
        self.reads += 1
        if isinstance(self.event, DeviceError):
            raise self.event
        return self.event


@dataclass
class FakeDrawer:
    """A drawer that records when it was kicked: what the outbox held at that moment."""

    register: Register | None = None
    result: KickResult | DeviceError = field(default_factory=lambda: KickResult(True, "open"))
    kicked_at_seq: list[int] = field(default_factory=list)

    def kick(self) -> KickResult:
        assert self.register is not None
        self.kicked_at_seq.append(self.register.status().last_seq)
        if isinstance(self.result, DeviceError):
            raise self.result
        return self.result


class FakeLabelPrinter:
    """A label printer's face to the labels panel: what it printed, or the fault set."""

    def __init__(self) -> None:
        self.printed: list[tuple[list[str], int]] = []
        self.fault: DeviceError | None = None

    def print_label(self, label: FilledLabel, copies: int = 1) -> None:
        if self.fault is not None:
            raise self.fault
        self.printed.append((label.lines(), copies))


class FakePrintQueue:
    """The print queue's face to the screens: wakes counted, state set by the test."""

    def __init__(self) -> None:
        self.state = QueueState(0)
        self.wakes = 0

    def wake(self) -> None:
        self.wakes += 1


class DeferredRunner:
    """Holds jobs until the test runs them: what a worker thread does, step by step."""

    def __init__(self) -> None:
        self.jobs: list[Callable[[], None]] = []

    def run(
        self,
        fn: Callable[[], T],
        on_done: Callable[[T], None],
        on_error: Callable[[Exception], None],
    ) -> None:
        def job() -> None:
            SyncRunner().run(fn, on_done, on_error)

        self.jobs.append(job)

    def run_one(self) -> None:
        self.jobs.pop(0)()

    def run_all(self) -> int:
        done = 0
        while self.jobs:
            self.jobs.pop(0)()
            done += 1
        return done


@dataclass
class Shop:
    """A session with its fakes, for a test to drive and inspect."""

    session: Session
    register: Register
    storage: Storage
    config: Config
    clock: FakeClock
    link: FakeLink
    scale: FakeScale
    drawer: FakeDrawer
    printing: FakePrintQueue
    label_printer: FakeLabelPrinter
    extra: dict[str, Any] = field(default_factory=dict)

    def login(self, cashier: str = "ann", pin: str = CASHIER_PIN) -> None:
        self.session.start()
        self.session.login.choose(cashier)
        for digit in pin:
            self.session.login.key(digit)
        self.session.login.enter()
        assert self.session.login.state.logged_in, self.session.login.state.message

    def open_till(self) -> None:
        self.session.backroom.open_till()
        assert self.session.backroom.state.till_open, self.session.backroom.state.message


def make_shop(tmp_path: Path, clock: FakeClock, extra: str = "", runner: Any = None) -> Shop:
    config = write_config(tmp_path, extra=extra)
    storage = open_storage(config)
    seed(storage, config)
    register = make_register(config, clock, storage)
    link, scale, printing = FakeLink("offline"), FakeScale(), FakePrintQueue()
    drawer, label_printer = FakeDrawer(register), FakeLabelPrinter()
    session = Session(
        register,
        runner or SyncRunner(),
        link=link,
        print_queue=printing,
        scale=scale,
        drawer=drawer,
        label_printer=label_printer,
    )
    return Shop(
        session, register, storage, config, clock, link, scale, drawer, printing, label_printer
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def shop(tmp_path: Path, clock: FakeClock) -> Iterator[Shop]:
    """A logged-in session (Ann) with an open till."""
    made = make_shop(tmp_path, clock)
    made.login()
    made.open_till()
    yield made
    made.register.io.close()
    made.storage.close()


@pytest.fixture
def fresh(tmp_path: Path, clock: FakeClock) -> Iterator[Shop]:
    """A session nobody has logged in to yet."""
    made = make_shop(tmp_path, clock)
    yield made
    made.register.io.close()
    made.storage.close()
