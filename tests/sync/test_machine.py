"""The sync machine against a model world: outbox, network and back office as plain data."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from appliance.sync import events as ev
from appliance.sync.machine import MachineError, Settings, State, SyncMachine


@dataclass
class World:
    """Everything outside the machine, as the link and the store would make it look."""

    window: int = 4
    now: float = 0.0
    states: dict[int, str] = field(
        default_factory=dict
    )  # seq -> pending|in_flight|confirmed|rejected
    ids: dict[int, str] = field(default_factory=dict)
    up: bool = False  # the broker connection
    connect_asked: bool = False
    to_office: deque[int] = field(default_factory=deque)
    to_register: deque[tuple[str, str, str]] = field(default_factory=deque)
    accepted: list[int] = field(default_factory=list)  # seqs, in the order the office took them
    office_seen: dict[str, str] = field(default_factory=dict)  # id -> first answer
    pull_asked: int | None = None
    refresh_asked: bool = False
    loads_fail: int = 0  # the store cannot read the next ones (the link answers: nothing)
    settles_lost: int = 0  # the store cannot write the next ones (the machine is not told)
    lost_any: bool = False  # then the machine's count can be wrong until its next check
    machine: SyncMachine = field(init=False)

    def __post_init__(self) -> None:
        self.machine = self._new_machine()

    def _new_machine(self) -> SyncMachine:
        return SyncMachine(Settings(window=self.window, ack_timeout=5.0, reconnect_min=1.0,
                                    reconnect_max=8.0))  # fmt: skip

    # --- driving the machine ------------------------------------------------------------

    def feed(self, event: ev.Event) -> None:
        events: deque[ev.Event] = deque([event])
        while events:
            for action in self.machine.handle(events.popleft()):
                follow = self.act(action)
                if follow is not None:
                    events.append(follow)

    def unsent(self) -> list[int]:
        return [s for s, st in sorted(self.states.items()) if st in ("pending", "in_flight")]

    def act(self, action: ev.Action) -> ev.Event | None:
        if isinstance(action, ev.Connect):
            self.connect_asked = True
        elif isinstance(action, ev.Load):
            if self.loads_fail:
                self.loads_fail -= 1
                return ev.Loaded(action.token, (), None, self.now)
            rows = [s for s in self.unsent() if s > action.after][: action.limit]
            entries = tuple(ev.OutboxEntry(s, self.ids[s]) for s in rows)
            return ev.Loaded(action.token, entries, len(self.unsent()), self.now)
        elif isinstance(action, ev.Send):
            for entry in action.entries:
                if self.states[entry.seq] in ("pending", "in_flight"):
                    self.states[entry.seq] = "in_flight"
                if self.up:
                    self.to_office.append(entry.seq)
        elif isinstance(action, ev.Settle):
            if self.settles_lost:
                self.settles_lost, self.lost_any = self.settles_lost - 1, True
                return None
            seq = next(s for s, i in self.ids.items() if i == action.id)
            if self.states[seq] != "confirmed":
                confirmed = action.status in ("accepted", "duplicate")
                self.states[seq] = "confirmed" if confirmed else "rejected"
        elif isinstance(action, ev.Requeue):
            for seq, state in self.states.items():
                if state == "in_flight":
                    self.states[seq] = "pending"
        elif isinstance(action, ev.Pull):
            self.pull_asked = action.since
        elif isinstance(action, ev.Refresh):
            # (the link refuses to apply one while anything is unsent, in the same transaction)
            assert self.lost_any or not self.unsent(), "a refresh could undo unsent deductions"
            self.refresh_asked = True
        return None

    # --- the world's moves ------------------------------------------------------------------

    def commit(self) -> None:
        seq = len(self.states) + 1
        self.states[seq], self.ids[seq] = "pending", f"id-{seq}"
        self.feed(ev.Pending(len(self.unsent()), self.now))

    def office_takes_one(self) -> None:
        seq = self.to_office.popleft()
        ident = self.ids[seq]
        if ident in self.office_seen:
            answer = "duplicate" if self.office_seen[ident] != "rejected" else "rejected"
        else:
            answer = "rejected" if seq % 7 == 0 else "accepted"
            self.office_seen[ident] = answer
            self.accepted.append(seq)
        reason = "no such store" if answer == "rejected" else ""
        if self.up:
            self.to_register.append((ident, answer, reason))

    def drop(self) -> None:
        self.up = False
        self.to_office.clear()
        self.to_register.clear()
        self.pull_asked, self.refresh_asked = None, False  # the link abandons its requests
        self.feed(ev.Disconnected(self.now))

    def advance(self, seconds: float) -> None:
        self.now += seconds
        deadline = self.machine.next_deadline()
        if deadline is not None and deadline <= self.now:
            self.feed(ev.Timer(self.now))

    def answer_connect(self, ok: bool) -> None:
        self.connect_asked = False
        self.up = ok
        self.feed(ev.Connected(self.now) if ok else ev.ConnectFailed(self.now))

    def restart(self) -> None:
        """The register process dies and comes back: the outbox survives, the machine does not."""
        self.up = False
        self.to_office.clear()
        self.to_register.clear()
        for seq, state in self.states.items():
            if state == "in_flight":
                self.states[seq] = "pending"
        self.connect_asked, self.pull_asked, self.refresh_asked = False, None, False
        self.machine = self._new_machine()
        self.feed(ev.Start(self.now))

    def heal_and_drain(self) -> None:
        """No more faults: run until nothing is unsent and nothing is moving."""
        for _ in range(10_000):
            if self.connect_asked:
                self.answer_connect(True)
            elif self.to_office:
                self.office_takes_one()
            elif self.to_register:
                ident, answer, reason = self.to_register.popleft()
                self.feed(ev.AckReceived(ident, answer, reason, self.now))
            elif self.unsent() or self.machine.state in (State.OFFLINE, State.CONNECTING):
                self.advance(1.0)
            else:
                return
        raise AssertionError("the outbox never drained")


class SyncModel(RuleBasedStateMachine):
    """Any interleaving of commits, drops, lost and duplicated messages and restarts."""

    def __init__(self) -> None:
        super().__init__()
        self.world = World()
        self.world.feed(ev.Start(0.0))

    @rule(window=st.sampled_from([1, 4, 32]))
    def pick_window(self, window: int) -> None:
        if not self.world.states:
            self.world = World(window=window)
            self.world.feed(ev.Start(0.0))

    @rule()
    def commit(self) -> None:
        self.world.commit()

    @precondition(lambda self: self.world.connect_asked)
    @rule(ok=st.booleans())
    def answer_connect(self, ok: bool) -> None:
        self.world.answer_connect(ok)

    @precondition(lambda self: bool(self.world.to_office))
    @rule()
    def office_takes_one(self) -> None:
        self.world.office_takes_one()

    @precondition(lambda self: bool(self.world.to_office))
    @rule()
    def message_lost(self) -> None:
        self.world.to_office.popleft()

    @precondition(lambda self: bool(self.world.to_register))
    @rule()
    def ack_arrives(self) -> None:
        ident, answer, reason = self.world.to_register.popleft()
        self.world.feed(ev.AckReceived(ident, answer, reason, self.world.now))

    @precondition(lambda self: len(self.world.to_register) >= 2)
    @rule(count=st.integers(2, 5))
    def acks_arrive_together(self, count: int) -> None:
        world = self.world
        acks = []
        while world.to_register and len(acks) < count:
            ident, answer, reason = world.to_register.popleft()
            acks.append(ev.AckReceived(ident, answer, reason, world.now))
        world.feed(ev.AcksReceived(tuple(acks), world.now))

    @precondition(lambda self: bool(self.world.to_register))
    @rule()
    def ack_lost(self) -> None:
        self.world.to_register.popleft()

    @precondition(lambda self: bool(self.world.to_register))
    @rule()
    def ack_duplicated(self) -> None:
        self.world.to_register.appendleft(self.world.to_register[0])

    @precondition(lambda self: self.world.up)
    @rule()
    def link_drops(self) -> None:
        self.world.drop()

    @rule(seconds=st.sampled_from([0.5, 3.0, 6.0, 20.0]))
    def time_passes(self, seconds: float) -> None:
        self.world.advance(seconds)

    @rule()
    def storage_fails_a_load(self) -> None:
        self.world.loads_fail += 1

    @rule()
    def storage_loses_a_settle(self) -> None:
        self.world.settles_lost += 1

    @rule()
    def register_restarts(self) -> None:
        self.world.restart()

    @rule(version=st.integers(0, 5))
    def beacon(self, version: int) -> None:
        self.world.feed(ev.BeaconSeen(version, self.world.now))

    @precondition(lambda self: self.world.pull_asked is not None)
    @rule(ok=st.booleans())
    def pull_answers(self, ok: bool) -> None:
        self.world.pull_asked = None
        self.world.feed(ev.Pulled(5 if ok else None, self.world.now))

    @precondition(lambda self: self.world.refresh_asked)
    @rule(ok=st.booleans())
    def refresh_answers(self, ok: bool) -> None:
        self.world.refresh_asked = False
        self.world.feed(ev.Refreshed(ok and not self.world.unsent(), self.world.now))

    @invariant()
    def never_more_in_flight_than_the_window(self) -> None:
        assert len(self.world.machine.in_flight) <= self.world.window

    def teardown(self) -> None:
        world = self.world
        world.heal_and_drain()
        assert not world.unsent(), "an entry was never settled"
        assert sorted(world.accepted) == sorted(world.states), "lost or counted twice"
        assert len(world.accepted) == len(set(world.accepted))
        for seq, state in world.states.items():
            expected = "rejected" if seq % 7 == 0 else "confirmed"
            assert state == expected, f"entry {seq} is {state}"
        if world.window == 1:
            assert world.accepted == sorted(world.accepted), "stop-and-wait keeps order"


SyncModel.TestCase.settings = settings(max_examples=150, stateful_step_count=60, deadline=None)
TestSyncModel = SyncModel.TestCase


# --- specific behaviour -----------------------------------------------------------------------


def started(window: int = 2) -> World:
    """Connected, its outbox empty, the refresh every connection asks for answered."""
    world = World(window=window)
    world.feed(ev.Start(0.0))
    world.answer_connect(True)
    assert world.refresh_asked and world.machine.state is State.PULLING
    world.refresh_asked = False
    world.feed(ev.Refreshed(True, world.now))
    assert world.machine.state is State.SYNCED
    return world


def test_drains_with_a_window_and_frees_slots_on_acks() -> None:
    world = started(window=2)
    for _ in range(3):
        world.commit()
    assert list(world.to_office) == [1, 2], "two in flight, the third waits"
    assert world.machine.status == "syncing"
    world.office_takes_one()
    ident, answer, reason = world.to_register.popleft()
    world.feed(ev.AckReceived(ident, answer, reason, world.now))
    assert list(world.to_office) == [2, 3]
    world.heal_and_drain()
    assert world.machine.state is State.SYNCED and world.machine.status == "online"


def test_an_unacked_entry_is_resent_with_the_same_id_after_its_deadline() -> None:
    world = started()
    world.commit()
    world.to_office.clear()  # lost on the way
    world.advance(4.9)
    assert not world.to_office
    world.advance(0.2)
    assert list(world.to_office) == [1]
    assert world.machine.in_flight["id-1"].sends == 2


def test_reconnects_back_off_exponentially_up_to_the_cap() -> None:
    world = World()
    world.feed(ev.Start(0.0))
    delays = []
    for _ in range(6):
        world.answer_connect(False)
        deadline = world.machine.next_deadline()
        assert deadline is not None
        delays.append(deadline - world.now)
        world.now = deadline
        world.feed(ev.Timer(world.now))
        assert world.connect_asked
    assert delays == [0.75, 1.5, 3.0, 6.0, 6.0, 6.0]  # jitter 0.5 -> x0.75; cap 8 -> 6


def test_a_disconnect_requeues_and_a_stale_load_is_ignored() -> None:
    world = started()
    world.commit()
    machine = world.machine
    token = machine._token
    world.drop()
    assert world.states[1] == "pending" and machine.state is State.OFFLINE
    assert machine.status == "offline"
    assert machine.handle(ev.Loaded(token, (ev.OutboxEntry(1, "id-1"),), 1, world.now)) == []
    assert not machine.in_flight


def test_pull_then_refresh_only_with_an_empty_outbox() -> None:
    world = started()
    world.commit()
    world.feed(ev.BeaconSeen(3, world.now))
    assert world.pull_asked is None, "never while something is unsent"
    world.heal_and_drain()
    assert world.pull_asked == 0 and world.machine.state is State.PULLING
    world.commit()  # a sale while pulling: it is sent, the refresh waits for it
    world.feed(ev.Pulled(3, world.now))
    assert not world.refresh_asked
    world.heal_and_drain()
    assert world.refresh_asked and world.machine.known_version == 3
    world.feed(ev.Refreshed(True, world.now))
    assert world.machine.state is State.SYNCED


def test_a_failed_pull_is_retried_later() -> None:
    world = started()
    world.feed(ev.Pending(0, world.now))
    world.heal_and_drain()
    world.feed(ev.BeaconSeen(2, world.now))
    world.feed(ev.Pulled(None, world.now))
    assert world.machine.state is State.SYNCED and world.pull_asked == 0
    world.pull_asked = None
    world.advance(6.0)
    assert world.pull_asked == 0, "asked again after the retry delay"


def test_status_is_published_on_connect_and_periodically() -> None:
    machine = SyncMachine(Settings(status_every=30.0))
    machine.handle(ev.Start(0.0))
    actions = machine.handle(ev.Connected(1.0))
    assert ev.PublishStatus(0) in actions
    machine.handle(ev.Loaded(machine._token, (), 0, 1.0))
    assert ev.PublishStatus(0) in machine.handle(ev.Timer(31.0))


def test_an_event_a_state_does_not_expect_is_a_machine_error() -> None:
    machine = SyncMachine(Settings())
    with pytest.raises(MachineError, match="Connected is not expected while idle"):
        machine.handle(ev.Connected(0.0))


def test_a_failure_reported_twice_is_handled_once() -> None:
    world = World()
    world.feed(ev.Start(0.0))
    world.answer_connect(False)
    deadline = world.machine.next_deadline()
    assert world.machine.handle(ev.ConnectFailed(0.1)) == []
    assert world.machine.handle(ev.Disconnected(0.1)) == []
    assert world.machine.next_deadline() == deadline, "no second backoff step"


def test_each_resend_of_an_entry_waits_twice_as_long_up_to_the_cap() -> None:
    settings = Settings(ack_timeout=10.0, resend_max=35.0, status_every=1e9)
    machine = SyncMachine(settings, rand=lambda: 0.5)
    machine.handle(ev.Start(0.0))
    machine.handle(ev.Connected(0.0))
    machine.handle(ev.Loaded(machine._token, (ev.OutboxEntry(1, "id-1"),), 1, 0.0))
    sent_at, now = [], 0.0
    for _ in range(5):
        deadline = machine.next_deadline()
        assert deadline is not None
        now = deadline
        actions = machine.handle(ev.Timer(now))
        assert ev.Send((ev.OutboxEntry(1, "id-1"),), resend=True) in actions
        sent_at.append(now)
    waits = [b - a for a, b in zip([0.0, *sent_at], sent_at, strict=False)]
    # first copy: ack_timeout; each resend doubles it (x1.25 jitter), capped at 35 s (x1.25)
    assert waits == [10.0, 25.0, 43.75, 43.75, 43.75]
    machine.handle(ev.AckReceived("id-1", "accepted", "", now))
    assert not machine.in_flight, "the ack ends the resends"


def test_balances_are_refreshed_on_each_connection_and_periodically() -> None:
    world = started()  # the first refresh was asked on connect (asserted there)
    world.advance(299.0)
    assert not world.refresh_asked
    world.advance(2.0)
    # the simulated clock crossed refresh_every (300 s): the machine's own timer fired
    assert world.refresh_asked, "the periodic refresh timer asks again while online"
    world.refresh_asked = False
    world.feed(ev.Refreshed(True, world.now))
    world.drop()
    world.advance(10.0)  # reconnects
    world.answer_connect(True)
    assert world.refresh_asked, "other tills drew on the balances while we were away"


def test_a_periodic_refresh_waits_for_the_outbox_and_shows_syncing_meanwhile() -> None:
    world = started()
    world.commit()
    world.advance(301.0)  # due, but an entry is in flight: not now
    assert not world.refresh_asked and world.machine.status == "syncing"
    world.heal_and_drain()
    assert world.refresh_asked and world.machine.state is State.PULLING
    world.commit()  # a sale while the refresh is out: sent at once, and shown
    assert world.machine.status == "syncing" and list(world.to_office) == [2]
