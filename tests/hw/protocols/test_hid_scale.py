"""USB HID POS scale reports, checked against hand-written bytes and fuzzed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hw.protocols import hid_scale
from hw.protocols.hid_scale import HidScaleError, decode, encode, encode_status
from hw.protocols.scale import ScaleFault, ScaleReading, ScaleStatus, WeightUnit
from hw.sim.scale import FakeHidScale, SimFault
from tests.hw.protocols.scale_helpers import assert_fault

# (report, what it means): report id 3, status, unit, int8 exponent, weight LE16.
G, KG, LB, OZ = WeightUnit.G, WeightUnit.KG, WeightUnit.LB, WeightUnit.OZ
STABLE, MOVING, ZERO = ScaleStatus.STABLE, ScaleStatus.IN_MOTION, ScaleStatus.ZERO
KNOWN_REPORTS = [
    (b"\x03\x04\x0b\xff\x2c\x01", ScaleReading(Decimal("30.0"), OZ, STABLE)),
    (b"\x03\x04\x02\x00\x8d\x04", ScaleReading(Decimal("1165"), G, STABLE)),
    (b"\x03\x02\x02\x00\x00\x00", ScaleReading(Decimal("0"), G, ZERO)),
    (b"\x03\x03\x03\xfd\xd2\x04", ScaleReading(Decimal("1.234"), KG, MOVING)),
    (b"\x03\x04\x0c\xfe\x96\x00", ScaleReading(Decimal("1.50"), LB, STABLE)),
    (b"\x03\x04\x01\x00\xf4\x01", ScaleReading(Decimal("0.5"), G, STABLE)),  # 500 mg
    (b"\x03\x04\x02\x01\x0c\x00", ScaleReading(Decimal("120"), G, STABLE)),  # 12 x 10^1
]  # fmt: skip


@pytest.mark.parametrize(("report", "meaning"), KNOWN_REPORTS)
def test_known_reports_decode_to_their_weight(report: bytes, meaning: ScaleReading) -> None:
    event = decode(report)
    assert event == meaning
    assert isinstance(event, ScaleReading) and event.weight == meaning.weight


@pytest.mark.parametrize(
    ("status", "fault_status", "words"),
    [
        (1, None, "fault"),
        (5, ScaleStatus.UNDER_ZERO, "under zero"),
        (6, ScaleStatus.OVER_CAPACITY, "over capacity"),
        (7, None, "calibrat"),
        (8, None, "re-zero"),
    ],
)
def test_fault_statuses_are_faults_never_weights(
    status: int, fault_status: ScaleStatus | None, words: str
) -> None:
    event = decode(bytes([3, status, 2, 0, 0x10, 0x27]))  # 10000 g in the weight field
    assert_fault(event, fault_status, words)


def test_a_fault_decodes_whatever_its_unit_byte() -> None:
    assert isinstance(decode(b"\x03\x01\x00\x00\x00\x00"), ScaleFault)


@pytest.mark.parametrize(
    ("report", "message"),
    [
        (b"\x03\x04\x02\x00\x00", "6 bytes, got 5"),
        (b"\x03\x04\x02\x00\x00\x00\x00", "6 bytes, got 7"),
        (b"", "got 0"),
        (b"\x04\x04\x02\x00\x00\x00", "report id 4"),
        (b"\x03\x09\x02\x00\x00\x00", "unknown scale status 9"),
        (b"\x03\x00\x02\x00\x00\x00", "unknown scale status 0"),
        (b"\x03\x04\x04\x00\x00\x00", "carats"),
        (b"\x03\x04\x0a\x00\x00\x00", "troy ounces"),
        (b"\x03\x04\x00\x00\x00\x00", "unknown weight unit 0"),
        (b"\x03\x04\x0d\x00\x00\x00", "unknown weight unit 13"),
    ],
)
def test_malformed_reports_raise_naming_what_was_wrong(report: bytes, message: str) -> None:
    with pytest.raises(HidScaleError, match=message):
        decode(report)


def test_the_error_shows_the_report_bytes() -> None:
    with pytest.raises(HidScaleError) as caught:
        decode(b"\x07\x04\x02\x00\x00\x00")
    assert repr(b"\x07\x04\x02\x00\x00\x00") in str(caught.value)


def test_encode_writes_the_fewest_decimals_that_hold_the_weight() -> None:
    assert encode(KNOWN_REPORTS[0][1]) == b"\x03\x04\x0b\x00\x1e\x00"  # 30.0 oz -> 30 x 10^0
    lb = ScaleReading(Decimal("1.5"), WeightUnit.LB, ScaleStatus.STABLE)
    assert encode(lb) == b"\x03\x04\x0c\xff\x0f\x00"
    hundred = ScaleReading(Decimal("1E+2"), WeightUnit.G, ScaleStatus.STABLE)
    assert encode(hundred) == b"\x03\x04\x02\x00\x64\x00"


@pytest.mark.parametrize("status", list(ScaleStatus))
def test_encode_sends_each_status_code(status: ScaleStatus) -> None:
    report = encode(ScaleReading(Decimal("2"), WeightUnit.KG, status))
    codes = {
        ScaleStatus.ZERO: 2,
        ScaleStatus.IN_MOTION: 3,
        ScaleStatus.STABLE: 4,
        ScaleStatus.UNDER_ZERO: 5,
        ScaleStatus.OVER_CAPACITY: 6,
    }
    assert report[1] == codes[status]


@pytest.mark.parametrize(
    ("weight", "message"),
    [("-1", "negative"), ("65536", "16-bit"), ("NaN", "not a weight"), ("1E-129", "16-bit")],
)
def test_encode_refuses_what_no_report_can_carry(weight: str, message: str) -> None:
    with pytest.raises(HidScaleError, match=message):
        encode(ScaleReading(Decimal(weight), WeightUnit.G, ScaleStatus.STABLE))


def test_status_reports_and_the_zero_request() -> None:
    assert encode_status(hid_scale.STATUS_NEEDS_CALIBRATION) == b"\x03\x07\x02\x00\x00\x00"
    assert hid_scale.zero_request() == b"\x02\x02"


weights = st.decimals(min_value=0, max_value=65535, places=0) | st.decimals(
    min_value=0, max_value=Decimal("655.35"), places=2
)
units = st.sampled_from(list(WeightUnit))
reading_statuses = st.sampled_from([ScaleStatus.STABLE, ScaleStatus.ZERO, ScaleStatus.IN_MOTION])


@given(weights, units, reading_statuses)
def test_encode_then_decode_gives_the_reading_back(
    weight: Decimal, unit: WeightUnit, status: ScaleStatus
) -> None:
    original = ScaleReading(weight, unit, status)
    assert decode(encode(original)) == original


@given(st.binary(max_size=12))
def test_any_bytes_decode_or_raise_only_the_codec_error(report: bytes) -> None:
    try:
        event = decode(report)
    except HidScaleError:
        return
    assert isinstance(event, ScaleReading | ScaleFault)
    if isinstance(event, ScaleReading):
        assert event.status in (ScaleStatus.STABLE, ScaleStatus.ZERO, ScaleStatus.IN_MOTION)


# --- the fake HID scale a HID driver and the demo read from ---------------------------


def test_the_fake_hid_scale_reports_what_is_on_its_platter() -> None:
    fake = FakeHidScale(weight="1165", unit=WeightUnit.G)
    assert decode(fake.read()) == ScaleReading(Decimal("1165"), WeightUnit.G, ScaleStatus.STABLE)
    fake.stable = False
    assert decode(fake.read(6, 100)).status is ScaleStatus.IN_MOTION
    fake.stable, fake.weight = True, 0
    assert decode(fake.read()) == ScaleReading(Decimal(0), WeightUnit.G, ScaleStatus.ZERO)
    assert fake.reports_sent == 3


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        (SimFault.OVER_CAPACITY, ScaleStatus.OVER_CAPACITY),
        (SimFault.UNDER_ZERO, ScaleStatus.UNDER_ZERO),
    ],
)
def test_the_fake_hid_scale_reports_load_faults(fault: SimFault, status: ScaleStatus) -> None:
    fake = FakeHidScale(weight="100")
    fake.fault = fault
    event = decode(fake.read())
    assert isinstance(event, ScaleFault) and event.status is status


def test_the_fake_hid_scale_garbles_stalls_and_unplugs() -> None:
    fake = FakeHidScale(weight="100", capacity="50")
    assert decode(fake.read()).status is ScaleStatus.OVER_CAPACITY
    fake.fault = SimFault.GARBAGE
    with pytest.raises(HidScaleError):
        decode(fake.read())
    fake.fault = SimFault.STALL
    assert fake.read() == b""  # what hidapi gives back when a read times out
    fake.fault = SimFault.HANG_UP
    with pytest.raises(OSError, match="No such device"):
        fake.read()
    with pytest.raises(OSError, match="No such device"):
        fake.write(hid_scale.zero_request())


def test_the_fake_hid_scale_zeroes_only_when_steady() -> None:
    fake = FakeHidScale(weight="3")
    fake.stable = False
    assert fake.write(hid_scale.zero_request()) == 2
    assert fake.weight == 3
    fake.stable = True
    fake.write(b"\x02\x01")  # another control report: ignored
    assert fake.weight == 3
    fake.write(hid_scale.zero_request())
    assert fake.weight == 0
