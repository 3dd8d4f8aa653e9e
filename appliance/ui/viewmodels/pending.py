"""The pending screen: every entry not yet accepted by the back office, with its detail.

Peers' registers show only a count; a cashier at cash-up needs to see which sale
is waiting, since when, and why a rejected one was refused. The list is the
register's (`Register.pending`: unsent and rejected, oldest first), refreshed on
demand; the header's badge keeps the count live.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.domain.money import Money
from appliance.register import Register
from appliance.store.outbox import EntryState, OutboxEntry
from appliance.ui.viewmodels.base import ScreenState, ViewModel
from appliance.ui.viewmodels.formatting import local_time, money
from appliance.ui.viewmodels.runner import Runner

STATE_LABELS = {
    EntryState.PENDING: "waiting to send",
    EntryState.IN_FLIGHT: "sent, awaiting reply",
    EntryState.CONFIRMED: "accepted",
    EntryState.REJECTED: "rejected",
}
KIND_LABELS = {
    "sale": "Sale",
    "cashdrop": "Cash drop",
    "timeclock": "Time clock",
    "nosale": "No sale",
}


@dataclass(frozen=True, slots=True)
class PendingRow:
    """One entry waiting: when, what, how much, where it stands and why."""

    id: str
    seq: int
    time: str
    kind: str
    total: str
    state: str
    reason: str
    rejected: bool


@dataclass(frozen=True, slots=True)
class PendingState(ScreenState):
    """The pending list and its counts."""

    rows: tuple[PendingRow, ...] = ()
    summary: str = ""


def entry_total(entry: OutboxEntry, currency: str) -> str:
    """The entry's total as recorded in its summary ("" for entries without one)."""
    minor = entry.summary.get("total")
    return money(Money(minor, currency)) if isinstance(minor, int) else ""


def pending_row(entry: OutboxEntry, currency: str) -> PendingRow:
    """An outbox entry as the pending list shows it."""
    return PendingRow(
        entry.id,
        entry.seq,
        local_time(entry.at),
        KIND_LABELS.get(entry.kind, entry.kind),
        entry_total(entry, currency),
        STATE_LABELS[entry.state],
        entry.reason,
        entry.state is EntryState.REJECTED,
    )


class PendingViewModel(ViewModel[PendingState]):
    """The pending list (see the module docstring)."""

    def __init__(self, register: Register, runner: Runner) -> None:
        super().__init__(register, runner, PendingState())

    def refresh(self) -> None:
        """Read the list again."""
        self._call(self.register.pending, self._show, keep_message=True)

    def _show(self, entries: list[OutboxEntry]) -> None:
        rows = tuple(pending_row(e, self.register.currency) for e in entries)
        rejected = sum(1 for r in rows if r.rejected)
        waiting = len(rows) - rejected
        if not rows:
            summary = "nothing waiting: every sale reached the back office"
        else:
            summary = f"{waiting} waiting to send, {rejected} rejected"
        self._update(rows=rows, summary=summary)
