"""What every sans-I/O status query shares: request bytes out, once each, and one deadline.

A query is started at `now` and must be done within `timeout` seconds. The
caller sends `data_to_send()`, feeds what arrives, in any chunking, to
`receive_data()`, waits no later than `next_deadline()` and calls
`handle_timer(now)` once it has passed, until `done`; `hw.drivers.transports`
has that loop over any link (`run_query`). What an answer is, the states and
their transition table belong to each protocol's query
(`hw.protocols.escpos_status.StatusQuery`,
`hw.protocols.label_status.LabelStatusQuery`); this base holds only what has
no protocol in it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from enum import Enum
from typing import Generic, TypeVar

StateT = TypeVar("StateT", bound=Enum)


class DeadlineQuery(ABC, Generic[StateT]):
    """A request/answer exchange with one deadline, sans-I/O; see the module docstring."""

    def __init__(self, now: float, timeout: float, request: bytes, state: StateT) -> None:
        """Start at `now`, due within `timeout` s, with `request` to send, in `state`."""
        self._deadline = now + timeout
        self._outgoing = request
        self._state = state

    @property
    def state(self) -> StateT:
        """Where the query stands."""
        return self._state

    @property
    @abstractmethod
    def done(self) -> bool:
        """True once the query is complete, timed out or failed."""
        raise NotImplementedError

    @abstractmethod
    def receive_data(self, data: bytes) -> None:
        """Take answer bytes, in any chunking; the protocol's `CodecError` for bytes that
        cannot be the answer (the query then fails) or that arrive when none is due."""
        raise NotImplementedError

    @abstractmethod
    def _time_out(self) -> None:
        """Move to the timed-out state (called once, by `handle_timer`, while not done)."""
        raise NotImplementedError

    def data_to_send(self) -> bytes:
        """The request bytes due now (each only once)."""
        data, self._outgoing = self._outgoing, b""
        return data

    def handle_timer(self, now: float) -> None:
        """Time out if `now` is at or past the deadline (a late or early call is harmless)."""
        if not self.done and now >= self._deadline:
            self._time_out()

    def next_deadline(self) -> float | None:
        """When `handle_timer` must be called next; None once done."""
        return None if self.done else self._deadline
