"""The NCI (SCP-01) codec, against answers written out from the manuals, and fuzzed."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hw.protocols import nci
from hw.protocols.nci import Nci, NciError, decode, decode_zero, encode_response, encode_status
from hw.protocols.scale import ScaleReading, ScaleStatus, WeightUnit, ZeroResult
from tests.hw.protocols.scale_helpers import assert_events_only, assert_fault, at, reading_back

KG, LB = WeightUnit.KG, WeightUnit.LB


@pytest.mark.parametrize(
    ("frame", "meaning"),
    [
        (b"\n  1.234kg\r\n00\r\x03", at("1.234", KG)),
        (b"\n0001.50lb\r\n00\r\x03", at("1.50", LB)),  # 7800: <LF>xxxx.xxuu<CR>
        (b"\n 1500g \r\n00\r\x03", at("1500", WeightUnit.G)),  # 3700LP: <LF>_XXXXg_<CR>
        (b"\n  12.5oz\r\n00\r\x03", at("12.5", WeightUnit.OZ)),
        (b"\n01.234KG\r\nS00\r\x03", at("1.234", KG)),  # DIVA: upper case, S before status
        (b"\n1LB 2.5OZ\r\n00\r\x03", at("18.5", WeightUnit.OZ)),  # pounds-ounces
        (b"\n  1.234kg\r\n10\r\x03", at("1.234", KG, ScaleStatus.IN_MOTION)),  # '1': motion
        (b"\n  0.000kg\r\n20\r\x03", at("0.000", KG, ScaleStatus.ZERO)),  # '2': at zero
        (b"\n  0.000kg\r\n00\r\x03", at("0.000", KG, ScaleStatus.ZERO)),
        (b"\n  0.002kg\r\n20\r\x03", at("0.002", KG, ScaleStatus.ZERO)),  # the scale says zero
        (b"\n -0.010kg\r\n00\r\x03", at("-0.010", KG)),  # shown negative: cannot price
        (b"\n  1.234kg\r\n\xb0\xb0\r\x03", at("1.234", KG)),  # bit 7 is parity: ignored
        (b"\n  1.234kg\r\n0p0\r\x03", at("1.234", KG)),  # a third byte ('p': byte follows)
    ],
)
def test_weight_answers(frame: bytes, meaning: ScaleReading) -> None:
    assert decode(frame) == meaning


@pytest.mark.parametrize(
    ("frame", "status", "words"),
    [
        (b"\n10\r\x03", ScaleStatus.IN_MOTION, "in motion"),  # W while moving: status only
        (b"\n02\r\x03", ScaleStatus.OVER_CAPACITY, "over capacity"),
        (b"\n01\r\x03", ScaleStatus.UNDER_ZERO, "under zero"),
        (b"\n  1.234kg\r\n02\r\x03", ScaleStatus.OVER_CAPACITY, "over capacity"),
        (b"\n------lb\r\n02\r\x03", ScaleStatus.OVER_CAPACITY, "over capacity"),
        (b"\n40\r\x03", None, "RAM error"),
        (b"\n80\r\x03", None, "EEPROM error"),
        (b"\n04\r\x03", None, "ROM error"),
        (b"\n08\r\x03", None, "calibration"),
        (b"\n42\r\x03", None, "RAM error"),  # a hardware fault outranks over capacity
        (b"\n0p8\r\x03", None, "not zeroed"),  # byte 3, bit 3: initial zero error
        (b"\n20\r\x03", None, "but no weight"),
        (b"\n?\r\x03", None, "did not understand"),
    ],
)
def test_answers_without_a_usable_weight_are_faults(
    frame: bytes, status: ScaleStatus | None, words: str
) -> None:
    assert_fault(decode(frame), status, words)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (b"\n  1.234kg\r\n00\r", "LF ... CR ETX"),
        (b"  1.234kg\r\n00\r\x03", "LF ... CR ETX"),
        (b"\n1\r\n2\r\n00\r\x03", "one or two"),
        (b"\n1.0kg\r00\r\x03", "one or two"),
        (b"\nAB\r\x03", "not NCI status bytes"),
        (b"\n0\r\x03", "not NCI status bytes"),
        (b"\n00000\r\x03", "not NCI status bytes"),
        (b"\n\r\x03", "not NCI status bytes"),
        (b"\nabc\r\n00\r\x03", "not a weight"),
        (b"\n1.2.3kg\r\n00\r\x03", "not a weight"),
        (b"\n1.0ct\r\n00\r\x03", "unit 'ct'"),
    ],
)
def test_garbled_answers_raise_naming_the_bytes(frame: bytes, message: str) -> None:
    with pytest.raises(NciError, match=message):
        decode(frame)


@pytest.mark.parametrize(
    ("frame", "result"),
    [
        (b"\n20\r\x03", ZeroResult(True)),
        (b"\nS20\r\x03", ZeroResult(True)),
        (
            b"\n00\r\x03",
            ZeroResult(False, "the scale did not zero: empty the platter and try again"),
        ),
        (b"\n10\r\x03", ZeroResult(False, "the scale is in motion: wait for it to settle")),
        (b"\n22\r\x03", ZeroResult(False, "the scale is over capacity: take the goods off")),
        (b"\n?\r\x03", ZeroResult(False, nci.NOT_UNDERSTOOD)),
    ],
)
def test_the_answer_to_zero(frame: bytes, result: ZeroResult) -> None:
    assert decode_zero(frame) == result


def test_a_weight_is_no_answer_to_zero() -> None:
    with pytest.raises(NciError, match="status answer to Z"):
        decode_zero(b"\n  1.234kg\r\n20\r\x03")


def test_encoders_write_the_manual_frames() -> None:
    assert encode_response(at("1.234", KG)) == b"\n  1.234kg\r\n00\r\x03"
    assert encode_response(at("1.5", LB, ScaleStatus.IN_MOTION)) == b"\n   1.50lb\r\n10\r\x03"
    assert encode_response(at("0", KG, ScaleStatus.ZERO)) == b"\n  0.000kg\r\n20\r\x03"
    assert encode_response(at("99", KG, ScaleStatus.OVER_CAPACITY)) == b"\n02\r\x03"
    assert encode_response(at("-1", KG, ScaleStatus.UNDER_ZERO)) == b"\n01\r\x03"
    assert encode_status(nci.MOTION, nci.OVER_CAPACITY, prefix=b"S") == b"S12"


def test_the_codec_speaks_both_sides() -> None:
    codec = Nci()
    assert (codec.weigh_request(), codec.zero_request()) == (b"W\r", b"Z\r")
    assert codec.request_terminator == b"\r"
    assert codec.decode(b"\n  1.234kg\r\n00\r\x03") == at("1.234", KG)
    assert codec.decode_zero(b"\n20\r\x03") == ZeroResult(True)
    still, moving = at("1.5", KG), at("1.5", KG, ScaleStatus.IN_MOTION)
    assert codec.answer(b"W\r", still) == b"\n  1.500kg\r\n00\r\x03"
    assert codec.answer(b"S\r", still) == b"\n00\r\x03"
    assert codec.answer(b"S\r", at("0", KG, ScaleStatus.ZERO)) == b"\n20\r\x03"
    assert codec.answer(b"Z\r", still) == b"\n20\r\x03"
    assert codec.answer(b"Z\r", moving) == b"\n10\r\x03"
    assert codec.answer(b"H\r", still) == b"\n?\r\x03"


def test_the_stream_decoder_joins_split_answers() -> None:
    decoder = Nci().decoder()
    assert decoder.feed(b"\n  1.2") == []
    assert decoder.feed(b"34kg\r\n00\r\x03\n10\r") == [at("1.234", KG)]
    assert decoder.feed(b"\x03") == [decode(b"\n10\r\x03")]


units = st.sampled_from(list(WeightUnit))
weights = st.decimals(min_value=0, max_value=9999, places=0)


@given(weights, units, st.sampled_from(list(ScaleStatus)))
def test_every_state_round_trips(weight: Decimal, unit: WeightUnit, status: ScaleStatus) -> None:
    sent = ScaleReading(weight, unit, status)
    event = reading_back(decode(encode_response(sent)), sent)
    if event is None:
        return
    if status is ScaleStatus.STABLE and not weight:
        status = ScaleStatus.ZERO  # a stable 0 reads as zero
    assert event.status is status


@given(st.lists(st.binary(max_size=30), max_size=12))
def test_any_bytes_in_any_chunks_give_events_never_an_exception(chunks: list[bytes]) -> None:
    assert_events_only(Nci().decoder(), chunks)


NCI_PIECES = [b"\n", b"\r", b"\x03", b"0", b"1", b"2", b"S", b"?", b"kg", b"lb", b"LB ", b"OZ",
              b"1.5", b" ", b"p", b"\xb0"]  # fmt: skip
nci_ish = st.lists(st.sampled_from(NCI_PIECES), max_size=12)


@given(st.binary(max_size=30) | nci_ish.map(b"".join))
def test_any_answer_decodes_or_raises_only_the_codec_error(frame: bytes) -> None:
    for decoder in (decode, decode_zero):
        with contextlib.suppress(NciError):
            decoder(frame)
