"""The physical keyboard and the keyboard-wedge scanner: every key goes where it belongs.

Nothing needs focus. On the sell screen each character goes to
`SellViewModel.key(char, now)`, which tells a scanner's burst (ended by Enter) from a
person typing a search; the keys it holds back are released by `tick` at
`next_deadline()`, which this router schedules on the Kivy clock. Elsewhere the keys
serve the keypad on screen (a PIN, an amount, a weight), an open text prompt, or the
manager's PIN prompt. On the paid screen a key (the next customer's first scan) starts
the next sale. Escape is swallowed: a register never quits from the keyboard.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kivy.clock import Clock  # type: ignore[import-untyped]

from appliance.ui.viewmodels.formatting import BACK, POINT
from appliance.ui.viewmodels.sell import BACKSPACE
from appliance.ui.widgets import DONE

if TYPE_CHECKING:
    from appliance.ui.app import RegisterApp

ENTER_KEYS = (13, 271)  # return, keypad enter
BACKSPACE_KEY, ESCAPE_KEY = 8, 27
ENTER = "\r"


class KeyRouter:
    """Routes window key events (bound by the app) to the view model that wants them."""

    def __init__(self, app: RegisterApp) -> None:
        self.app = app
        self._tick_event: Any = None

    def on_textinput(self, _window: Any, text: str) -> bool:
        """Printable characters (a scanner types them too)."""
        for char in text:
            self.char(char)
        return True

    def on_key_down(
        self, _window: Any, key: int, _scancode: int, _codepoint: str | None, _mods: Any
    ) -> bool:
        """Enter and backspace (which send no text); escape never closes the register."""
        if key in ENTER_KEYS:
            self.char(ENTER)
        elif key == BACKSPACE_KEY:
            self.char(BACKSPACE)
        return key in (*ENTER_KEYS, BACKSPACE_KEY, ESCAPE_KEY)

    def char(self, char: str) -> None:
        """One character, to the prompt, the override, or the screen that is up."""
        app, session = self.app, self.app.session
        if app.prompt is not None:
            app.prompt.key({ENTER: DONE, BACKSPACE: BACK}.get(char, char))
        elif session.override.state.active:
            self._keypad(char, session.override.key, session.override.submit)
        elif app.current == "paid":
            app.next_sale()  # the next customer's first scan starts their sale
            if char != ENTER:
                self.char(char)
        elif app.current == "sell":
            session.sell.key(char, time.monotonic())
            self._schedule_tick()
        elif app.current == "login":
            self._keypad(char, session.login.key, session.login.enter)
        elif app.current == "weight":
            self._keypad(char, session.weight.key, session.weight.use_manual, point=True)
        elif app.current == "backroom" and app.screens["backroom"].section == "labels":
            session.labels.key({BACKSPACE: BACK}.get(char, char))
        elif app.current in ("tender", "discount", "backroom"):
            model = getattr(session, app.current)
            self._keypad(char, model.key, None, point=True)

    @staticmethod
    def _keypad(
        char: str,
        key: Callable[[str], None],
        enter: Callable[[], None] | None,
        point: bool = False,
    ) -> None:
        if char.isdigit() or (point and char == POINT):
            key(char)
        elif char == BACKSPACE:
            key(BACK)
        elif char == ENTER and enter is not None:
            enter()

    # --- the wedge decoder's deadline ----------------------------------------------------------

    def _schedule_tick(self) -> None:
        if self._tick_event is not None:
            self._tick_event.cancel()
            self._tick_event = None
        deadline = self.app.session.sell.next_deadline()
        if deadline is not None:
            delay = max(0.0, deadline - time.monotonic())
            self._tick_event = Clock.schedule_once(self._tick, delay)

    def _tick(self, _dt: float) -> None:
        self._tick_event = None
        self.app.session.sell.tick(time.monotonic())
        self._schedule_tick()
