"""The weight screen: the live scale reading, presets, or a weight typed on the keypad.

"Use scale weight" is enabled only when the view model says the reading can price
(stable); a reading in motion or a fault shows in its colour and cannot be sold.
What the weight shown comes to is shown under it. Weighing for a label, the
screen says so and the weight goes to the labels panel.
The app polls the scale (`WeightViewModel.poll`) on a timer while this screen is up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.ui import theme
from appliance.ui.screens.base import ViewScreen, buttons, show_message
from appliance.ui.viewmodels.weight import WeightState

if TYPE_CHECKING:
    from appliance.ui.app import RegisterApp

SCALE_ROLES = {"stable": "green", "motion": "amber", "fault": "red", "none": "neutral"}
SCALE_WORDS = {
    "stable": "Stable",
    "motion": "In motion",
    "fault": "Scale fault",
    "none": "No scale",
}


class WeightScreen(ViewScreen):
    """The weight screen (see the module docstring)."""

    def attach(self, app: RegisterApp) -> None:
        """Bind to the weight view model."""
        super().attach(app)
        self.weight = app.session.weight
        self.ids.keypad.bind(on_key=lambda _, key: self.weight.key(key))
        self.weight.subscribe(self.render)
        self.render(self.weight.state)

    def render(self, state: WeightState) -> None:
        """Draw a weight state."""
        ids = self.ids
        ids.product.text = f"Label: {state.name}" if state.for_label else state.name
        ids.price.text = state.price
        ids.reading_price.text = f"= {state.scale_price}" if state.scale_price else ""
        ids.manual_price.text = f"= {state.manual_price}" if state.manual_price else ""
        ids.use_scale.text = "Use for the label" if state.for_label else "Use scale weight"
        ids.use_manual.text = "Label this weight" if state.for_label else "Use typed weight"
        reading = state.scale_text or "Reading the scale…"
        ids.reading.text = reading
        ids.status.text = SCALE_WORDS.get(state.scale_status, "Waiting")
        ids.status.role = SCALE_ROLES.get(state.scale_status, "neutral")
        ids.use_scale.disabled = not state.can_use_scale
        ids.manual.text = f"{state.manual_text or '0'} {state.unit}".strip()
        ids.manual_title.text = f"Type the weight ({state.unit})" if state.unit else "Weight"
        ids.use_manual.disabled = not state.can_use_manual
        if self.changed("presets", state.presets):
            items = [(p.weight, f"{p.label}\n{p.price}", "tile", True) for p in state.presets]
            buttons(ids.presets, items, self.weight.preset, base_height=theme.BUTTON_H * 1.1)
        ids.presets_title.text = "Presets" if state.presets else ""
        show_message(ids.banner, [(state, self.weight)])
