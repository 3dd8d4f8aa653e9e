"""The paper a receipt or label printer takes, as the renderers lay it out.

Kept apart from `hw.escpos_render` so that configuring a printer (the device
factory, the simulators, the drivers) does not import python-escpos and PIL:
those load only when something is rendered to bytes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Paper:
    """The paper a printer takes: characters per line (font A) and printable dots."""

    columns: int = 42
    dots: int = 576


PAPER_80MM = Paper(42, 576)
"""80 mm roll, 42 columns of font A (TM-T88 style at 576 dots)."""
PAPER_80MM_48 = Paper(48, 576)
"""80 mm roll on printers that fit 48 columns (TM-T20 and most 203 dpi models)."""
PAPER_58MM = Paper(32, 384)
"""58 mm roll, 32 columns."""


def paper_dots(width: int) -> int:
    """Printable dots of the usual paper `width` characters wide (58 mm: 384, else 576)."""
    return PAPER_58MM.dots if width <= PAPER_58MM.columns else PAPER_80MM.dots
