"""Every scale codec (MT-SICS, NCI, Toledo 8217, HID): a frame decodes or raises its own error.

Frames start as what a real scale sends (each codec's own encoder, the simulators'
answers) and are mutated byte by byte; a decoded reading always carries a finite
weight, a fault always says why, and a stream of mutated frames cut at random
places only ever gives events. The codecs' own tests hold the round trips.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from hw.protocols import hid_scale, mtsics, nci, toledo8217
from hw.protocols.errors import CodecError
from hw.protocols.scale import (
    ScaleFault,
    ScaleReading,
    ScaleStatus,
    StreamDecoder,
    WeightUnit,
    ZeroResult,
)
from tests.fuzz.mutate import check_message, chunked, fuzz, mutated_bytes

units = st.sampled_from(list(WeightUnit))
readings = st.builds(
    ScaleReading,
    st.decimals(min_value=0, max_value=9999, places=3),
    units,
    st.sampled_from(list(ScaleStatus)),
)

MTSICS_OTHER = [b"S I\r\n", b"S +\r\n", b"S -\r\n", b"ES\r\n", b"ET\r\n", b"EL\r\n", b"Z A\r\n",
                b"Z I\r\n", b"Z +\r\n", b"Z -\r\n", b"S S     12.5 mg\r\n"]  # fmt: skip
NCI_OTHER = [nci.UNKNOWN_COMMAND, b"\n  1LB 2.5OZ\r\n00\r\x03", b"\nS00\r\x03", b"\n0000\r\x03",
             b"\n?\r\x03", b"\n1.5lb\r\n8000\r\x03"]  # fmt: skip
TOLEDO_OTHER = [toledo8217.encode_status(0), toledo8217.encode_status(toledo8217.MOTION),
                b"\x0201.50N\r", b"\x02  1.5\r", b"\x02?\xc1\r"]  # fmt: skip


def _mtsics_frames(reading: ScaleReading) -> bytes:
    return mtsics.encode_response(reading)


def _nci_frames(reading: ScaleReading) -> bytes:
    return nci.encode_response(reading)


def _toledo_frames(reading: ScaleReading) -> bytes:
    try:
        return toledo8217.encode_response(reading)
    except toledo8217.Toledo8217Error:  # the 8217 sends no weight it cannot format
        return toledo8217.encode_status(toledo8217.MOTION)


def _hid_frames(reading: ScaleReading) -> bytes:
    try:
        return hid_scale.encode(reading)
    except hid_scale.HidScaleError:  # more than 16 bits of weight
        return hid_scale.encode_status(hid_scale.STATUS_FAULT)


Codec = tuple[
    Callable[[ScaleReading], bytes],  # a valid frame
    list[bytes],  # other valid frames
    type[CodecError],
    Callable[[bytes], Any],  # decode
    Callable[[bytes], Any] | None,  # decode_zero
    Callable[[], StreamDecoder] | None,
    list[bytes],  # tokens
]
CODECS: dict[str, Codec] = {
    "mtsics": (_mtsics_frames, MTSICS_OTHER, mtsics.MtSicsError, mtsics.decode,
               mtsics.decode_zero, mtsics.MtSics().decoder,
               [b"S", b"D", b"Z", b" ", b"\r\n", b"kg", b"mg", b"-", b"+", b".", b"1e9"]),
    "nci": (_nci_frames, NCI_OTHER, nci.NciError, nci.decode, nci.decode_zero,
            nci.Nci().decoder, [b"\n", b"\r", b"\x03", b"LB", b"OZ", b"kg", b"S", b"0", b"?"]),
    "toledo8217": (_toledo_frames, TOLEDO_OTHER, toledo8217.Toledo8217Error,
                   lambda frame: toledo8217.decode(frame, WeightUnit.LB), toledo8217.decode_zero,
                   toledo8217.Toledo8217().decoder, [b"\x02", b"\r", b"?", b"N", b"."]),
    "hid": (_hid_frames, [hid_scale.encode_status(s) for s in range(9)], hid_scale.HidScaleError,
            hid_scale.decode, None, None, [b"\x03", b"\x00", b"\xff", b"\x80"]),
}  # fmt: skip


def frames(name: str) -> st.SearchStrategy[bytes]:
    """Valid frames of codec `name`, mutated."""
    make, other, *_, tokens = CODECS[name]
    valid = readings.map(make) | st.sampled_from(other)
    return mutated_bytes(valid, tokens=tokens, max_len=200)


def check_event(event: Any) -> None:
    """A decoded event is sound: a finite weight with its unit, or a reason."""
    if isinstance(event, ScaleReading):
        assert isinstance(event.weight, Decimal) and event.weight.is_finite()
        assert isinstance(event.unit, WeightUnit) and isinstance(event.status, ScaleStatus)
    elif isinstance(event, ScaleFault):
        assert event.reason.strip()
    else:
        assert isinstance(event, ZeroResult)
        assert event.zeroed or event.reason.strip()


def decodes_or_raises_its_own(name: str, frame: bytes) -> None:
    _, _, error, decode, decode_zero, *_ = CODECS[name]
    for decoder in filter(None, (decode, decode_zero)):
        try:
            check_event(decoder(frame))
        except CodecError as exc:
            assert type(exc) is error, f"{type(exc).__name__} is not {error.__name__}"
            check_message(exc)


@fuzz(250)
@given(st.data())
@example(data=None)
@pytest.mark.parametrize("name", sorted(CODECS))
def test_mutated_frames_decode_or_raise_the_codecs_own_error(
    name: str, data: st.DataObject | None
) -> None:
    if data is None:  # every valid frame once, and the empty frame
        for frame in [*CODECS[name][1], b""]:
            decodes_or_raises_its_own(name, frame)
        return
    decodes_or_raises_its_own(name, data.draw(frames(name)))


@fuzz(120)
@given(st.data())
@pytest.mark.parametrize("name", sorted(n for n in CODECS if CODECS[n][5] is not None))
def test_a_stream_of_mutated_frames_gives_only_events(name: str, data: st.DataObject) -> None:
    make_decoder = CODECS[name][5]
    assert make_decoder is not None
    stream = b"".join(data.draw(st.lists(frames(name), min_size=1, max_size=6)))
    decoder = make_decoder()
    for chunk in data.draw(chunked(stream)):
        for event in decoder.feed(chunk):
            check_event(event)
