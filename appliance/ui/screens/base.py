"""What every screen shares: its view models bound once, a redraw per new state.

A screen subscribes to its view models in `attach` and redraws from the state it is
handed; lists (tiles, cart lines, rows) are rebuilt only when their tuple changes,
so a busy flag or a message does not rebuild a grid. `opened` runs when the screen
comes up and asks the view model to read again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from kivy.uix.screenmanager import Screen  # type: ignore[import-untyped]

from appliance.ui.widgets import Banner, FlatButton

if TYPE_CHECKING:
    from appliance.ui.app import RegisterApp
    from appliance.ui.viewmodels.base import ScreenState, ViewModel


class ViewScreen(Screen):  # type: ignore[misc]
    """A screen of the register; subclasses bind their view models in `attach`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._shown: dict[str, Any] = {}

    def attach(self, app: RegisterApp) -> None:
        """Subscribe to the view models (called once, by the app, before the first frame)."""
        self.app = app

    def opened(self) -> None:
        """The screen came up: ask the view models to read again (default: nothing)."""

    def changed(self, key: str, value: Any) -> bool:
        """True when `value` differs from what was last drawn under `key` (and remember it)."""
        if key in self._shown and self._shown[key] == value:
            return False
        self._shown[key] = value
        return True


def show_message(banner: Banner, sources: Iterable[tuple[ScreenState, ViewModel[Any]]]) -> None:
    """Show the first message among the states; its OK dismisses it on its view model."""
    for state, model in sources:
        if state.message:
            banner.text, banner.kind = state.message, state.message_kind
            banner.on_dismiss = model.dismiss
            return
    banner.text, banner.kind, banner.on_dismiss = "", "", None


def buttons(
    container: Any,
    items: Iterable[tuple[str, str, str, bool]],
    on_press: Callable[[str], None],
    cls: Any = FlatButton,
    **style: Any,
) -> None:
    """Fill `container` with flat buttons (of `cls`): (tag, text, role, enabled) each."""
    container.clear_widgets()
    for tag, text, role, enabled in items:
        button = cls(text=text, tag=tag, role=role, disabled=not enabled, **style)
        button.bind(on_release=lambda b: on_press(b.tag))
        container.add_widget(button)
