"""Rendering print documents to ESC/POS bytes and to plain text."""

from __future__ import annotations

import io

import PIL.Image
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hw.document import (
    Align,
    Barcode,
    Columns,
    Cut,
    Element,
    Feed,
    Image,
    Line,
    PrintDocument,
    QRCode,
    Rule,
    Style,
)
from hw.escpos_render import (
    RenderError,
    barcode_label,
    chars_per_line,
    page_text,
    place,
    placeholder,
    printable,
    qr_label,
    render_escpos,
    render_pages,
    render_text,
)
from hw.paper import PAPER_58MM, PAPER_80MM, PAPER_80MM_48, Paper
from hw.protocols.escpos_parse import (
    BarcodePrinted,
    DrawerKick,
    EscposInterpreter,
    ImagePrinted,
    PaperCut,
    ParseEvent,
    PrintedLine,
    QRPrinted,
)

ESC, GS = b"\x1b", b"\x1d"


def doc(*elements: Element) -> PrintDocument:
    return PrintDocument(tuple(elements))


def events_of(document: PrintDocument, paper: Paper = PAPER_80MM) -> list[ParseEvent]:
    interpreter = EscposInterpreter()
    interpreter.receive(render_escpos(document, paper))
    return interpreter.events()


def printed(document: PrintDocument, paper: Paper = PAPER_80MM) -> list[PrintedLine]:
    return [e for e in events_of(document, paper) if isinstance(e, PrintedLine)]


def read_back(document: PrintDocument, paper: Paper = PAPER_80MM) -> list[str]:
    """The pages the bytes make, laid out as the simulator lays them out."""
    width = paper.columns
    pages: list[str] = []
    lines: list[str] = []
    for event in events_of(document, paper):
        if isinstance(event, PrintedLine):
            lines.append(place(event.text, event.align, chars_per_line(width, event.style)))
        elif isinstance(event, PaperCut):
            pages.append(page_text(lines))
            lines = []
        else:
            assert isinstance(event, BarcodePrinted | QRPrinted | ImagePrinted)
            if isinstance(event, BarcodePrinted):
                label = barcode_label(event.symbology, event.data)
            elif isinstance(event, QRPrinted):
                label = qr_label(event.data)
            else:
                label = f"IMAGE {event.width}x{event.height}"
            lines.append(place(placeholder(label, width), event.align, width))
    if any(lines):
        pages.append(page_text(lines))
    return pages


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    PIL.Image.new("RGB", (width, height), "black").save(out, "PNG")
    return out.getvalue()


RECEIPT = doc(
    Line("Café Zürich", Align.CENTER, Style(bold=True, double_width=True)),
    Line("Bahnhofstrasse 1"),
    Rule("="),
    Columns(("Crème brûlée", "£4.50")),
    Columns(("Müesli 500 g organic with hazelnuts", "2", "€12.00"), widths=(20, 4)),
    Rule(),
    Columns(("TOTAL", "€16.50"), style=Style(bold=True)),
    Feed(1),
    Barcode("0190-4821"),
    QRCode("https://shop.example/r/0190-4821"),
    Image(png(64, 32)),
    Cut(),
)


# --- bytes --------------------------------------------------------------------------------


def test_same_document_same_bytes() -> None:
    assert render_escpos(RECEIPT) == render_escpos(RECEIPT)


def test_job_starts_with_reset_and_cp858() -> None:
    assert render_escpos(doc()) == ESC + b"@" + ESC + b"t\x13"


def test_shop_text_outside_ascii_comes_out() -> None:
    data = render_escpos(doc(Line("é ü £ €")))
    assert b"\x82 \x81 \x9c \xd5\n" in data  # CP858 codes
    assert printed(doc(Line("é ü £ €"))) == [PrintedLine("é ü £ €", Style(), Align.LEFT)]


def test_what_cp858_lacks_prints_as_a_question_mark() -> None:
    document = doc(Line("Tee 中 Ω"))
    assert printed(document)[0].text == "Tee ? ?"
    assert render_text(document, 42) == "Tee ? ?\n"
    assert printable("ab\x1bc\x7f") == "ab c "


def test_control_characters_cannot_smuggle_commands() -> None:
    sneaky = doc(Line("Snack\x1bp\x00\x19\xfa\x1dV\x00bar"))
    events = events_of(sneaky)
    assert not [e for e in events if isinstance(e, DrawerKick | PaperCut)]
    assert [e.text for e in events if isinstance(e, PrintedLine)] == ["Snack p  ú V bar"]


def test_styles_and_alignment_read_back() -> None:
    placed = [
        (Style(bold=True), Align.LEFT),
        (Style(underline=True), Align.CENTER),
        (Style(double_width=True), Align.RIGHT),
        (Style(double_height=True), Align.LEFT),
        (Style(double_width=True, double_height=True), Align.CENTER),
        (Style(invert=True), Align.RIGHT),
    ]
    document = doc(*(Line(f"line {i}", align, style) for i, (style, align) in enumerate(placed)))
    assert [(p.style, p.align) for p in printed(document)] == placed


def test_code128_gets_the_code_set_prefix_python_escpos_wants() -> None:
    data = render_escpos(doc(Barcode("AB{12")))
    assert GS + b"H\x02" in data  # text below
    assert GS + b"kI\x08{BAB{{12" in data
    assert GS + b"w\x03" in data  # short enough for 3-dot modules
    assert [e for e in events_of(doc(Barcode("AB{12"))) if isinstance(e, BarcodePrinted)] == [
        BarcodePrinted("CODE128", "AB{12", Align.CENTER)
    ]


def test_long_code128_gets_narrower_modules_then_refused() -> None:
    assert GS + b"w\x02" in render_escpos(doc(Barcode("X" * 20)))
    with pytest.raises(RenderError, match="too long for 384-dot paper"):
        render_escpos(doc(Barcode("X" * 20)), PAPER_58MM)


@pytest.mark.parametrize(
    ("barcode", "message"),
    [
        (Barcode("café"), "must be printable ASCII"),
        (Barcode(""), "must be printable ASCII"),
        (Barcode("12", "EAN13"), "not valid EAN13 data"),
        (Barcode("12", "PDF417"), "not one ESC/POS prints"),
    ],
)
def test_bad_barcodes_are_refused(barcode: Barcode, message: str) -> None:
    with pytest.raises(RenderError, match=message):
        render_escpos(doc(barcode))
    with pytest.raises(RenderError, match=message):
        render_text(doc(barcode), 42)


def test_other_symbologies() -> None:
    events = events_of(doc(Barcode("400638133393", "ean13")))
    assert BarcodePrinted("EAN13", "400638133393", Align.CENTER) in events


def test_native_qr() -> None:
    data = render_escpos(doc(QRCode("hello", size=8)))
    assert GS + b"(k\x03\x001C\x08" in data  # module size
    assert GS + b"(k\x08\x001P0hello" in data
    assert QRPrinted("hello", 8, Align.CENTER) in events_of(doc(QRCode("hello", size=8)))


@pytest.mark.parametrize(
    ("qr", "message"), [(QRCode(""), "no data"), (QRCode("x", size=17), "outside 1..16")]
)
def test_bad_qr_codes_are_refused(qr: QRCode, message: str) -> None:
    with pytest.raises(RenderError, match=message):
        render_escpos(doc(qr))


def test_image_is_a_raster_image() -> None:
    data = render_escpos(doc(Image(png(20, 10))))
    assert GS + b"v0\x00\x03\x00\x0a\x00" in data
    assert render_text(doc(Image(png(20, 10))), 42).strip() == "[IMAGE 24x10]"


def test_image_wider_than_the_paper_is_scaled_down() -> None:
    events = events_of(doc(Image(png(768, 100))), PAPER_58MM)
    assert [e for e in events if isinstance(e, ImagePrinted)] == [
        ImagePrinted(384, 50, Align.CENTER)
    ]
    assert render_text(doc(Image(png(768, 100))), 32).strip() == "[IMAGE 384x50]"


def test_tall_image_goes_in_fragments() -> None:
    document = doc(Image(png(16, 1000)))
    assert render_pages(document, 42) == read_back(document)
    assert render_text(document, 42).split() == ["[IMAGE", "16x960]", "[IMAGE", "16x40]"]


def test_unreadable_image_is_refused() -> None:
    with pytest.raises(RenderError, match="not a readable PNG"):
        render_escpos(doc(Image(b"not a png")))


# --- text layout ----------------------------------------------------------------------------


def test_receipt_as_text() -> None:
    assert render_text(RECEIPT, 42) == (
        "     Café Zürich\n"  # double width: centred in 21 characters
        "Bahnhofstrasse 1\n"
        "==========================================\n"
        "Crème brûlée                         £4.50\n"
        "Müesli 500 g        2               €12.00\n"
        "organic with\n"
        "hazelnuts\n"
        "------------------------------------------\n"
        "TOTAL                               €16.50\n"
        "\n"
        "           [CODE128 0190-4821]\n"
        "  [QR https://shop.example/r/0190-4821]\n"
        "              [IMAGE 64x32]\n"
        "[CUT]\n"
    )


@pytest.mark.parametrize("paper", [PAPER_80MM, PAPER_80MM_48, PAPER_58MM])
def test_the_bytes_read_back_as_the_text_pages(paper: Paper) -> None:
    assert read_back(RECEIPT, paper) == render_pages(RECEIPT, paper.columns)


def test_long_lines_are_word_wrapped() -> None:
    text = "The quick brown fox jumps over the lazy dog"
    assert render_text(doc(Line(text)), 20) == "The quick brown fox\njumps over the lazy\ndog\n"
    wide = render_text(doc(Line(text, style=Style(double_width=True))), 20)
    assert wide.splitlines()[0] == "The quick"
    assert render_text(doc(Line("a\nb"), Line("")), 20) == "a\nb\n\n"


def test_alignment_in_text() -> None:
    assert render_text(doc(Line("ab", Align.RIGHT), Line("ab", Align.CENTER)), 7) == (
        "     ab\n  ab\n"
    )


def test_columns_equal_shares_last_right_aligned() -> None:
    assert render_text(doc(Columns(("a", "b", "c"))), 12) == "a   b      c\n"


def test_columns_given_aligns() -> None:
    columns = Columns(("1", "Tea", "3.00"), widths=(4, 8, 8),
                      aligns=(Align.RIGHT, Align.CENTER))  # fmt: skip
    assert render_text(doc(columns), 20) == "  1   Tea       3.00\n"


def test_amounts_are_never_truncated() -> None:
    columns = Columns(("Item", "1234567.89"), widths=(16,))
    assert render_text(doc(columns), 20) == (
        "Item            1234\n                567.\n                  89\n"
    )


def test_double_width_columns_use_half_the_characters() -> None:
    columns = Columns(("TOTAL", "9.99"), widths=(20,), style=Style(double_width=True))
    assert render_text(doc(columns), 42) == "TOTAL" + " " * 12 + "9.99\n"  # 21 wide


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (Columns(()), "no cells"),
        (Columns(("a", "b"), widths=(1, 2, 3)), "2 cells but 3 widths"),
        (Columns(("a", "b"), widths=(42,)), "do not fit 42 characters"),
        (Columns(("a", "b"), widths=(1,)), "do not fit"),
        (Columns(("a", "b"), aligns=(Align.LEFT,) * 3), "2 cells but 3 aligns"),
    ],
)
def test_columns_that_cannot_be_laid_out(columns: Columns, message: str) -> None:
    with pytest.raises(RenderError, match=message):
        render_text(doc(columns), 42)


def test_rules() -> None:
    assert render_text(doc(Rule(), Rule("=-")), 5) == "-----\n=-=-=\n"
    with pytest.raises(RenderError, match="empty char"):
        render_escpos(doc(Rule("")))


def test_feeds() -> None:
    assert render_text(doc(Line("a"), Feed(2), Line("b")), 10) == "a\n\n\nb\n"
    assert b"a\n\n\n" in render_escpos(doc(Line("a"), Feed(2)))
    with pytest.raises(RenderError, match="Feed of -1 lines"):
        render_escpos(doc(Feed(-1)))


def test_cuts_and_pages() -> None:
    document = doc(Line("one"), Feed(3), Cut(partial=True), Line("two"), Cut(), Line("three"))
    assert render_text(document, 10) == "one\n\n\n\n[PARTIAL CUT]\ntwo\n[CUT]\nthree\n"
    assert render_pages(document, 10) == ["one\n", "two\n", "three\n"]
    assert render_pages(doc(Line("x"), Cut(), Feed(2)), 10) == ["x\n"]
    assert read_back(document) == render_pages(document, 42)


def test_placeholders_fit_the_width() -> None:
    assert placeholder("QR 0190abcdef", 20) == "[QR 0190abcdef]"
    assert placeholder("QR 0190abcdefghijklmnop", 20) == "[QR 0190abcdefgh...]"
    assert len(placeholder("QR 0190abcdefghijklmnop", 20)) == 20
    document = doc(QRCode("https://shop.example/receipts/0190-4821-aaaa-bbbb"))
    assert render_pages(document, 32) == read_back(document, PAPER_58MM)


# --- the bytes always read back as the text -----------------------------------------------------

TEXT = st.text(st.characters(codec="utf-8"), max_size=60)
STYLES = st.builds(Style, st.booleans(), st.booleans(), st.booleans(), st.booleans(),
                   st.booleans())  # fmt: skip
ALIGNS = st.sampled_from(Align)
ELEMENTS = st.one_of(
    st.builds(Line, TEXT, ALIGNS, STYLES),
    st.builds(
        Columns, st.lists(TEXT, min_size=1, max_size=4).map(tuple), st.just(()), st.just(()), STYLES
    ),
    st.builds(Rule, st.sampled_from("-=*~é")),
    st.builds(Feed, st.integers(0, 3)),
    st.builds(Cut, st.booleans()),
    st.builds(QRCode, st.text(min_size=1, max_size=30), st.integers(1, 16)),
    st.builds(
        Barcode,
        st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=12),
    ),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(ELEMENTS, max_size=8), st.sampled_from([PAPER_58MM, PAPER_80MM, PAPER_80MM_48]))
def test_any_document_reads_back_as_its_text(elements: list[Element], paper: Paper) -> None:
    document = PrintDocument(tuple(elements))
    assert read_back(document, paper) == render_pages(document, paper.columns)


def test_decomposed_accents_print_as_the_letter_cp858_has() -> None:
    """ "Café crème" stored as e + U+0301 (macOS exports, some web forms): once "Cafe? cre?me"."""
    assert printable("Cafe\u0301 cre\u0300me") == "Café crème"
