"""The shared scale vocabulary: what may price a line, and the byte-stream helpers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hw.protocols.errors import CodecError
from hw.protocols.scale import (
    OVER_CAPACITY,
    FrameBuffer,
    ScaleEvent,
    ScaleFault,
    ScaleReading,
    ScaleStatus,
    StreamDecoder,
    WeightUnit,
    show_bytes,
    within_capacity,
)


def reading(weight: str, status: ScaleStatus = ScaleStatus.STABLE) -> ScaleReading:
    return ScaleReading(Decimal(weight), WeightUnit.KG, status)


@pytest.mark.parametrize(
    ("weight", "status", "capacity", "priceable"),
    [
        ("1.234", ScaleStatus.STABLE, None, True),
        ("1.234", ScaleStatus.STABLE, Decimal("15"), True),
        ("15", ScaleStatus.STABLE, Decimal("15"), True),
        ("15.005", ScaleStatus.STABLE, Decimal("15"), False),
        ("0", ScaleStatus.STABLE, None, False),
        ("-0.010", ScaleStatus.STABLE, None, False),
        ("0", ScaleStatus.ZERO, None, False),
        ("1.234", ScaleStatus.IN_MOTION, None, False),
        ("1.234", ScaleStatus.OVER_CAPACITY, None, False),
        ("1.234", ScaleStatus.UNDER_ZERO, None, False),
    ],
)
def test_only_a_stable_positive_weight_within_capacity_prices(
    weight: str, status: ScaleStatus, capacity: Decimal | None, priceable: bool
) -> None:
    assert reading(weight, status).can_price(capacity) is priceable


def test_a_fault_says_what_the_scale_said_or_nothing() -> None:
    assert ScaleFault("no answer").status is None
    assert ScaleFault("moving", ScaleStatus.IN_MOTION).status is ScaleStatus.IN_MOTION


def test_show_bytes_reprs_short_data_whole_and_cuts_a_flood() -> None:
    assert show_bytes(b"\x02?A\r") == repr(b"\x02?A\r")
    shown = show_bytes(b"x" * 100, limit=8)
    assert shown == "b'xxxxxxxx'... (100 bytes)"


def test_a_frame_buffer_keeps_a_partial_frame_until_its_terminator() -> None:
    frames = FrameBuffer(b"\r")
    assert frames.feed(b"\x0201.") == []
    assert frames.pending == b"\x0201."
    assert frames.feed(b"234\r\x02") == [b"\x0201.234\r"]
    assert frames.pending == b"\x02"


def test_a_frame_buffer_cuts_several_frames_from_one_read() -> None:
    assert FrameBuffer(b"\n").feed(b"a\nb\nc") == [b"a\n", b"b\n"]


def test_a_run_without_terminator_comes_back_as_junk_instead_of_growing() -> None:
    frames = FrameBuffer(b"\r", max_len=4)
    assert frames.feed(b"abcdef") == [b"abcd"]
    assert frames.pending == b"ef"
    assert frames.feed(b"ghij\r") == [b"efgh", b"ij\r"]


def test_a_terminator_past_max_len_still_cuts_at_max_len() -> None:
    assert FrameBuffer(b"\r", max_len=3).feed(b"abcd\r") == [b"abc", b"d\r"]


def test_clear_drops_a_partial_frame_and_says_what() -> None:
    frames = FrameBuffer(b"\r")
    frames.feed(b"stale")
    assert frames.clear() == b"stale"
    assert frames.pending == b""


def test_a_terminator_is_one_byte() -> None:
    with pytest.raises(ValueError, match="one byte"):
        FrameBuffer(b"\r\n")


class _Oops(CodecError):
    pass


def _decode(frame: bytes) -> ScaleEvent:
    if frame != b"ok\n":
        raise _Oops(f"bad {frame!r}")
    return reading("1")


def test_a_stream_decoder_turns_a_garbled_frame_into_a_fault_and_goes_on() -> None:
    events = StreamDecoder(FrameBuffer(b"\n"), _decode).feed(b"junk\nok\n")
    assert events[0] == ScaleFault("garbled answer from the scale: bad b'junk\\n'")
    assert events[1] == reading("1")


@given(st.lists(st.binary(max_size=40), max_size=20), st.integers(min_value=1, max_value=64))
def test_frame_buffer_loses_and_invents_no_byte(chunks: list[bytes], max_len: int) -> None:
    frames = FrameBuffer(b"\r", max_len=max_len)
    out = [frame for chunk in chunks for frame in frames.feed(chunk)]
    assert b"".join(out) + frames.pending == b"".join(chunks)
    assert all(len(frame) <= max_len for frame in out)
    assert all(frame.endswith(b"\r") or len(frame) == max_len for frame in out)


def test_a_weight_past_the_profiles_capacity_is_an_over_capacity_fault() -> None:
    """A scale shows a little past its stated capacity before it says overload."""
    at, past = (ScaleReading(Decimal(w), WeightUnit.KG, ScaleStatus.STABLE) for w in ("15", "16"))
    assert within_capacity(at, Decimal(15)) is at
    assert within_capacity(past, Decimal(15)) is OVER_CAPACITY
    assert within_capacity(past, None) is past
    fault = ScaleFault("no answer")
    assert within_capacity(fault, Decimal(15)) is fault
