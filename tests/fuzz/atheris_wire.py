"""A coverage-guided (atheris/libFuzzer) harness over every bytes-in decoder.

The first byte picks the decoder (the wire messages, the scale codecs, the label and
ESC/POS status answers), the rest is its input; the property is the suite's: the
decoder's own error or a result, and a wire message that decodes encodes again.
`test_atheris.py` runs it briefly with a fixed seed; by hand, for as long as you like:

    .venv/bin/python tests/fuzz/atheris_wire.py -max_total_time=600 -artifact_prefix=/tmp/
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import atheris  # type: ignore[import-not-found]

with atheris.instrument_imports():
    from appliance.sync import wire
    from hw.protocols import hid_scale, label_status, mtsics, nci, toledo8217
    from hw.protocols.errors import CodecError
    from hw.protocols.escpos_parse import EscposInterpreter
    from hw.protocols.scale import WeightUnit

WIRE: list[tuple[Callable[[bytes], Any], Callable[[Any], bytes]]] = [
    (wire.decode_envelope, wire.encode_envelope),
    (wire.decode_ack, wire.encode_ack),
    (wire.decode_request, wire.encode_request),
    (wire.decode_response, wire.encode_response),
    (wire.decode_beacon, wire.encode_beacon),
    (wire.decode_status, wire.encode_status),
]


def _escpos(data: bytes) -> None:
    interpreter = EscposInterpreter()
    interpreter.receive(data)
    for _ in range(256 * len(data) + 16):  # ESC d 255 alone feeds 255 lines
        try:
            if interpreter.next_event() is None:
                return
        except CodecError:
            continue
    raise AssertionError("the ESC/POS interpreter made no progress")


CODECS: list[Callable[[bytes], Any]] = [
    mtsics.decode, mtsics.decode_zero, nci.decode, nci.decode_zero,
    lambda frame: toledo8217.decode(frame, WeightUnit.KG), toledo8217.decode_zero,
    hid_scale.decode, label_status.decode_host_status, label_status.decode_tsc_status, _escpos,
]  # fmt: skip


def one_input(data: bytes) -> None:
    """One input: its first byte picks the decoder."""
    if not data:
        return
    pick, raw = data[0], data[1:]
    if pick % 2 == 0:
        decode, encode = WIRE[pick // 2 % len(WIRE)]
        try:
            message = decode(raw)
        except wire.WireError as exc:
            assert str(exc).strip()
            return
        assert decode(encode(message)) == message
        return
    try:
        CODECS[pick // 2 % len(CODECS)](raw)
    except CodecError as exc:
        assert str(exc).strip()


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
