"""The receipt as `hw` prints it: the domain's receipt document in `hw`'s print vocabulary.

`hw` never imports `appliance`, so the translation lives here, in one place: the
same `ReceiptDocument` that `render_text` lays out for the screen becomes a
`PrintDocument` of styled lines, label/amount columns, the sale's QR code and
barcode, and a cut. What is printed is decided by the domain; how it looks on
paper, here.
"""

from __future__ import annotations

import textwrap

from appliance.domain.receipt import ReceiptDocument, Row, build_receipt
from appliance.domain.sale import Sale
from hw.document import (
    PLAIN,
    Align,
    Barcode,
    Columns,
    Cut,
    Element,
    Feed,
    Line,
    PrintDocument,
    QRCode,
    Rule,
    Style,
)

_TITLE = Style(bold=True, double_height=True, double_width=True)
_TOTAL = Style(bold=True, double_height=True)


def _row(row: Row, width: int, indent: int = 0, style: Style = PLAIN) -> Element:
    label = " " * indent + row.label
    if not row.amount:
        return Line(label, style=style)
    # the amount keeps its width; a long label wraps within what is left
    return Columns((label, row.amount), widths=(width - len(row.amount),), style=style)


def receipt_lines(doc: ReceiptDocument, width: int) -> list[Element]:
    """The receipt's text, in the order `render_text` prints it."""
    out: list[Element] = []
    for n, text in enumerate(doc.header):
        out.append(Line(text, Align.CENTER, _TITLE if n == 0 else Style()))
    out += [_row(r, width) for r in doc.meta]
    out.append(Rule())
    for item in doc.items:
        out.append(_row(Row(item.name, item.amount), width))
        if item.detail:
            out.append(_row(Row(item.detail), width, indent=2))
        out += [_row(a, width, indent=2) for a in item.adjustments]
    out.append(Rule())
    out += [_row(r, width) for r in doc.totals]
    out.append(_row(doc.total_row, width, style=_TOTAL))
    out.append(Rule())
    out += [_row(r, width) for r in doc.payments]
    if doc.notes:
        out.append(Rule())
        for note in doc.notes:
            out += [Line(part) for part in textwrap.wrap(note, width)]
    out.append(Rule())
    out += [Line(text, Align.CENTER) for text in doc.footer]
    return out


def receipt_document(
    sale: Sale, width: int, header: tuple[str, ...] = (), footer: tuple[str, ...] = ()
) -> PrintDocument:
    """The paper receipt of a committed sale.

    The QR code holds the sale id, which leads back to exactly one sale anywhere; the
    barcode holds register and sequence ("r1-42"), short enough for a CODE128 a hand
    scanner reads off 58 mm paper, and unique within the store.
    """
    doc = build_receipt(sale, header, footer)
    return PrintDocument((
        *receipt_lines(doc, width),
        Feed(),
        QRCode(doc.code),
        Line(doc.code, Align.CENTER),
        Barcode(f"{sale.register}-{sale.sequence}"),
        Feed(2),
        Cut(),
    ))  # fmt: skip
