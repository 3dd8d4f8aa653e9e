"""Receipt rendering: a realistic 30-line receipt to ESC/POS bytes through python-escpos.

Run with `make bench`. Printed, never asserted on time: a table (ESC/POS
bytes, plain text, and reading the bytes back as the simulator does), then
`BENCH receipt_render_ms <median>`. Only that the output is right is asserted.
"""

from __future__ import annotations

from hw.document import (
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
from hw.escpos_render import render_escpos, render_pages, render_text
from hw.paper import PAPER_80MM
from hw.protocols.escpos_parse import EscposInterpreter, PaperCut
from tests.bench.helpers import Stats, bench, table, time_ms

ROUNDS = 200
ITEMS = (
    ("Valley aged cheddar 400 g", 1, 899), ("Farmhouse sourdough loaf", 1, 650),
    ("Crème fraîche 250 ml", 2, 329), ("Golden honeycrisp apples 1.20 kg @ 5.49/kg", 1, 659),
    ("Cascade cold brew coffee 1 L", 1, 799), ("Müesli organic 750 g", 1, 1099),
    ("Prairie oat milk 1.75 L", 3, 449), ("Kootenay dark chocolate bar 100 g", 4, 379),
    ("Sparkling water lime 12 pack", 1, 749), ("Summit espresso beans 340 g", 1, 1649),
    ("Baby spinach clamshell 142 g", 1, 499), ("Salt Spring chèvre 150 g", 1, 1199),
)  # fmt: skip


def money(cents: int) -> str:
    return f"€{cents // 100}.{cents % 100:02d}"


def realistic_receipt() -> PrintDocument:
    """About 30 printed lines: header, 12 items (some wrapping), totals, barcode, QR."""
    bold = Style(bold=True)
    elements: list[Element] = [
        Line("Corner Grocer", Align.CENTER, Style(bold=True, double_width=True)),
        Line("12 Rue des Épiciers, Montréal", Align.CENTER),
        Line("Sale 0190-4821 · Register 2 · Ann", Align.CENTER),
        Rule(),
    ]
    total = 0
    for name, quantity, price in ITEMS:
        total += quantity * price
        elements.append(Columns((name, f"{quantity}x", money(quantity * price)), widths=(28, 4)))
    tax = total * 5 // 100
    elements += [
        Rule(),
        Columns(("Subtotal", money(total))),
        Columns(("GST 5%", money(tax))),
        Columns(("TOTAL", money(total + tax)), style=bold),
        Columns(("Cash", money(total + tax + 95))),
        Columns(("Change", money(95))),
        Feed(1),
        Barcode("0190-4821"),
        QRCode("https://grocer.example/r/0190-4821"),
        Line("Merci · Danke · Thank you", Align.CENTER),
        Cut(),
    ]
    return PrintDocument(tuple(elements))


def read_back(data: bytes) -> int:
    interpreter = EscposInterpreter()
    interpreter.receive(data)
    return sum(isinstance(e, PaperCut) for e in interpreter.events())


def test_receipt_render_bench() -> None:
    receipt = realistic_receipt()
    data = render_escpos(receipt, PAPER_80MM)
    lines = render_pages(receipt, PAPER_80MM.columns)[0].count("\n")
    assert 28 <= lines <= 36, lines
    assert read_back(data) == 1

    escpos_ms, text_ms, parse_ms = [], [], []
    for _ in range(ROUNDS):
        elapsed, out = time_ms(lambda: render_escpos(receipt, PAPER_80MM))
        assert out == data  # deterministic bytes
        escpos_ms.append(elapsed)
        text_ms.append(time_ms(lambda: render_text(receipt, PAPER_80MM.columns))[0])
        parse_ms.append(time_ms(lambda: read_back(data))[0])

    escpos = Stats.of("render_escpos (python-escpos Dummy)", escpos_ms)
    table(
        f"Receipt of {lines} lines, {len(data)} bytes of ESC/POS, {ROUNDS} rounds",
        [escpos, Stats.of("render_text", text_ms), Stats.of("read back (interpreter)", parse_ms)],
    )
    bench("receipt_render_ms", escpos.median)
