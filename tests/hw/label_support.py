"""What the label template and label render tests share: the golden label, an EAN-13 one."""

from __future__ import annotations

from typing import Any

from hw.labels import FilledLabel, LabelTemplate, fill, parse_template

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

GOLDEN_LINES = ['Café "Crème" ^1_~', "€2.80", "CODE128 SKU-0042"]


def golden() -> FilledLabel:
    return fill(parse_template(GOLDEN, "golden.toml"), GOLDEN_VALUES)


def ean_template(data: str = "{barcode}") -> LabelTemplate:
    barcode = {"type": "barcode", "x": 2, "y": 2, "height": 10, "symbology": "EAN13", "data": data}
    return parse_template(
        {"name": "ean", "width_mm": 50, "height_mm": 20, "elements": [barcode]}, "t"
    )
