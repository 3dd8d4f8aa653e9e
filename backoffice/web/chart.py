"""Sales per hour as an SVG bar chart, drawn on the server: no script, no chart library.

Only the hours with sales, widened to opening hours (8 to 20), are drawn, so a quiet
night does not squeeze the day into a corner. Each bar has a <title> (the browser's
tooltip) with the hour, the number of sales and the amount.
"""

from __future__ import annotations

from html import escape

from appliance.domain.money import Money
from backoffice.web.queries import HourBar

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 14, 28


def _nice_top(value: int) -> int:
    """The smallest 1/2/5 x 10^k at or above `value` (at least 1)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def hours_svg(bars: list[HourBar], currency: str) -> str:
    """The chart for one currency's hourly bars."""
    busy = [b.hour for b in bars if b.count]
    first = min([8, *busy])
    last = max([20, *busy])
    shown = [b for b in bars if first <= b.hour <= last]
    top = _nice_top(max((b.total for b in shown), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(shown)
    label = f"Sales per hour ({currency})"
    out = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
           f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">']  # fmt: skip
    for step in range(5):
        y = TOP + plot_h - plot_h * step / 4
        amount = Money(top * step // 4, currency).format()
        out.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        out.append(f'<text class="axis" x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">'
                   f"{escape(amount)}</text>")  # fmt: skip
    for index, bar in enumerate(shown):
        x = LEFT + index * slot
        h = plot_h * bar.total / top if top else 0
        tip = f"{bar.hour:02d}:00-{bar.hour + 1:02d}:00: {bar.count} sales, " + Money(
            bar.total, currency).format()  # fmt: skip
        if bar.count:
            out.append(f'<rect class="bar" x="{x + slot * 0.18:.1f}" y="{TOP + plot_h - h:.1f}" '
                       f'width="{slot * 0.64:.1f}" height="{max(h, 1.5):.1f}" rx="2">'
                       f"<title>{escape(tip)}</title></rect>")  # fmt: skip
        out.append(f'<text class="axis" x="{x + slot / 2:.1f}" y="{HEIGHT - 8}" '
                   f'text-anchor="middle">{bar.hour:02d}</text>')  # fmt: skip
    out.append("</svg>")
    return "".join(out)
