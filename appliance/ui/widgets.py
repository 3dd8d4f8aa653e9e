"""Small widgets every screen uses: flat buttons, the message banner, keypads, a keyboard.

Each is a thin class with the properties its rule in `widgets.kv` draws from; none
knows a view model. Keys are reported as the view models' words ("7", ".", "back",
"clear"), so a screen hands them straight to its view model's `key`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.properties import (  # type: ignore[import-untyped]
    BooleanProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior  # type: ignore[import-untyped]
from kivy.uix.boxlayout import BoxLayout  # type: ignore[import-untyped]
from kivy.uix.gridlayout import GridLayout  # type: ignore[import-untyped]
from kivy.uix.label import Label  # type: ignore[import-untyped]
from kivy.uix.modalview import ModalView  # type: ignore[import-untyped]

from appliance.ui.viewmodels.formatting import BACK, CLEAR, POINT

KEY_H = 56
DONE = "done"
SPACE = " "
KEYBOARD_ROWS = ("1234567890", "QWERTYUIOP", "ASDFGHJKL-", "ZXCVBNM.@/")
"""The on-screen keyboard's letter rows; a last row holds space, back, clear and done."""


class FlatButton(ButtonBehavior, Label):  # type: ignore[misc]
    """A flat, rounded button drawn in a palette role (`theme.ROLES`).

    `tag` names what the button stands for (a sku, a category id, a key), so a
    screen's handler and the window tests find it without reading its label.
    """

    role = StringProperty("neutral")
    tag = StringProperty("")
    radius = NumericProperty(10)
    base_height = NumericProperty(68)  # before the app's scale; never under theme.TOUCH
    wrap = BooleanProperty(True)  # wrap the label to the width (off: the width follows it)


class Pill(Label):  # type: ignore[misc]
    """A rounded, filled label: the connection indicator, the pending badge, a state."""

    role = StringProperty("neutral")


class Surface(BoxLayout):  # type: ignore[misc]
    """A white panel with rounded corners."""


class Banner(BoxLayout):  # type: ignore[misc]
    """The message of a screen, coloured by kind, with a button to dismiss it.

    Empty text collapses it to nothing (height 0, so it takes no touches).
    """

    text = StringProperty("")
    kind = StringProperty("")
    on_dismiss = ObjectProperty(None, allownone=True)

    def on_touch_down(self, touch: Any) -> bool:
        """A hidden banner takes no touches (its button would still be there to hit)."""
        if not self.text:
            return False
        return bool(super().on_touch_down(touch))

    def dismiss(self) -> None:
        """The cashier read it."""
        if self.on_dismiss is not None:
            self.on_dismiss()


class Keypad(GridLayout):  # type: ignore[misc]
    """Digits, back, and a point or a clear key; `on_key(key)` for each press."""

    point = BooleanProperty(False)
    keys = ListProperty([])

    __events__ = ("on_key",)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(point=lambda *_: self._build())
        self._build()

    def _build(self) -> None:
        self.clear_widgets()
        corner = POINT if self.point else CLEAR
        for key in ("7", "8", "9", "4", "5", "6", "1", "2", "3", corner, "0", BACK):
            label = {BACK: "Back", CLEAR: "Clear", POINT: "."}.get(key, key)
            button = FlatButton(text=label, tag=key, role="tile", size_hint_y=1)
            button.bind(on_release=lambda b: self.dispatch("on_key", b.tag))
            self.add_widget(button)

    def on_key(self, key: str) -> None:
        """Default handler (the screen binds its own)."""


class Keyboard(BoxLayout):  # type: ignore[misc]
    """An on-screen keyboard for searches and names: `on_key(char)`, "back", "clear", "done"."""

    __events__ = ("on_key",)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for row in KEYBOARD_ROWS:
            self.add_widget(self._row([(c, c) for c in row]))
        last = [("Space", SPACE), ("Back", BACK), ("Clear", CLEAR), ("Done", DONE)]
        self.add_widget(self._row(last))

    def _row(self, keys: list[tuple[str, str]]) -> BoxLayout:
        row = BoxLayout(spacing=self.spacing)
        for label, key in keys:
            role = "primary" if key == DONE else "tile"
            button = FlatButton(text=label, tag=key, role=role, base_height=KEY_H)
            button.bind(on_release=lambda b: self.dispatch("on_key", b.tag))
            row.add_widget(button)
        return row

    def on_key(self, key: str) -> None:
        """Default handler."""


def typed(text: str, key: str, max_len: int = 40) -> str:
    """Text after one on-screen keyboard key (letters come in lower case, as typed)."""
    if key == BACK:
        return text[:-1]
    if key == CLEAR:
        return ""
    if key == DONE or len(text) >= max_len:
        return text
    return text + key.lower()


class ChoicePrompt(ModalView):  # type: ignore[misc]
    """A modal list of choices (a parked cart to recall): `on_choose(tag)` on a tap."""

    title = StringProperty("")

    def __init__(
        self,
        title: str,
        choices: list[tuple[str, str]],
        on_choose: Callable[[str], None],
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.title, self._on_choose = title, on_choose
        for tag, text in choices:
            button = FlatButton(text=text, tag=tag, role="tile")
            button.bind(on_release=lambda b: self.choose(b.tag))
            self.ids.choices.add_widget(button)

    def choose(self, tag: str) -> None:
        """A choice was tapped: close, then hand it over."""
        self.dismiss(animation=False)
        self._on_choose(tag)


class TextPrompt(ModalView):  # type: ignore[misc]
    """A modal keyboard for one line of text (a reason, a name, a bag or card number).

    `on_change(text)` after each key (a live search), `on_done(text)` on Done.
    """

    title = StringProperty("")
    text = StringProperty("")
    hint = StringProperty("")

    def __init__(
        self,
        title: str,
        text: str = "",
        on_done: Callable[[str], None] | None = None,
        on_change: Callable[[str], None] | None = None,
        hint: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.title, self.text, self.hint = title, text, hint
        self._on_done, self._on_change = on_done, on_change

    def key(self, key: str) -> None:
        """A key from the on-screen keyboard or the physical one."""
        if key in (DONE, "\r", "\n"):
            self.finish()
            return
        self.text = typed(self.text, key)
        if self._on_change is not None:
            self._on_change(self.text)

    def finish(self) -> None:
        """Done: hand the text over and close."""
        self.dismiss(animation=False)
        if self._on_done is not None:
            self._on_done(self.text)
