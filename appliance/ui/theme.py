"""The one palette and the one type scale of the touchscreen.

Plain Python (no kivy), so the .kv files import it (`#:import theme appliance.ui.theme`)
and a test can check it. Colours are RGBA tuples in 0..1; sizes are pixels at the
regular layout (1280x800). The app multiplies sizes by its `scale` (1.0 there, less
on the 800x480 display) but never lets a touch target fall under TOUCH.

Calm and high-contrast: near-black ink on a light grey ground, white surfaces, one
navy for the actions that move a sale on, and the three signal colours kept for
what they mean (green online/stable/paid, amber offline/warning, blue syncing/info,
red errors and rejections), so a colour seen from across the counter says one thing.
"""

from __future__ import annotations

Color = tuple[float, float, float, float]


def hex_color(code: str, alpha: float = 1.0) -> Color:
    """'#1d4e89' -> (r, g, b, a) in 0..1."""
    code = code.lstrip("#")
    r, g, b = (int(code[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return (r, g, b, alpha)


# --- palette -------------------------------------------------------------------------------

GROUND = hex_color("#e9edf1")  # the window behind everything
SURFACE = hex_color("#ffffff")  # panels, tiles, the cart
SURFACE_ALT = hex_color("#dde3ea")  # neutral buttons
SELECTED = hex_color("#cfe0f5")  # a selected cart line or row
LINE = hex_color("#c3ccd6")  # separators and field borders
INK = hex_color("#121c26")  # text
INK_MUTED = hex_color("#45525f")  # secondary text (7:1 on white)
INK_FAINT = hex_color("#8a96a3")  # disabled text
ON_DARK = hex_color("#ffffff")  # text on navy, green, blue, red

NAVY = hex_color("#1d4e89")  # the actions that move a sale on: Pay, Enter, Complete
GREEN = hex_color("#1b7f3b")  # online, a stable weight, paid
AMBER = hex_color("#f2a900")  # offline, warnings (ink on it, never white)
BLUE = hex_color("#1f6fd1")  # syncing, information
RED = hex_color("#b3261e")  # errors, rejected sales, void
SAVING = hex_color("#17693a")  # what came off a line (ink-dark green on white)
INFO_FILL = hex_color("#dceafb")  # an information banner: calm, ink on light blue

ROLES: dict[str, tuple[Color, Color]] = {
    "neutral": (SURFACE_ALT, INK),
    "tile": (SURFACE, INK),
    "primary": (NAVY, ON_DARK),
    "green": (GREEN, ON_DARK),
    "amber": (AMBER, INK),
    "blue": (BLUE, ON_DARK),
    "info": (INFO_FILL, INK),
    "red": (RED, ON_DARK),
    "selected": (NAVY, ON_DARK),
}
"""Button and badge roles: (fill, text)."""

MESSAGE_ROLES = {"info": "info", "warning": "amber", "error": "red"}
"""A view model's `message_kind` -> the role its banner is drawn in."""


def fill(role: str) -> Color:
    """The fill colour of a role (neutral for an unknown one)."""
    return ROLES.get(role, ROLES["neutral"])[0]


def ink(role: str) -> Color:
    """The text colour that reads on a role's fill."""
    return ROLES.get(role, ROLES["neutral"])[1]


def pressed(color: Color) -> Color:
    """A fill while a finger is on it: darker, so the press is seen."""
    r, g, b, a = color
    return (r * 0.8, g * 0.8, b * 0.8, a)


def faded(color: Color) -> Color:
    """A disabled fill: washed out toward the ground."""
    r, g, b, _ = color
    return ((r + 2 * GROUND[0]) / 3, (g + 2 * GROUND[1]) / 3, (b + 2 * GROUND[2]) / 3, 1.0)


def message_role(kind: str) -> str:
    """The banner role of a message kind (info when unknown)."""
    return MESSAGE_ROLES.get(kind, "info")


def stripe(kind: str) -> Color:
    """A banner's edge: blue for information (its fill is too pale to say it alone)."""
    return (0.0, 0.0, 0.0, 0.0) if kind in ("warning", "error") else BLUE


# --- type scale (px at scale 1.0) --------------------------------------------------------

SMALL = 16  # details under a cart line, captions
BODY = 20  # lists, labels
BUTTON = 22  # button labels
TITLE = 28  # screen titles, the indicator
FIGURE = 34  # amounts being typed, remaining to pay
TOTAL = 52  # the sale's total
HUGE = 140  # the change due on the paid screen

# --- sizes (px at scale 1.0) -----------------------------------------------------------------

TOUCH = 48  # the least a touch target may measure, at any scale
BUTTON_H = 68
HEADER_H = 76
PAD = 12
GAP = 8
RADIUS = 10
TILE_W = 190  # the narrowest a product tile may be (the grid fits as many as it can)
TILE_H = 104


def scale_for(width: int, height: int) -> float:
    """The layout scale for a window: 1.0 at 1280x800 and above, down to 0.72 at 800x480."""
    return max(0.72, min(1.0, width / 1280, height / 800 + 0.12))


MIN_TEXT = 13  # the least any text may measure: details stay legible on the 7" display


def font(size: float, scale: float) -> float:
    """A type size at a scale, never under MIN_TEXT."""
    return max(float(MIN_TEXT), size * scale)


def touch(size: float, scale: float) -> float:
    """A touch target's size at a scale, never under TOUCH."""
    return max(float(TOUCH), size * scale)
