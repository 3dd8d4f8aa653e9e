"""The shift report: X (running) and Z (closes the shift, a manager's call).

The report warns when anything has not reached the back office: a shift is
never called clean while a sale waits or was rejected (`ShiftReport.verdict`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from appliance.register import Register
from appliance.shift import ShiftReport
from appliance.ui.viewmodels.base import INFO, WARNING, ScreenState, ViewModel
from appliance.ui.viewmodels.manager import ManagerOverride, OverrideState
from appliance.ui.viewmodels.runner import Runner


@dataclass(frozen=True, slots=True)
class ShiftState(ScreenState):
    """The last report shown: its lines, whether it is clean, and what is pending."""

    override: OverrideState = field(default_factory=OverrideState)
    title: str = ""
    lines: tuple[str, ...] = ()
    verdict: str = ""
    clean: bool = True
    closed: bool = False


class ShiftViewModel(ViewModel[ShiftState]):
    """X and Z reports (see the module docstring)."""

    def __init__(self, register: Register, runner: Runner, override: ManagerOverride) -> None:
        super().__init__(register, runner, ShiftState(override=override.state))
        self.approver = override
        override.subscribe(lambda s: self._update(override=s))

    def x_report(self) -> None:
        """The running totals of this shift."""
        self._call(lambda: self.register.shift_report(), self._show)

    def z_report(self, manager_pin: str | None = None) -> None:
        """Close the shift (the register asks for a manager)."""
        self._call(
            lambda: self.register.shift_report(close=True, manager_pin=manager_pin),
            self._show,
            retry=lambda pin: self.z_report(pin),
            approving=manager_pin is not None,
        )

    def _show(self, report: ShiftReport) -> None:
        kind = "Z report: shift closed" if report.closed else "X report: running"
        self._update(
            title=f"Shift {report.number}, {kind}",
            lines=tuple(report.lines()),
            verdict=report.verdict(),
            clean=report.clean,
            closed=report.closed,
        )
        if report.clean:
            self._say(report.verdict(), INFO)
        else:
            self._say(
                f"{report.verdict()}: these totals are not final until the back office "
                "has every sale (see the pending list)",
                WARNING,
            )
