"""The Mettler Toledo 8217 codec, against frames written out from the manuals and fuzzed."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hw.protocols import toledo8217
from hw.protocols.scale import ScaleFault, ScaleReading, ScaleStatus, WeightUnit, ZeroResult
from hw.protocols.toledo8217 import (
    Toledo8217,
    Toledo8217Error,
    decode,
    decode_zero,
    encode_response,
    encode_status,
    encode_weight,
)
from tests.hw.protocols.scale_helpers import assert_events_only, assert_fault

KG, LB = WeightUnit.KG, WeightUnit.LB


def stable(weight: str, unit: WeightUnit = KG) -> ScaleReading:
    return ScaleReading(Decimal(weight), unit, ScaleStatus.STABLE)


@pytest.mark.parametrize(
    ("frame", "unit", "meaning"),
    [
        (b"\x0201.234\r", KG, stable("1.234")),  # DIVA manual: STX WW.WWW CR, kg
        (b"\x0201.50\r", LB, stable("1.50", LB)),  # STX WW.WW CR, lb
        (b"\x0201.50N\r", LB, stable("1.50", LB)),  # N: a net weight
        (b"\x02  0.45\r", KG, stable("0.45")),  # padded, as Odoo's regex allows
        (b"\x0200.000\r", KG, ScaleReading(Decimal("0.000"), KG, ScaleStatus.ZERO)),
        (b"\x02.5\r", KG, stable("0.5")),
        (b"\x0212\r", LB, stable("12", LB)),
    ],
)
def test_weight_frames(frame: bytes, unit: WeightUnit, meaning: ScaleReading) -> None:
    assert decode(frame, unit) == meaning


@pytest.mark.parametrize(
    ("frame", "status", "words"),
    [
        (b"\x02?A\r", ScaleStatus.IN_MOTION, "in motion"),  # 0x41: bit 6 + motion
        (b"\x02?\xc1\r", ScaleStatus.IN_MOTION, "in motion"),  # the same with bit 7 (parity)
        (b"\x02?B\r", ScaleStatus.OVER_CAPACITY, "over capacity"),
        (b"\x02?D\r", ScaleStatus.UNDER_ZERO, "under zero"),  # Odoo's example answer
        (b"\x02?C\r", ScaleStatus.OVER_CAPACITY, "over capacity"),  # motion and over: worst
        (b"\x02?H\r", None, "not zeroed"),  # outside the zero capture range
        (b"\x02?P\r", None, "status (0x50) but no weight"),  # centre of zero only
        (b"\x02?@\r", None, "status (0x40) but no weight"),
    ],
)
def test_status_frames_are_faults_never_weights(
    frame: bytes, status: ScaleStatus | None, words: str
) -> None:
    assert_fault(decode(frame, KG), status, words)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (b"01.234\r", "STX ... CR"),
        (b"\x0201.234", "STX ... CR"),
        (b"\x02\r", "STX ... CR"),
        (b"\x02?AB\r", "one byte"),
        (b"\x02?\r", "one byte"),
        (b"\x021.2.3\r", "not a weight"),
        (b"\x02-1.234\r", "not a weight"),
        (b"\x02\xff\xfe\r", "not a weight"),
        (b"\x02 \r", "not a weight"),
    ],
)
def test_garbled_frames_raise_naming_the_bytes(frame: bytes, message: str) -> None:
    with pytest.raises(Toledo8217Error, match=message) as caught:
        decode(frame, KG)
    assert repr(frame)[2:-1][:10] in str(caught.value)


@pytest.mark.parametrize(
    ("frame", "result"),
    [
        (b"\x02?P\r", ZeroResult(True)),
        (b"\x02?@\r", ZeroResult(True)),
        (b"\x02?A\r", ZeroResult(False, "the scale is in motion: wait for it to settle")),
        (b"\x02?H\r", ZeroResult(False, "the scale was not zeroed: empty the platter and zero it")),
    ],
)
def test_the_answer_to_zero(frame: bytes, result: ZeroResult) -> None:
    assert decode_zero(frame) == result


def test_a_weight_is_no_answer_to_zero() -> None:
    with pytest.raises(Toledo8217Error, match="status answer to Z"):
        decode_zero(b"\x0201.234\r")


def test_encoders_write_the_manual_frames() -> None:
    assert encode_weight(Decimal("1.234"), KG) == b"\x0201.234\r"
    assert encode_weight(Decimal("1.5"), LB) == b"\x0201.50\r"
    assert encode_weight(Decimal("1.5"), LB, net=True) == b"\x0201.50N\r"
    assert encode_weight(Decimal("150"), WeightUnit.G) == b"\x0200150\r"
    assert encode_weight(Decimal("3.5"), WeightUnit.OZ) == b"\x02003.5\r"
    assert encode_status(toledo8217.MOTION) == b"\x02?A\r"
    assert encode_status(toledo8217.UNDER_ZERO | toledo8217.PARITY) == b"\x02?D\r"


def test_a_negative_weight_has_no_8217_frame() -> None:
    with pytest.raises(Toledo8217Error, match="negative"):
        encode_weight(Decimal("-1"), KG)


@pytest.mark.parametrize(
    ("status", "frame"),
    [
        (ScaleStatus.STABLE, b"\x0201.234\r"),
        (ScaleStatus.ZERO, b"\x0201.234\r"),
        (ScaleStatus.IN_MOTION, b"\x02?A\r"),
        (ScaleStatus.OVER_CAPACITY, b"\x02?B\r"),
        (ScaleStatus.UNDER_ZERO, b"\x02?D\r"),
    ],
)
def test_encode_response_for_each_state(status: ScaleStatus, frame: bytes) -> None:
    assert encode_response(ScaleReading(Decimal("1.234"), KG, status)) == frame


def test_the_codec_speaks_both_sides() -> None:
    codec = Toledo8217(KG)
    assert (codec.weigh_request(), codec.zero_request()) == (b"W", b"Z")
    assert codec.request_terminator is None
    assert codec.decode(b"\x0201.234\r") == stable("1.234")
    assert codec.decode_zero(b"\x02?P\r") == ZeroResult(True)
    assert codec.answer(b"W", stable("1.234")) == b"\x0201.234\r"
    assert codec.answer(b"Z", stable("1.234")) == b"\x02?P\r"
    moving = ScaleReading(Decimal("1"), KG, ScaleStatus.IN_MOTION)
    assert codec.answer(b"Z", moving) == b"\x02?A\r"
    assert codec.answer(b"Q", moving) == b"\x02?@\r"


def test_the_stream_decoder_joins_split_frames_and_survives_garbage() -> None:
    decoder = Toledo8217(KG).decoder()
    assert decoder.feed(b"\x0201") == []
    assert decoder.feed(b".234\rjunk\r\x02?A") == [
        stable("1.234"),
        ScaleFault("garbled answer from the scale: an 8217 frame is STX ... CR, got b'junk\\r'"),
    ]
    assert decoder.feed(b"\r") == [decode(b"\x02?A\r", KG)]


weights = {
    KG: st.decimals(min_value=0, max_value=99, places=3),
    LB: st.decimals(min_value=0, max_value=99, places=2),
    WeightUnit.OZ: st.decimals(min_value=0, max_value=999, places=1),
    WeightUnit.G: st.decimals(min_value=0, max_value=99999, places=0),
}
units = st.sampled_from(list(WeightUnit))


@given(units.flatmap(lambda unit: st.tuples(st.just(unit), weights[unit])))
def test_a_weight_round_trips(unit_and_weight: tuple[WeightUnit, Decimal]) -> None:
    unit, weight = unit_and_weight
    status = ScaleStatus.STABLE if weight else ScaleStatus.ZERO
    event = decode(encode_response(ScaleReading(weight, unit, status)), unit)
    assert event == ScaleReading(weight, unit, status)


@given(st.sampled_from([ScaleStatus.IN_MOTION, ScaleStatus.OVER_CAPACITY, ScaleStatus.UNDER_ZERO]))
def test_a_status_round_trips_as_a_fault(status: ScaleStatus) -> None:
    event = decode(encode_response(ScaleReading(Decimal(1), KG, status)), KG)
    assert isinstance(event, ScaleFault) and event.status is status


@given(st.lists(st.binary(max_size=24), max_size=12))
def test_any_bytes_in_any_chunks_give_events_never_an_exception(chunks: list[bytes]) -> None:
    assert_events_only(Toledo8217(KG).decoder(), chunks)


@given(st.binary(max_size=24))
def test_any_frame_decodes_or_raises_only_the_codec_error(frame: bytes) -> None:
    for decoder in (lambda f: decode(f, KG), decode_zero):
        with contextlib.suppress(Toledo8217Error):
            decoder(frame)
