"""The sans-I/O ESC/POS interpreter behind the printer simulator."""

from __future__ import annotations

import io

import PIL.Image
import pytest
from escpos.printer import Dummy  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from hw.document import Align, Style
from hw.protocols.errors import CodecError
from hw.protocols.escpos_parse import (
    BarcodePrinted,
    DrawerKick,
    EscposInterpreter,
    EscposParseError,
    ImagePrinted,
    PaperCut,
    ParseEvent,
    PrintedLine,
    QRPrinted,
    StatusRequested,
    UnknownCommand,
)

ESC, GS, DLE, FS = b"\x1b", b"\x1d", b"\x10", b"\x1c"
PLAIN = Style()


def parse(data: bytes) -> list[ParseEvent]:
    interpreter = EscposInterpreter()
    interpreter.receive(data)
    return interpreter.events()


def line(text: str, style: Style = PLAIN, align: Align = Align.LEFT) -> PrintedLine:
    return PrintedLine(text, style, align)


def unknowns(events: list[ParseEvent]) -> list[UnknownCommand]:
    return [e for e in events if isinstance(e, UnknownCommand)]


# --- text and style ----------------------------------------------------------------------


def test_plain_text_lines() -> None:
    assert parse(b"Hello\nworld\n\n") == [line("Hello"), line("world"), line("")]


def test_text_without_line_feed_is_not_printed_yet() -> None:
    interpreter = EscposInterpreter()
    interpreter.receive(b"half a li")
    assert interpreter.next_event() is None
    interpreter.receive(b"ne\n")
    assert interpreter.events() == [line("half a line")]


def test_style_and_alignment_are_those_at_the_first_character() -> None:
    data = ESC + b"E\x01" + ESC + b"a\x01" + b"Bold" + ESC + b"E\x00" + b" centred\n"
    assert parse(data) == [line("Bold centred", Style(bold=True), Align.CENTER)]


def test_empty_line_takes_the_current_style() -> None:
    assert parse(GS + b"B\x01" + ESC + b"a\x32\n") == [line("", Style(invert=True), Align.RIGHT)]


def test_print_mode_bits() -> None:
    events = parse(ESC + b"!\xb8x\n" + ESC + b"!\x00y\n")
    both = Style(bold=True, underline=True, double_width=True, double_height=True)
    assert events == [line("x", both), line("y")]


def test_character_size_underline_invert() -> None:
    events = parse(
        GS
        + b"!\x10w\n"
        + GS
        + b"!\x01h\n"
        + GS
        + b"!\x00"
        + ESC
        + b"-\x02u\n"
        + ESC
        + b"-\x30"
        + GS
        + b"B\x01i\n"
    )
    assert events == [
        line("w", Style(double_width=True)),
        line("h", Style(double_height=True)),
        line("u", Style(underline=True)),
        line("i", Style(invert=True)),
    ]


def test_justification_out_of_range_is_reported_and_ignored() -> None:
    events = parse(ESC + b"a\x01" + ESC + b"a\x07x\n")
    assert events == [
        UnknownCommand(ESC + b"a\x07", "justification 7 is out of range; ignored"),
        line("x", align=Align.CENTER),
    ]


def test_code_pages() -> None:
    events = parse(ESC + b"t\x13Caf\x82 \x9c\xd5\n" + ESC + b"t\x10\x80\n")
    assert events == [line("Café £€"), line("€")]


def test_unknown_code_page_is_reported_and_read_as_cp437() -> None:
    events = parse(ESC + b"t\x63\x82\n")
    assert events[0] == UnknownCommand(ESC + b"t\x63", "code page 99 is not known; reading CP437")
    assert events[1] == line("é")


def test_init_resets_style_and_discards_the_print_buffer() -> None:
    data = ESC + b"E\x01" + ESC + b"t\x13lost" + ESC + b"@\x82\n"
    assert parse(data) == [line("é")]  # CP437 again, not bold, "lost" never printed


def test_controls() -> None:
    data = b"a\tb\x00\x07\r\x0b\x0c\x18c\n"
    assert parse(data) == [line("a bc")]
    assert parse(b"\x01x\n") == [
        UnknownCommand(b"\x01", "control byte 0x01 has no meaning in ESC/POS"),
        line("x"),
    ]


def test_feed_lines() -> None:
    assert parse(b"a" + ESC + b"d\x03") == [line("a"), line(""), line("")]
    assert parse(b"a" + ESC + b"d\x00") == [line("a")]
    assert parse(ESC + b"d\x00") == []
    assert parse(ESC + b"d\x02") == [line(""), line("")]


def test_formatting_commands_are_consumed_with_their_parameters() -> None:
    data = (
        ESC + b"3\x41" + ESC + b"2" + ESC + b"M\x01" + GS + b"L\x41\x41" + FS + b"."
        + ESC + b"c5\x00" + DLE + b"\x05\x02" + b"ok\n"
    )  # fmt: skip
    assert parse(data) == [line("ok")]


def test_unknown_escape_is_reported() -> None:
    assert parse(ESC + b"Zx\n") == [
        UnknownCommand(ESC + b"Z", "command not known to this interpreter"),
        line("x"),
    ]
    assert parse(FS + b"p\x01\x00") == [
        UnknownCommand(FS + b"p\x01\x00", "known command, not simulated")
    ]


# --- cuts and drawer -----------------------------------------------------------------------


def test_cuts() -> None:
    data = (
        GS + b"V\x00" + GS + b"V\x01" + GS + b"V\x30" + GS + b"V\x31"
        + GS + b"VA\x05" + GS + b"VB\x00" + ESC + b"i" + ESC + b"m"
    )  # fmt: skip
    assert parse(data) == [PaperCut(p) for p in (False, True, False, True, False, True)] + [
        PaperCut(False),
        PaperCut(True),
    ]


def test_cut_prints_pending_text_first() -> None:
    assert parse(b"tail" + GS + b"V\x00") == [line("tail"), PaperCut(False)]


def test_unknown_cut_mode() -> None:
    assert parse(GS + b"V\x07") == [UnknownCommand(GS + b"V\x07", "GS V: no such cut mode")]


def test_drawer_kicks() -> None:
    data = ESC + b"p\x00\x32\xfa" + ESC + b"p\x31\x19\x19" + DLE + b"\x14\x01\x01\x03"
    assert parse(data) == [
        DrawerKick(2, 100, 500),
        DrawerKick(5, 50, 50),
        DrawerKick(5, 300, 300, real_time=True),
    ]


def test_drawer_kick_out_of_range() -> None:
    assert parse(ESC + b"p\x07\x01\x01") == [
        UnknownCommand(ESC + b"p\x07\x01\x01", "ESC p connector 7 does not exist; ignored")
    ]
    bad = [DLE + b"\x14\x01\x05\x01", DLE + b"\x14\x01\x00\x09"]
    for command in bad:
        assert parse(command) == [
            UnknownCommand(command, "DLE DC4 1: pulse parameters out of range; ignored")
        ]


def test_other_real_time_commands() -> None:
    clear_buffers = DLE + b"\x14\x08\x01\x03\x14\x01\x06\x02\x08"
    events = parse(clear_buffers + DLE + b"\x14\x63" + b"x\n")
    assert events == [
        UnknownCommand(clear_buffers, "DLE DC4 8: real-time command not simulated"),
        UnknownCommand(DLE + b"\x14\x63", "DLE DC4 99: real-time command not simulated"),
        line("x"),
    ]


# --- status requests --------------------------------------------------------------------------


def test_status_requests() -> None:
    data = b"".join(DLE + b"\x04" + bytes((n,)) for n in (1, 2, 3, 4))
    assert parse(data) == [StatusRequested(n) for n in (1, 2, 3, 4)]


def test_other_status_requests_are_reported() -> None:
    assert parse(DLE + b"\x04\x07\x01" + DLE + b"\x04\x09") == [
        UnknownCommand(DLE + b"\x04\x07\x01", "DLE EOT 7: status not simulated"),
        UnknownCommand(DLE + b"\x04\x09", "DLE EOT 9: status not simulated"),
    ]


# --- barcodes -----------------------------------------------------------------------------------


def test_barcode_function_b_code128() -> None:
    data = ESC + b"a\x01" + GS + b"kI\x0b{B01{{90-A7"
    assert parse(data) == [BarcodePrinted("CODE128", "01{90-A7", Align.CENTER)]


def test_barcode_function_a() -> None:
    assert parse(GS + b"k\x02400638133393\x00") == [
        BarcodePrinted("EAN13", "400638133393", Align.LEFT)
    ]


def test_barcode_function_b_other_symbology_keeps_braces() -> None:
    assert parse(GS + b"kH\x03{A}") == [BarcodePrinted("CODE93", "{A}", Align.LEFT)]


def test_barcode_errors() -> None:
    assert parse(GS + b"k\x20") == [
        UnknownCommand(GS + b"k\x20", "GS k: barcode system 32 not known")
    ]
    with pytest.raises(EscposParseError, match="barcode with no data"):
        parse(GS + b"kI\x00")
    with pytest.raises(EscposParseError, match="not ended by NUL"):
        parse(GS + b"k\x04" + b"A" * 256)


def test_barcode_waits_for_its_data() -> None:
    interpreter = EscposInterpreter()
    for part in (GS + b"k", b"\x04", b"ABC"):
        interpreter.receive(part)
        assert interpreter.next_event() is None
    interpreter.receive(b"\x00")
    assert interpreter.events() == [BarcodePrinted("CODE39", "ABC", Align.LEFT)]
    for part in (GS + b"kI", b"\x03", b"{B"):
        interpreter.receive(part)
        assert interpreter.next_event() is None
    interpreter.receive(b"1")
    assert interpreter.events() == [BarcodePrinted("CODE128", "1", Align.LEFT)]


# --- QR codes and images --------------------------------------------------------------------------


def two_d(cn: int, fn: int, payload: bytes) -> bytes:
    body = bytes((cn, fn)) + payload
    return GS + b"(k" + len(body).to_bytes(2, "little") + body


def test_native_qr_code() -> None:
    data = (
        ESC + b"a\x01" + two_d(49, 65, b"2\x00") + two_d(49, 67, b"\x06") + two_d(49, 69, b"1")
        + two_d(49, 80, "0https://x.test/€".encode()) + two_d(49, 81, b"0")
    )  # fmt: skip
    assert parse(data) == [QRPrinted("https://x.test/€", 6, Align.CENTER)]


def test_two_d_codes_not_simulated() -> None:
    print_nothing = two_d(49, 81, b"0")
    pdf417 = two_d(48, 65, b"\x00")
    transmit = two_d(49, 82, b"0")
    events = parse(print_nothing + pdf417 + transmit + two_d(49, 67, b""))
    assert [e.data for e in unknowns(events)] == [
        print_nothing,
        pdf417,
        transmit,
        two_d(49, 67, b""),
    ]
    assert "2-D symbol type 48" in unknowns(events)[1].reason


def test_two_d_code_shorter_than_its_header() -> None:
    with pytest.raises(EscposParseError, match="GS \\( k: shorter than its cn and fn"):
        parse(GS + b"(k\x01\x001")


def test_raster_image() -> None:
    data = ESC + b"a\x01" + GS + b"v0\x00\x02\x00\x03\x00" + b"\xff" * 6 + b"x\n"
    assert parse(data) == [ImagePrinted(16, 3, Align.CENTER), line("x", align=Align.CENTER)]


def test_raster_image_errors() -> None:
    with pytest.raises(EscposParseError, match="image of 0 bytes x 3 dots is out of range"):
        parse(GS + b"v0\x00\x00\x00\x03\x00")
    assert parse(GS + b"v1\x00\x00\x00\x00\x00")[0] == UnknownCommand(
        GS + b"v1", "GS v: only GS v 0 (raster image) is known"
    )


def graphics(fn: int, payload: bytes) -> bytes:
    body = b"0" + bytes((fn,)) + payload
    return GS + b"(L" + len(body).to_bytes(2, "little") + body


def test_graphics_image() -> None:
    store = graphics(112, b"0\x01\x011" + b"\x0a\x00\x02\x00" + b"\x00" * 4)
    assert parse(store + graphics(50, b"")) == [ImagePrinted(10, 2, Align.LEFT)]


def test_graphics_not_simulated() -> None:
    short_store = graphics(112, b"0\x01")
    events = parse(graphics(50, b"") + short_store + graphics(48, b""))
    assert len(unknowns(events)) == 3
    with pytest.raises(EscposParseError, match="GS \\( L: shorter than its m and fn"):
        parse(GS + b"(L\x00\x00")


def test_column_image() -> None:
    data = ESC + b"*\x00\x02\x00\x01\x02" + ESC + b"*\x21\x01\x00\x01\x02\x03"
    assert parse(data) == [ImagePrinted(2, 8, Align.LEFT), ImagePrinted(1, 24, Align.LEFT)]
    with pytest.raises(EscposParseError, match="ESC \\* 5: no such bit image mode"):
        parse(ESC + b"*\x05\x01\x00")


def test_other_parenthesised_commands_are_skipped_and_reported() -> None:
    beeper = ESC + b"(A\x04\x000a\x01\x01"
    assert parse(beeper + b"x\n") == [
        UnknownCommand(beeper, "command not known to this interpreter"),
        line("x"),
    ]


def test_tab_positions() -> None:
    assert parse(ESC + b"D\x08\x10\x00x\n") == [line("x")]
    with pytest.raises(EscposParseError, match="more than 32 tab positions"):
        parse(ESC + b"D" + b"\x01" * 33)


# --- streaming ----------------------------------------------------------------------------

INCOMPLETE = [
    ESC,
    ESC + b"p\x00",
    GS + b"V",
    GS + b"VA",
    GS + b"k",
    GS + b"kI",
    GS + b"kI\x05{B",
    GS + b"v0\x00",
    GS + b"v0\x00\x01\x00\x02\x00\xff",
    ESC + b"*\x00",
    ESC + b"*\x00\x02\x00\x01",
    ESC + b"D\x01",
    DLE + b"\x04",
    DLE + b"\x04\x07",
    DLE + b"\x14",
    DLE + b"\x14\x01\x00",
    GS + b"(k",
    GS + b"(k\x03\x001",
]


@pytest.mark.parametrize("data", INCOMPLETE)
def test_incomplete_command_waits_for_more(data: bytes) -> None:
    interpreter = EscposInterpreter()
    interpreter.receive(data)
    assert interpreter.next_event() is None
    assert interpreter.pending == data


def test_parsing_goes_on_after_a_malformed_command() -> None:
    interpreter = EscposInterpreter()
    interpreter.receive(GS + b"kI\x00" + b"after\n")
    with pytest.raises(EscposParseError) as caught:
        interpreter.next_event()
    assert isinstance(caught.value, CodecError)
    assert interpreter.events() == [line("after")]


def python_escpos_output() -> bytes:
    """A bit of everything python-escpos itself sends."""
    picture = PIL.Image.new("RGB", (20, 10), "black")
    png = io.BytesIO()
    picture.save(png, "PNG")
    p = Dummy()
    p.hw("INIT")
    p.set(align="center", font="b", bold=True, underline=2, double_height=True, density=3,
          invert=True, smooth=True, flip=False)  # fmt: skip
    p.textln("Danke schön")
    p.set_with_default()
    p.line_spacing(30)
    p.line_spacing()
    p.control("HT")
    p.control("CR")
    p.panel_buttons(False)
    p.buzzer(2, 3)
    p.cashdraw(2)
    p.cashdraw(5)
    p._hw_barcode("4006381333931", "EAN13")
    p._hw_barcode("{B42", "CODE128", function_type="B")
    p.qr("native", native=True, size=4)
    p.image(picture, impl="bitImageRaster")
    p.image(picture, impl="graphics")
    p.image(picture, impl="bitImageColumn")
    p.print_and_feed(2)
    p.cut()
    p.cut(mode="PART")
    p.cut(feed=False)
    output: bytes = p.output
    return output


def test_reads_back_what_python_escpos_sends() -> None:
    events = parse(python_escpos_output())
    assert unknowns(events) == []
    style = Style(bold=True, underline=True, double_height=True, invert=True)
    assert line("Danke schön", style, Align.CENTER) in events
    assert [e for e in events if isinstance(e, DrawerKick)] == [
        DrawerKick(2, 100, 100),
        DrawerKick(5, 100, 100),
    ]
    assert [e.data for e in events if isinstance(e, BarcodePrinted)] == ["4006381333931", "42"]
    assert QRPrinted("native", 4, Align.CENTER) in events
    images = [(e.width, e.height) for e in events if isinstance(e, ImagePrinted)]
    assert images[:2] == [(24, 10), (20, 10)]  # raster (whole bytes), then graphics
    assert images[2:] == [(20, 24)]  # one 24-dot strip of the column image
    assert [e for e in events if isinstance(e, PaperCut)] == [
        PaperCut(False),
        PaperCut(True),
        PaperCut(True),
    ]


@settings(max_examples=60)
@given(st.data())
def test_any_chunking_gives_the_same_events(data: st.DataObject) -> None:
    stream = python_escpos_output()
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=30)))
    interpreter = EscposInterpreter()
    events: list[ParseEvent] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        interpreter.receive(stream[start:end])
        events.extend(interpreter.events())
    assert events == parse(stream)


@settings(max_examples=400)
@given(st.lists(st.binary(max_size=40), max_size=8))
def test_garbage_only_ever_raises_its_own_error(chunks: list[bytes]) -> None:
    interpreter = EscposInterpreter()
    for chunk in chunks:
        interpreter.receive(chunk)
        while True:
            try:
                if interpreter.next_event() is None:
                    break
            except EscposParseError:
                continue


@settings(max_examples=300)
@given(
    st.lists(
        st.sampled_from([ESC, GS, DLE, FS, b"\x00", b"\n", b"(", b"k", b"v0", b"L", b"\x01",
                         b"\xff", b"I", b"*", b"D", b"\x04", b"\x14", b"p", b"V", b"A"]),
        max_size=40,
    )
)  # fmt: skip
def test_command_shaped_garbage_only_raises_its_own_error(parts: list[bytes]) -> None:
    interpreter = EscposInterpreter()
    interpreter.receive(b"".join(parts))
    for _ in range(200):
        try:
            if interpreter.next_event() is None:
                break
        except EscposParseError:
            continue
