"""The login screen: store and register shown, a cashier picked, a PIN typed.

The register checks the PIN and slows down repeated wrong ones (after three it
refuses for a growing pause and says how long): the screen shows its words and
clears the PIN, and never counts attempts itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from appliance.register import Register, StaffMember
from appliance.store.local import Cashier
from appliance.ui.viewmodels.base import INFO, ScreenState, ViewModel
from appliance.ui.viewmodels.formatting import press
from appliance.ui.viewmodels.runner import Runner

PIN_MAX = 12


@dataclass(frozen=True, slots=True)
class LoginState(ScreenState):
    """The login screen: who can log in, who is picked, the PIN (masked)."""

    store: str = ""  # the title: the store's display name, or "Store {id}"
    register_name: str = ""
    cashiers: tuple[StaffMember, ...] = ()
    selected: str = ""
    pin_mask: str = ""
    can_enter: bool = False
    logged_in: bool = False
    cashier_name: str = ""


class LoginViewModel(ViewModel[LoginState]):
    """PIN pad and cashier list (see the module docstring)."""

    def __init__(self, register: Register, runner: Runner) -> None:
        section = register.config.register
        super().__init__(
            register,
            runner,
            LoginState(
                store=section.store_name or f"Store {section.store}",
                register_name=section.name or section.id,
            ),
        )
        self._pin = ""
        self.on_login: Callable[[Cashier], None] | None = None
        self.on_logout: Callable[[], None] | None = None

    def refresh(self) -> None:
        """Load the cashiers from the cache."""
        self._call(self.register.cashiers, self._listed, keep_message=True)

    def _listed(self, found: list[StaffMember]) -> None:
        selected = self.state.selected
        if selected not in {c.id for c in found}:
            selected = found[0].id if len(found) == 1 else ""
        self._update(cashiers=tuple(found), selected=selected)
        self._pin_changed()

    def choose(self, cashier_id: str) -> None:
        """Pick who is logging in."""
        self._update(selected=cashier_id)
        self._pin_changed()

    def key(self, key: str) -> None:
        """A PIN pad key: a digit, "back" or "clear"."""
        self._pin = press(self._pin, key, max_len=PIN_MAX)
        self._pin_changed()

    def _pin_changed(self) -> None:
        self._update(
            pin_mask="•" * len(self._pin),
            can_enter=bool(self.state.selected) and len(self._pin) >= 4,
        )

    def enter(self) -> None:
        """Log in with the PIN typed; a wrong one is cleared and the register's answer shown."""
        if not self.state.selected:
            self._say("pick your name first", INFO)
            return
        cashier_id, pin = self.state.selected, self._pin
        self._pin = ""
        self._pin_changed()
        self._call(lambda: self.register.login(cashier_id, pin), self._logged_in)

    def _logged_in(self, cashier: Cashier) -> None:
        self._update(logged_in=True, cashier_name=cashier.name)
        if self.on_login is not None:
            self.on_login(cashier)

    def logout(self) -> None:
        """Log out; a cart in progress is parked by the register (its ticket is shown)."""
        self._call(self.register.logout, self._logged_out)

    def _logged_out(self, ticket: str | None) -> None:
        with self._batch():
            self._update(logged_in=False, cashier_name="")
            if ticket:
                self._say(f"the cart in progress was parked as ticket {ticket}", INFO)
        if self.on_logout is not None:
            self.on_logout()
