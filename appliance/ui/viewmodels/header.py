"""The header on the sell screen: connection indicator, pending badge, who is selling.

The indicator comes from the sync link (`SyncLink.status().state`: online,
syncing, offline); without a link the register is offline. The badge counts
what the outbox holds that has not reached the back office: unsent plus
rejected (a rejected sale stays visible until someone deals with it), read
from storage by `Register.status()`, which is the truth even when the link
has not caught up. The Kivy layer calls `refresh()` on a timer and after every
commit; the counts are one cheap read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from appliance.register import Register, Status
from appliance.ui.viewmodels.base import ScreenState, ViewModel
from appliance.ui.viewmodels.formatting import CONNECTION
from appliance.ui.viewmodels.runner import Runner


class LinkState(Protocol):
    """What the header reads of a link status (`appliance.sync.link.LinkStatus` has it)."""

    @property
    def state(self) -> str:
        """online | syncing | offline."""
        ...


class StatusSource(Protocol):
    """Anything with the sync link's `status()` (the link itself; a fake in tests)."""

    def status(self) -> LinkState:
        """The link's current state."""
        ...


@dataclass(frozen=True, slots=True)
class HeaderState(ScreenState):
    """The header as shown. `connection_color` is a palette role: green, blue or amber."""

    connection: str = "Offline"
    connection_color: str = "amber"
    pending: int = 0
    pending_text: str = ""
    unsent: int = 0
    rejected: int = 0
    cashier: str = ""
    store: str = ""
    register_name: str = ""


class HeaderViewModel(ViewModel[HeaderState]):
    """Connection indicator and pending badge (see the module docstring)."""

    def __init__(self, register: Register, runner: Runner, link: StatusSource | None) -> None:
        section = register.config.register
        super().__init__(
            register,
            runner,
            HeaderState(
                store=section.store_name or section.store,
                register_name=section.name or section.id,
            ),
        )
        self.link = link

    def refresh(self) -> None:
        """Read the link state and the outbox counts again."""

        def read() -> tuple[str, Status]:
            state = self.link.status().state if self.link is not None else "offline"
            return state, self.register.status()

        self._call(read, self._show, keep_message=True)

    def _show(self, found: tuple[str, Status]) -> None:
        link_state, status = found
        label, color = CONNECTION.get(link_state, CONNECTION["offline"])
        pending = status.unsent + status.rejected
        self._update(
            connection=label,
            connection_color=color,
            pending=pending,
            pending_text=str(pending) if pending else "",
            unsent=status.unsent,
            rejected=status.rejected,
            cashier=status.cashier or "",
        )
