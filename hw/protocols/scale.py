"""What every scale protocol decodes to: a reading with a status, or a fault.

A reading is stable or not, and only a stable, positive reading within the
scale's capacity can price a line. A timeout, a garbled frame or an unplugged
scale is a `ScaleFault`, never a weight of 0: a peer's driver returned 0.0 on a
timeout and sold goods for nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from hw.protocols.errors import CodecError


class WeightUnit(Enum):
    """Units scales report in (the register converts to the product's unit)."""

    G = "g"
    KG = "kg"
    LB = "lb"
    OZ = "oz"


class ScaleStatus(Enum):
    """The state a scale reports alongside (or instead of) a weight."""

    STABLE = "stable"
    IN_MOTION = "in motion"
    ZERO = "stable zero"
    UNDER_ZERO = "under zero"
    OVER_CAPACITY = "over capacity"


@dataclass(frozen=True)
class ScaleReading:
    """One decoded weight report."""

    weight: Decimal
    unit: WeightUnit
    status: ScaleStatus

    def can_price(self, capacity: Decimal | None = None) -> bool:
        """True only for a stable, positive weight within `capacity` (same unit)."""
        if self.status is not ScaleStatus.STABLE or not self.weight > 0:
            return False
        return capacity is None or self.weight <= capacity


@dataclass(frozen=True)
class ScaleFault:
    """The scale could not give a weight: the reason is shown to the cashier.

    `status` is what the scale said instead of a weight (in motion, over
    capacity, under zero) when it said something; None when it said nothing
    usable (a timeout, garbage, a hardware error, an unplugged cable). A
    protocol that reports such a state without a weight (8217, NCI, MT-SICS
    "S +") gives a fault, never a reading with a made-up weight.
    """

    reason: str
    status: ScaleStatus | None = None


ScaleEvent = ScaleReading | ScaleFault

# What every protocol says for the states a scale reports instead of a weight,
# so the cashier reads the same words whatever scale is plugged in.
IN_MOTION = ScaleFault("the scale is in motion: wait for it to settle", ScaleStatus.IN_MOTION)
OVER_CAPACITY = ScaleFault(
    "the scale is over capacity: take the goods off", ScaleStatus.OVER_CAPACITY
)


def within_capacity(event: ScaleEvent, capacity: Decimal | None) -> ScaleEvent:
    """`event`, or OVER_CAPACITY for a weight above `capacity` (the profile's, in the
    reading's unit): a scale shows a little past its stated capacity before it reports
    overload, and what it shows there is not trade-approved."""
    if capacity is not None and isinstance(event, ScaleReading) and event.weight > capacity:
        return OVER_CAPACITY
    return event


UNDER_ZERO = ScaleFault(
    "the scale reads under zero: empty the platter and zero it", ScaleStatus.UNDER_ZERO
)


@dataclass(frozen=True)
class ZeroResult:
    """A scale's answer to a zero command: done, or why not (`reason`)."""

    zeroed: bool
    reason: str = ""


def show_bytes(data: bytes, limit: int = 32) -> str:
    """`data` repr'd for an error message, cut after `limit` bytes so a flood stays readable."""
    if len(data) <= limit:
        return repr(bytes(data))
    return f"{bytes(data[:limit])!r}... ({len(data)} bytes)"


class FrameBuffer:
    """Cuts a byte stream into frames that end with `terminator`.

    Serial reads split and join frames at random, so bytes are kept until a
    terminator arrives; each frame is handed back whole, terminator included,
    for the codec to validate. A run of `max_len` bytes with no terminator is
    handed back as it is (it cannot be a frame, so decoding it fails and the
    driver reports garbage) instead of growing without bound.
    """

    def __init__(self, terminator: bytes, max_len: int = 64) -> None:
        """A buffer for frames ending with the single byte `terminator`."""
        if len(terminator) != 1:
            raise ValueError(f"a frame terminator is one byte, not {terminator!r}")
        self.terminator = terminator
        self.max_len = max_len
        self._pending = bytearray()

    @property
    def pending(self) -> bytes:
        """Bytes received that do not yet end a frame."""
        return bytes(self._pending)

    def feed(self, data: bytes) -> list[bytes]:
        """The frames `data` completes, in order; the rest is kept for the next call."""
        self._pending += data
        frames: list[bytes] = []
        while True:
            end = self._pending.find(self.terminator)
            if end < 0 or end >= self.max_len:
                if len(self._pending) < self.max_len:
                    return frames
                end = self.max_len - 1  # an overlong run: hand it back as junk
            frames.append(bytes(self._pending[: end + 1]))
            del self._pending[: end + 1]

    def clear(self) -> bytes:
        """Forget any partial frame (after a timeout or a new request); returns what was dropped."""
        dropped = bytes(self._pending)
        self._pending.clear()
        return dropped


class StreamDecoder:
    """A byte stream in, scale events out: frames cut by a `FrameBuffer`, decoded by `decode`.

    A frame the codec rejects becomes a `ScaleFault` naming the bytes, and the
    stream goes on: one garbled frame must not stop the next good one.
    """

    def __init__(self, frames: FrameBuffer, decode: Callable[[bytes], ScaleEvent]) -> None:
        """Decode the frames `frames` cuts with `decode` (which raises `CodecError`)."""
        self._frames = frames
        self._decode = decode

    def feed(self, data: bytes) -> list[ScaleEvent]:
        """The events the frames completed by `data` decode to."""
        events: list[ScaleEvent] = []
        for frame in self._frames.feed(data):
            try:
                events.append(self._decode(frame))
            except CodecError as exc:
                events.append(ScaleFault(f"garbled answer from the scale: {exc}"))
        return events
