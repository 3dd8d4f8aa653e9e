"""The receipt as a document: what is printed, not how.

`build_receipt` turns a Sale into a structure of labelled rows; `render_text`
lays it out in fixed-width text (the simulator, the screen, logs). The ESC/POS
renderer in the hardware layer takes the same document, so every receipt says
the same thing whatever prints it. The sale id is the barcode/QR payload: a
receipt always leads back to exactly one sale.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from decimal import Decimal

from appliance.domain.codec import decimal_text
from appliance.domain.money import Money
from appliance.domain.pricing import PricedLine
from appliance.domain.sale import Sale
from appliance.domain.tender import TenderKind


@dataclass(frozen=True, slots=True)
class Row:
    """A label on the left and an amount on the right (amount may be empty)."""

    label: str
    amount: str = ""


@dataclass(frozen=True, slots=True)
class ReceiptItem:
    """One sold line: name, how it was measured, its price, then what came off it."""

    name: str
    detail: str
    amount: str
    adjustments: tuple[Row, ...]


@dataclass(frozen=True, slots=True)
class ReceiptDocument:
    """Everything a receipt shows, in order."""

    header: tuple[str, ...]
    meta: tuple[Row, ...]
    items: tuple[ReceiptItem, ...]
    totals: tuple[Row, ...]
    payments: tuple[Row, ...]
    notes: tuple[str, ...]
    footer: tuple[str, ...]
    code: str
    total_row: Row


_TENDER_LABELS = {
    TenderKind.CASH: "Cash",
    TenderKind.CARD: "Card",
    TenderKind.STORE_CREDIT: "Store credit",
    TenderKind.GIFT_CARD: "Gift card",
    TenderKind.HOUSE_ACCOUNT: "House account",
    TenderKind.POINTS: "Points reward",
}


def _neg(money: Money) -> str:
    return (-money).format()


def _detail(line: PricedLine) -> str:
    qty = decimal_text(line.quantity)
    if line.weight is None:
        return f"{qty} x {line.unit_price.format()}" if line.quantity != 1 else ""
    weight = f"{decimal_text(line.weight)} {line.unit}"
    packs = f"{qty} x " if line.quantity != 1 else ""  # packs of a preset weight
    if line.tier_price is not None:
        return f"{packs}{weight} @ {line.tier_price.format()}"
    return f"{packs}{weight} @ {line.unit_price.format()}/{line.unit}"


def _item(line: PricedLine) -> ReceiptItem:
    adjustments: list[Row] = []
    if line.promotion_id is not None and not line.promotion_discount.is_zero():
        label = "FREE: " if line.free else ""
        adjustments.append(Row(f"{label}{line.promotion_name}", _neg(line.promotion_discount)))
    if line.discount is not None and not line.manual_discount.is_zero():
        reason = line.discount.reason or "Discount"
        adjustments.append(Row(reason, _neg(line.manual_discount)))
    return ReceiptItem(line.name, _detail(line), line.base.format(), tuple(adjustments))


def _rate(rate: Decimal) -> str:
    return decimal_text(rate * 100) + "%"


def _payments(sale: Sale) -> list[Row]:
    rows = []
    for tender in sale.tenders:
        label = _TENDER_LABELS[tender.kind]
        if tender.method:
            label += f" {tender.method}"
        if tender.reference:
            label += f" ref {tender.reference}"
        rows.append(Row(label, tender.tendered.format()))
    if not sale.rounding.is_zero():
        rows.append(Row("Cash rounding", sale.rounding.format()))
    rows.append(Row("Change", sale.change.format()))
    return rows


def build_receipt(
    sale: Sale, header: tuple[str, ...] = (), footer: tuple[str, ...] = ()
) -> ReceiptDocument:
    """The receipt of a completed sale."""
    meta = [
        Row(f"Sale {sale.register}-{sale.sequence}", sale.local_time.strftime("%Y-%m-%d %H:%M")),
        Row(f"Cashier {sale.cashier}"),
    ]
    if sale.customer_id:
        meta.append(Row(f"Customer {sale.customer_id}"))
    totals = [Row("Subtotal", sale.subtotal.format())]
    if not sale.discount_total.is_zero():
        totals.append(Row("You saved", _neg(sale.discount_total)))
    if sale.order_discount is not None:
        order_off = sum(li.order_discount.minor for li in sale.lines)
        label = sale.order_discount.reason or "Order discount"
        totals.append(Row(f"  incl. {label}", _neg(Money(order_off, sale.currency))))
    included = " incl." if sale.prices_include_tax else ""
    for tax in sale.taxes:
        totals.append(Row(f"{tax.name} {_rate(tax.rate)}{included}", tax.amount.format()))
    notes = []
    if sale.loyalty is not None:
        notes.append(
            f"Points: {sale.loyalty.points_before} + {sale.loyalty.earned} earned"
            f" - {sale.loyalty.redeemed} redeemed = {sale.loyalty.points_after}"
        )
    for use in sale.balance_uses:
        kind = _TENDER_LABELS[use.kind]
        notes.append(f"{kind} {use.account} balance: {use.after.format()}")
    if sale.offline:
        notes.append("Recorded offline; sent when the register reconnects.")
    return ReceiptDocument(
        header=header,
        meta=tuple(meta),
        items=tuple(_item(li) for li in sale.lines),
        totals=tuple(totals),
        payments=tuple(_payments(sale)),
        notes=tuple(notes),
        footer=footer,
        code=sale.id,
        total_row=Row(f"TOTAL {sale.currency}", sale.total.format()),
    )


def _row(row: Row, width: int, indent: int = 0) -> str:
    label = " " * indent + row.label
    room = width - len(row.amount) - 1
    if len(label) > room:
        label = label[: max(room - 1, 0)] + "~"
    return f"{label:<{room}} {row.amount}".rstrip() if row.amount else label[:width]


def render_text(doc: ReceiptDocument, width: int = 42) -> str:
    """Fixed-width text of the receipt (no trailing spaces, ends with a newline)."""
    rule = "-" * width
    out = [h.center(width).rstrip() for h in doc.header]
    out += [_row(r, width) for r in doc.meta]
    out.append(rule)
    for item in doc.items:
        out.append(_row(Row(item.name, item.amount), width))
        if item.detail:
            out.append(_row(Row(item.detail), width, indent=2))
        out += [_row(a, width, indent=2) for a in item.adjustments]
    out.append(rule)
    out += [_row(r, width) for r in doc.totals]
    out.append(_row(doc.total_row, width))
    out.append(rule)
    out += [_row(r, width) for r in doc.payments]
    if doc.notes:
        out.append(rule)
        for note in doc.notes:
            out += textwrap.wrap(note, width)
    out.append(rule)
    out += [f.center(width).rstrip() for f in doc.footer]
    out += ["Sale id", doc.code[:width]]
    return "\n".join(out) + "\n"
