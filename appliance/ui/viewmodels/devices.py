"""Devices as the screens see them: the drawer, the print queue, and a tech's status page.

The drawer and the print queue are reached through small protocols (the
`hw.ports` devices and `appliance.print_queue.PrintQueue` have them), so a test
passes a fake of a few lines. The status page shows, for a field tech who has
just swapped a device, whether each one answers now: the scale's reading, the
printer's paper and cover, the print queue, the drawer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from appliance.print_queue import QueueState
from appliance.register import Register
from appliance.ui.viewmodels.base import ScreenState, ViewModel
from appliance.ui.viewmodels.runner import Runner
from appliance.ui.viewmodels.weight import SCALE_TIMEOUT_S, ScaleReader, describe
from hw.ports import DeviceError, KickResult, PrinterStatus

KEY_HINT = "open it with the key"


class DrawerKicker(Protocol):
    """What the screens need of a cash drawer (`hw.ports.CashDrawer` has it)."""

    def kick(self) -> KickResult:
        """Pulse the drawer; report whether it was seen to open."""
        ...


class PrintWaker(Protocol):
    """What the screens need of the print queue (`PrintQueue` has it)."""

    @property
    def state(self) -> QueueState:
        """What holds the queue, if anything."""
        ...

    def wake(self) -> None:
        """Print now (never blocks)."""
        ...


class PrinterStatusSource(Protocol):
    """A receipt printer's status (`hw.ports.ReceiptPrinter` has it)."""

    def status(self) -> PrinterStatus:
        """The printer's real-time status; raises `DeviceOffline` if it is silent."""
        ...


def kick_text(result: KickResult | Exception) -> tuple[str, bool]:
    """(what to tell the cashier, confirmed) after a drawer kick."""
    if isinstance(result, KickResult):
        if result.confirmed:
            return "drawer open", True
        return f"drawer not seen to open ({result.detail}): {KEY_HINT}", False
    return f"the drawer did not open ({result}): {KEY_HINT}", False


def receipt_text(state: QueueState) -> str:
    """The receipt's fate as the cashier reads it."""
    if state.ok:
        return "receipt printing"
    return f"receipt waits in the print queue: {state.problem}"


def printer_text(status: PrinterStatus) -> str:
    """A printer status in a tech's words."""
    if not status.online:
        return "offline"
    problems = [
        text
        for flag, text in (
            (status.cover_open, "cover open"),
            (status.paper_out, "paper out"),
            (status.paper_near_end, "paper near its end"),
        )
        if flag
    ]
    return ", ".join(problems) if problems else "ready"


@dataclass(frozen=True, slots=True)
class DevicesState(ScreenState):
    """One line per device, as a tech reads it."""

    scale: str = ""
    printer: str = ""
    print_queue: str = ""
    drawer: str = ""


class DevicesViewModel(ViewModel[DevicesState]):
    """The device status page (see the module docstring)."""

    def __init__(
        self,
        register: Register,
        device_runner: Runner,
        *,
        scale: ScaleReader | None = None,
        printer: PrinterStatusSource | None = None,
        print_queue: PrintWaker | None = None,
        drawer: DrawerKicker | None = None,
    ) -> None:
        super().__init__(register, device_runner, DevicesState())
        self.scale, self.printer, self.print_queue, self.drawer = (
            scale,
            printer,
            print_queue,
            drawer,
        )

    def refresh(self) -> None:
        """Ask every device how it is (on the device runner: a dead one takes its timeout)."""
        self._call(self._read, lambda s: self._update(**s), keep_message=True)

    def _read(self) -> dict[str, str]:
        return {
            "scale": self._scale(),
            "printer": self._printer(),
            "print_queue": self._queue(),
            "drawer": "connected" if self.drawer is not None else "none configured",
        }

    def _scale(self) -> str:
        if self.scale is None:
            return "none configured"
        try:
            return describe(self.scale.read(SCALE_TIMEOUT_S))[0]
        except DeviceError as exc:
            return str(exc)

    def _printer(self) -> str:
        if self.printer is None:
            return "none configured"
        try:
            return printer_text(self.printer.status())
        except DeviceError as exc:
            return str(exc)

    def _queue(self) -> str:
        if self.print_queue is None:
            return "no print queue"
        state = self.print_queue.state
        if state.ok:
            return "all printed" if not state.waiting else f"{state.waiting} waiting"
        return f"{state.waiting} waiting: {state.problem}"

    def wake_printer(self) -> None:
        """The tech fixed the printer: print what waits now."""
        if self.print_queue is not None:
            self.print_queue.wake()
        self.refresh()
