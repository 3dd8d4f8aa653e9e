"""The nemesis's schedule: which fault, where, when and for how long, from a seed alone.

Pure: `schedule(seed, faults, registers, consumers)` is the same list for the same
arguments, so a failing run is replayed by its seed. Faults are laid out on lanes, one
per thing that can break: each register (its process, clock, disk, scale, printer), each
register's network link (its proxy), each back office consumer, and the broker. A lane
runs its faults one after another (a fault heals before the next one on the lane
starts: a register is not killed while already dead); lanes run at the same time, so
faults overlap across them: a link is cut while the broker restarts while a consumer is
killed. Gaps between faults on a lane are exponential (a Poisson process per lane).
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Set
from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    """Every fault the chaos run injects."""

    REGISTER_KILL_COMMIT = "register_kill_mid_commit"  # SIGKILL inside a commit
    REGISTER_KILL_DRAIN = "register_kill_mid_drain"  # SIGKILL with entries in flight
    CLOCK_FORWARD = "clock_jump_forward"
    CLOCK_BACK = "clock_jump_back"
    DISK_FULL = "disk_full"
    SCALE_GARBAGE = "scale_garbage"
    PAPER_OUT = "printer_paper_out"
    LINK_CUT = "link_cut"
    HALF_OPEN = "link_half_open"  # black-holed without a close: only keepalives notice
    LATENCY = "link_latency"
    LOSS = "link_loss"
    CONSUMER_KILL = "consumer_kill_mid_transaction"
    BROKER_KILL = "broker_kill"


class Lane(Enum):
    REGISTER = "register"
    LINK = "link"
    CONSUMER = "consumer"
    BROKER = "broker"


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault: planned start (seconds from the run's start), where, how long, how hard.

    `hold` is how long it lasts before it heals (for a kill: until the restart);
    `size` is the fault's own figure: the jump in seconds, the latency in seconds, the
    loss probability; 0 where it has none.
    """

    at: float
    kind: Kind
    lane: Lane
    target: int
    hold: float
    size: float = 0.0


# Per lane: the mean gap (s), then each kind with its weight and hold range (s). Half-open
# holds straddle the keepalive (5 s, noticed in 7.5): some heal unnoticed, most do not.
_LANES: dict[Lane, tuple[float, tuple[tuple[Kind, float, float, float], ...]]] = {
    Lane.REGISTER: (1.5, (
        (Kind.REGISTER_KILL_COMMIT, 2.0, 0.2, 1.0),
        (Kind.REGISTER_KILL_DRAIN, 2.0, 0.2, 1.0),
        (Kind.CLOCK_FORWARD, 1.0, 0.0, 0.0),
        (Kind.CLOCK_BACK, 1.0, 0.0, 0.0),
        (Kind.DISK_FULL, 1.5, 0.5, 2.5),
        (Kind.SCALE_GARBAGE, 1.5, 0.5, 2.0),
        (Kind.PAPER_OUT, 1.5, 0.5, 2.5),
    )),
    Lane.LINK: (1.5, (
        (Kind.LINK_CUT, 2.0, 0.3, 2.5),
        (Kind.HALF_OPEN, 2.0, 2.0, 10.0),
        (Kind.LATENCY, 1.5, 1.0, 3.0),
        (Kind.LOSS, 1.5, 1.0, 3.0),
    )),
    Lane.CONSUMER: (5.0, ((Kind.CONSUMER_KILL, 1.0, 0.2, 2.0),)),
    Lane.BROKER: (6.0, ((Kind.BROKER_KILL, 1.0, 0.2, 1.5),)),
}  # fmt: skip


def schedule(
    seed: int, faults: int, registers: int, consumers: int, exclude: Set[Kind] = frozenset()
) -> list[Fault]:
    """The first `faults` faults over every lane, in order of planned start; `exclude`:
    kinds this machine cannot inject (a full disk needs root to mount a small tmpfs)."""
    if faults < 0 or registers < 1 or consumers < 1:
        raise ValueError("faults >= 0, at least one register and one consumer")
    rng = random.Random(seed)
    lanes = [(lane, i) for lane, n in ((Lane.REGISTER, registers), (Lane.LINK, registers),
             (Lane.CONSUMER, consumers), (Lane.BROKER, 1)) for i in range(n)]  # fmt: skip
    # the next planned fault of each lane, in a heap by start time
    heap: list[tuple[float, int, Fault]] = []
    for order, (lane, target) in enumerate(lanes):
        first = _draw(rng, lane, target, 0.0, exclude)
        heapq.heappush(heap, (first.at, order, first))
    out: list[Fault] = []
    clock_offsets = [0.0] * registers
    while len(out) < faults:
        _, order, fault = heapq.heappop(heap)
        if fault.kind in (Kind.CLOCK_FORWARD, Kind.CLOCK_BACK):
            fault = _jump(rng, fault, clock_offsets)
        out.append(fault)
        lane, target = lanes[order]
        following = _draw(rng, lane, target, fault.at + fault.hold, exclude)
        heapq.heappush(heap, (following.at, order, following))
    return out


def _draw(rng: random.Random, lane: Lane, target: int, free_at: float, exclude: Set[Kind]) -> Fault:
    mean_gap, kinds = _LANES[lane]
    weights = [0.0 if k[0] in exclude else k[1] for k in kinds]
    kind, _, low, high = rng.choices(kinds, weights=weights)[0]
    at = free_at + rng.expovariate(1.0 / mean_gap)
    hold = round(rng.uniform(low, high), 3)
    size = 0.0
    if kind is Kind.LATENCY:
        size = round(rng.uniform(0.02, 0.25), 3)  # one way, seconds
    elif kind is Kind.LOSS:
        size = round(rng.uniform(0.05, 0.3), 3)  # of the chunks, each stalled 200 ms
    return Fault(round(at, 3), kind, lane, target, hold, size)


def _jump(rng: random.Random, fault: Fault, offsets: list[float]) -> Fault:
    """A jump of 1 minute to 2 hours; the direction follows the kind drawn, except that a
    register's clock never wanders more than 3 hours from the truth."""
    seconds = round(rng.uniform(60, 7200))
    offset = offsets[fault.target]
    forward = fault.kind is Kind.CLOCK_FORWARD
    if abs(offset + (seconds if forward else -seconds)) > 3 * 3600:
        forward = not forward
    offsets[fault.target] = offset + (seconds if forward else -seconds)
    kind = Kind.CLOCK_FORWARD if forward else Kind.CLOCK_BACK
    return Fault(fault.at, kind, fault.lane, fault.target, 0.0, seconds if forward else -seconds)
