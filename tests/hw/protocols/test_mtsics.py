"""The MT-SICS level 0 codec, against answer lines from the reference manual, and fuzzed."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hw.protocols.mtsics import (
    MtSics,
    MtSicsError,
    decode,
    decode_zero,
    encode_response,
    encode_weight,
)
from hw.protocols.scale import ScaleReading, ScaleStatus, WeightUnit, ZeroResult
from tests.hw.protocols.scale_helpers import assert_events_only, assert_fault, at, reading_back

G, KG = WeightUnit.G, WeightUnit.KG


@pytest.mark.parametrize(
    ("line", "meaning"),
    [
        (b"S S     100.00 g\r\n", at("100.00", G)),  # the manual's example
        (b"S S      1.234 kg\r\n", at("1.234", KG)),
        (b"S D      1.236 kg\r\n", at("1.236", KG, ScaleStatus.IN_MOTION)),
        (b"S S     -0.010 kg\r\n", at("-0.010", KG)),  # stable, but cannot price
        (b"S S      0.000 kg\r\n", at("0.000", KG, ScaleStatus.ZERO)),
        (b"S D      0.000 kg\r\n", at("0.000", KG, ScaleStatus.IN_MOTION)),
        (b"S S       2.50 lb\r\n", at("2.50", WeightUnit.LB)),
        (b"S S       12.5 oz\r\n", at("12.5", WeightUnit.OZ)),
        (b"S S     1500.0 mg\r\n", at("1.5000", G)),  # milligrams, exactly as grams
        (b"S S 1.234 kg\n", at("1.234", KG)),  # LF alone: some firmwares
    ],
)
def test_weight_lines(line: bytes, meaning: ScaleReading) -> None:
    assert decode(line) == meaning


@pytest.mark.parametrize(
    ("line", "status", "words"),
    [
        (b"S I\r\n", None, "busy or did not settle"),
        (b"S +\r\n", ScaleStatus.OVER_CAPACITY, "over capacity"),
        (b"S -\r\n", ScaleStatus.UNDER_ZERO, "under zero"),
        (b"ES\r\n", None, "did not understand"),
        (b"ET\r\n", None, "baud rate and parity"),
        (b"EL\r\n", None, "logical error"),
    ],
)
def test_answers_without_weight_are_faults(
    line: bytes, status: ScaleStatus | None, words: str
) -> None:
    assert_fault(decode(line), status, words)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"S S 1.234 kg", "ends with CR LF"),
        (b"\r\n", "empty line"),
        (b"S S 1.234 \xb5g\r\n", "not ASCII"),
        (b"Z A\r\n", "not an answer to S"),
        (b"S\r\n", "not an answer to S"),
        (b"S X\r\n", "unknown S status 'X'"),
        (b"S + 1\r\n", "unknown S status '\\+'"),
        (b"S S 1.234\r\n", "S <status> <weight> <unit>"),
        (b"S S 1.234 kg extra\r\n", "S <status> <weight> <unit>"),
        (b"S S 1.234 ct\r\n", "unit 'ct'"),
        (b"S S 1_000 g\r\n", "not a number"),
        (b"S S NaN g\r\n", "not a number"),
        (b"S S ------ g\r\n", "not a number"),
        (b"ES extra\r\n", "not an answer to S"),
    ],
)
def test_garbled_lines_raise_naming_what_was_wrong(line: bytes, message: str) -> None:
    with pytest.raises(MtSicsError, match=message):
        decode(line)


@pytest.mark.parametrize(
    ("line", "result"),
    [
        (b"Z A\r\n", ZeroResult(True)),
        (b"Z I\r\n", ZeroResult(False, "the scale is busy or not settled: zero it again")),
        (b"Z +\r\n", ZeroResult(False, "too much on the platter to zero: empty it first")),
        (b"Z -\r\n", ZeroResult(False, "below the zero-setting range: check the platter is on")),
        (b"EL\r\n", ZeroResult(False, "the scale refused the command (logical error)")),
    ],
)
def test_answers_to_zero(line: bytes, result: ZeroResult) -> None:
    assert decode_zero(line) == result


@pytest.mark.parametrize("line", [b"S S 1 g\r\n", b"Z\r\n", b"Z Q\r\n", b"Z A B\r\n"])
def test_anything_else_is_no_answer_to_zero(line: bytes) -> None:
    with pytest.raises(MtSicsError, match="not an answer to Z"):
        decode_zero(line)


def test_encoders_write_the_manual_layout() -> None:
    assert encode_weight(Decimal("100.00"), G) == b"S S     100.00 g\r\n"
    assert encode_weight(Decimal("1.236"), KG, stable=False) == b"S D      1.236 kg\r\n"
    assert encode_response(at("1", KG, ScaleStatus.OVER_CAPACITY)) == b"S +\r\n"
    assert encode_response(at("1", KG, ScaleStatus.UNDER_ZERO)) == b"S -\r\n"
    assert encode_response(at("0", KG, ScaleStatus.ZERO)) == b"S S          0 kg\r\n"


def test_the_codec_speaks_both_sides() -> None:
    codec = MtSics()
    assert (codec.weigh_request(), codec.zero_request()) == (b"SI\r\n", b"Z\r\n")
    assert codec.request_terminator == b"\n"
    assert codec.decode(b"S S 1 g\r\n") == at("1", G)
    assert codec.decode_zero(b"Z A\r\n") == ZeroResult(True)
    still, moving = at("1.5", KG), at("1.5", KG, ScaleStatus.IN_MOTION)
    assert codec.answer(b"SI\r\n", moving) == b"S D        1.5 kg\r\n"
    assert codec.answer(b"S\r\n", moving) == b"S I\r\n"
    assert codec.answer(b"S\r\n", still) == b"S S        1.5 kg\r\n"
    assert codec.answer(b"Z\r\n", still) == b"Z A\r\n"
    assert codec.answer(b"Z\r\n", moving) == b"Z I\r\n"
    assert codec.answer(b"I4\r\n", still) == b"ES\r\n"


def test_the_stream_decoder_joins_split_lines() -> None:
    decoder = MtSics().decoder()
    assert decoder.feed(b"S S   ") == []
    assert decoder.feed(b"   1.234 kg\r\nS D 2 g\r") == [at("1.234", KG)]
    assert decoder.feed(b"\n") == [at("2", G, ScaleStatus.IN_MOTION)]


units = st.sampled_from(list(WeightUnit))
weights = st.decimals(min_value=-9999, max_value=99999, places=3)


@given(weights, units, st.sampled_from(list(ScaleStatus)))
def test_every_state_round_trips(weight: Decimal, unit: WeightUnit, status: ScaleStatus) -> None:
    sent = ScaleReading(weight, unit, status)
    event = reading_back(decode(encode_response(sent)), sent)
    if event is None:
        return
    if status is ScaleStatus.IN_MOTION:
        assert event.status is ScaleStatus.IN_MOTION
    else:  # the line says only "stable": zero is read off the weight
        assert event.status is (ScaleStatus.STABLE if weight else ScaleStatus.ZERO)


@given(st.lists(st.binary(max_size=30), max_size=12))
def test_any_bytes_in_any_chunks_give_events_never_an_exception(chunks: list[bytes]) -> None:
    assert_events_only(MtSics().decoder(), chunks)


@given(st.binary(max_size=30) | st.text(alphabet="SDIZAE+-. 0123456789kgb\r\n").map(str.encode))
def test_any_line_decodes_or_raises_only_the_codec_error(line: bytes) -> None:
    for decoder in (decode, decode_zero):
        with contextlib.suppress(MtSicsError):
            decoder(line)
