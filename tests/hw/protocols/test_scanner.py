"""Scanner codecs: serial framing with resync, and wedge scans told from typing."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hw.protocols.errors import CodecError
from hw.protocols.scanner import (
    FRAME_TRANSITIONS,
    WEDGE_TRANSITIONS,
    FrameState,
    Keystroke,
    ScannedCode,
    ScannerFrameError,
    SerialEvent,
    SerialFramer,
    SerialFraming,
    TypedText,
    WedgeDecoder,
    WedgeEvent,
    WedgeState,
    WedgeTiming,
)
from hw.sim.scanner import WedgeTyper

EAN = "4006381333931"


def framer(**kw: object) -> SerialFramer:
    return SerialFramer(SerialFraming(**kw))  # type: ignore[arg-type]


def codes(events: list[SerialEvent]) -> list[str]:
    return [e.code for e in events if isinstance(e, ScannedCode)]


def errors(events: list[SerialEvent]) -> list[ScannerFrameError]:
    return [e for e in events if isinstance(e, ScannerFrameError)]


# --- serial framing ------------------------------------------------------------------


def test_one_code_in_one_chunk() -> None:
    assert framer().feed(f"{EAN}\r".encode(), 0.0) == [ScannedCode(EAN)]


def test_codes_arrive_byte_by_byte_and_several_per_chunk() -> None:
    f = framer()
    events: list[SerialEvent] = []
    for i, byte in enumerate(f"{EAN}\r036000291452\r".encode()):
        events += f.feed(bytes([byte]), i * 0.001)
    assert events == [ScannedCode(EAN), ScannedCode("036000291452")]
    assert f.feed(b"A1\rB2\rC3\r", 1.0) == [ScannedCode("A1"), ScannedCode("B2"), ScannedCode("C3")]


def test_crlf_suffix_split_across_reads_and_prefix_stripped() -> None:
    f = framer(suffix=b"\r\n", prefix=b"]E0")
    assert f.feed(b"]E0" + EAN.encode() + b"\r", 0.0) == []
    assert f.feed(b"\n]E0123\r\n", 0.01) == [ScannedCode(EAN), ScannedCode("123")]


def test_custom_suffix_byte() -> None:
    assert framer(suffix=b"\x03").feed(b"ABC-123\x03", 0.0) == [ScannedCode("ABC-123")]


def test_a_doubled_terminator_is_not_a_scan() -> None:
    assert framer().feed(b"\r\r12\r\r", 0.0) == [ScannedCode("12")]


def test_non_printable_byte_is_named_with_a_hint_for_line_ends() -> None:
    f = framer()
    [err] = f.feed(b"12\x0134\r", 0.0)
    assert isinstance(err, ScannerFrameError)
    assert "non-printable byte 0x01 at position 2" in str(err)
    assert "suffix" not in err.reason
    # A scanner sending CR LF to a framer expecting CR: the LF starts the next frame.
    events = f.feed(b"12\r\n34\r", 0.1)
    assert events[0] == ScannedCode("12")
    assert isinstance(events[1], ScannerFrameError)
    assert "0x0a at position 0 (is the suffix set to what the scanner sends?)" in str(events[1])


def test_prefix_missing_or_alone_is_rejected() -> None:
    f = framer(prefix=b"*")
    missing, alone, good = f.feed(b"123\r*\r*456\r", 0.0)
    assert isinstance(missing, ScannerFrameError) and "prefix b'*'" in str(missing)
    assert isinstance(alone, ScannerFrameError) and "no code after it" in str(alone)
    assert good == ScannedCode("456")


def test_code_over_max_length_with_its_suffix_is_rejected() -> None:
    f = framer(max_length=5)
    err, good = f.feed(b"123456\r12345\r", 0.0)
    assert isinstance(err, ScannerFrameError)
    assert "code of 6 characters, longer than 5" in str(err)
    assert good == ScannedCode("12345")


def test_overlong_garbage_is_reported_once_and_its_tail_never_becomes_a_code() -> None:
    f = framer(max_length=8)
    [err] = f.feed(b"x" * 9, 0.0)
    assert isinstance(err, ScannerFrameError) and "no suffix within 8 characters" in str(err)
    assert f.state is FrameState.DISCARDING
    assert f.feed(b"123", 0.01) == []  # still the garbage: dropped, not reported again
    assert f.feed(b"45\r", 0.02) == []  # the garbage's end
    assert f.state is FrameState.COLLECTING
    assert f.feed(b"678\r", 0.03) == [ScannedCode("678")]


def test_discarding_keeps_a_split_crlf_in_view() -> None:
    f = framer(suffix=b"\r\n", max_length=4)
    assert len(errors(f.feed(b"zzzzzzz", 0.0))) == 1
    assert f.feed(b"zz\r", 0.01) == []
    assert f.feed(b"\n99\r\n", 0.02) == [ScannedCode("99")]


def test_half_a_code_then_silence_is_reported_and_dropped() -> None:
    f = framer(frame_timeout=0.5)
    assert f.next_deadline() is None
    f.receive_data(b"40063", 10.0)
    assert f.next_deadline() == 10.5
    f.handle_timeout(10.4)
    assert f.next_event() is None
    f.handle_timeout(10.5)
    with pytest.raises(ScannerFrameError, match="incomplete code") as caught:
        f.next_event()
    assert caught.value.raw == b"40063"
    assert f.next_deadline() is None
    assert f.feed(f"{EAN}\r".encode(), 11.0) == [ScannedCode(EAN)]


def test_bytes_after_silence_start_a_new_frame() -> None:
    f = framer(frame_timeout=0.5)
    f.receive_data(b"12", 0.0)
    events = f.feed(f"{EAN}\r".encode(), 2.0)
    assert isinstance(events[0], ScannerFrameError) and events[0].raw == b"12"
    assert events[1:] == [ScannedCode(EAN)]


def test_silence_ends_a_discard_without_a_second_report() -> None:
    f = framer(max_length=2, frame_timeout=0.5)
    assert len(f.feed(b"garbage", 0.0)) == 1
    assert f.next_deadline() == 0.5
    assert f.feed(b"", 0.5) == []
    assert f.state is FrameState.COLLECTING
    assert f.next_deadline() is None
    assert f.feed(b"42\r", 0.6) == [ScannedCode("42")]


def test_next_event_raises_a_bad_frame_then_carries_on() -> None:
    f = framer()
    f.receive_data(b"\x00\r77\r", 0.0)
    with pytest.raises(ScannerFrameError):
        f.next_event()
    assert f.next_event() == ScannedCode("77")
    assert f.next_event() is None


def test_frame_error_shows_its_bytes_truncated() -> None:
    err = ScannerFrameError("noise", bytes(range(100)))
    assert isinstance(err, CodecError)
    assert len(err.raw) == 64
    assert str(err).startswith("noise (bytes: 00 01 02") and str(err).endswith(" ...)")
    assert str(ScannerFrameError("empty", b"")) == "empty (bytes: none)"


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"suffix": b""}, "suffix must not be empty"),
        ({"prefix": b"\r"}, "contains the suffix"),
        ({"max_length": 0}, "max_length"),
        ({"frame_timeout": 0}, "frame_timeout"),
    ],
)
def test_framing_refuses_nonsense(kw: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SerialFraming(**kw)  # type: ignore[arg-type]


def test_transition_tables_cover_every_state() -> None:
    assert {state for state, _ in FRAME_TRANSITIONS} == set(FrameState)
    assert set(FRAME_TRANSITIONS.values()) == set(FrameState)
    assert {state for state, _ in WEDGE_TRANSITIONS} == set(WedgeState)


chunked_bytes = st.lists(st.binary(max_size=40), max_size=30)


@given(chunks=chunked_bytes, gaps=st.lists(st.floats(0, 1), min_size=30, max_size=30))
def test_fuzz_garbage_raises_nothing_but_frame_errors(
    chunks: list[bytes], gaps: list[float]
) -> None:
    f = framer(suffix=b"\r\n", prefix=b"]", max_length=16, frame_timeout=0.3)
    now = 0.0
    for chunk, gap in zip(chunks, gaps, strict=False):
        now += gap
        f.receive_data(chunk, now)
        while True:
            try:
                event = f.next_event()
            except ScannerFrameError:
                continue
            if event is None:
                break
            assert 1 <= len(event.code) <= 16 and event.code.isprintable()
            assert event.code.isascii()


@given(
    garbage=st.binary(max_size=200),
    code=st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=32),
    cuts=st.lists(st.integers(0, 40), max_size=6),
)
def test_fuzz_a_code_after_garbage_and_silence_always_decodes(
    garbage: bytes, code: str, cuts: list[int]
) -> None:
    f = framer(max_length=32, frame_timeout=0.2)
    f.feed(garbage, 0.0)
    frame = code.encode() + b"\r"
    pieces, start = [], 0
    for cut in sorted(cuts):
        pieces.append(frame[start:cut])
        start = max(start, cut)
    pieces.append(frame[start:])
    events: list[SerialEvent] = []
    for i, piece in enumerate(pieces):
        events += f.feed(piece, 1.0 + i * 0.01)
    assert codes(events) == [code]


# --- keyboard wedge --------------------------------------------------------------------

GAP = 0.5  # exact in binary, so boundary times compare exactly


def wedge(min_chars: int = 4, prefix: str = "") -> WedgeDecoder:
    return WedgeDecoder(WedgeTiming(min_chars=min_chars, max_gap=GAP, prefix=prefix))


def keys(text: str, start: float = 0.0, gap: float = 0.125) -> list[Keystroke]:
    return [Keystroke(c, start + i * gap) for i, c in enumerate(text)]


def test_a_fast_burst_ending_in_enter_is_a_scan() -> None:
    d = WedgeDecoder(WedgeTiming())
    assert d.feed(WedgeTyper().scan(EAN, start=100.0)) == [ScannedCode(EAN)]
    assert d.state is WedgeState.IDLE


def test_human_typing_passes_through_key_by_key() -> None:
    d = WedgeDecoder(WedgeTiming())
    events = d.feed(WedgeTyper().type("12", start=0.0, enter=True))
    assert events == [TypedText("1"), TypedText("2"), TypedText("\r")]


def test_gap_just_under_the_limit_is_a_burst_and_at_the_limit_is_not() -> None:
    under = GAP - 2**-10
    assert wedge().feed(keys("1234\n", gap=under)) == [ScannedCode("1234")]
    d = wedge()
    assert d.feed(keys("12", gap=GAP)) == [TypedText("1")]
    assert d.next_deadline() == GAP + GAP
    assert d.handle_timeout(2 * GAP - 2**-10) == []
    assert d.handle_timeout(2 * GAP) == [TypedText("2")]
    assert d.next_deadline() is None
    assert d.handle_timeout(99.0) == []


def test_min_chars_boundary() -> None:
    assert wedge(min_chars=4).feed(keys("123\r")) == [TypedText("123\r")]
    assert wedge(min_chars=4).feed(keys("1234\r")) == [ScannedCode("1234")]


def test_enter_after_a_pause_ends_a_burst_as_typing() -> None:
    d = wedge()
    events = d.feed([*keys("12345"), Keystroke("\r", 5.0)])
    assert events == [TypedText("12345"), TypedText("\r")]


def test_prefix_is_stripped_and_required() -> None:
    assert wedge(prefix="]").feed(keys("]4006\r")) == [ScannedCode("4006")]
    assert wedge(prefix="]").feed(keys("40066\r")) == [TypedText("40066\r")]
    assert wedge(min_chars=1, prefix="]").feed(keys("]\r")) == [TypedText("]\r")]


def test_a_keystroke_is_one_character() -> None:
    with pytest.raises(ValueError, match="one character"):
        wedge().key("ab", 0.0)
    with pytest.raises(ValueError, match="min_chars"):
        WedgeTiming(min_chars=0)


def test_typer_jitter_is_seeded_and_keeps_gaps_at_least_the_base() -> None:
    a = WedgeTyper(jitter=0.01, seed=7).scan("123", 0.0)
    b = WedgeTyper(jitter=0.01, seed=7).scan("123", 0.0)
    assert a == b
    assert all(0.004 <= y.at - x.at < 0.0141 for x, y in itertools.pairwise(a))
    assert WedgeTyper(prefix="]").scan("9", 0.0)[0].char == "]"


printable = st.characters(min_codepoint=0x21, max_codepoint=0x7E)


@given(
    code=st.text(printable, min_size=4, max_size=40),
    gaps=st.lists(st.floats(0, GAP), min_size=41, max_size=41),
)
def test_fuzz_any_burst_under_the_gap_is_exactly_the_code(code: str, gaps: list[float]) -> None:
    times, now = [], 0.0
    for gap in gaps[: len(code) + 1]:
        now += min(gap, GAP - 2**-20)
        times.append(now)
    strokes = [Keystroke(c, t) for c, t in zip(code + "\r", times, strict=True)]
    assert wedge().feed(strokes) == [ScannedCode(code)]


@given(
    text=st.text(st.sampled_from("12ab \r"), max_size=30),
    gaps=st.lists(st.floats(0, 2 * GAP), min_size=30, max_size=30),
)
def test_fuzz_nothing_typed_or_scanned_is_lost_or_doubled(text: str, gaps: list[float]) -> None:
    d = wedge(min_chars=2)
    events: list[WedgeEvent] = []
    now = 0.0
    for char, gap in zip(text, gaps, strict=False):
        now += gap
        events += d.key(char, now)
    events += d.handle_timeout(now + GAP)
    rebuilt = "".join(e.text if isinstance(e, TypedText) else e.code + "\r" for e in events)
    assert rebuilt == text
    assert d.state is WedgeState.IDLE
