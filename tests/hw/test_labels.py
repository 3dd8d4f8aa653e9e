"""Label templates: strict parsing, filling, byte-exact ZPL and TSPL, and reading jobs back."""

from __future__ import annotations

import contextlib
import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hw import document as doc
from hw.escpos_render import render_text
from hw.labels import (
    PLACEHOLDERS,
    READERS,
    RENDERERS,
    Barcode,
    FilledLabel,
    LabelLanguage,
    LabelReadError,
    LabelRenderError,
    LabelTemplate,
    LabelTemplateError,
    LabelValueError,
    PrintedLabel,
    Symbology,
    Text,
    dots_per_mm,
    escpos_document,
    fill,
    label_paper,
    label_text,
    load_template,
    parse_template,
    read_labels,
    render_label,
    render_tspl,
    render_zpl,
)
from hw.labels.template import ean13

LABELS_DIR = Path(__file__).resolve().parents[2] / "config" / "labels"

GOLDEN: dict[str, Any] = {
    "name": "golden",
    "width_mm": 50,
    "height_mm": 30,
    "gap_mm": 2,
    "elements": [
        {"type": "text", "x": 2, "y": 2, "size": 10, "text": "{name}"},
        {"type": "price", "x": 2, "y": 8, "size": 20},
        {
            "type": "barcode",
            "x": 2,
            "y": 17,
            "height": 8,
            "symbology": "CODE128",
            "data": "{sku}",
        },
        {"type": "line", "x": 2, "y": 28, "length": 46, "thickness": 0.25},
        {"type": "box", "x": 0, "y": 0, "width": 50, "height": 30, "thickness": 0.5},
    ],
}
GOLDEN_VALUES = {"name": 'Café "Crème" ^1_~', "price": "€2.80", "sku": "SKU-0042"}

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

GOLDEN_LINES = ['Café "Crème" ^1_~', "€2.80", "CODE128 SKU-0042"]

SAMPLE_VALUES = {
    "name": "Organic Gala apples",
    "sku": "APL-GALA-1",
    "barcode": "2012345002685",
    "price": "€3.45",
    "unit_price": "€2.99/kg",
    "weight": "1.154 kg",
    "unit": "kg",
    "packed": "2024-05-01",
    "best_before": "2024-05-08",
}


def golden() -> FilledLabel:
    return fill(parse_template(GOLDEN, "golden.toml"), GOLDEN_VALUES)


def with_change(path: str, value: Any) -> dict[str, Any]:
    """GOLDEN with the dotted `path` set to `value` (or removed, for `...`)."""
    data = copy.deepcopy(GOLDEN)
    target: Any = data
    parts = path.replace("[", ".").replace("]", "").split(".")
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    last: Any = int(parts[-1]) if parts[-1].isdigit() else parts[-1]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return data


# --- parsing ---------------------------------------------------------------------------


def test_parses_a_template_into_its_elements() -> None:
    template = parse_template(GOLDEN, "golden.toml")
    assert (template.name, template.width_mm, template.height_mm, template.gap_mm) == (
        "golden",
        50.0,
        30.0,
        2.0,
    )
    assert template.elements[0] == Text(2.0, 2.0, 10, "{name}")
    assert template.elements[2] == Barcode(2.0, 17.0, 8.0, "{sku}", Symbology.CODE128)
    assert template.placeholders == {"name", "price", "sku"}


def test_defaults_fill_in_what_a_template_leaves_out() -> None:
    data = with_change("gap_mm", ...)
    data["elements"].append({"type": "barcode", "x": 2, "y": 17, "height": 5, "symbology": "EAN13"})
    template = parse_template(data, "t")
    assert template.gap_mm == 3.0
    assert template.elements[-1] == Barcode(2.0, 17.0, 5.0, "{barcode}", Symbology.EAN13)
    assert template.elements[1].text == "{price}"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("path", "value", "key", "says"),
    [
        ("colour", "red", "colour", "unknown key"),
        ("elements[0].colour", "red", "elements[0].colour", "unknown key"),
        ("elements[0].txt", "x", "elements[0].txt", "did you mean 'text'"),
        ("name", ..., "name", "missing key"),
        ("elements[1].size", ..., "elements[1].size", "missing key"),
        ("width_mm", "50", "width_mm", "expected a number of mm"),
        ("width_mm", True, "width_mm", "(bool)"),
        ("width_mm", 5, "width_mm", "between 10 and 220"),
        ("width_mm", float("nan"), "width_mm", "a number of mm"),
        ("elements[0].size", 10.5, "elements[0].size", "whole number of points"),
        ("elements[0].text", "", "elements[0].text", "non-empty string"),
        ("elements[0].text", "x" * 201, "elements[0].text", "at most 200"),
        ("elements[4].vertical", 1, "elements[4].vertical", "unknown key"),
        ("elements[3].vertical", "yes", "elements[3].vertical", "true or false"),
        ("elements[2].symbology", "QR", "elements[2].symbology", "'EAN13', 'CODE128'"),
        ("elements[0].type", "circle", "elements[0].type", "expected one of 'text'"),
        ("elements[0].type", ["text"], "elements[0].type", "(list)"),
        ("elements[0].type", ..., "elements[0].type", "missing key"),
        ("elements[0]", "text", "elements[0]", "expected a table"),
        ("elements", [], "elements", "an array of 1 to 50 tables"),
        ("elements", {"type": "text"}, "elements", "an array"),
        ("elements[0].text", "{nmae}", "elements[0].text", "did you mean {name}?"),
        ("elements[0].text", "{colour}", "elements[0].text", "unknown placeholder {colour}"),
        ("elements[0].text", "50% {off", "elements[0].text", "a brace"),
        ("elements[0].text", "}{name}", "elements[0].text", "a brace"),
        ("elements[2].data", "{nam}", "elements[2].data", "unknown placeholder"),
        ("elements[0].x", 50, "elements[0].x", "outside the 50 mm wide label"),
        ("elements[0].y", 31, "elements[0].y", "outside the 30 mm tall label"),
        ("elements[0].y", -1, "elements[0].y", "between 0 and 1000"),
        ("elements[1].y", 25, "elements[1].size", "20 pt text would end at 32.0556 mm"),
        ("elements[2].height", 14, "elements[2].height", "the bars would end at 31 mm"),
        ("elements[4].width", 51, "elements[4].width", "past the label's 50 mm edge"),
        ("elements[4].height", 31, "elements[4].height", "the box would end"),
        ("elements[3].length", 49, "elements[3].length", "the line would end at 51 mm"),
        ("elements[4].thickness", 20, "elements[4].thickness", "between 0.1 and 10"),
        ("elements[3].thickness", 9, "elements[3].thickness", "the line would end at 37 mm"),
    ],
)
def test_refuses_a_bad_template_naming_source_and_key(
    path: str, value: Any, key: str, says: str
) -> None:
    with pytest.raises(LabelTemplateError) as caught:
        parse_template(with_change(path, value), "catalogue/golden.json")
    assert caught.value.source == "catalogue/golden.json"
    assert caught.value.key == key
    assert says in caught.value.detail
    assert str(caught.value).startswith(f"catalogue/golden.json: {key}: ")


def test_refuses_a_vertical_line_off_the_bottom_and_a_too_thick_rule() -> None:
    data = with_change(
        "elements[3]", {"type": "line", "x": 40, "y": 10, "length": 21, "vertical": True}
    )
    with pytest.raises(LabelTemplateError, match=r"elements\[3\]\.length: the line"):
        parse_template(data, "t")
    data = with_change(
        "elements[3]", {"type": "line", "x": 2, "y": 10, "length": 1, "thickness": 2}
    )
    with pytest.raises(LabelTemplateError, match=r"elements\[3\]\.thickness: 2 mm is thicker"):
        parse_template(data, "t")


def test_refuses_what_is_not_a_table() -> None:
    with pytest.raises(LabelTemplateError, match="t: expected a table, got"):
        parse_template(["not", "a", "table"], "t")  # type: ignore[arg-type]


def test_loads_a_toml_file_and_names_it_when_it_is_bad(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(
        'name = "g"\nwidth_mm = 40\nheight_mm = 20\n'
        '[[elements]]\ntype = "text"\nx = 1\ny = 1\nsize = 8\ntext = "{sku}"\n'
    )
    assert load_template(good).placeholders == {"sku"}
    broken = tmp_path / "broken.toml"
    broken.write_text("name = \n")
    with pytest.raises(LabelTemplateError, match=r"broken\.toml: not valid TOML"):
        load_template(broken)
    with pytest.raises(LabelTemplateError, match=r"missing\.toml: cannot read it"):
        load_template(tmp_path / "missing.toml")


def test_every_placeholder_is_documented_in_the_package() -> None:
    import hw.labels

    assert hw.labels.__doc__ is not None
    for name in PLACEHOLDERS:
        assert "{" + name + "}" in hw.labels.__doc__


# --- the shipped templates ---------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(LABELS_DIR.glob("*.toml")), ids=lambda p: p.name)
def test_shipped_templates_parse_fill_and_render_everywhere(path: Path) -> None:
    template = load_template(path)
    assert template.name == path.stem
    label = fill(template, SAMPLE_VALUES)
    for language in ("zpl", "tspl"):
        for dpmm in (8, 12, 24):
            assert label_text(render_label(label, language, dpmm), language) == label.lines()
    assert render_label(label, "escpos", 8)


def test_the_shipped_templates_are_the_shelf_and_weighed_labels() -> None:
    names = {path.stem for path in LABELS_DIR.glob("*.toml")}
    assert {"shelf", "weighed"} <= names
    weighed = load_template(LABELS_DIR / "weighed.toml")
    needed = {"weight", "unit_price", "price", "packed", "barcode"}
    assert needed <= weighed.placeholders
    assert any(isinstance(e, Barcode) for e in weighed.elements)


# --- filling -----------------------------------------------------------------------------


def test_fill_puts_values_in_and_orders_elements_for_reading() -> None:
    label = golden()
    assert label.lines() == GOLDEN_LINES
    # The box (at 0, 0) comes first although the template lists it last.
    assert [type(e).__name__ for e in label.elements] == ["Box", "Text", "Price", "Barcode", "Line"]


def test_fill_names_every_missing_value() -> None:
    with pytest.raises(LabelValueError, match=r"'golden' needs values for \{name\}, \{sku\}"):
        fill(parse_template(GOLDEN, "t"), {"price": "€1"})


def test_fill_refuses_a_value_that_is_not_text() -> None:
    with pytest.raises(LabelValueError, match=r"\{price\} must be text, got Decimal"):
        from decimal import Decimal

        fill(parse_template(GOLDEN, "t"), {**GOLDEN_VALUES, "price": Decimal("2.80")})  # type: ignore[dict-item]


def test_fill_prints_control_characters_as_spaces_and_substitutes_once() -> None:
    label = fill(parse_template(GOLDEN, "t"), {**GOLDEN_VALUES, "name": "Tab\there {sku}\x7f"})
    assert label.lines()[0] == "Tab here {sku} "


def ean_template(data: str = "{barcode}") -> LabelTemplate:
    barcode = {"type": "barcode", "x": 2, "y": 2, "height": 10, "symbology": "EAN13", "data": data}
    return parse_template(
        {"name": "ean", "width_mm": 50, "height_mm": 20, "elements": [barcode]}, "t"
    )


def test_an_ean13_gets_its_check_digit_or_has_it_checked() -> None:
    assert fill(ean_template(), {"barcode": "400638133393"}).lines() == ["EAN13 4006381333931"]
    assert fill(ean_template(), {"barcode": "4006381333931"}).lines() == ["EAN13 4006381333931"]
    with pytest.raises(LabelValueError, match=r"elements\[0\] \(\{barcode\}\).*should end in 1"):
        fill(ean_template(), {"barcode": "4006381333932"})
    for bad in ("40063813339", "40063813339a", "٤٠٠٦٣٨١٣٣٣٩٣"):
        with pytest.raises(LabelValueError, match="12 or 13 digits"):
            fill(ean_template(), {"barcode": bad})


def test_ean13_check_digit_agrees_with_a_known_code() -> None:
    assert ean13("978014300723") == "9780143007234"  # an ISBN-13 in print


@pytest.mark.parametrize("data", ["", "a>b", 'say "hi"', "back\\slash", "é", "x" * 49])
def test_code128_data_every_language_can_carry(data: str) -> None:
    with pytest.raises(LabelValueError, match="CODE128 data must be"):
        fill(parse_template(GOLDEN, "t"), {**GOLDEN_VALUES, "sku": data})


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
