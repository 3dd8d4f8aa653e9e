"""Scanner framing: serial frames and keyboard-wedge bursts, mutated and cut anywhere.

For any framing a profile can set (one- and two-byte suffixes, a prefix), whole scans
cut at random places come out as the codes that went in; mutated streams give only
codes (printable, within the length) and `ScannerFrameError`s that say why, and a
wedge loses and invents no keystroke: what is not a scan comes out as typed text.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hw.protocols.scanner import (
    ENTER_KEYS,
    FrameState,
    Keystroke,
    ScannedCode,
    ScannerFrameError,
    SerialFramer,
    SerialFraming,
    TypedText,
    WedgeDecoder,
    WedgeState,
    WedgeTiming,
)
from tests.fuzz.mutate import check_message, chunked, fuzz, mutated_bytes


@st.composite
def framings(draw: st.DrawFn) -> SerialFraming:
    suffix = draw(st.sampled_from([b"\r", b"\n", b"\r\n", b"\x03", b"\x04\r", b"\t"]))
    prefix = draw(st.sampled_from([b"", b"]E0", b"\x02", b"A", b"]C1"]))
    return SerialFraming(
        suffix, prefix, draw(st.integers(1, 48)), draw(st.sampled_from([0.05, 0.5]))
    )


def codes(framing: SerialFraming) -> st.SearchStrategy[list[str]]:
    printable = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
    code = st.text(printable, min_size=1, max_size=framing.max_length)
    # A code that holds its own suffix cannot be framed by it (a profile picks one it lacks).
    return st.lists(code.filter(lambda c: framing.suffix.decode() not in c), max_size=6)


def framed(framing: SerialFraming, scans: list[str]) -> bytes:
    return b"".join(framing.prefix + c.encode("ascii") + framing.suffix for c in scans)


@fuzz(200)
@given(st.data())
def test_whole_scans_cut_anywhere_come_out_as_they_went_in(data: st.DataObject) -> None:
    framing = data.draw(framings())
    scans = data.draw(codes(framing))
    framer = SerialFramer(framing)
    out = []
    for chunk in data.draw(chunked(framed(framing, scans))):
        out += framer.feed(chunk, now=0.0)
    assert out == [ScannedCode(c) for c in scans]
    assert framer.state is FrameState.COLLECTING and framer.next_deadline() is None


@fuzz(200)
@given(st.data())
def test_mutated_streams_give_only_codes_and_frame_errors(data: st.DataObject) -> None:
    framing = data.draw(framings())
    valid = framed(framing, data.draw(codes(framing)))
    tokens = [framing.suffix, framing.prefix, b"\x00", b"\xff"]
    stream = data.draw(mutated_bytes(valid, max_ops=5, tokens=tokens))
    framer = SerialFramer(framing)
    now = 0.0
    for chunk in data.draw(chunked(stream)):
        now += data.draw(st.sampled_from([0.0, 0.001, 0.04, 0.3, 2.0]))
        framer.receive_data(chunk, now)
        while True:
            try:
                code = framer.next_event()
            except ScannerFrameError as exc:
                check_message(exc)
                assert exc.reason.strip() and len(exc.raw) <= 64
                continue
            if code is None:
                break
            assert 1 <= len(code.code) <= framing.max_length
            assert code.code.isascii() and code.code.isprintable()
    framer.handle_timeout(now + 10.0)  # silence ends any half code
    assert framer.state is FrameState.COLLECTING and framer.next_deadline() is None
    for event in framer.feed(b"", now + 10.0):
        assert isinstance(event, ScannerFrameError)


keys = st.lists(
    st.tuples(
        st.sampled_from([*"0123456789AZaz -", "\r", "\n", "é", "\x00", "]"]),
        st.sampled_from([0.0, 0.005, 0.02, 0.034, 0.035, 0.2, 3.0]),
    ),
    max_size=40,
)


@fuzz(200)
@given(keys, st.sampled_from(["", "]", "]E0"]), st.integers(1, 6))
def test_a_wedge_loses_and_invents_no_keystroke(
    typed: list[tuple[str, float]], prefix: str, min_chars: int
) -> None:
    decoder = WedgeDecoder(WedgeTiming(min_chars=min_chars, prefix=prefix))
    now, strokes = 0.0, []
    for char, gap in typed:
        now += gap
        strokes.append(Keystroke(char, now))
    events = decoder.feed(strokes) + decoder.handle_timeout(now + 1.0)
    assert decoder.state is WedgeState.IDLE and decoder.next_deadline() is None
    said = ""
    for event in events:
        if isinstance(event, TypedText):
            said += event.text
        else:
            assert isinstance(event, ScannedCode) and event.code
            said += prefix + event.code + "\r"
    enter = "".join(ENTER_KEYS)
    assert said.translate(str.maketrans(enter, "\r" * len(enter))) == "".join(
        "\r" if c in ENTER_KEYS else c for c, _ in typed
    )
