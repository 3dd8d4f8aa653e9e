"""The back room: time clock, till (float, cash drops, count-out), no sale, the shift
report (X/Z), labels, and the devices' status for a field tech.

Four panels behind section buttons. Each draws its own view model's state; a no
sale, a Z report and a cash drop over the limits ask for a manager through the one
override prompt, because the register says so, never because the screen decides.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kivy.uix.boxlayout import BoxLayout  # type: ignore[import-untyped]

from appliance.ui import theme
from appliance.ui.screens.base import ViewScreen, buttons, show_message
from appliance.ui.viewmodels.backroom import BackroomState
from appliance.ui.viewmodels.base import ViewModel
from appliance.ui.viewmodels.devices import DevicesState
from appliance.ui.viewmodels.labels import LabelsState
from appliance.ui.viewmodels.shift import ShiftState

if TYPE_CHECKING:
    from appliance.ui.app import RegisterApp

SECTIONS = (
    ("till", "Time clock and till"),
    ("shift", "Shift report"),
    ("labels", "Labels"),
    ("devices", "Devices"),
)


class TillPanel(BoxLayout):  # type: ignore[misc]
    """Time clock, till and no sale."""


class ShiftPanel(BoxLayout):  # type: ignore[misc]
    """X and Z reports."""


class LabelsPanel(BoxLayout):  # type: ignore[misc]
    """Find a product, pick a template, weigh, preview and print labels."""


class DevicesPanel(BoxLayout):  # type: ignore[misc]
    """One line per device, for a tech who has just swapped one."""


class BackroomScreen(ViewScreen):
    """The back room (see the module docstring)."""

    def attach(self, app: RegisterApp) -> None:
        """Bind to the back room, shift and devices view models."""
        super().attach(app)
        session = app.session
        self.backroom, self.shift, self.devices = session.backroom, session.shift, session.devices
        self.labels = session.labels
        self.panels: dict[str, Any] = {
            "till": TillPanel(),
            "shift": ShiftPanel(),
            "labels": LabelsPanel(),
            "devices": DevicesPanel(),
        }
        self.panels["till"].ids.keypad.bind(on_key=lambda _, key: self.backroom.key(key))
        self.section = ""
        self.backroom.subscribe(self.render_till)
        self.shift.subscribe(self.render_shift)
        self.devices.subscribe(self.render_devices)
        self.labels.subscribe(self.render_labels)
        self.show_section("till")

    def opened(self) -> None:
        """Read the time clock and till again."""
        self.backroom.refresh()
        if self.section == "devices":
            self.devices.refresh()
        elif self.section == "labels":
            self.labels.refresh()

    def show_section(self, section: str) -> None:
        """Show one panel."""
        self.section = section
        items = [
            (t, label, "selected" if t == section else "neutral", True) for t, label in SECTIONS
        ]
        buttons(self.ids.sections, items, self.show_section, size_hint_y=1)
        content = self.ids.content
        content.clear_widgets()
        content.add_widget(self.panels[section])
        if section == "devices":
            self.devices.refresh()
        elif section == "labels":
            self.labels.refresh()
        self.render_till(self.backroom.state)
        self.render_shift(self.shift.state)
        self.render_devices(self.devices.state)
        self.render_labels(self.labels.state)

    def render_till(self, state: BackroomState) -> None:
        """Draw the time clock and till."""
        ids = self.panels["till"].ids
        ids.clock.text = state.clock or "…"
        if self.changed("clock", state.clock_buttons):
            items = [(b.action, b.label, "neutral", b.enabled) for b in state.clock_buttons]
            buttons(ids.clock_buttons, items, self.backroom.punch)
        ids.till.text = state.till
        ids.till.color = theme.INK if state.till_open else theme.RED
        ids.expected.text = f"Expected in the till: {state.expected}" if state.expected else ""
        ids.amount.text = state.amount_text or "0.00"
        ids.amount.color = theme.INK if state.amount_text else theme.INK_FAINT
        ids.bag.text = f"Bag {state.bag}" if state.bag else "Bag number (tap to type)"
        ids.open_till.disabled = state.till_open
        ids.drop.disabled = not state.till_open
        ids.count_out.disabled = not state.till_open
        ids.count_result.text = state.count_result
        ids.drawer.text = state.drawer
        ids.drawer.color = theme.RED if state.drawer_ok is False else theme.INK
        self._message()

    def render_shift(self, state: ShiftState) -> None:
        """Draw the last shift report."""
        ids = self.panels["shift"].ids
        ids.title.text = state.title or "Print an X report to see this shift's totals"
        ids.verdict.text = state.verdict
        ids.verdict.role = "green" if state.clean else "amber"
        ids.lines.text = "\n".join(state.lines)
        self._message()

    def render_devices(self, state: DevicesState) -> None:
        """Draw the devices' status."""
        ids = self.panels["devices"].ids
        ids.scale.value, ids.printer.value = state.scale or "…", state.printer or "…"
        ids.queue.value, ids.drawer.value = state.print_queue or "…", state.drawer or "…"
        self._message()

    def render_labels(self, state: LabelsState) -> None:
        """Draw the labels panel."""
        ids = self.panels["labels"].ids
        ids.search.text = state.query or "Search or scan the product"
        ids.search.color = theme.INK if state.query else theme.INK_MUTED
        if self.changed("label_results", state.results):
            items = [(r.sku, f"{r.name}   {r.price}", "tile", True) for r in state.results]
            buttons(ids.results, items, self.labels.pick, halign="left", size_hint_y=None,
                    base_height=theme.BUTTON_H * 0.85)  # fmt: skip
        ids.product.text = state.name or "No product picked"
        ids.weight.text = state.weight
        if self.changed("label_templates", state.templates):
            items = [
                (t.id, t.label, "selected" if t.selected else "neutral", t.enabled)
                for t in state.templates
            ]
            buttons(ids.templates, items, self.labels.choose, size_hint_y=1)
        ids.preview.text = "\n".join(state.preview) or (
            "The label shows here before it prints." if state.name else ""
        )
        ids.weigh.disabled = not state.needs_weight
        ids.copies.text = f"{state.copies} cop{'y' if state.copies == 1 else 'ies'}"
        ids.print.disabled = not state.can_print or state.busy
        self._message()

    def label_search(self) -> None:
        """Type the product's name (a scan types its barcode)."""
        labels = self.labels
        self.app.prompt_text("Product to label", labels.state.query, labels.search, labels.search)

    def _message(self) -> None:
        models: dict[str, ViewModel[Any]] = {
            "till": self.backroom,
            "shift": self.shift,
            "labels": self.labels,
            "devices": self.devices,
        }
        model = models.get(self.section, self.backroom)
        show_message(self.ids.banner, [(model.state, model)])

    def bag(self) -> None:
        """Type the deposit bag's number."""
        self.app.prompt_text("Bag number", self.backroom.state.bag, self.backroom.set_bag)

    def no_sale(self) -> None:
        """Ask why, then open the drawer without a sale (a manager approves)."""
        self.app.prompt_text("Why open the drawer?", "", self.backroom.no_sale)
