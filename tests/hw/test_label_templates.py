"""Label templates: strict parsing, the shipped templates, and filling in values."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from hw.labels import (
    PLACEHOLDERS,
    Barcode,
    LabelTemplateError,
    LabelValueError,
    Symbology,
    Text,
    fill,
    label_text,
    load_template,
    parse_template,
    render_label,
)
from hw.labels.template import ean13
from tests.hw.label_support import (
    GOLDEN,
    GOLDEN_LINES,
    GOLDEN_VALUES,
    ean_template,
    golden,
)

LABELS_DIR = Path(__file__).resolve().parents[2] / "config" / "labels"

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
