"""The Kivy app: one window, a screen per view model, navigation that follows the states.

`RegisterApp` takes a ready `Session` (built by the composition root, with
`launch.ui_runner()` as its runner so every result comes back on the Kivy thread)
and only draws it: logging in shows the sell screen, a weighed product the weight
screen, a committed sale the paid screen, a manager's refusal the PIN prompt. Timers
refresh the header's connection and pending counts and poll the scale while the
weight screen is up. Keys from a keyboard or a wedge scanner go through `KeyRouter`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kivy.app import App  # type: ignore[import-untyped]
from kivy.clock import Clock  # type: ignore[import-untyped]
from kivy.core.window import Window  # type: ignore[import-untyped]
from kivy.lang import Builder  # type: ignore[import-untyped]
from kivy.properties import NumericProperty  # type: ignore[import-untyped]
from kivy.uix.screenmanager import NoTransition, ScreenManager  # type: ignore[import-untyped]

from appliance.ui import theme
from appliance.ui.keys import KeyRouter
from appliance.ui.screens.backroom import BackroomScreen
from appliance.ui.screens.base import ViewScreen
from appliance.ui.screens.cart import CartPanel
from appliance.ui.screens.discount import DiscountScreen
from appliance.ui.screens.header import HeaderBar
from appliance.ui.screens.lists import PendingScreen, RecentScreen
from appliance.ui.screens.login import LoginScreen
from appliance.ui.screens.manager import ManagerPrompt
from appliance.ui.screens.sell import SellScreen
from appliance.ui.screens.tender import PaidScreen, TenderScreen
from appliance.ui.screens.weight import WeightScreen
from appliance.ui.viewmodels.login import LoginState
from appliance.ui.viewmodels.session import Session
from appliance.ui.viewmodels.tender import TenderState
from appliance.ui.viewmodels.weight import WeightState
from appliance.ui.widgets import TextPrompt

HERE = Path(__file__).parent
KV_FILES = [HERE / "widgets.kv", *sorted((HERE / "screens").glob("*.kv"))]
SCREENS: tuple[type[ViewScreen], ...] = (
    LoginScreen,
    SellScreen,
    WeightScreen,
    DiscountScreen,
    TenderScreen,
    PaidScreen,
    PendingScreen,
    RecentScreen,
    BackroomScreen,
)
PARTS = (HeaderBar, CartPanel)
"""Widgets only the .kv files name: imported here so the Factory knows them."""
HEADER_EVERY_S = 2.0  # the indicator and badge follow the link within this
SCALE_EVERY_S = 0.25  # a live reading while the weight screen is up


def load_kv() -> None:
    """Load the .kv files (again: a second app in one process must not double the rules)."""
    for path in KV_FILES:
        Builder.unload_file(str(path))
        Builder.load_file(str(path))


log = logging.getLogger("appliance.ui")


class RegisterApp(App):  # type: ignore[misc]
    """The register's window (see the module docstring)."""

    scale = NumericProperty(1.0)
    """The layout scale (`theme.scale_for` the window size); every size in the kv follows it."""

    def __init__(
        self,
        session: Session,
        *,
        header_every: float = HEADER_EVERY_S,
        scale_every: float = SCALE_EVERY_S,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.title = "Register"
        self.header_every, self.scale_every = header_every, scale_every
        self.keys = KeyRouter(self)
        self.prompt: TextPrompt | None = None
        self.screens: dict[str, ViewScreen] = {}
        self._scale_poll: Any = None

    # --- building ----------------------------------------------------------------------------

    def build(self) -> ScreenManager:
        """The screens, bound to their view models; the login screen first."""
        Window.clearcolor = theme.GROUND
        self._resized(Window, *Window.size)
        load_kv()
        manager = ScreenManager(transition=NoTransition())
        for cls in SCREENS:
            screen = cls()
            self.screens[screen.name] = screen
            manager.add_widget(screen)
        self.root = manager
        for screen in self.screens.values():
            screen.attach(self)
        self.manager_prompt = ManagerPrompt(self.session.override)
        session = self.session
        session.login.subscribe(self._login_changed)
        session.weight.subscribe(self._weight_changed)
        session.tender.subscribe(self._tender_changed)
        Window.bind(on_textinput=self.keys.on_textinput, on_key_down=self.keys.on_key_down)
        Window.bind(on_resize=self._resized)
        Clock.schedule_interval(self._refresh_header, self.header_every)
        session.start()
        return manager

    def on_start(self) -> None:
        """The window is up: say so once (the kiosk's watchdog and the start-up bench read it)."""
        log.info("ready to sell: the login screen is up")

    def _resized(self, _window: Any, width: int, height: int) -> None:
        self.scale = theme.scale_for(width, height)

    # --- navigation ----------------------------------------------------------------------------

    @property
    def current(self) -> str:
        """The name of the screen that is up."""
        return str(self.root.current) if self.root is not None else ""

    def show(self, name: str) -> None:
        """Bring a screen up and let it read its view model again."""
        if self.root is None:
            return
        if self.root.current != name:
            self.root.current = name
        self.screens[name].opened()

    def menu(self, tag: str) -> None:
        """A header button: a screen's name, or "logout"."""
        if tag == "logout":
            self.session.login.logout()
        else:
            self.show(tag)

    def prompt_text(
        self,
        title: str,
        text: str,
        on_done: Callable[[str], None],
        on_change: Callable[[str], None] | None = None,
    ) -> None:
        """The on-screen keyboard for one line of text (the physical keyboard types too)."""
        prompt = TextPrompt(title, text, on_done=on_done, on_change=on_change)
        prompt.bind(on_dismiss=lambda *_: self._prompt_closed(prompt))
        self.prompt = prompt
        prompt.open(animation=False)

    def _prompt_closed(self, prompt: TextPrompt) -> None:
        if self.prompt is prompt:
            self.prompt = None

    def _login_changed(self, state: LoginState) -> None:
        if state.logged_in and self.current == "login":
            self.show("sell")
        elif not state.logged_in and self.current != "login":
            self.show("login")

    def _weight_changed(self, state: WeightState) -> None:
        if state.active and self.current != "weight":
            self.show("weight")
            self._stop_polling()
            self._scale_poll = Clock.schedule_interval(
                lambda _dt: self.session.weight.poll(), self.scale_every
            )
        elif not state.active:
            self._stop_polling()
            if self.current == "weight":
                self.show("backroom" if state.for_label else "sell")

    def _stop_polling(self) -> None:
        if self._scale_poll is not None:
            self._scale_poll.cancel()
            self._scale_poll = None

    def _tender_changed(self, state: TenderState) -> None:
        if state.paid and self.current != "paid":
            self.show("paid")

    def next_sale(self) -> None:
        """The paid screen is read: clear it and sell again."""
        self.session.tender.new_sale()
        self.show("sell")

    def _refresh_header(self, _dt: float) -> None:
        header = self.session.header
        if self.session.login.state.logged_in and not header.state.busy:
            header.refresh()  # one cheap read; skipped while the last one is under way
