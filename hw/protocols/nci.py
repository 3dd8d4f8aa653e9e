"""Avery Weigh-Tronix NCI protocol (AWTX control document SCP-01), spoken by NCI,
Brecknell, Weigh-Tronix and many other bench and checkout scales.

Sources: "NCI Serial Communications Protocol" in the Model 7800 Family Weight
Classifiers User's Manual and the Avery Weigh-Tronix 7821 User Instructions
(6.3, "used by all NCI bench scale products"); Salter Brecknell 3700LP Bench
Scale User's Manual (NCI protocol table: lb, kg, oz and g answers); METTLER
TOLEDO DIVA Service Manual 6.1.1 "NCI - ECR" (status bytes prefixed with `S`,
7 data bits, "one second should be more than adequate" as a host timeout) and
its status bit table, which the Ohaus Aviator 7000 Service Manual repeats.

Host to scale, each command ending CR: `W` weight, `S` status, `Z` zero
(`H` high resolution, `U` change units, `M` raw counts are not used).

Scale to host, every answer ending ETX:

    LF <weight><unit> CR LF <status> CR ETX    W: weight, unit and status,
        e.g. b"\\n  1.234kg\\r\\n00\\r\\x03"; the unit is lb, kg, oz or g in
        either case, pounds-ounces come as `1LB 2.5OZ`
    LF <status> CR ETX                          S and Z; W when the scale has
        no weight to give (negative, in motion, over or under capacity)
    LF ? CR ETX                                 a command it does not know

<status> is two status bytes or more, optionally after the letter `S`. Each
byte has bits 4 and 5 set (so they print as `0`-`?`); bit 7 is parity:

    byte 1: 0 in motion, 1 at zero, 2 RAM error, 3 EEPROM error, 6 always 0
    byte 2: 0 under capacity, 1 over capacity, 2 ROM error, 3 faulty
            calibration, 6 another byte follows
    byte 3: 0-1 range, 2 net weight, 3 initial zero error, 6 another follows
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

LF = b"\n"
CR = b"\r"
ETX = b"\x03"
WEIGH = b"W\r"
STATUS = b"S\r"
ZERO = b"Z\r"
UNKNOWN_COMMAND = LF + b"?" + CR + ETX

ALWAYS_SET = 0x30
# (byte index, bit)
MOTION = (0, 0x01)
AT_ZERO = (0, 0x02)
RAM_ERROR = (0, 0x04)
EEPROM_ERROR = (0, 0x08)
UNDER_CAPACITY = (1, 0x01)
OVER_CAPACITY = (1, 0x02)
ROM_ERROR = (1, 0x04)
BAD_CALIBRATION = (1, 0x08)
INITIAL_ZERO_ERROR = (2, 0x08)

# Status bits that stop a weight, worst first: a hardware fault outranks a load fault.
_BLOCKERS = (
    (RAM_ERROR, ScaleFault("the scale reports a RAM error: call a technician")),
    (EEPROM_ERROR, ScaleFault("the scale reports an EEPROM error: call a technician")),
    (ROM_ERROR, ScaleFault("the scale reports a ROM error: call a technician")),
    (BAD_CALIBRATION, ScaleFault("the scale's calibration is faulty: call a technician")),
    (OVER_CAPACITY, scale.OVER_CAPACITY),
    (UNDER_CAPACITY, scale.UNDER_ZERO),
    (INITIAL_ZERO_ERROR, ScaleFault("the scale was not zeroed: empty the platter and zero it")),
)
_UNITS = {"lb": WeightUnit.LB, "kg": WeightUnit.KG, "oz": WeightUnit.OZ, "g": WeightUnit.G}
_PLACES = {WeightUnit.KG: 3, WeightUnit.LB: 2, WeightUnit.OZ: 1, WeightUnit.G: 0}
_WEIGHT = re.compile(rb" *(-?) *(\d+\.?\d*|\.\d+) *([A-Za-z]{1,2}) *")
_POUNDS_OUNCES = re.compile(rb" *(\d+) *LB +(\d+\.?\d*|\.\d+) *OZ *", re.IGNORECASE)
NOT_UNDERSTOOD = "the scale did not understand the command: check it is set to NCI"


class NciError(CodecError):
    """Bytes that are not an NCI answer."""


def decode(frame: bytes) -> ScaleEvent:
    """The event an answer to `W` means; raises `NciError` if garbled."""
    lines = _lines(frame)
    if lines == [b"?"]:
        return ScaleFault(NOT_UNDERSTOOD)
    status = _status(lines[-1], frame)
    blocker = _blocker(status)
    if blocker is not None:
        return blocker
    if len(lines) == 1:
        if _has(status, MOTION):
            return scale.IN_MOTION
        return ScaleFault(f"the scale sent its status ({show_bytes(lines[0])}) but no weight")
    weight, unit = _weight(lines[0], frame)
    if _has(status, MOTION):
        state = ScaleStatus.IN_MOTION
    elif _has(status, AT_ZERO) or not weight:
        state = ScaleStatus.ZERO
    else:
        state = ScaleStatus.STABLE
    return ScaleReading(weight, unit, state)


def decode_zero(frame: bytes) -> ZeroResult:
    """What the status answer to `Z` says; raises `NciError` if garbled.

    The scale ignores `Z` when it is in motion or outside its zero range and
    then answers without the at-zero bit, so that bit is the confirmation.
    """
    lines = _lines(frame)
    if lines == [b"?"]:
        return ZeroResult(False, NOT_UNDERSTOOD)
    if len(lines) != 1:
        raise NciError(f"expected a status answer to Z, got {show_bytes(frame)}")
    status = _status(lines[0], frame)
    blocker = _blocker(status) or (scale.IN_MOTION if _has(status, MOTION) else None)
    if blocker is not None:
        return ZeroResult(False, blocker.reason)
    if not _has(status, AT_ZERO):
        return ZeroResult(False, "the scale did not zero: empty the platter and try again")
    return ZeroResult(True)


def _lines(frame: bytes) -> list[bytes]:
    if not (frame.startswith(LF) and frame.endswith(CR + ETX)):
        raise NciError(f"an NCI answer is LF ... CR ETX, got {show_bytes(frame)}")
    parts = frame[:-2].split(CR)
    if len(parts) > 2 or not all(part.startswith(LF) for part in parts):
        raise NciError(f"an NCI answer is one or two LF ... CR lines: {show_bytes(frame)}")
    return [part[1:] for part in parts]


def _status(line: bytes, frame: bytes) -> bytes:
    status = bytes(byte & 0x7F for byte in line.removeprefix(b"S"))  # bit 7: parity
    if not 2 <= len(status) <= 4 or any(b & ALWAYS_SET != ALWAYS_SET for b in status):
        raise NciError(f"not NCI status bytes: {show_bytes(line)} in {show_bytes(frame)}")
    return status


def _has(status: bytes, flag: tuple[int, int]) -> bool:
    index, bit = flag
    return index < len(status) and bool(status[index] & bit)


def _blocker(status: bytes) -> ScaleFault | None:
    for flag, fault in _BLOCKERS:
        if _has(status, flag):
            return fault
    return None


def _weight(line: bytes, frame: bytes) -> tuple[Decimal, WeightUnit]:
    pounds_ounces = _POUNDS_OUNCES.fullmatch(line)
    if pounds_ounces is not None:  # 1LB 2.5OZ: priced in ounces, exactly
        pounds, ounces = (Decimal(g.decode("ascii")) for g in pounds_ounces.groups())
        return pounds * 16 + ounces, WeightUnit.OZ
    match = _WEIGHT.fullmatch(line)
    if match is None:
        raise NciError(f"not a weight: {show_bytes(line)} in {show_bytes(frame)}")
    sign, digits, unit_text = (g.decode("ascii") for g in match.groups())
    unit = _UNITS.get(unit_text.lower())
    if unit is None:
        raise NciError(f"unit {unit_text!r} is not lb, kg, oz or g: {show_bytes(frame)}")
    return Decimal(sign + digits), unit


def encode_status(*flags: tuple[int, int], prefix: bytes = b"") -> bytes:
    """A status line's bytes (`prefix` b"S" for DIVA-style scales) with `flags` set."""
    status = bytearray([ALWAYS_SET, ALWAYS_SET])
    for index, bit in flags:
        status[index] |= bit
    return prefix + bytes(status)


def encode_response(reading: ScaleReading) -> bytes:
    """What the scale answers to `W` in the state `reading` describes."""
    status = encode_status(*_FLAGS[reading.status])
    if reading.status in (ScaleStatus.OVER_CAPACITY, ScaleStatus.UNDER_ZERO):
        return _frame(status)  # no weight to give: the status alone
    places = _PLACES[reading.unit]
    weight = f"{reading.weight:>7.{places}f}{reading.unit.value}".encode("ascii")
    return _frame(weight, status)


_FLAGS: dict[ScaleStatus, tuple[tuple[int, int], ...]] = {
    ScaleStatus.STABLE: (),
    ScaleStatus.ZERO: (AT_ZERO,),
    ScaleStatus.IN_MOTION: (MOTION,),
    ScaleStatus.OVER_CAPACITY: (OVER_CAPACITY,),
    ScaleStatus.UNDER_ZERO: (UNDER_CAPACITY,),
}


def _frame(*lines: bytes) -> bytes:
    return b"".join(LF + line + CR for line in lines) + ETX


class Nci:
    """The NCI codec for a poller and a simulator: requests, frames, decoding, answers."""

    name = "nci"
    request_terminator: bytes | None = CR

    def weigh_request(self) -> bytes:
        """`W` CR."""
        return WEIGH

    def zero_request(self) -> bytes:
        """`Z` CR."""
        return ZERO

    def frame_buffer(self) -> FrameBuffer:
        """A buffer cutting answers at ETX."""
        return FrameBuffer(ETX, max_len=64)

    def decoder(self) -> StreamDecoder:
        """A streaming decoder of weight answers."""
        return StreamDecoder(self.frame_buffer(), decode)

    def decode(self, frame: bytes) -> ScaleEvent:
        """The event an answer to `W` means."""
        return decode(frame)

    def decode_zero(self, frame: bytes) -> ZeroResult:
        """What the answer to `Z` says."""
        return decode_zero(frame)

    def answer(self, request: bytes, reading: ScaleReading) -> bytes:
        """What a scale in the state `reading` answers to `request` (for the simulator)."""
        command = request.strip()
        if command == b"W":
            return encode_response(reading)
        if command in (b"S", b"Z"):
            flags = _FLAGS[reading.status]
            if command == b"Z" and reading.status is ScaleStatus.STABLE:
                flags = (AT_ZERO,)  # a steady scale takes the zero
            return _frame(encode_status(*flags))
        return UNKNOWN_COMMAND
