"""The time clock: clock in, break, back, clock out, as a small state machine.

States and the actions allowed in each (anything else is InvalidTransition):

    OFF      --clock_in-->    WORKING
    WORKING  --start_break--> ON_BREAK
    ON_BREAK --end_break-->   WORKING
    WORKING  --clock_out-->   OFF

A cashier on a break must come back before clocking out, so a forgotten
break is visible instead of silently paid or unpaid. Punches are recorded with
the local time passed in; `worked` sums the time between punches, breaks out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from appliance.domain.errors import InvalidTransition


class ClockState(Enum):
    """Where a cashier is in the working day."""

    OFF = "off"
    WORKING = "working"
    ON_BREAK = "on_break"


class ClockAction(Enum):
    """A punch on the time clock."""

    CLOCK_IN = "clock_in"
    START_BREAK = "start_break"
    END_BREAK = "end_break"
    CLOCK_OUT = "clock_out"


TRANSITIONS: dict[tuple[ClockState, ClockAction], ClockState] = {
    (ClockState.OFF, ClockAction.CLOCK_IN): ClockState.WORKING,
    (ClockState.WORKING, ClockAction.START_BREAK): ClockState.ON_BREAK,
    (ClockState.ON_BREAK, ClockAction.END_BREAK): ClockState.WORKING,
    (ClockState.WORKING, ClockAction.CLOCK_OUT): ClockState.OFF,
}


@dataclass(frozen=True, slots=True)
class Punch:
    """One time clock action by one cashier, as sent to the back office."""

    cashier: str
    action: ClockAction
    at: datetime


@dataclass(frozen=True, slots=True)
class TimeClock:
    """A cashier's clock: the current state and today's punches."""

    cashier: str
    state: ClockState = ClockState.OFF
    punches: tuple[Punch, ...] = ()

    def punch(self, action: ClockAction, at: datetime) -> tuple[TimeClock, Punch]:
        """Apply an action; returns the new clock and the punch to record."""
        target = TRANSITIONS.get((self.state, action))
        if target is None:
            allowed = ", ".join(a.value for (s, a) in TRANSITIONS if s is self.state)
            raise InvalidTransition(
                f"time clock: {self.cashier} is {self.state.value.replace('_', ' ')}; "
                f"cannot {action.value.replace('_', ' ')} (allowed: {allowed})"
            )
        if self.punches and at < self.punches[-1].at:
            raise InvalidTransition(
                f"time clock: {action.value} at {at.isoformat()} is before the last punch"
            )
        punch = Punch(self.cashier, action, at)
        return TimeClock(self.cashier, target, (*self.punches, punch)), punch

    def worked(self, until: datetime) -> timedelta:
        """Time worked, breaks excluded; an open shift counts up to `until`."""
        worked = timedelta(0)
        started: datetime | None = None
        for punch in self.punches:
            if punch.action in (ClockAction.CLOCK_IN, ClockAction.END_BREAK):
                started = punch.at
            elif started is not None:
                worked += punch.at - started
                started = None
        if started is not None and until > started:
            worked += until - started
        return worked
