"""The manager override: a PIN prompt over whatever screen asked for it.

It opens when the override view model becomes active (the register refused an
action for want of a manager) and closes when it is not; the PIN goes to the view
model, which retries the action with it. The prompt never checks a PIN.
"""

from __future__ import annotations

from kivy.uix.modalview import ModalView  # type: ignore[import-untyped]

from appliance.ui.viewmodels.manager import ManagerOverride, OverrideState


class ManagerPrompt(ModalView):  # type: ignore[misc]
    """The PIN prompt (see the module docstring)."""

    def __init__(self, override: ManagerOverride) -> None:
        super().__init__()
        self.override = override
        self.ids.keypad.bind(on_key=lambda _, key: override.key(key))
        override.subscribe(self.render)

    def render(self, state: OverrideState) -> None:
        """Open, redraw or close the prompt from the override's state."""
        ids = self.ids
        ids.reason.text = state.reason
        ids.pin.text = state.pin_mask or "Manager PIN"
        ids.pin.bold = bool(state.pin_mask)
        ids.message.text = state.message if state.active else ""
        ids.approve.disabled = not state.can_submit
        if state.active and not self._is_open:
            self.open(animation=False)
        elif not state.active and self._is_open:
            self.dismiss(animation=False)
