"""Recent sales with reprint: the latest sales on this register, whatever their state.

A reprint queues the receipt again (`Register.reprint`) and wakes the print
queue; the receipt comes out of the same queue as every other, in order.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.register import Register
from appliance.store.outbox import OutboxEntry
from appliance.ui.viewmodels.base import INFO, ScreenState, ViewModel
from appliance.ui.viewmodels.devices import PrintWaker, receipt_text
from appliance.ui.viewmodels.formatting import local_time
from appliance.ui.viewmodels.pending import STATE_LABELS, entry_total
from appliance.ui.viewmodels.runner import Runner


@dataclass(frozen=True, slots=True)
class SaleRow:
    """A recent sale: number, time, total and where it stands with the back office."""

    id: str
    number: str
    time: str
    total: str
    state: str


@dataclass(frozen=True, slots=True)
class RecentState(ScreenState):
    """The recent sales list."""

    rows: tuple[SaleRow, ...] = ()


class RecentSalesViewModel(ViewModel[RecentState]):
    """Recent sales and reprint (see the module docstring)."""

    def __init__(self, register: Register, runner: Runner, print_queue: PrintWaker | None) -> None:
        super().__init__(register, runner, RecentState())
        self.print_queue = print_queue

    def refresh(self, limit: int = 20) -> None:
        """Read the latest sales, newest first."""
        self._call(lambda: self.register.recent_sales(limit), self._show, keep_message=True)

    def _show(self, entries: list[OutboxEntry]) -> None:
        register, currency = self.register.queue.register, self.register.currency
        rows = tuple(
            SaleRow(
                e.id,
                f"{register}-{e.seq}",
                local_time(e.at),
                entry_total(e, currency),
                STATE_LABELS[e.state],
            )
            for e in entries
        )
        self._update(rows=rows)

    def reprint(self, sale_id: str) -> None:
        """Queue the sale's receipt again and print it."""
        self._call(lambda: self.register.reprint(sale_id), self._queued)

    def _queued(self, job: int) -> None:
        if self.print_queue is None:
            self._say(f"receipt queued (job {job}); no printer is connected", INFO)
            return
        self.print_queue.wake()
        self._say(f"reprint queued (job {job}): {receipt_text(self.print_queue.state)}", INFO)
