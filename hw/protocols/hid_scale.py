"""USB HID point-of-sale scales: the 6-byte weight report (Dymo, Stamps.com, Mettler USB).

A USB scale of the HID POS class sends an input report whenever its weight
changes; nothing is asked for. The report (HID Point of Sale Usage Tables 1.02,
usage page 0x8D "Scales", the Scale Data Report):

    byte 0  report id: 3
    byte 1  status: 1 fault, 2 stable at zero, 3 in motion, 4 stable,
            5 under zero, 6 over capacity, 7 requires calibration,
            8 requires re-zeroing
    byte 2  weight unit, the index of the selected usage in the Weight Unit
            collection (usages 0x51-0x5C): 1 mg, 2 g, 3 kg, 4 carat, 5 tael,
            6 grain, 7 pennyweight, 8 metric ton, 9 avoirdupois ton,
            10 troy ounce, 11 ounce, 12 pound
    byte 3  scaling: a signed power of ten (int8) applied to the weight
    byte 4-5  weight, unsigned 16-bit little-endian

so `03 04 0B FF 2C 01` is 300 x 10^-1 = 30.0 oz, stable. The unit numbering is
the one eric jiang's `usbscale` (usbscale.c, its UNITS table) reads from real
Dymo M10/M25 and Stamps.com scales; the control report that zeroes the scale
(report id 2, bit 1 "Zero Scale") is from the same source.

Only a stable, in-motion or at-zero report carries a weight worth showing;
under zero and over capacity carry a number that is not the weight on the
platter, so they decode to a `ScaleFault` with that status (never a reading).
"""

from __future__ import annotations

from decimal import Decimal

from hw.protocols import scale
from hw.protocols.errors import CodecError
from hw.protocols.scale import (
    ScaleEvent,
    ScaleFault,
    ScaleReading,
    ScaleStatus,
    WeightUnit,
    show_bytes,
)

REPORT_ID = 3
REPORT_LEN = 6
ZERO_REPORT = bytes([0x02, 0x02])  # control report 2, bit 1 "Zero Scale"

STATUS_FAULT = 1
STATUS_ZERO = 2
STATUS_IN_MOTION = 3
STATUS_STABLE = 4
STATUS_UNDER_ZERO = 5
STATUS_OVER_CAPACITY = 6
STATUS_NEEDS_CALIBRATION = 7
STATUS_NEEDS_REZERO = 8

# Statuses whose weight field is a weight; the others decode to a fault.
_READING_STATUS = {
    STATUS_ZERO: ScaleStatus.ZERO,
    STATUS_IN_MOTION: ScaleStatus.IN_MOTION,
    STATUS_STABLE: ScaleStatus.STABLE,
}
_FAULTS = {
    STATUS_FAULT: ScaleFault("the scale reports a fault: unplug it and plug it back in"),
    STATUS_UNDER_ZERO: scale.UNDER_ZERO,
    STATUS_OVER_CAPACITY: scale.OVER_CAPACITY,
    STATUS_NEEDS_CALIBRATION: ScaleFault("the scale needs calibrating: call a technician"),
    STATUS_NEEDS_REZERO: ScaleFault("the scale needs re-zeroing: empty the platter and zero it"),
}
_STATUS_OF = {
    ScaleStatus.ZERO: STATUS_ZERO,
    ScaleStatus.IN_MOTION: STATUS_IN_MOTION,
    ScaleStatus.STABLE: STATUS_STABLE,
    ScaleStatus.UNDER_ZERO: STATUS_UNDER_ZERO,
    ScaleStatus.OVER_CAPACITY: STATUS_OVER_CAPACITY,
}

UNIT_MILLIGRAM = 1
# unit code -> (unit, extra power of ten): milligrams are reported as grams, exactly.
_UNITS = {
    UNIT_MILLIGRAM: (WeightUnit.G, -3),
    2: (WeightUnit.G, 0),
    3: (WeightUnit.KG, 0),
    11: (WeightUnit.OZ, 0),
    12: (WeightUnit.LB, 0),
}
_UNIT_CODES = {WeightUnit.G: 2, WeightUnit.KG: 3, WeightUnit.OZ: 11, WeightUnit.LB: 12}
_UNIT_NAMES = {
    4: "carats",
    5: "taels",
    6: "grains",
    7: "pennyweights",
    8: "metric tons",
    9: "avoirdupois tons",
    10: "troy ounces",
}


class HidScaleError(CodecError):
    """A HID scale report that is not a 6-byte Scale Data Report we can read."""


def decode(report: bytes) -> ScaleEvent:
    """The event one input report means; raises `HidScaleError` on a malformed report."""
    if len(report) != REPORT_LEN:
        raise HidScaleError(
            f"a HID scale report is {REPORT_LEN} bytes, got {len(report)}: {show_bytes(report)}"
        )
    if report[0] != REPORT_ID:
        raise HidScaleError(
            f"report id {report[0]} is not the scale data report ({REPORT_ID}): "
            f"{show_bytes(report)}"
        )
    status = report[1]
    fault = _FAULTS.get(status)
    if fault is not None:
        return fault
    reading_status = _READING_STATUS.get(status)
    if reading_status is None:
        raise HidScaleError(f"unknown scale status {status}: {show_bytes(report)}")
    unit, shift = _unit(report)
    exponent = int.from_bytes(report[3:4], "little", signed=True)
    mantissa = int.from_bytes(report[4:6], "little")
    return ScaleReading(Decimal(mantissa).scaleb(exponent + shift), unit, reading_status)


def _unit(report: bytes) -> tuple[WeightUnit, int]:
    code = report[2]
    known = _UNITS.get(code)
    if known is not None:
        return known
    name = _UNIT_NAMES.get(code)
    if name is not None:
        raise HidScaleError(f"the scale weighs in {name} (unit {code}): set it to g, kg, oz or lb")
    raise HidScaleError(f"unknown weight unit {code}: {show_bytes(report)}")


def encode(reading: ScaleReading) -> bytes:
    """The report a scale sends for `reading` (for fakes and tests).

    The weight is sent as an integer with the fewest decimal places that
    hold it exactly; one that does not fit 16 bits raises `HidScaleError`.
    """
    weight = reading.weight
    if not weight.is_finite():
        raise HidScaleError(f"{weight} is not a weight")
    if weight < 0:
        raise HidScaleError(f"a HID scale reports no negative weight, got {weight}")
    _sign, digits, exponent = weight.normalize().as_tuple()
    assert isinstance(exponent, int)  # finite numbers have an integer exponent
    mantissa = int("".join(map(str, digits)))
    if exponent > 0:  # 1E+2 normalizes to a positive exponent: send 100 x 10^0
        mantissa, exponent = mantissa * 10**exponent, 0
    if mantissa > 0xFFFF or exponent < -128:
        raise HidScaleError(f"{weight} does not fit a 16-bit weight field")
    status = _STATUS_OF[reading.status]
    return bytes(
        [REPORT_ID, status, _UNIT_CODES[reading.unit], exponent & 0xFF]
    ) + mantissa.to_bytes(2, "little")


def encode_status(status: int, unit_code: int = 2) -> bytes:
    """A report with a bare `status` code and no weight (fault, calibration...), for fakes."""
    return bytes([REPORT_ID, status, unit_code, 0, 0, 0])


def zero_request() -> bytes:
    """The output report that asks the scale to zero itself."""
    return ZERO_REPORT
