"""The header bar: who is selling where, the connection indicator and the pending badge.

The indicator is a large filled pill in the state's own colour (Online green,
Offline amber, Syncing blue) so it reads from across the counter; the badge says
how many entries have not reached the back office and opens the pending list.
"""

from __future__ import annotations

from collections.abc import Callable

from kivy.factory import Factory  # type: ignore[import-untyped]
from kivy.properties import ObjectProperty  # type: ignore[import-untyped]
from kivy.uix.boxlayout import BoxLayout  # type: ignore[import-untyped]

from appliance.ui.screens.base import buttons
from appliance.ui.viewmodels.header import HeaderState


def badge(state: HeaderState) -> tuple[str, str]:
    """(text, role) of the pending badge: a count, red while anything is rejected."""
    if not state.pending:
        return "All sent", "neutral"
    text = f"{state.pending} pending"
    return text, "red" if state.rejected else "amber"


class HeaderBar(BoxLayout):  # type: ignore[misc]
    """The bar atop the sell, tender and pending screens."""

    on_badge = ObjectProperty(None, allownone=True)

    def render(self, state: HeaderState) -> None:
        """Draw a header state."""
        ids = self.ids
        ids.connection.text = state.connection
        ids.connection.role = state.connection_color
        ids.badge.text, ids.badge.role = badge(state)
        ids.who.text = state.cashier or "Nobody logged in"
        ids.where.text = f"{state.register_name} · {state.store}"

    def actions(self, items: list[tuple[str, str]], on_press: Callable[[str], None]) -> None:
        """The buttons at the right end: (tag, label) each."""
        items_ = [(t, label, "neutral", True) for t, label in items]
        buttons(self.ids.actions, items_, on_press, cls=Factory.HeaderAction)

    def badge_pressed(self) -> None:
        """The badge opens the pending list."""
        if self.on_badge is not None:
            self.on_badge()
