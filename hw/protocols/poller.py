"""The request/response loop every serial scale codec shares, without any I/O.

Theory of operation
-------------------
A serial scale speaks only when spoken to, and a cable can be pulled at any
moment, so each exchange is one request, then one answer or a deadline:

    IDLE --poll()--> WEIGHING --answer--> IDLE     a ScaleReading, or a ScaleFault
    IDLE --zero()--> ZEROING  --answer--> IDLE     a ZeroResult
    WEIGHING/ZEROING --deadline passes--> IDLE     "no answer in X s": a fault, never a weight

The caller owns the port and the clock (h11/aioquic style): it writes what
`poll(now)` or `zero(now)` hands back, feeds what it reads to `feed(data,
now)`, calls `tick(now)` once `next_deadline()` has passed, and waits on the
port until then. Every transition is in `TRANSITIONS`; asking for one the
table lacks (a second request while one is in flight) raises
`PollerStateError`.

Bytes arriving while IDLE answer an exchange already given up on; they are
dropped (and counted in `stale_bytes`), so a late weight is never taken for
the current one. Bytes left in the frame buffer at a deadline mean the scale
did answer, in words the codec does not know: the fault then names them,
because that points at a wrong protocol or baud rate rather than a cable.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import Enum
from typing import Protocol

from hw.protocols.errors import CodecError
from hw.protocols.mtsics import MtSics
from hw.protocols.nci import Nci
from hw.protocols.scale import (
    FrameBuffer,
    ScaleEvent,
    ScaleFault,
    ScaleReading,
    WeightUnit,
    ZeroResult,
    show_bytes,
)
from hw.protocols.toledo8217 import Toledo8217

PollerEvent = ScaleEvent | ZeroResult


class SerialScaleCodec(Protocol):
    """What the poller and the simulator need of a serial scale protocol."""

    name: str
    request_terminator: bytes | None  # how the simulator cuts requests; None: one byte each

    def weigh_request(self) -> bytes:
        """The bytes that ask for the weight."""
        ...

    def zero_request(self) -> bytes:
        """The bytes that ask the scale to zero."""
        ...

    def frame_buffer(self) -> FrameBuffer:
        """A fresh buffer that cuts this protocol's answers."""
        ...

    def decode(self, frame: bytes) -> ScaleEvent:
        """The event an answer to the weigh request means; raises `CodecError`."""
        ...

    def decode_zero(self, frame: bytes) -> ZeroResult:
        """What the answer to the zero request says; raises `CodecError`."""
        ...

    def answer(self, request: bytes, reading: ScaleReading) -> bytes:
        """What a scale in the state `reading` answers to `request` (the simulator's side)."""
        ...


SERIAL_CODECS: dict[str, Callable[[WeightUnit], SerialScaleCodec]] = {
    "toledo8217": Toledo8217,
    "mtsics": lambda unit: MtSics(),  # the answer names its unit
    "nci": lambda unit: Nci(),  # the answer names its unit
}


def serial_codec(protocol: str, unit: WeightUnit = WeightUnit.LB) -> SerialScaleCodec:
    """The codec named `protocol`; `unit` is used only where frames do not carry one (8217)."""
    factory = SERIAL_CODECS.get(protocol)
    if factory is None:
        known = ", ".join(sorted(SERIAL_CODECS))
        raise ValueError(f"unknown scale protocol {protocol!r}: expected one of {known}")
    return factory(unit)


class PollerState(Enum):
    """Where an exchange with the scale stands."""

    IDLE = "idle"
    WEIGHING = "waiting for a weight"
    ZEROING = "waiting for the answer to zero"


class Trigger(Enum):
    """What moves the poller from one state to the next."""

    WEIGH = "weigh request sent"
    ZERO = "zero request sent"
    ANSWER = "answer received"
    TIMEOUT = "deadline passed"


TRANSITIONS: dict[tuple[PollerState, Trigger], PollerState] = {
    (PollerState.IDLE, Trigger.WEIGH): PollerState.WEIGHING,
    (PollerState.IDLE, Trigger.ZERO): PollerState.ZEROING,
    (PollerState.WEIGHING, Trigger.ANSWER): PollerState.IDLE,
    (PollerState.WEIGHING, Trigger.TIMEOUT): PollerState.IDLE,
    (PollerState.ZEROING, Trigger.ANSWER): PollerState.IDLE,
    (PollerState.ZEROING, Trigger.TIMEOUT): PollerState.IDLE,
}


class PollerStateError(RuntimeError):
    """A request made while the poller could not take it (an exchange is in flight)."""


class Poller:
    """One serial scale's exchanges: requests out, events back, a deadline always known.

    `timeout` bounds each exchange. With `interval` set, `poll` hands back a
    weigh request that long after the last exchange ended (a display that
    follows the scale); with None, whenever it is idle (a read on demand).
    `source` and `hint` make the faults say where and what to check
    ("no answer from the scale on /dev/ttyUSB0 in 0.5 s: check the cable").
    """

    def __init__(
        self,
        codec: SerialScaleCodec,
        timeout: float,
        interval: float | None = None,
        source: str = "the scale",
        hint: str = "",
    ) -> None:
        """A poller speaking `codec`, idle, with a reading due at once."""
        self.codec = codec
        self.timeout = timeout
        self.interval = interval
        self.source = source
        self.hint = hint
        self.stale_bytes = 0
        self._state = PollerState.IDLE
        self._frames = codec.frame_buffer()
        self._deadline = math.inf
        self._limit = timeout
        self._due = -math.inf

    @property
    def state(self) -> PollerState:
        """The current state."""
        return self._state

    def poll(self, now: float, timeout: float | None = None) -> bytes | None:
        """The weigh request to send now, or None while an exchange is in flight or not due.

        `timeout` overrides the poller's own for this exchange.
        """
        if self._state is not PollerState.IDLE or now < self._due:
            return None
        self._start(Trigger.WEIGH, now, timeout)
        return self.codec.weigh_request()

    def zero(self, now: float, timeout: float | None = None) -> bytes:
        """The zero request to send now; raises `PollerStateError` if an exchange is in flight."""
        self._start(Trigger.ZERO, now, timeout)
        return self.codec.zero_request()

    def feed(self, data: bytes, now: float) -> list[PollerEvent]:
        """The event `data` completes: the answer to the exchange in flight, if whole."""
        if self._state is PollerState.IDLE:
            self.stale_bytes += len(data)
            return []
        frames = self._frames.feed(data)
        if not frames:
            return []
        event = self._decode(frames[0])
        self._finish(Trigger.ANSWER, now)
        return [event]

    def tick(self, now: float) -> list[PollerEvent]:
        """A fault if the exchange in flight has passed its deadline, else nothing."""
        if self._state is PollerState.IDLE or now < self._deadline:
            return []
        pending = self._frames.pending
        if pending:
            reason = (
                f"{self.source} answered with bytes that are not {self.codec.name}: "
                f"{show_bytes(pending)}{self.hint}"
            )
        else:
            reason = f"no answer from {self.source} in {self._limit:g} s{self.hint}"
        zeroing = self._state is PollerState.ZEROING
        self._finish(Trigger.TIMEOUT, now)
        return [ZeroResult(False, reason) if zeroing else ScaleFault(reason)]

    def next_deadline(self) -> float | None:
        """When `tick` or `poll` next has something to do; -inf if a poll is due already.

        None when idle with no `interval`: nothing happens until asked.
        """
        if self._state is not PollerState.IDLE:
            return self._deadline
        return None if self.interval is None else self._due

    def reset(self) -> None:
        """Forget the exchange in flight (the port was closed or reopened); poll at once."""
        self._state = PollerState.IDLE
        self._frames.clear()
        self._deadline = math.inf
        self._due = -math.inf

    def _start(self, trigger: Trigger, now: float, timeout: float | None) -> None:
        self._transition(trigger)
        self._frames.clear()
        self._limit = self.timeout if timeout is None else timeout
        self._deadline = now + self._limit

    def _finish(self, trigger: Trigger, now: float) -> None:
        self._transition(trigger)
        self._frames.clear()  # what follows the answer is not an answer to anything
        self._deadline = math.inf
        self._due = now + (self.interval or 0.0)

    def _transition(self, trigger: Trigger) -> None:
        target = TRANSITIONS.get((self._state, trigger))
        if target is None:
            raise PollerStateError(f"cannot {trigger.value!r} while {self._state.value}")
        self._state = target

    def _decode(self, frame: bytes) -> PollerEvent:
        try:
            if self._state is PollerState.ZEROING:
                return self.codec.decode_zero(frame)
            return self.codec.decode(frame)
        except CodecError as exc:
            reason = f"garbled answer from {self.source}: {exc}{self.hint}"
            if self._state is PollerState.ZEROING:
                return ZeroResult(False, reason)
            return ScaleFault(reason)
