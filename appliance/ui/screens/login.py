"""The login screen: the store and register, who is selling, and a PIN pad.

The register checks the PIN and slows down wrong ones; the screen shows its words.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.ui.screens.base import ViewScreen, buttons, show_message
from appliance.ui.viewmodels.login import LoginState

if TYPE_CHECKING:
    from appliance.ui.app import RegisterApp


class LoginScreen(ViewScreen):
    """PIN pad and cashier buttons."""

    def attach(self, app: RegisterApp) -> None:
        """Bind to the login view model."""
        super().attach(app)
        self.login = app.session.login
        self.ids.keypad.bind(on_key=lambda _, key: self.login.key(key))
        self.login.subscribe(self.render)
        self.render(self.login.state)

    def opened(self) -> None:
        """Read the cashiers again (a new one may have come with the catalogue)."""
        self.login.refresh()

    def render(self, state: LoginState) -> None:
        """Draw a login state."""
        self.ids.store.text = state.store
        self.ids.register_name.text = f"Register {state.register_name}"
        if self.changed("cashiers", (state.cashiers, state.selected)):
            items = [
                (c.id, c.name, "selected" if c.id == state.selected else "tile", True)
                for c in state.cashiers
            ]
            buttons(self.ids.cashiers, items, self.login.choose)
        self.ids.pin.text = state.pin_mask or ("Type your PIN" if state.selected else "")
        self.ids.pin.color = self.ids.store.color if state.pin_mask else (0.45, 0.5, 0.55, 1)
        self.ids.enter.disabled = not state.can_enter
        show_message(self.ids.banner, [(state, self.login)])
