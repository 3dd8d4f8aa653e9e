"""The sync machine: sans-I/O, it decides what the link does with the outbox.

Theory of operation
-------------------
The outbox on disk is the only truth; this machine keeps nothing that matters
across a restart. Events come in (the link connected or dropped, an ack
arrived, entries were loaded, a timer fired), each with `now` (monotonic
seconds); actions come out (connect, load the next entries, send or resend
them, settle an entry, requeue what was in flight, publish our status, pull
catalogue changes, refresh balances). `next_deadline()` says when to call
again with a Timer if nothing else happens.

Draining: while online, the machine keeps up to `window` entries in flight,
loading the next unsent ones after the highest it has sent (W=1 is the
stop-and-wait of older systems). An entry without an ack by its deadline is
resent with the same bytes (the back office dedupes by id), and each resend
of it waits twice as long as the last (up to `resend_max`, scaled by a jitter
in [1, 1.5)): acks that are late because the link or the back office is
congested must not bring more copies of the same entries. An ack
`accepted` or `duplicate` confirms the entry, `rejected` keeps it with its
reason; either way the slot frees and the drain goes on. A disconnect
requeues everything in flight; the next connection starts again from the
oldest unsent entry. Paho's own QoS 1 state is never relied on: it lives in
memory and Mosquitto drops queued messages past a limit, so only the
application ack settles an entry.

The outbox is checked, not trusted to the count: a load the link could not
read (Loaded with no count), or one that comes back with nothing while more is
unsent than is in flight (acks it could not write left entries behind the
cursor), is tried again after `reconnect_min`, the latter from the oldest
unsent entry; until then the machine stays draining (no refresh can undo a
deduction it has not counted). And every status (`status_every`) loads again
whatever the count says.

Reconnects back off exponentially from `reconnect_min` to `reconnect_max`,
each delay scaled by a jitter in [0.5, 1) drawn from `rand`.

Refreshing: when nothing is unsent and the retained beacon says the back
office has a newer catalogue version than ours, the machine pulls the changes
since our version, then, again only with nothing unsent, asks for a full
refresh of balances and customers. A refresh is also due on every new
connection (while we were away other registers drew on the same gift cards
and store credit) and every `refresh_every` seconds while online, so a
balance drawn at another till reaches this one's cache without a restart.
The back office is authoritative, and with an empty outbox no local
deduction can be lost by overwriting; the link checks
that the outbox is still empty in the very transaction that applies a refresh,
and answers Refreshed(ok=False) if a sale slipped in.

States and the events each accepts are one table, TRANSITIONS; an event a
state does not list is a MachineError (a bug in the caller, never the network).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from appliance.sync.events import (
    AckReceived,
    AcksReceived,
    Action,
    BeaconSeen,
    Connect,
    Connected,
    ConnectFailed,
    Disconnected,
    Event,
    Load,
    Loaded,
    OutboxEntry,
    Pending,
    PublishStatus,
    Pull,
    Pulled,
    Refresh,
    Refreshed,
    Requeue,
    Send,
    Settle,
    Start,
    Timer,
)


class State(Enum):
    """Where the link is."""

    IDLE = "idle"  # not started
    OFFLINE = "offline"  # waiting to reconnect
    CONNECTING = "connecting"
    DRAINING = "draining"  # online, sending the outbox
    SYNCED = "synced"  # online, nothing unsent
    PULLING = "pulling"  # online, nothing unsent, fetching changes


ONLINE = (State.DRAINING, State.SYNCED, State.PULLING)


class MachineError(Exception):
    """An event the current state does not accept: a bug in the caller."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Tuning: window, ack deadline, reconnect backoff (seconds)."""

    window: int = 16
    ack_timeout: float = 10.0
    resend_max: float = 120.0
    reconnect_min: float = 1.0
    reconnect_max: float = 60.0
    status_every: float = 30.0
    refresh_every: float = 300.0


@dataclass(slots=True)
class _Flight:
    entry: OutboxEntry
    deadline: float
    sends: int = 1


@dataclass
class SyncMachine:
    """See the module docstring."""

    settings: Settings
    known_version: int = 0
    rand: Callable[[], float] = field(default=lambda: 0.5)
    state: State = State.IDLE
    unsent: int = 0
    in_flight: dict[str, _Flight] = field(default_factory=dict)
    cursor: int = 0  # the highest seq loaded since the connection came up
    beacon_version: int = 0
    _token: int = 0
    _loading: bool = False
    _failures: int = 0
    _reconnect_at: float | None = None
    _status_at: float | None = None
    _refresh_at: float | None = None
    _need_refresh: bool = False
    _periodic_at: float | None = None  # when the next periodic refresh falls due
    _reload_at: float | None = None  # when to look again after a load came back short

    # --- the one entry point ----------------------------------------------------------------

    def handle(self, event: Event) -> list[Action]:
        """Feed one event; return the actions to carry out, in order."""
        handler = TRANSITIONS.get((self.state, type(event)))
        if handler is None:
            raise MachineError(f"{type(event).__name__} is not expected while {self.state.value}")
        actions: list[Action] = []
        handler(self, event, actions)
        return actions

    def next_deadline(self) -> float | None:
        """When to call with a Timer if nothing else happens (None: no deadline)."""
        times = [f.deadline for f in self.in_flight.values()]
        times += [
            t
            for t in (
                self._reconnect_at,
                self._status_at,
                self._refresh_at,
                self._periodic_at,
                self._reload_at,
            )
            if t is not None
        ]
        return min(times) if times else None

    @property
    def status(self) -> str:
        """For the screen: online (synced), syncing or offline."""
        if self.state not in ONLINE:
            return "offline"
        busy = self.state is State.DRAINING or self.in_flight or self.unsent > 0
        return "syncing" if busy else "online"  # a sale made during a pull is being sent

    # --- handlers -------------------------------------------------------------------------------

    def _start(self, event: Start, out: list[Action]) -> None:
        self.state = State.CONNECTING
        out.append(Connect())

    def _connected(self, event: Connected, out: list[Action]) -> None:
        self._failures, self._reconnect_at = 0, None
        self.cursor, self._loading = 0, False
        self._status_at = event.now + self.settings.status_every
        self._periodic_at = event.now + self.settings.refresh_every
        self._need_refresh = True  # balances may have moved at other tills while we were away
        self.state = State.DRAINING
        out.append(PublishStatus(self.unsent))
        self._fill(out, force=True)

    def _offline(self, now: float) -> None:
        delay = min(self.settings.reconnect_max, self.settings.reconnect_min * 2**self._failures)
        self._failures += 1
        self._reconnect_at = now + delay * (0.5 + self.rand() / 2)
        self._status_at = self._periodic_at = self._reload_at = None
        self.state = State.OFFLINE

    def _connect_failed(self, event: ConnectFailed, out: list[Action]) -> None:
        self._offline(event.now)

    def _disconnected(self, event: Disconnected, out: list[Action]) -> None:
        if self.in_flight:
            out.append(Requeue())
        self.in_flight.clear()
        self._loading, self.cursor = False, 0
        self._token += 1  # a Loaded still on its way is stale
        self._offline(event.now)

    def _pending(self, event: Pending, out: list[Action]) -> None:
        self.unsent = event.unsent
        if self.state in ONLINE:
            self._fill(out)
            self._settle_state(event.now, out)

    def _loaded(self, event: Loaded, out: list[Action]) -> None:
        if event.token != self._token:
            return  # loaded for a connection that is gone
        self._loading = False
        if event.unsent is None:  # the outbox could not be read: nothing is known, ask again
            self._reload_at = event.now + self.settings.reconnect_min
            self._settle_state(event.now, out)
            return
        self.unsent = event.unsent
        fresh = tuple(e for e in event.entries if e.id not in self.in_flight)
        deadline = event.now + self.settings.ack_timeout
        for entry in fresh:
            self.in_flight[entry.id] = _Flight(entry, deadline)
            self.cursor = max(self.cursor, entry.seq)
        if fresh:
            out.append(Send(fresh))
        elif self.unsent > len(self.in_flight):
            # More is unsent than is in flight, yet nothing came: the load failed (the link
            # answers one that could not read the outbox with no entries), or entries lie
            # behind the cursor (acks that could not be written). Look again from the
            # oldest, after a pause, rather than never.
            self.cursor = 0
            self._reload_at = event.now + self.settings.reconnect_min
        self._settle_state(event.now, out)

    def _ack(self, event: AckReceived, out: list[Action]) -> None:
        self._acks(AcksReceived((event,), event.now), out)

    def _acks(self, event: AcksReceived, out: list[Action]) -> None:
        for ack in event.acks:
            out.append(Settle(ack.id, ack.status, ack.reason))
            if self.in_flight.pop(ack.id, None) is not None:
                self.unsent = max(self.unsent - 1, 0)
        if self.state in ONLINE:
            self._fill(out)
            self._settle_state(event.now, out)

    def _timer(self, event: Timer, out: list[Action]) -> None:
        now = event.now
        if self.state is State.OFFLINE and self._reconnect_at is not None:
            if now >= self._reconnect_at:
                self._reconnect_at = None
                self.state = State.CONNECTING
                out.append(Connect())
            return
        if self.state not in ONLINE:
            return
        expired = [f for f in self.in_flight.values() if f.deadline <= now]
        for flight in expired:
            flight.sends += 1
            flight.deadline = now + self._resend_wait(flight.sends)
        if expired:
            out.append(Send(tuple(f.entry for f in expired), resend=True))
        check = self._status_at is not None and now >= self._status_at
        if check:
            self._status_at = now + self.settings.status_every
            out.append(PublishStatus(self.unsent))
        if self._periodic_at is not None and now >= self._periodic_at:
            self._periodic_at = now + self.settings.refresh_every
            self._need_refresh = True
            self._settle_state(now, out)
        if self._refresh_at is not None and now >= self._refresh_at:
            self._refresh_at = None
            self._settle_state(now, out)
        # A load that failed or came back short is tried again; and with each status the
        # unsent count is checked against the outbox, so no miscount outlives a minute.
        due = self._reload_at is not None and now >= self._reload_at
        self._fill(out, force=check or due)
        if due and self._reload_at is not None:  # no room to load yet (the window is full)
            self._reload_at = now + self.settings.reconnect_min

    def _resend_wait(self, sends: int) -> float:
        """How long a copy sent for the `sends`-th time waits for its ack."""
        doubled: float = self.settings.ack_timeout * 2.0 ** min(sends - 1, 30)
        return min(doubled, self.settings.resend_max) * (1 + self.rand() / 2)

    def _beacon(self, event: BeaconSeen, out: list[Action]) -> None:
        self.beacon_version = max(self.beacon_version, event.version)
        if self.state is State.SYNCED:
            self._settle_state(event.now, out)

    def _pulled(self, event: Pulled, out: list[Action]) -> None:
        if event.version is None:  # failed: try again a little later
            self._retry_refresh(event.now)
            return
        self.known_version = max(self.known_version, event.version)
        self._need_refresh = True
        if self.known_version < self.beacon_version:  # the office has not caught up with
            self._retry_refresh(event.now)  # its own beacon yet: ask again later, not in a loop
            return
        self.state = State.SYNCED
        self._settle_state(event.now, out)

    def _refreshed(self, event: Refreshed, out: list[Action]) -> None:
        if not event.ok:
            self._retry_refresh(event.now)
            return
        self._need_refresh = False
        self.state = State.SYNCED
        self._settle_state(event.now, out)

    def _late_refresh(self, event: Pulled | Refreshed, out: list[Action]) -> None:
        """A pull or refresh answered after the link dropped or the outbox grew: ignored."""

    def _again(self, event: ConnectFailed | Disconnected, out: list[Action]) -> None:
        """A second report of a failure already handled (a refused CONNACK, then the close)."""

    def _retry_refresh(self, now: float) -> None:
        self.state = State.SYNCED
        self._refresh_at = now + self.settings.reconnect_min * 5

    # --- helpers --------------------------------------------------------------------------------

    def _fill(self, out: list[Action], force: bool = False) -> None:
        free = self.settings.window - len(self.in_flight)
        wanted = force or self.unsent > len(self.in_flight)
        if free > 0 and wanted and not self._loading:
            self._loading, self._reload_at = True, None  # its answer brings the count
            self._token += 1
            out.append(Load(self._token, self.cursor, free))

    def _settle_state(self, now: float, out: list[Action]) -> None:
        """Move between draining, synced and pulling once the outbox's state is known."""
        if self.state not in ONLINE or self.state is State.PULLING:
            return
        if self.in_flight or self._loading or self.unsent > 0 or self._reload_at is not None:
            self.state = State.DRAINING  # (a reload due: the outbox may hold more than we know)
            return
        self.state = State.SYNCED
        if self._refresh_at is not None:
            return  # a failed pull or refresh waits for its retry time
        if self.beacon_version > self.known_version:
            self.state = State.PULLING
            out.append(Pull(self.known_version))
        elif self._need_refresh:
            self.state = State.PULLING
            out.append(Refresh())


_Handler = Callable[[SyncMachine, Any, list[Action]], None]

_EVERYWHERE_ONLINE: dict[type, _Handler] = {
    Pending: SyncMachine._pending,
    Loaded: SyncMachine._loaded,
    AckReceived: SyncMachine._ack,
    AcksReceived: SyncMachine._acks,
    Timer: SyncMachine._timer,
    Disconnected: SyncMachine._disconnected,
    BeaconSeen: SyncMachine._beacon,
}
_WHILE_AWAY: dict[type, _Handler] = {
    Pending: SyncMachine._pending,
    Loaded: SyncMachine._loaded,
    AckReceived: SyncMachine._ack,  # acks delivered before the drop
    AcksReceived: SyncMachine._acks,
    Timer: SyncMachine._timer,
    BeaconSeen: SyncMachine._beacon,
    Pulled: SyncMachine._late_refresh,
    Refreshed: SyncMachine._late_refresh,
}

TRANSITIONS: dict[tuple[State, type], _Handler] = {
    (State.IDLE, Start): SyncMachine._start,
    (State.IDLE, Pending): SyncMachine._pending,
    **{(State.OFFLINE, e): h for e, h in _WHILE_AWAY.items()},
    (State.OFFLINE, ConnectFailed): SyncMachine._again,
    (State.OFFLINE, Disconnected): SyncMachine._again,
    **{(State.CONNECTING, e): h for e, h in _WHILE_AWAY.items()},
    (State.CONNECTING, Connected): SyncMachine._connected,
    (State.CONNECTING, ConnectFailed): SyncMachine._connect_failed,
    (State.CONNECTING, Disconnected): SyncMachine._connect_failed,
    **{(State.DRAINING, e): h for e, h in _EVERYWHERE_ONLINE.items()},
    **{(State.SYNCED, e): h for e, h in _EVERYWHERE_ONLINE.items()},
    **{(State.PULLING, e): h for e, h in _EVERYWHERE_ONLINE.items()},
    (State.DRAINING, Pulled): SyncMachine._late_refresh,
    (State.DRAINING, Refreshed): SyncMachine._late_refresh,
    (State.SYNCED, Pulled): SyncMachine._late_refresh,
    (State.SYNCED, Refreshed): SyncMachine._late_refresh,
    (State.PULLING, Pulled): SyncMachine._pulled,
    (State.PULLING, Refreshed): SyncMachine._refreshed,
}
"""(state, event type) -> handler. Anything missing is a MachineError."""
