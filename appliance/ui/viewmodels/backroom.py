"""The back room: time clock, till (float, cash drops, count-out) and no sale.

Every action is the register's; a no sale needs a manager, so the register asks
and the override retries with the PIN. Only once the register has recorded the
no sale is the drawer kicked, as after a sale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from appliance.domain.money import Money
from appliance.domain.till import CashDrop, Till, TillClose, TillState
from appliance.domain.timeclock import TRANSITIONS, ClockAction, ClockState, Punch
from appliance.register import Register
from appliance.store.local import Cashier
from appliance.ui.viewmodels.base import INFO, ScreenState, ViewModel
from appliance.ui.viewmodels.devices import DrawerKicker, kick_text
from appliance.ui.viewmodels.formatting import money, money_decimals, parse_money, press
from appliance.ui.viewmodels.manager import ManagerOverride, OverrideState
from appliance.ui.viewmodels.runner import Runner
from hw.ports import DeviceError, KickResult

CLOCK_LABELS = {
    ClockState.OFF: "Clocked out",
    ClockState.WORKING: "Working",
    ClockState.ON_BREAK: "On break",
}
ACTION_LABELS = {
    ClockAction.CLOCK_IN: "Clock in",
    ClockAction.START_BREAK: "Start break",
    ClockAction.END_BREAK: "End break",
    ClockAction.CLOCK_OUT: "Clock out",
}


@dataclass(frozen=True, slots=True)
class ClockButton:
    """A time clock button: its action (a ClockAction value), label, and whether it applies."""

    action: str
    label: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class BackroomState(ScreenState):
    """The back room screen."""

    override: OverrideState = field(default_factory=OverrideState)
    clock: str = ""
    clock_buttons: tuple[ClockButton, ...] = ()
    till: str = ""
    till_open: bool = False
    expected: str = ""
    amount_text: str = ""
    bag: str = ""
    count_result: str = ""
    drawer: str = ""
    drawer_ok: bool | None = None


class BackroomViewModel(ViewModel[BackroomState]):
    """The back room (see the module docstring)."""

    def __init__(
        self,
        register: Register,
        runner: Runner,
        override: ManagerOverride,
        drawer: DrawerKicker | None,
        device_runner: Runner | None = None,
    ) -> None:
        super().__init__(register, runner, BackroomState(override=override.state))
        self.approver, self.drawer = override, drawer
        self.device_runner = device_runner or runner
        override.subscribe(lambda s: self._update(override=s))
        # Something was recorded for the back office: the session refreshes the badge.
        self.on_recorded: Callable[[], None] | None = None

    def refresh(self) -> None:
        """Read the time clock and the till."""
        self._call(
            lambda: (self.register.time_clock(), self.register.till()),
            self._show,
            keep_message=True,
        )

    def _show(self, found: tuple[ClockState, Till]) -> None:
        clock, till = found
        buttons = tuple(
            ClockButton(a.value, ACTION_LABELS[a], (clock, a) in TRANSITIONS) for a in ClockAction
        )
        is_open = till.state is TillState.OPEN
        self._update(
            clock=CLOCK_LABELS[clock],
            clock_buttons=buttons,
            till_open=is_open,
            till="Till open" if is_open else "Till closed: count the float in",
            expected=money(till.expected),
        )

    def punch(self, action: str) -> None:
        """A time clock punch (a ClockAction value) for the cashier logged in."""
        self._call(lambda: self.register.punch(ClockAction(action)), self._punched)

    def _recorded(self) -> None:
        if self.on_recorded is not None:
            self.on_recorded()

    def _punched(self, punch: Punch) -> None:
        self._recorded()
        self._say(f"{ACTION_LABELS[punch.action].lower()} at {punch.at:%H:%M}", INFO)
        self.refresh()

    # --- the till -------------------------------------------------------------------------------

    def key(self, key: str) -> None:
        """A keypad key for the amount: a digit, ".", "back" or "clear"."""
        decimals = money_decimals(self.register.currency)
        self._update(amount_text=press(self.state.amount_text, key, decimals=decimals))

    def set_bag(self, bag: str) -> None:
        """The deposit bag's id for a cash drop."""
        self._update(bag=bag)

    def _amount(self, text: str) -> Money:
        return parse_money(text, self.register.currency)

    def open_till(self) -> None:
        """Count the float in (the amount typed, or the configured default)."""
        text, default = self.state.amount_text, self.register.config.cash.float_default
        currency = self.register.currency
        self._call(
            lambda: self.register.open_till(
                self._amount(text) if text else Money(default, currency)
            ),
            self._till_changed,
        )

    def drop(self) -> None:
        """Take the amount typed to the safe in the bag named."""
        text, bag = self.state.amount_text, self.state.bag
        self._call(lambda: self.register.cash_drop(self._amount(text), bag), self._dropped)

    def _dropped(self, drop: CashDrop) -> None:
        self._recorded()
        self._update(amount_text="", bag="")
        self._say(f"cash drop of {money(drop.amount)} in bag {drop.bag} recorded", INFO)
        self.refresh()

    def close_till(self) -> None:
        """Count out: the amount typed against what the till should hold."""
        text = self.state.amount_text
        self._call(lambda: self.register.close_till(self._amount(text)), self._closed)

    def _closed(self, result: TillClose) -> None:
        diff = result.over_short
        if diff.is_zero():
            verdict = f"the count matches: {money(result.counted)}"
        else:
            word = "over" if diff.minor > 0 else "short"
            verdict = f"{word} by {money(Money(abs(diff.minor), diff.currency))}"
        self._update(amount_text="", count_result=verdict)
        self.refresh()

    def _till_changed(self, till: Till) -> None:
        self._update(amount_text="")
        self.refresh()

    # --- no sale ----------------------------------------------------------------------------

    def no_sale(self, reason: str, manager_pin: str | None = None) -> None:
        """Open the drawer without a sale: recorded, with a manager's approval."""
        self._call(
            lambda: self.register.no_sale(manager_pin, reason),
            self._approved,
            retry=lambda pin: self.no_sale(reason, pin),
            approving=manager_pin is not None,
        )

    def _approved(self, manager: Cashier) -> None:
        self._recorded()
        self._say(f"no sale approved by {manager.name}", INFO)
        self._kick()

    def _kick(self) -> None:
        if self.drawer is None:
            self._update(drawer="no drawer is connected: open it with the key", drawer_ok=False)
            return
        self.device_runner.run(self.drawer.kick, self._kicked, self._kick_failed)

    def _kicked(self, result: KickResult) -> None:
        text, ok = kick_text(result)
        self._update(drawer=text, drawer_ok=ok)

    def _kick_failed(self, exc: Exception) -> None:
        if not isinstance(exc, DeviceError):
            raise exc
        text, ok = kick_text(exc)
        self._update(drawer=text, drawer_ok=ok)
