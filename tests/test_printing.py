"""The receipt on paper: the domain's receipt through `appliance.printing` and python-escpos.

A sale with weights, a line and an order discount, split tax (GST+PST beside GST only)
and split tender (card, then cash with change) is printed byte for byte as the files
under tests/golden/ hold; the simulator reads the same bytes back as the text the
receipt shows on screen. `UPDATE_GOLDEN=1 make test` rewrites the files after a
deliberate layout change (then read the .txt and look at it before committing).
"""

from __future__ import annotations

import os
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from appliance.config import Config
from appliance.domain.cart import Discount, DiscountKind, WeightSource
from appliance.domain.money import Money
from appliance.domain.receipt import build_receipt, render_text
from appliance.domain.sale import Sale
from appliance.domain.tender import Tender
from appliance.printing import receipt_document
from appliance.register import Register
from appliance.store.executor import StorageThread
from hw.escpos_render import render_escpos
from hw.escpos_render import render_text as paper_text
from hw.paper import PAPER_80MM
from hw.protocols.escpos_events import PrintedLine
from hw.protocols.escpos_parse import EscposInterpreter
from tests.store.conftest import CASHIER_PIN, FakeClock, seed, write_config

GOLDEN = Path(__file__).parent / "golden"
HEADER = ("Demo Store", "1 Demo Way, Vancouver BC")
FOOTER = ("Thank you!",)


def golden(name: str, data: bytes) -> bytes:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_bytes(data)
    return path.read_bytes()


@pytest.fixture
def sale(tmp_path: Path) -> Sale:
    config: Config = write_config(tmp_path)
    from appliance.bootstrap import open_storage

    storage = open_storage(config)
    seed(storage, config)
    register = Register(config, storage, StorageThread(5.0), FakeClock(datetime(2026, 11, 25, 9)),
                        lambda: "01a21000-0000-7000-8000-0000000000aa")  # fmt: skip
    try:
        register.login("ann", CASHIER_PIN)
        register.open_till(Money(100_00, "CAD"))
        register.add_weighed("bananas", Decimal("1.234"), WeightSource.SCALE)
        line = register.add_sku("mug").lines[-1]
        register.discount_line(line.line_id, Discount(DiscountKind.PERCENT, Decimal(10), "chipped"))
        register.add_sku("cola", Decimal(2))
        register.discount_order(Discount(DiscountKind.AMOUNT, Decimal(50), "regular"))
        register.add_tender(Tender.card(Money(10_00, "CAD"), "debit", "auth 4821"))
        register.add_tender(Tender.cash(Money(20_00, "CAD")))
        return register.complete().sale
    finally:
        register.io.close()
        storage.close()


def test_a_receipt_prints_byte_for_byte(sale: Sale) -> None:
    taxes = {tax.name for tax in sale.taxes}
    assert {"GST", "PST"} <= taxes and len(sale.tenders) == 2, "the case this file covers"
    assert any(line.weight is not None for line in sale.lines)
    document = receipt_document(sale, PAPER_80MM.columns, HEADER, FOOTER)
    printed = render_escpos(document, PAPER_80MM)
    assert printed == golden("receipt_80mm.bin", printed)
    text = paper_text(document, PAPER_80MM.columns)
    assert text == golden("receipt_80mm.txt", text.encode()).decode()


def test_the_paper_says_what_the_screen_says(sale: Sale) -> None:
    document = receipt_document(sale, 42, HEADER, FOOTER)
    interpreter = EscposInterpreter()
    interpreter.receive(render_escpos(document, PAPER_80MM))
    printed = [e.text.strip() for e in interpreter.events() if isinstance(e, PrintedLine)]
    screen = render_text(build_receipt(sale, HEADER, FOOTER), 42).splitlines()
    on_screen = [row.strip() for row in screen if row.strip() and row != "Sale id"]
    assert on_screen == [row for row in printed if row]  # the id under the QR code, unlabelled
