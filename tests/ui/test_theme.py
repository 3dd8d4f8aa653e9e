"""The palette and type scale: contrast a cashier can read, targets a finger can hit."""

from __future__ import annotations

import pytest

from appliance.ui import theme


def luminance(colour: theme.Color) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in colour[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: theme.Color, b: theme.Color) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("role", sorted(theme.ROLES))
def test_every_role_reads_at_wcag_aa_or_better(role: str) -> None:
    assert contrast(theme.fill(role), theme.ink(role)) >= 4.5


def test_text_on_the_ground_and_on_white_is_high_contrast() -> None:
    for ground in (theme.SURFACE, theme.GROUND, theme.SELECTED):
        assert contrast(theme.INK, ground) >= 7
        assert contrast(theme.INK_MUTED, ground) >= 4.5
    assert contrast(theme.SAVING, theme.SURFACE) >= 4.5


def test_the_signal_colours_are_told_apart_and_messages_map_to_them() -> None:
    signals = [theme.GREEN, theme.AMBER, theme.BLUE, theme.RED]
    assert len(set(signals)) == 4
    assert theme.message_role("error") == "red" and theme.message_role("warning") == "amber"
    assert theme.message_role("") == theme.message_role("info") == "info"


@pytest.mark.parametrize(("size", "scale"), [((1280, 800), 1.0), ((800, 480), 0.72)])
def test_scale_per_display_keeps_touch_targets_and_text_legible(
    size: tuple[int, int], scale: float
) -> None:
    assert theme.scale_for(*size) == pytest.approx(scale)
    for target in (theme.BUTTON_H * 0.75, theme.BUTTON_H * 0.85, theme.HEADER_H):
        assert theme.touch(target, scale) >= theme.TOUCH == 48
    assert theme.font(theme.SMALL, scale) >= theme.MIN_TEXT
    assert theme.HUGE * scale > theme.TOTAL * scale > theme.TITLE * scale > theme.BODY * scale


def test_hex_colours_and_pressed_and_faded_fills() -> None:
    assert theme.hex_color("#ff8000") == (1.0, 128 / 255, 0.0, 1.0)
    assert luminance(theme.pressed(theme.NAVY)) < luminance(theme.NAVY)
    assert luminance(theme.faded(theme.NAVY)) > luminance(theme.NAVY)
