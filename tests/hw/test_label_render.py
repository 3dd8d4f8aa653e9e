"""Label rendering: byte-exact ZPL and TSPL, ESC/POS lines, and reading jobs back."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hw import document as doc
from hw.escpos_render import render_text
from hw.labels import (
    READERS,
    RENDERERS,
    LabelLanguage,
    LabelReadError,
    LabelRenderError,
    PrintedLabel,
    dots_per_mm,
    escpos_document,
    fill,
    label_paper,
    label_text,
    parse_template,
    read_labels,
    render_label,
    render_tspl,
    render_zpl,
)
from tests.hw.label_support import (
    GOLDEN,
    GOLDEN_LINES,
    GOLDEN_VALUES,
    ean_template,
    golden,
)

# Worked by hand at 8 dots/mm: 50 x 30 mm is 400 x 240 dots; 10 pt is 3.53 mm, 28
# dots; 20 pt, 56; the box's 0.5 mm is 4 dots, the line's 0.25 mm 2. '^', '_' and
# '~' go as ^FH hex escapes; the box comes first (reading order: it starts at 0,0).
GOLDEN_ZPL = (
    "^XA\n^CI28\n^PW400\n^LL240\n^LH0,0\n"
    "^FO0,0^GB400,240,4^FS\n"
    '^FO16,16^A0N,28,28^FH^FDCafé "Crème" _5E1_5F_7E^FS\n'
    "^FO16,64^A0N,56,56^FH^FD€2.80^FS\n"
    "^FO16,136^BY2^BCN,64,Y,N,N^FH^FDSKU-0042^FS\n"
    "^FO16,224^GB368,2,2^FS\n"
    "^PQ2\n^XZ\n"
).encode()

GOLDEN_TSPL = (
    "SIZE 50 mm,30 mm\r\nGAP 2 mm,0 mm\r\nDIRECTION 0\r\nREFERENCE 0,0\r\n"
    "CODEPAGE UTF-8\r\nCLS\r\n"
    "BOX 0,0,399,239,4\r\n"
    'TEXT 16,16,"0",0,10,10,"Café \\["]Crème\\["] ^1_~"\r\n'
    'TEXT 16,64,"0",0,20,20,"€2.80"\r\n'
    'BARCODE 16,136,"128",64,1,0,2,2,"SKU-0042"\r\n'
    "BAR 16,224,368,2\r\n"
    "PRINT 2\r\n"
).encode()


# --- rendering ---------------------------------------------------------------------------


def test_zpl_is_byte_exact() -> None:
    assert render_zpl(golden(), 8, copies=2) == GOLDEN_ZPL


def test_tspl_is_byte_exact() -> None:
    assert render_tspl(golden(), 8, copies=2) == GOLDEN_TSPL


def test_render_label_dispatches_by_the_profile_language() -> None:
    label = golden()
    assert render_label(label, "zpl", 8, 2) == GOLDEN_ZPL
    assert render_label(label, LabelLanguage.TSPL, 8, 2) == GOLDEN_TSPL
    assert set(RENDERERS) == set(LabelLanguage)
    with pytest.raises(LabelRenderError, match="no label language 'epl'"):
        render_label(label, "epl", 8)


def test_an_ean13_is_sent_as_12_digits_for_the_printer_to_check() -> None:
    label = fill(ean_template(), {"barcode": "4006381333931"})
    assert b"^BEN,80,Y,N^FD400638133393^FS" in render_zpl(label, 8)
    assert b'BARCODE 16,16,"EAN13",80,1,0,2,2,"400638133393"' in render_tspl(label, 8)


def test_a_higher_resolution_scales_every_position() -> None:
    zpl = render_zpl(golden(), 12).decode()
    assert "^PW600\n^LL360" in zpl
    assert "^FO24,204^BY3^BCN,96,Y,N,N" in zpl


def test_empty_text_prints_no_field() -> None:
    label = fill(parse_template(GOLDEN, "t"), {**GOLDEN_VALUES, "name": ""})
    assert label.lines() == GOLDEN_LINES[1:]
    assert render_zpl(label, 8).count(b"^A0N") == 1
    assert render_tspl(label, 8).count(b"TEXT ") == 1
    assert len([e for e in escpos_document(label).elements if isinstance(e, doc.Line)]) == 1


@pytest.mark.parametrize(
    ("dpmm", "copies", "says"),
    [(0, 1, "0 dots/mm is not a print head"), (8, 0, "0 copies"), (8, 1000, "1000 copies")],
)
def test_refuses_settings_no_printer_takes(dpmm: int, copies: int, says: str) -> None:
    for language in LabelLanguage:
        with pytest.raises(LabelRenderError, match=says):
            render_label(golden(), language, dpmm, copies)


def test_refuses_a_barcode_that_runs_off_the_label() -> None:
    label = fill(parse_template(GOLDEN, "t"), {**GOLDEN_VALUES, "sku": "X" * 30})
    with pytest.raises(LabelRenderError, match=r"CODE128 barcode 'XXX.* does not fit at x=2 mm"):
        render_zpl(label, 8)


def test_tspl_refuses_text_it_could_read_as_an_escape() -> None:
    label = fill(parse_template(GOLDEN, "t"), {**GOLDEN_VALUES, "name": "a\\[b"})
    with pytest.raises(LabelRenderError, match="starts an escape"):
        render_tspl(label, 8)


def test_dots_per_mm_follows_the_makers_rounding() -> None:
    assert [dots_per_mm(dpi) for dpi in (203, 300, 600, 406)] == [8, 12, 24, 16]


def test_escpos_lays_the_label_out_as_lines_with_a_cut_per_copy() -> None:
    document = escpos_document(golden(), copies=2)
    one = [
        doc.Line('Café "Crème" ^1_~', style=doc.Style()),
        doc.Line("€2.80", style=doc.Style(bold=True, double_height=True)),
        doc.Barcode("SKU-0042", "CODE128"),
        doc.Rule(),
        doc.Cut(),
    ]
    assert list(document.elements) == one * 2
    paper = label_paper(golden(), 8)
    assert (paper.columns, paper.dots) == (33, 400)
    assert "€2.80" in render_text(document, paper.columns)
    assert render_label(golden(), "escpos", 8).startswith(b"\x1b@")


# --- reading back -----------------------------------------------------------------------


def test_reads_back_what_each_language_prints() -> None:
    for raw, language in ((GOLDEN_ZPL, "zpl"), (GOLDEN_TSPL, "tspl")):
        assert read_labels(raw, language) == [PrintedLabel(tuple(GOLDEN_LINES), 2)]
        assert label_text(raw, language) == GOLDEN_LINES


def test_reads_several_labels_from_one_stream() -> None:
    zpl = GOLDEN_ZPL + b"\r\n~HS\r\n" + render_zpl(golden(), 8)
    assert [label.copies for label in read_labels(zpl, "zpl")] == [2, 1]
    tspl = GOLDEN_TSPL + b"PRINT 1,3\r\nCLS\r\nPRINT 1\r\n"
    assert read_labels(tspl, "tspl")[1:] == [
        PrintedLabel(tuple(GOLDEN_LINES), 3),
        PrintedLabel((), 1),
    ]


def test_reads_what_other_software_sends_too() -> None:
    zpl = b"^XA^FT10,10^A@N,20,20^FDplain^FS^FO1,1^BEN,50^FD400638133393^FS^XZ"
    assert label_text(zpl, "zpl") == ["plain", "EAN13 4006381333931"]
    tspl = b'TEXT 1,2,"3",0,1,1,1,"aligned"\nBARCODE 1,1,"39",40,1,0,2,4,1,"ABC"\nPRINT 1\n'
    assert label_text(tspl, "tspl") == ["aligned", "39 ABC"]
    spaced = b'TEXT 1, 2, "3" ,0,1,1, "spaced" \r\nPRINT 0\r\nPRINT 1\r\n'
    assert read_labels(spaced, "tspl") == [PrintedLabel(("spaced",), 1)]


def test_no_reader_for_escpos() -> None:
    assert LabelLanguage.ESCPOS not in READERS
    for language in ("escpos", "pcl"):
        with pytest.raises(LabelReadError, match="no reader for"):
            read_labels(b"", language)


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"\xff^XA^XZ", "not UTF-8"),
        (b"hello ^XA^XZ", "text outside a format"),
        (b"^XA^FDx^FS", "^XA without ^XZ"),
        (b"^FO1,1^XA^XZ", "outside a format"),
        (b"^XAjunk^XZ", "text after ^XA"),
        (b"^XA^XZjunk", "text after ^XZ"),
        (b"^XA^XA^XZ", "^XA inside a format"),
        (b"^XA^FDx^XZ", "no ^FS"),
        (b"^XA^FDx^FDy^FS^XZ", "^FD twice"),
        (b"^XA^FDx^FO1,1^FS^XZ", "before the last one ended"),
        (b"^XA^FOa,1^FS^XZ", "parameter 1 is not a number"),
        (b"^XA^FO1^FS^XZ", "parameter 2 is not a number"),
        (b"^XA^PQx^XZ", "not a number"),
        (b"^XA^FH^FD_4^FS^XZ", "bad hex escape"),
        (b"^XA^FH^FD_C3^FS^XZ", "not UTF-8"),
        (b"^XA^BE^FD123^FS^XZ", "12 or 13 digits"),
        (b"^XA^\x00\x00^XZ", "not a ZPL command"),
    ],
)
def test_zpl_garbage_raises_a_read_error(raw: bytes, says: str) -> None:
    with pytest.raises(LabelReadError, match=re_escape(says)):
        read_labels(raw, "zpl")


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"\xffPRINT 1\n", "not UTF-8"),
        (b"PRINT 1", "does not end with a line end"),
        (b"print 1\n", "not a TSPL command"),
        (b'TEXT 1,1,"0",0,8,8,"open\n', "never closed"),
        (b'TEXT 1,1,"0",0,8,8,"a"b\n', "expected ','"),
        (b'TEXT 1,1,"0",0,8,8\n', "7 or 8 parameters"),
        (b'TEXT x,1,"0",0,8,8,"a"\n', "parameter 1 is not a number"),
        (b"TEXT 1,1,0,0,8,8,a\n", "not a quoted string"),
        (b'BARCODE 1,1,"128",1,1,0,2,2\n', "9 or 10 parameters"),
        (b'BARCODE 1,1,"EAN13",1,1,0,2,2,"12"\n', "12 or 13 digits"),
        (b"PRINT 1,2,3\n", "1 or 2 parameters"),
        (b"PRINT\n", "not a number"),
    ],
)
def test_tspl_garbage_raises_a_read_error(raw: bytes, says: str) -> None:
    with pytest.raises(LabelReadError, match=re_escape(says)):
        read_labels(raw, "tspl")


def re_escape(text: str) -> str:
    import re

    return re.escape(text)


# --- properties --------------------------------------------------------------------------

names = st.text(st.characters(codec="utf-8"), max_size=40)
code128 = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters='"\\>'),
    min_size=1,
    max_size=8,
)


@settings(max_examples=200, deadline=None)
@given(
    name=names,
    price=names,
    sku=code128,
    dpmm=st.sampled_from([8, 12, 24]),
    copies=st.integers(1, 5),
)
def test_every_filled_label_reads_back_as_its_lines(
    name: str, price: str, sku: str, dpmm: int, copies: int
) -> None:
    label = fill(parse_template(GOLDEN, "t"), {"name": name, "price": price, "sku": sku})
    expected = [PrintedLabel(tuple(label.lines()), copies)]
    assert read_labels(render_zpl(label, dpmm, copies), "zpl") == expected
    try:
        tspl = render_tspl(label, dpmm, copies)
    except LabelRenderError:
        assert "\\[" in name + price  # the one thing TSPL cannot quote
    else:
        assert read_labels(tspl, "tspl") == expected


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.sampled_from(["zpl", "tspl"]))
def test_arbitrary_bytes_raise_only_a_read_error(raw: bytes, language: str) -> None:
    with contextlib.suppress(LabelReadError):
        read_labels(raw, language)


ZPL_PIECES = [
    "^XA",
    "^XZ",
    "^FO1,2",
    "^FT",
    "^FD",
    "^FS",
    "^FH",
    "^FH#",
    "_5E",
    "_",
    "#41",
    "^BC",
    "^BE",
    "^PQ3",
    "^PQ",
    "~HS",
    "^A0N,9,9",
    "x",
    ",",
    " ",
    "\n",
    "é",
    "400638133393",
    "^GB9,9,1",
    "^",
    "~",
]
TSPL_PIECES = [
    "CLS",
    "TEXT ",
    "BARCODE ",
    "PRINT ",
    "SIZE ",
    "1",
    ",",
    '"',
    '\\["]',
    "EAN13",
    "128",
    "400638133393",
    "x",
    " ",
    "\r\n",
    "\n",
    "é",
    "a",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(ZPL_PIECES), max_size=30))
def test_zpl_like_noise_raises_only_a_read_error(pieces: list[str]) -> None:
    with contextlib.suppress(LabelReadError):
        read_labels("".join(pieces).encode(), "zpl")


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(TSPL_PIECES), max_size=30))
def test_tspl_like_noise_raises_only_a_read_error(pieces: list[str]) -> None:
    with contextlib.suppress(LabelReadError):
        read_labels("".join(pieces).encode(), "tspl")
