"""ESC/POS label printers (label rolls in a receipt-style printer): a filled label as a
`hw.document.PrintDocument`, which `hw.escpos_render` turns into bytes.

ESC/POS has no absolute positions in standard mode, so the label is laid out
as lines in reading order (the order `fill` leaves the elements in): texts
and prices as lines, barcodes as barcodes, horizontal lines as rules; boxes
and vertical lines are left out. Text of 14 pt or more prints double height,
24 pt or more double width too; a price prints bold. Each label ends with a
cut, so `copies` labels are `copies` pieces.
"""

from __future__ import annotations

from hw import document as doc
from hw.labels.layout import check_job, dots
from hw.labels.template import Barcode, Element, FilledLabel, Line, Price, Text
from hw.paper import Paper

_DOUBLE_HEIGHT_PT = 14
_DOUBLE_WIDTH_PT = 24
_FONT_A_DOTS = 12  # font A is 12 dots wide on every ESC/POS printer


def _style(size: int, bold: bool) -> doc.Style:
    return doc.Style(
        bold=bold,
        double_height=size >= _DOUBLE_HEIGHT_PT,
        double_width=size >= _DOUBLE_WIDTH_PT,
    )


def _element(element: Element) -> doc.Element | None:
    match element:
        case Text() | Price():
            if not element.text:
                return None
            return doc.Line(element.text, style=_style(element.size, isinstance(element, Price)))
        case Barcode():
            return doc.Barcode(element.data, element.symbology.value)
        case Line() if not element.vertical:
            return doc.Rule()
    return None


def escpos_document(label: FilledLabel, copies: int = 1) -> doc.PrintDocument:
    """`copies` of `label` as a document, each ending with a cut."""
    one = [e for e in map(_element, label.elements) if e is not None]
    return doc.PrintDocument(tuple([*one, doc.Cut()] * copies))


def label_paper(label: FilledLabel, dpmm: int) -> Paper:
    """The paper a label is: its width in dots, and in characters of font A."""
    width = dots(label.width_mm, dpmm)
    return Paper(max(width // _FONT_A_DOTS, 1), width)


def render_escpos_label(label: FilledLabel, dpmm: int, copies: int = 1) -> bytes:
    """The ESC/POS bytes of `copies` of `label` (see the module docstring)."""
    check_job(label, dpmm, copies)
    # python-escpos and PIL load on the first label printed, not with the register.
    from hw.escpos_render import render_escpos

    return render_escpos(escpos_document(label, copies), label_paper(label, dpmm))
