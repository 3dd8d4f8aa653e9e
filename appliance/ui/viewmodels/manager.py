"""The manager override: a PIN prompt wherever the register asks for a manager.

A screen's action that the register refuses with `NeedsManager` opens this prompt
with the register's reason and a way to retry the same action. The manager types
a PIN and presses enter: the action runs again with it. A wrong PIN keeps the
prompt open with the register's answer; cancelling gives up the action. The
prompt never checks a PIN itself: the register does, as for every action.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from appliance.register import Register
from appliance.ui.viewmodels.base import ERROR, INFO, ScreenState, ViewModel
from appliance.ui.viewmodels.formatting import CLEAR, press
from appliance.ui.viewmodels.runner import Runner

PIN_MAX = 12


@dataclass(frozen=True, slots=True)
class OverrideState(ScreenState):
    """The prompt: open or not, why, and the PIN typed so far (masked)."""

    active: bool = False
    reason: str = ""
    pin_mask: str = ""
    can_submit: bool = False


class ManagerOverride(ViewModel[OverrideState]):
    """A reusable manager PIN prompt (see the module docstring)."""

    def __init__(self, register: Register, runner: Runner) -> None:
        super().__init__(register, runner, OverrideState())
        self._pin = ""
        self._retry: Callable[[str], None] | None = None
        self._submitted = False

    def ask(self, reason: str, retry: Callable[[str], None]) -> None:
        """Open the prompt for `reason`; `retry(pin)` repeats the refused action."""
        again = self._submitted  # the PIN just tried was refused
        self._retry, self._pin, self._submitted = retry, "", False
        with self._batch():
            self._update(active=True, reason=reason, pin_mask="", can_submit=False)
            self._say(reason if again else "", ERROR)

    def key(self, key: str) -> None:
        """A keypad key: a digit, "back" or "clear"."""
        self._pin = press(self._pin, key, max_len=PIN_MAX)
        self._update(pin_mask="•" * len(self._pin), can_submit=len(self._pin) >= 4)

    def submit(self) -> None:
        """Retry the refused action with the PIN typed."""
        if self._retry is None or not self._pin:
            return
        pin, retry = self._pin, self._retry
        self.key(CLEAR)
        self._submitted = True
        retry(pin)

    def close(self) -> None:
        """The retried action is over (done, or refused for another reason): close."""
        self._close("")

    def cancel(self) -> None:
        """Give up the action that needed a manager."""
        self._close("cancelled: no manager approval")

    def _close(self, message: str) -> None:
        self._retry, self._pin, self._submitted = None, "", False
        with self._batch():
            self._update(active=False, reason="", pin_mask="", can_submit=False)
            self._say(message, INFO)
