"""Mettler Toledo 8217 ("weight only") protocol, spoken by most POS checkout scales.

Sources: METTLER TOLEDO DIVA Service Manual, "8217 Protocol: Command
Descriptions" and "Status Byte Format" (6.1.4.3); Rice Lake BenchPro Series
Operation Manual (the same status bits); Odoo's IoT box
`serial_scale_driver.py` (`Toledo8217Protocol`: 9600 baud, 7 data bits, even
parity, 1 stop bit, request `W`, answers matched by `STX ws* digits N? CR` and
`STX ? status CR`).

Host to scale: one uppercase letter, no terminator. `W` asks for the weight,
`Z` zeroes (`T` tare, `C` clear tare and the test commands are not used).

Scale to host:

    STX <weight> CR       a stable weight: b"\\x0201.234\\r" (kg, 3 decimals) or
                          b"\\x0201.50\\r" (lb, 2 decimals); an `N` after the digits
                          marks a net weight; some models pad with spaces
    STX ? <status> CR     no weight: the scale is in motion, under zero or over
                          capacity (and the only answer to `Z`)

Status byte, bit 7 being the parity bit: 0 in motion, 1 over capacity, 2 under
zero, 3 outside the zero capture range (not zeroed at power-up), 4 at the
centre of zero, 5 net weight, 6 always 1. So b"?A" (0x41) is "in motion".

The frame carries no unit: the scale's setup menu decides it, so the codec is
told (`unit`) and the device profile must match the scale.
"""

from __future__ import annotations

import re
from decimal import Decimal

from hw.protocols import scale
from hw.protocols.errors import CodecError
from hw.protocols.scale import (
    FrameBuffer,
    ScaleEvent,
    ScaleFault,
    ScaleReading,
    ScaleStatus,
    StreamDecoder,
    WeightUnit,
    ZeroResult,
    show_bytes,
)

STX = b"\x02"
CR = b"\r"
WEIGH = b"W"
ZERO = b"Z"

MOTION = 0x01
OVER_CAPACITY = 0x02
UNDER_ZERO = 0x04
OUTSIDE_ZERO_RANGE = 0x08
CENTER_OF_ZERO = 0x10
NET = 0x20
ALWAYS_SET = 0x40
PARITY = 0x80

_WEIGHT = re.compile(rb" *(\d+\.?\d*|\.\d+)N?")
# Decimal places each unit is sent with (DIVA manual: WW.WW lb, WW.WWW kg).
_FORMAT = {
    WeightUnit.KG: "06.3f",
    WeightUnit.LB: "05.2f",
    WeightUnit.OZ: "05.1f",
    WeightUnit.G: "05.0f",
}
# Status bits that stop a weight, worst first, with what the cashier is told.
_BLOCKERS = (
    (OVER_CAPACITY, scale.OVER_CAPACITY),
    (UNDER_ZERO, scale.UNDER_ZERO),
    (MOTION, scale.IN_MOTION),
    (OUTSIDE_ZERO_RANGE, ScaleFault("the scale was not zeroed: empty the platter and zero it")),
)


class Toledo8217Error(CodecError):
    """Bytes that are not an 8217 answer frame."""


def decode(frame: bytes, unit: WeightUnit) -> ScaleEvent:
    """The event one answer frame (STX ... CR) means; raises `Toledo8217Error` if garbled."""
    body = _body(frame)
    if body.startswith(b"?"):
        bits = _status(body, frame)
        return _blocker(bits) or ScaleFault(
            f"the scale sent its status (0x{bits:02x}) but no weight"
        )
    match = _WEIGHT.fullmatch(body)
    if match is None:
        raise Toledo8217Error(f"not a weight: {show_bytes(frame)}")
    weight = Decimal(match.group(1).decode("ascii"))
    return ScaleReading(weight, unit, ScaleStatus.STABLE if weight else ScaleStatus.ZERO)


def decode_zero(frame: bytes) -> ZeroResult:
    """What the status answer to `Z` says; raises `Toledo8217Error` for anything else."""
    body = _body(frame)
    if not body.startswith(b"?"):
        raise Toledo8217Error(f"expected a status answer to Z, got {show_bytes(frame)}")
    blocker = _blocker(_status(body, frame))
    if blocker is None:
        return ZeroResult(True)  # nothing in the way: zero is captured on the next reading
    return ZeroResult(False, blocker.reason)


def _body(frame: bytes) -> bytes:
    if not (frame.startswith(STX) and frame.endswith(CR)) or len(frame) < 3:
        raise Toledo8217Error(f"an 8217 frame is STX ... CR, got {show_bytes(frame)}")
    return frame[1:-1]


def _status(body: bytes, frame: bytes) -> int:
    if len(body) != 2:
        raise Toledo8217Error(f"a status frame is STX ? <one byte> CR, got {show_bytes(frame)}")
    return body[1] & ~PARITY


def _blocker(bits: int) -> ScaleFault | None:
    for bit, fault in _BLOCKERS:
        if bits & bit:
            return fault
    return None


def encode_weight(weight: Decimal, unit: WeightUnit, net: bool = False) -> bytes:
    """The frame a scale sends for a stable `weight` in `unit`."""
    if weight < 0:
        raise Toledo8217Error(f"the 8217 sends no negative weight, got {weight}")
    text = format(weight, _FORMAT[unit]) + ("N" if net else "")
    return STX + text.encode("ascii") + CR


def encode_status(bits: int) -> bytes:
    """The frame a scale sends for a status byte (bit 6 is set for it)."""
    return STX + b"?" + bytes([(bits | ALWAYS_SET) & ~PARITY]) + CR


def encode_response(reading: ScaleReading) -> bytes:
    """What the scale answers to `W` in the state `reading` describes."""
    if reading.status in (ScaleStatus.STABLE, ScaleStatus.ZERO):
        return encode_weight(reading.weight, reading.unit)
    return encode_status(_STATUS_BITS[reading.status])


_STATUS_BITS = {
    ScaleStatus.IN_MOTION: MOTION,
    ScaleStatus.OVER_CAPACITY: OVER_CAPACITY,
    ScaleStatus.UNDER_ZERO: UNDER_ZERO,
}


class Toledo8217:
    """The 8217 codec for a poller and a simulator: requests, frames, decoding, answers."""

    name = "toledo8217"
    request_terminator: bytes | None = None  # commands are single letters

    def __init__(self, unit: WeightUnit = WeightUnit.LB) -> None:
        """A codec for a scale set up to weigh in `unit` (the frame does not say)."""
        self.unit = unit

    def weigh_request(self) -> bytes:
        """The bytes that ask for the weight."""
        return WEIGH

    def zero_request(self) -> bytes:
        """The bytes that ask the scale to zero."""
        return ZERO

    def frame_buffer(self) -> FrameBuffer:
        """A buffer cutting answers at CR."""
        return FrameBuffer(CR, max_len=32)

    def decoder(self) -> StreamDecoder:
        """A streaming decoder of weight answers."""
        return StreamDecoder(self.frame_buffer(), self.decode)

    def decode(self, frame: bytes) -> ScaleEvent:
        """The event an answer to `W` means."""
        return decode(frame, self.unit)

    def decode_zero(self, frame: bytes) -> ZeroResult:
        """What the answer to `Z` says."""
        return decode_zero(frame)

    def answer(self, request: bytes, reading: ScaleReading) -> bytes:
        """What a scale in the state `reading` answers to `request` (for the simulator)."""
        if request == WEIGH:
            return encode_response(reading)
        if request == ZERO:
            if reading.status in (ScaleStatus.STABLE, ScaleStatus.ZERO):
                return encode_status(CENTER_OF_ZERO)
            return encode_response(reading)
        return encode_status(0)  # the manuals give no other answer to a command it lacks
