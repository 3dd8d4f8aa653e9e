"""Labels: what a printed label says, and the weight-embedded barcode a till scans back.

A deli or produce counter weighs an item, prints a label and sticks it on; any till
scans that label and sells the item at the weight it carries. The code is an EAN-13
in GS1's restricted circulation range (prefixes 20-29, for use inside one store):

    PP IIIII WWWWW C
    PP      the store's weight prefix (`labels.weight_prefix`, e.g. "28")
    IIIII   the item's PLU: its catalogue barcode of 1 to 5 digits, zero-padded
    WWWWW   the net weight in grams, 1 to 99999
    C       the EAN-13 check digit

Why the weight and not the price: the till prices the weight with the same rules
the back office re-derives (tier, promotions, tax class), so a label never freezes
a price that the rules of the day would disagree with. The price printed on the
label is that weight at the product's unit price, from the code's own weight, so
the label and the till agree to the cent (a lb product's weight is rounded to the
gram in the code, and the label prints the weight the code carries).

`label_values` fills the placeholders every label template may use (see
`hw.labels`); a product without a weight prints a shelf label (no weight, no unit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from appliance.domain.catalog import Catalog, Product, WeightUnit
from appliance.domain.errors import DomainError, UnknownProduct
from appliance.domain.money import Money

PLU_DIGITS = 5
MAX_GRAMS = 10**PLU_DIGITS - 1
_WEIGHT_PLACES = Decimal("0.001")


class LabelError(DomainError):
    """A label that cannot be made or a weight code that cannot be read; says why."""


def check_weight_prefix(prefix: str) -> str | None:
    """None when `prefix` can start weight codes ("" turns them off), else what is wrong."""
    if prefix == "" or (len(prefix) == 2 and prefix.isdigit() and prefix.startswith("2")):
        return None
    return "two digits from 20 to 29 (GS1's in-store range), or empty for none"


def ean13_check_digit(digits12: str) -> str:
    """The EAN-13 check digit of 12 digits (weights 1, 3, 1, 3... from the left)."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits12))
    return str(-total % 10)


def _ean13_of(barcodes: tuple[str, ...]) -> str:
    """The product's barcode as the label's EAN-13 symbol wants it: 13 digits, or 12 to
    which it adds the check digit. A UPC-A is 12 digits WITH its check digit: as 12 its
    digits would shift and a wrong check be added ("0" + UPC-A is its EAN-13). "" if none."""
    digits = [c for c in barcodes if c.isdigit() and len(c) in (12, 13)]
    thirteen = next((c for c in digits if len(c) == 13), None)
    if thirteen is not None:
        return thirteen
    for code in digits:
        return "0" + code if ean13_check_digit("0" + code[:11]) == code[11] else code
    return ""


def plu(product: Product) -> str | None:
    """The product's PLU: its first barcode of 1 to 5 digits (e.g. "4011"), if any."""
    for code in product.barcodes:
        if code.isascii() and code.isdigit() and len(code) <= PLU_DIGITS:
            return code
    return None


def to_grams(weight: Decimal, unit: WeightUnit) -> int:
    """`weight` in `unit` as whole grams (half up)."""
    return int((weight * unit.grams).to_integral_value(ROUND_HALF_UP))


def from_grams(grams: int, unit: WeightUnit) -> Decimal:
    """Whole grams in `unit`: exact for g and kg, to 0.001 of a lb or oz."""
    exact = Decimal(grams) / unit.grams
    return exact if exact == exact.quantize(_WEIGHT_PLACES) else exact.quantize(_WEIGHT_PLACES)


@dataclass(frozen=True, slots=True)
class WeightCode:
    """A weight code read back: the item's PLU (as it is in the code) and the grams."""

    plu: str
    grams: int

    def plu_forms(self) -> tuple[str, ...]:
        """The PLU as a catalogue may hold it: padded ("04011") and plain ("4011")."""
        plain = self.plu.lstrip("0") or "0"
        return (self.plu,) if plain == self.plu else (self.plu, plain)

    def weight(self, unit: WeightUnit) -> Decimal:
        """The weight in the product's unit."""
        return from_grams(self.grams, unit)


@dataclass(frozen=True, slots=True)
class WeighedLabel:
    """A weighed item's label: its code, the weight it carries (in the product's unit)
    and the price that weight comes to."""

    code: str
    weight: Decimal
    price: Money


def weight_code(prefix: str, product: Product, weight: Decimal) -> WeighedLabel:
    """The label of `weight` (in the product's unit) of `product`; `LabelError` says
    why there cannot be one (no prefix set, not sold by weight, no PLU, weight out of range)."""
    if not prefix:
        raise LabelError('weighed labels are off: set labels.weight_prefix (e.g. "28")')
    problem = check_weight_prefix(prefix)
    if problem is not None:
        raise LabelError(f"labels.weight_prefix {prefix!r}: expected {problem}")
    if product.unit is None:
        raise LabelError(f"{product.name} is not sold by weight: print a shelf label")
    item = plu(product)
    if item is None:
        raise LabelError(f"{product.name} has no PLU (a barcode of 1 to 5 digits) for its label")
    grams = to_grams(weight, product.unit) if weight.is_finite() else 0
    if not 1 <= grams <= MAX_GRAMS:
        raise LabelError(
            f"{product.name}: a label carries 1 g to {MAX_GRAMS / 1000:g} kg, not {weight} "
            f"{product.unit.value}"
        )
    digits = f"{prefix}{item.zfill(PLU_DIGITS)}{grams:05d}"
    carried = from_grams(grams, product.unit)
    return WeighedLabel(digits + ean13_check_digit(digits), carried, product.price.times(carried))


def read_weight_code(code: str, prefix: str) -> WeightCode | None:
    """The weight code in a scanned `code`, or None when it is not one (another
    barcode, or weight codes are off). A code with the prefix and a wrong check
    digit or no weight raises `LabelError`: a misread must not sell anything."""
    if not prefix or len(code) != 13 or not code.isascii() or not code.isdigit():
        return None
    if not code.startswith(prefix):
        return None
    if ean13_check_digit(code[:12]) != code[12]:
        raise LabelError(f"label {code}: the check digit is wrong; scan it again")
    grams = int(code[7:12])
    if grams == 0:
        raise LabelError(f"label {code}: it carries no weight")
    return WeightCode(code[2:7], grams)


def _weight_text(weight: Decimal, unit: WeightUnit) -> str:
    if unit is WeightUnit.G:
        return f"{weight:f} g"
    return f"{weight.quantize(_WEIGHT_PLACES)} {unit.value}"


def label_values(
    product: Product,
    *,
    packed: date,
    best_before_days: int = 0,
    weighed: WeighedLabel | None = None,
) -> dict[str, str]:
    """Every placeholder a label template may use, filled for `product`.

    With `weighed`: the weight, its price and its code; without: a shelf label
    (the price, the product's own barcode, no weight; a unit price only for a
    product sold by weight). `best_before_days` 0
    leaves the best-before date empty.
    """
    currency = product.price.currency
    per = f"{product.price.format()} {currency}"
    unit = product.unit.value if product.unit is not None else ""
    barcode = _ean13_of(product.barcodes)
    values = {
        "name": product.name,
        "sku": product.sku,
        "barcode": barcode or (product.barcodes[0] if product.barcodes else product.sku),
        "price": per,
        "unit_price": f"{per}/{unit}" if unit else "",
        "weight": "",
        "unit": unit,
        "packed": packed.isoformat(),
        "best_before": (
            (packed + timedelta(days=best_before_days)).isoformat() if best_before_days else ""
        ),
    }
    if weighed is not None and product.unit is not None:
        values |= {
            "weight": _weight_text(weighed.weight, product.unit),
            "price": f"{weighed.price.format()} {currency}",
            "barcode": weighed.code,
        }
    return values


def scanned(catalog: Catalog, code: str, prefix: str) -> tuple[Product, Decimal | None]:
    """What a scanned code sells: (product, None) for a product's own barcode, or
    (product, weight in its unit) for a weighed item's label. The catalogue comes
    first, so a store barcode that happens to start with the prefix still works;
    `UnknownProduct` names a code that is neither (or a label whose PLU is unknown)."""
    try:
        return catalog.by_barcode(code), None
    except UnknownProduct:
        read = read_weight_code(code, prefix)
        if read is None:
            raise
    for form in read.plu_forms():
        sku = catalog.barcodes.get(form)
        unit = catalog.products[sku].unit if sku is not None else None
        if sku is not None and unit is not None:
            return catalog.products[sku], read.weight(unit)
    raise UnknownProduct(f"label {code}: no product sold by weight has PLU {read.plu_forms()[-1]}")
