"""What goes in and out of the sync machine: events (with `now`) and actions.

Events are what happened (the link connected, an ack arrived, entries were
loaded, a timer fired); actions are what the machine asks the link to do. Both
are frozen values, so a test can write down a whole conversation with the
machine and compare it. See `appliance.sync.machine` for what each means there.
`grouped` folds the acks that arrived together into one AcksReceived.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- events ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Start:
    """The machine starts (register boot)."""

    now: float


@dataclass(frozen=True, slots=True)
class Connected:
    """The link is up and subscribed."""

    now: float


@dataclass(frozen=True, slots=True)
class ConnectFailed:
    """A connection attempt failed."""

    now: float


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The link dropped."""

    now: float


@dataclass(frozen=True, slots=True)
class Pending:
    """A new entry was committed locally; `unsent` is the outbox's unsent count now."""

    unsent: int
    now: float


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """What the machine knows of an entry: its place and its id."""

    seq: int
    id: str


@dataclass(frozen=True, slots=True)
class Loaded:
    """The answer to Load: the next unsent entries (in sequence order) and the unsent count
    (None: the outbox could not be read, so nothing is known; the machine asks again)."""

    token: int
    entries: tuple[OutboxEntry, ...]
    unsent: int | None
    now: float


@dataclass(frozen=True, slots=True)
class AckReceived:
    """The back office's ack of an entry."""

    id: str
    status: str
    reason: str
    now: float


@dataclass(frozen=True, slots=True)
class AcksReceived:
    """Several acks that arrived together: settled together, then one refill."""

    acks: tuple[AckReceived, ...]
    now: float


@dataclass(frozen=True, slots=True)
class Timer:
    """A deadline passed."""

    now: float


@dataclass(frozen=True, slots=True)
class BeaconSeen:
    """The retained catalogue version beacon."""

    version: int
    now: float


@dataclass(frozen=True, slots=True)
class Pulled:
    """Catalogue changes up to `version` were applied to the cache (or the pull failed)."""

    version: int | None
    now: float


@dataclass(frozen=True, slots=True)
class Refreshed:
    """Balances and customers were refreshed (ok False: it failed; try again later)."""

    ok: bool
    now: float


Event = (
    Start | Connected | ConnectFailed | Disconnected | Pending | Loaded | AckReceived
    | AcksReceived | Timer
    | BeaconSeen | Pulled | Refreshed
)  # fmt: skip


def grouped(events: list[Event]) -> list[Event]:
    """Consecutive acks become one AcksReceived: settled together, refilled once."""
    out: list[Event] = []
    for event in events:
        if isinstance(event, AckReceived) and out and isinstance(out[-1], AckReceived):
            out[-1] = AcksReceived((out[-1], event), event.now)
        elif isinstance(event, AckReceived) and out and isinstance(out[-1], AcksReceived):
            out[-1] = AcksReceived((*out[-1].acks, event), event.now)
        else:
            out.append(event)
    return out


# --- actions ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Connect:
    """Open the connection; answer with Connected or ConnectFailed."""


@dataclass(frozen=True, slots=True)
class Load:
    """Read up to `limit` unsent entries with seq > `after`; answer with Loaded(token)."""

    token: int
    after: int
    limit: int


@dataclass(frozen=True, slots=True)
class Send:
    """Publish these entries' stored bytes (mark them in flight)."""

    entries: tuple[OutboxEntry, ...]
    resend: bool = False


@dataclass(frozen=True, slots=True)
class Settle:
    """Mark an entry confirmed (accepted, duplicate) or rejected (with the reason)."""

    id: str
    status: str
    reason: str


@dataclass(frozen=True, slots=True)
class Requeue:
    """Everything in flight is pending again."""


@dataclass(frozen=True, slots=True)
class PublishStatus:
    """Publish the retained presence with the unsent count."""

    unsent: int


@dataclass(frozen=True, slots=True)
class Pull:
    """Fetch catalogue/settings changes since `since`; answer with Pulled."""

    since: int


@dataclass(frozen=True, slots=True)
class Refresh:
    """Fetch all balances and customers; answer with Refreshed."""


Action = Connect | Load | Send | Settle | Requeue | PublishStatus | Pull | Refresh
