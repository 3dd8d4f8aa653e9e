"""What every view model shares: a state snapshot, subscribers, and calls through a runner.

Theory of operation. A view model's `state` is a frozen dataclass holding
everything its screen shows, as display-ready text. An action never changes
widgets and never waits: it hands the register call to the `Runner` and
returns. When the call ends, the runner calls back (on the UI thread) and the
view model replaces its state, then tells each subscriber. So the Kivy layer
needs one rule: on a new state, redraw from it.

Errors. What the register refuses (`RegisterError`), what the rules refuse
(`DomainError`: an unknown barcode, a tender short), what storage refuses
(`StorageError`: full, timed out) and what a device refuses (`DeviceError`)
become `message` + `message_kind` on the state: the cashier reads them, the
screen never freezes. Two refusals mean more than a message: `NeedsManager`
opens the manager override (which retries the action with the PIN), and
`SaleRecorded` (a sale whose save timed out landed after all) is a paid sale.
Anything else is a programming error and is raised, not hidden.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Generic, Protocol, TypeVar

from appliance.domain.errors import DomainError
from appliance.register import NeedsConnection, NeedsManager, Register, RegisterError, SaleRecorded
from appliance.register_core import CompletedSale
from appliance.store.errors import StorageError, StorageFull, StorageTimeout
from appliance.ui.viewmodels.formatting import sentence
from appliance.ui.viewmodels.runner import Runner
from hw.ports import DeviceError

T = TypeVar("T")
S = TypeVar("S", bound="ScreenState")

INFO, WARNING, ERROR = "info", "warning", "error"
"""The values of `message_kind` (empty when there is no message); the palette colours them."""

USER_ERRORS: tuple[type[Exception], ...] = (RegisterError, DomainError, StorageError, DeviceError)
"""Refusals the cashier is shown; anything else escaping a call is a bug."""


@dataclass(frozen=True, slots=True)
class ScreenState:
    """Fields every screen's state has: a message for the cashier, and a busy flag.

    `busy` is True while a call is under way (the Kivy layer may dim the buttons).
    """

    message: str = ""
    message_kind: str = ""
    busy: bool = False


class Approver(Protocol):
    """The manager override as the screens see it (see `manager.ManagerOverride`)."""

    def ask(self, reason: str, retry: Callable[[str], None]) -> None:
        """Ask for a manager's PIN for `reason`; call `retry(pin)` when one is entered."""
        ...

    def close(self) -> None:
        """The action retried with the PIN is over: close the prompt."""
        ...


Listener = Callable[[Any], None]


class ViewModel(Generic[S]):
    """Base of the view models; see the module docstring."""

    def __init__(self, register: Register, runner: Runner, state: S) -> None:
        self.register, self.runner = register, runner
        self._state = state
        self._listeners: list[Listener] = []
        self._pending_jobs = 0
        self._batching = 0
        self._dirty = False
        self.approver: Approver | None = None
        # A sale whose save timed out was saved after all: the session shows it as paid.
        self.on_sale_recorded: Callable[[CompletedSale], None] | None = None

    # --- state and subscribers ------------------------------------------------------------

    @property
    def state(self) -> S:
        """The screen's whole visible state (immutable; replaced on every change)."""
        return self._state

    def subscribe(self, callback: Callable[[S], None]) -> Callable[[], None]:
        """Call `callback(state)` on every change; returns the function that unsubscribes."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback)

    def _update(self, **changes: Any) -> None:
        new = replace(self._state, **changes)
        if new == self._state:
            return
        self._state = new
        if self._batching:
            self._dirty = True
        else:
            self._notify()

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener(self._state)

    @contextmanager
    def _batch(self) -> Iterator[None]:
        """Several updates, one notification (a screen redraws once per action)."""
        self._batching += 1
        try:
            yield
        finally:
            self._batching -= 1
            if not self._batching and self._dirty:
                self._dirty = False
                self._notify()

    def _say(self, message: str, kind: str = INFO) -> None:
        self._update(message=sentence(message), message_kind=kind if message else "")

    def dismiss(self) -> None:
        """Clear the message."""
        self._update(message="", message_kind="")

    # --- calls ------------------------------------------------------------------------------

    def _call(
        self,
        fn: Callable[[], T],
        on_done: Callable[[T], None],
        *,
        retry: Callable[[str], None] | None = None,
        approving: bool = False,
        keep_message: bool = False,
    ) -> None:
        """Run `fn` through the runner; `on_done(result)` updates the state.

        `retry(pin)` repeats the action with a manager's PIN when the register asks
        for one; `approving` marks a call that carries that PIN (its success closes
        the prompt). A success clears the last message unless `keep_message`.
        """
        self._pending_jobs += 1
        self._update(busy=True)

        def done(result: T) -> None:
            with self._batch():
                self._finished()
                if not keep_message:
                    self._update(message="", message_kind="")
                if approving and self.approver is not None:
                    self.approver.close()
                on_done(result)

        def failed(exc: Exception) -> None:
            with self._batch():
                self._finished()
                if approving and self.approver is not None and not isinstance(exc, NeedsManager):
                    self.approver.close()  # refused for another reason: the message says why
                self._failed(exc, retry)

        self.runner.run(fn, done, failed)

    def _finished(self) -> None:
        self._pending_jobs -= 1
        self._update(busy=self._pending_jobs > 0)

    def _failed(self, exc: Exception, retry: Callable[[str], None] | None) -> None:
        if isinstance(exc, SaleRecorded):
            self._say(str(exc), INFO)
            if self.on_sale_recorded is not None:
                self.on_sale_recorded(exc.done)
        elif isinstance(exc, NeedsManager) and retry is not None and self.approver is not None:
            self._say(str(exc), WARNING)
            self.approver.ask(sentence(str(exc)), retry)
        elif isinstance(exc, StorageFull):
            self._say(
                f"{exc}. Nothing of this was saved and nothing is lost: call a "
                "technician to free space, then try again",
                ERROR,
            )
        elif isinstance(exc, (NeedsConnection, StorageTimeout)):
            self._say(str(exc), WARNING)
        elif isinstance(exc, USER_ERRORS):
            self._say(str(exc), ERROR)
        else:
            raise exc

    def needs_connection(self, feature: str) -> None:
        """A server-only feature (returns, server history, the card terminal): say so plainly."""
        self._call(lambda: self.register.needs_server(feature), lambda _: None)
