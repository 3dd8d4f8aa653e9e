"""Mettler Toledo MT-SICS level 0: the command set of Mettler balances and weigh modules.

Sources: "MT-SICS Interface Commands" reference manuals (METTLER TOLEDO
Standard Interface Command Set, level 0 and 1; the editions for weigh modules
and for XPR/XSR balances), sections "Response formats" and the `S`, `SI` and
`Z` command pages; the MT-SICS summary in the New Classic and AL balance
operating instructions ("S S     100.00 g").

Every command and every answer is one ASCII line ending CR LF. Commands used:

    SI   the weight now, stable or not   (the driver's request: it never waits)
    S    the next stable weight          (the balance may wait for stability)
    Z    zero                            (ZI would zero without waiting)

Answers to S and SI, all beginning with the command's id `S`:

    S S <weight> <unit>   stable, e.g. b"S S      1.234 kg\\r\\n": the weight is
                          right-aligned in 10 characters, minus sign attached
    S D <weight> <unit>   dynamic: the balance is in motion (SI only)
    S I                   command not executable now (busy, or no stability
                          before the balance's own timeout)
    S +                   overload: above the weighing range
    S -                   underload: below the weighing range

Answers to Z: `Z A` zeroed; `Z I` not executable (busy or unstable); `Z +` /
`Z -` above / below the zero-setting range. Any command may instead get `ES`
(syntax error: not understood), `ET` (transmission error: a parity or framing
fault on the line, usually a baud rate or parity mismatch) or `EL` (logical
error: understood but not allowed).

Units are as the balance shows them; g, kg, lb and oz are taken, mg is
converted to grams exactly, anything else (ct, ozt, dwt...) is an error.
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

EOL = b"\r\n"
WEIGH_NOW = b"SI\r\n"
WEIGH_STABLE = b"S\r\n"
ZERO = b"Z\r\n"

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)")
_UNITS = {
    "g": (WeightUnit.G, 0),
    "kg": (WeightUnit.KG, 0),
    "lb": (WeightUnit.LB, 0),
    "oz": (WeightUnit.OZ, 0),
    "mg": (WeightUnit.G, -3),
}
_WEIGHT_STATUS = {"S": ScaleStatus.STABLE, "D": ScaleStatus.IN_MOTION}
_WEIGHT_FAULTS = {
    "I": ScaleFault("the scale is busy or did not settle: try again"),
    "+": scale.OVER_CAPACITY,
    "-": scale.UNDER_ZERO,
}
_ERRORS = {
    "ES": "the scale did not understand the command: check it is set to MT-SICS",
    "ET": "the scale received a garbled command: check the baud rate and parity",
    "EL": "the scale refused the command (logical error)",
}
_ZERO_ANSWERS = {
    "A": ZeroResult(True),
    "I": ZeroResult(False, "the scale is busy or not settled: zero it again"),
    "+": ZeroResult(False, "too much on the platter to zero: empty it first"),
    "-": ZeroResult(False, "below the zero-setting range: check the platter is on"),
}


class MtSicsError(CodecError):
    """Bytes that are not an MT-SICS answer line."""


def decode(line: bytes) -> ScaleEvent:
    """The event an answer line to `S` or `SI` means; raises `MtSicsError` if garbled."""
    words = _words(line)
    if words[0] in _ERRORS and len(words) == 1:
        return ScaleFault(_ERRORS[words[0]])
    if words[0] != "S" or len(words) < 2:
        raise MtSicsError(f"not an answer to S or SI: {show_bytes(line)}")
    status = _WEIGHT_STATUS.get(words[1])
    if status is None:
        fault = _WEIGHT_FAULTS.get(words[1])
        if fault is None or len(words) != 2:
            raise MtSicsError(f"unknown S status {words[1]!r}: {show_bytes(line)}")
        return fault
    if len(words) != 4:
        raise MtSicsError(f"a weight answer is S <status> <weight> <unit>: {show_bytes(line)}")
    weight, unit = _weight(words[2], words[3], line)
    if status is ScaleStatus.STABLE and not weight:
        status = ScaleStatus.ZERO
    return ScaleReading(weight, unit, status)


def decode_zero(line: bytes) -> ZeroResult:
    """What the answer to `Z` says; raises `MtSicsError` for anything else."""
    words = _words(line)
    if words[0] in _ERRORS and len(words) == 1:
        return ZeroResult(False, _ERRORS[words[0]])
    if words[0] == "Z" and len(words) == 2 and words[1] in _ZERO_ANSWERS:
        return _ZERO_ANSWERS[words[1]]
    raise MtSicsError(f"not an answer to Z: {show_bytes(line)}")


def _words(line: bytes) -> list[str]:
    if not line.endswith(b"\n"):
        raise MtSicsError(f"an MT-SICS line ends with CR LF: {show_bytes(line)}")
    try:
        words = line.decode("ascii").split()
    except UnicodeDecodeError:
        raise MtSicsError(f"not ASCII: {show_bytes(line)}") from None
    if not words:
        raise MtSicsError(f"an empty line: {show_bytes(line)}")
    return words


def _weight(value: str, unit_text: str, line: bytes) -> tuple[Decimal, WeightUnit]:
    known = _UNITS.get(unit_text)
    if known is None:
        raise MtSicsError(f"unit {unit_text!r} is not g, kg, lb or oz: {show_bytes(line)}")
    unit, shift = known
    if _NUMBER.fullmatch(value) is None:
        raise MtSicsError(f"weight {value!r} is not a number: {show_bytes(line)}")
    return Decimal(value).scaleb(shift), unit


def encode_weight(weight: Decimal, unit: WeightUnit, stable: bool = True) -> bytes:
    """The answer line to `S`/`SI` for `weight` (`S S` stable, `S D` in motion)."""
    status = "S" if stable else "D"
    return f"S {status} {weight:>10f} {unit.value}".encode("ascii") + EOL


def encode_response(reading: ScaleReading) -> bytes:
    """What the balance answers to `SI` in the state `reading` describes."""
    if reading.status is ScaleStatus.OVER_CAPACITY:
        return b"S +" + EOL
    if reading.status is ScaleStatus.UNDER_ZERO:
        return b"S -" + EOL
    return encode_weight(reading.weight, reading.unit, reading.status is not ScaleStatus.IN_MOTION)


class MtSics:
    """The MT-SICS codec for a poller and a simulator: requests, frames, decoding, answers."""

    name = "mtsics"
    request_terminator: bytes | None = b"\n"

    def weigh_request(self) -> bytes:
        """`SI`: the weight now, so a read never waits on the balance's own timeout."""
        return WEIGH_NOW

    def zero_request(self) -> bytes:
        """`Z`."""
        return ZERO

    def frame_buffer(self) -> FrameBuffer:
        """A buffer cutting answers at LF."""
        return FrameBuffer(b"\n", max_len=64)

    def decoder(self) -> StreamDecoder:
        """A streaming decoder of weight answers."""
        return StreamDecoder(self.frame_buffer(), decode)

    def decode(self, frame: bytes) -> ScaleEvent:
        """The event an answer to `SI` means."""
        return decode(frame)

    def decode_zero(self, frame: bytes) -> ZeroResult:
        """What the answer to `Z` says."""
        return decode_zero(frame)

    def answer(self, request: bytes, reading: ScaleReading) -> bytes:
        """What a balance in the state `reading` answers to `request` (for the simulator)."""
        command = request.strip()
        steady = reading.status in (ScaleStatus.STABLE, ScaleStatus.ZERO)
        if command == b"SI":
            return encode_response(reading)
        if command == b"S":  # a balance waits for stability, then gives up with S I
            moving = reading.status is ScaleStatus.IN_MOTION
            return b"S I" + EOL if moving else encode_response(reading)
        if command == b"Z":
            return b"Z A" + EOL if steady else b"Z I" + EOL
        return b"ES" + EOL
