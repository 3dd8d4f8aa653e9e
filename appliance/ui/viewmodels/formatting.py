"""Display text: money, weights, cart line details, the connection indicator, keypads.

Only presentation lives here: every amount shown was computed by the register
or the domain; these functions turn it into the words and numbers on screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from appliance.domain.catalog import Product
from appliance.domain.codec import decimal_text
from appliance.domain.errors import DomainError
from appliance.domain.money import Money, currency_exponent
from appliance.domain.pricing import PricedLine

CONNECTION = {
    "online": ("Online", "green"),
    "syncing": ("Syncing", "blue"),
    "offline": ("Offline", "amber"),
}
"""Link state -> (indicator label, colour role of the palette)."""

BACK, CLEAR, POINT = "back", "clear", "."
"""Keypad keys besides the digits."""


@dataclass(frozen=True, slots=True)
class Adjustment:
    """Something taken off a cart line: a promotion, a discount, a freebie."""

    label: str
    amount: str


def sentence(text: str) -> str:
    """A message as a sentence: capital first letter (the register writes lower case)."""
    return text[:1].upper() + text[1:] if text else text


def money(amount: Money) -> str:
    """An amount as shown: "12.30", "-1.20" (the currency is shown once, elsewhere)."""
    return amount.format()


def minus(amount: Money) -> str:
    """An amount taken off: "-1.20"."""
    return (-amount).format()


def weight_text(weight: Decimal, unit: str) -> str:
    """A weight with its unit: "1.234 kg", "0.500 kg", "100 g"."""
    if unit in ("kg", "lb") and weight == weight.quantize(Decimal("0.001")):
        return f"{weight:.3f} {unit}"
    return f"{decimal_text(weight)} {unit}"


def unit_price(product: Product) -> str:
    """A product's price as a tile shows it: "1.49", or "1.74/kg" by weight."""
    if product.unit is None:
        return money(product.price)
    return f"{money(product.price)}/{product.unit.value}"


def line_detail(line: PricedLine) -> str:
    """How a line was measured: "2 x 1.49", "1.234 kg @ 1.74/kg", "2 x 100 g @ 27.00"."""
    qty = decimal_text(line.quantity)
    if line.weight is None or line.unit is None:
        return f"{qty} x {money(line.unit_price)}"
    weight = weight_text(line.weight, line.unit)
    if line.tier_price is not None:
        packs = f"{qty} x " if line.quantity != 1 else ""
        return f"{packs}{weight} @ {money(line.tier_price)}"
    return f"{weight} @ {money(line.unit_price)}/{line.unit}"


def adjustments(line: PricedLine) -> tuple[Adjustment, ...]:
    """What came off a line, each with its amount (the order discount's share too)."""
    out = []
    if line.promotion_name is not None and not line.promotion_discount.is_zero():
        label = f"FREE: {line.promotion_name}" if line.free else line.promotion_name
        out.append(Adjustment(label, minus(line.promotion_discount)))
    if line.discount is not None and not line.manual_discount.is_zero():
        out.append(Adjustment(line.discount.reason or "Discount", minus(line.manual_discount)))
    if not line.order_discount.is_zero():
        out.append(Adjustment("Order discount", minus(line.order_discount)))
    return tuple(out)


def local_time(iso: str) -> str:
    """A stored local time ("2026-11-25T09:00:00") as shown: "2026-11-25 09:00"."""
    return iso.replace("T", " ")[:16]


def press(text: str, key: str, *, decimals: int = 0, max_len: int = 12) -> str:
    """A keypad's text after one key: a digit, POINT (if `decimals`), BACK or CLEAR.

    Refuses (returns `text` unchanged) what would make an invalid number: a second
    point, more decimals than allowed, more than `max_len` characters.
    """
    if key == CLEAR:
        return ""
    if key == BACK:
        return text[:-1]
    if key == POINT:
        if not decimals or POINT in text:
            return text
        return (text or "0") + POINT
    if len(key) != 1 or not key.isdigit() or len(text) >= max_len:
        return text
    if POINT in text and len(text.split(POINT)[1]) >= decimals:
        return text
    if text == "0":
        return key
    return text + key


def parse_money(text: str, currency: str) -> Money:
    """Keypad text in major units ("12.5") as money; DomainError when it is none or zero."""
    if not text or text == POINT:
        raise DomainError("type an amount first")
    amount = Money.parse(text, currency)
    if amount.minor <= 0:
        raise DomainError("the amount must be more than zero")
    return amount


def parse_decimal(text: str, what: str) -> Decimal:
    """Keypad text as a positive decimal; DomainError naming `what` when it is none."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise DomainError(f"type the {what} first") from None
    if not value.is_finite() or value <= 0:
        raise DomainError(f"the {what} must be more than zero")
    return value


def money_decimals(currency: str) -> int:
    """Decimals a money keypad allows in this currency."""
    return currency_exponent(currency)
