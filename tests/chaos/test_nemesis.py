"""The nemesis's schedule is a pure function of its seed; the drain-time bookkeeping."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from tests.chaos.harness import _whole_moments
from tests.chaos.nemesis import Kind, Lane, schedule


def test_the_same_seed_gives_the_same_schedule_and_another_seed_another() -> None:
    assert schedule(5, 200, 3, 2) == schedule(5, 200, 3, 2)
    assert schedule(5, 200, 3, 2) != schedule(6, 200, 3, 2)


def test_every_kind_is_drawn_and_each_lane_runs_one_fault_at_a_time() -> None:
    faults = schedule(11, 1000, 3, 2)
    assert len(faults) == 1000
    assert set(Counter(f.kind for f in faults)) == set(Kind)
    assert [f.at for f in faults] == sorted(f.at for f in faults)
    by_lane: dict[tuple[Lane, int], list[tuple[float, float]]] = {}
    for f in faults:
        by_lane.setdefault((f.lane, f.target), []).append((f.at, f.at + f.hold))
    assert len(by_lane) == 3 + 3 + 2 + 1
    for spans in by_lane.values():
        assert all(end <= nxt for (_, end), (nxt, _) in itertools.pairwise(spans))


def test_clock_jumps_stay_within_three_hours_and_excluded_kinds_never_come() -> None:
    faults = schedule(3, 2000, 3, 2, exclude={Kind.DISK_FULL})
    assert not any(f.kind is Kind.DISK_FULL for f in faults)
    for register in range(3):
        offset = 0.0
        for f in faults:
            if f.target == register and f.kind in (Kind.CLOCK_FORWARD, Kind.CLOCK_BACK):
                assert (f.size > 0) == (f.kind is Kind.CLOCK_FORWARD)
                offset += f.size
                assert abs(offset) <= 3 * 3600
    with pytest.raises(ValueError):
        schedule(1, 10, 0, 2)


def test_whole_moments_are_the_ends_of_overlapping_faults() -> None:
    broken = [(0.0, 2.0), (1.0, 3.0), (5.0, 6.0), (6.0, 7.0), (9.0, 9.5)]
    assert list(_whole_moments(broken)) == [(3.0, 5.0), (7.0, 9.0), (9.5, None)]
    assert list(_whole_moments([])) == []
