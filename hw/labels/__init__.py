"""Label printing: templates, filling them in, and rendering them in the printer's language.

Theory of operation: a `LabelTemplate` (parsed strictly from a dict or a TOML
file by `parse_template` / `load_template`, see `hw.labels.parse`) places
texts, a price, barcodes, boxes and lines in millimetres, with placeholders
from `PLACEHOLDERS` in its strings. `fill` puts the values in and gives a
`FilledLabel`. `render_label` renders one in the language a device profile's
``protocol`` names, through the table `RENDERERS`: ZPL (`render_zpl`), TSPL
(`render_tspl`) or ESC/POS (`render_escpos_label`, through a
`hw.document.PrintDocument`). Every renderer is pure: the same label gives the
same bytes.

`read_labels` and `label_text` read a ZPL or TSPL job back to the text each
label shows (the `READERS` table), for the simulator and the tests; they raise
only `LabelReadError` on bytes that are not such a job.

The placeholders, each filled by the register:

    {name}         the product's name as the shop sells it
    {sku}          the shop's own stock-keeping code
    {barcode}      what the barcode encodes (EAN-13 digits, or CODE128 text)
    {price}        the price to pay, formatted with its currency
    {unit_price}   the price per unit, formatted, e.g. '€12.90/kg'
    {weight}       the net weight, formatted with its unit
    {unit}         the unit a unit price is per, e.g. 'kg'
    {packed}       the date the item was packed
    {best_before}  the best-before date
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum

from hw.labels.escpos import escpos_document, label_paper, render_escpos_label
from hw.labels.layout import (
    MAX_COPIES,
    LabelReadError,
    LabelRenderError,
    PrintedLabel,
    dots_per_mm,
)
from hw.labels.parse import load_template, parse_template, read_template_file
from hw.labels.template import (
    PLACEHOLDERS,
    Barcode,
    Box,
    Element,
    FilledLabel,
    LabelTemplate,
    LabelTemplateError,
    LabelValueError,
    Line,
    Price,
    Symbology,
    Text,
    fill,
)
from hw.labels.tspl import read_tspl, render_tspl
from hw.labels.zpl import read_zpl, render_zpl

__all__ = [
    "MAX_COPIES",
    "PLACEHOLDERS",
    "READERS",
    "RENDERERS",
    "Barcode",
    "Box",
    "Element",
    "FilledLabel",
    "LabelLanguage",
    "LabelReadError",
    "LabelRenderError",
    "LabelTemplate",
    "LabelTemplateError",
    "LabelValueError",
    "Line",
    "Price",
    "PrintedLabel",
    "Symbology",
    "Text",
    "dots_per_mm",
    "escpos_document",
    "fill",
    "label_language",
    "label_paper",
    "label_text",
    "load_template",
    "parse_template",
    "read_labels",
    "read_template_file",
    "read_tspl",
    "read_zpl",
    "render_escpos_label",
    "render_label",
    "render_tspl",
    "render_zpl",
]


class LabelLanguage(Enum):
    """The languages a label printer speaks: a device profile's ``protocol``."""

    ZPL = "zpl"
    TSPL = "tspl"
    ESCPOS = "escpos"


Renderer = Callable[[FilledLabel, int, int], bytes]
"""(label, dots per mm, copies) -> the job's bytes."""

RENDERERS: Mapping[LabelLanguage, Renderer] = {
    LabelLanguage.ZPL: render_zpl,
    LabelLanguage.TSPL: render_tspl,
    LabelLanguage.ESCPOS: render_escpos_label,
}
"""The renderer of each language."""

READERS: Mapping[LabelLanguage, Callable[[bytes], list[PrintedLabel]]] = {
    LabelLanguage.ZPL: read_zpl,
    LabelLanguage.TSPL: read_tspl,
}
"""The job reader of each language that has one (ESC/POS is read by
`hw.protocols.escpos_parse`)."""


def label_language(language: str | LabelLanguage) -> LabelLanguage:
    """The language named (a profile's ``protocol``); `LabelRenderError` if none is."""
    if isinstance(language, LabelLanguage):
        return language
    try:
        return LabelLanguage(language)
    except ValueError:
        known = ", ".join(lang.value for lang in LabelLanguage)
        raise LabelRenderError(
            f"no label language {language!r}: a label printer speaks one of {known}"
        ) from None


def render_label(
    label: FilledLabel, language: str | LabelLanguage, dpmm: int, copies: int = 1
) -> bytes:
    """The job printing `copies` of `label` in `language` on a `dpmm` dots/mm head."""
    return RENDERERS[label_language(language)](label, dpmm, copies)


def read_labels(raw: bytes, language: str | LabelLanguage) -> list[PrintedLabel]:
    """The labels a ZPL or TSPL job prints, each with its lines and copies."""
    try:
        reader = READERS[label_language(language)]
    except (LabelRenderError, KeyError):
        known = ", ".join(lang.value for lang in READERS)
        raise LabelReadError(f"no reader for {language!r} jobs; there is one for {known}") from None
    return reader(raw)


def label_text(raw: bytes, language: str | LabelLanguage) -> list[str]:
    """The text lines of every label a job prints, label after label, each once
    whatever its copies (`read_labels` gives the copies)."""
    return [line for label in read_labels(raw, language) for line in label.lines]
