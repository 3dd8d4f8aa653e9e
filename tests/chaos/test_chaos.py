"""The chaos run in the suite: a short fixed-seed run (>= 100 faults) must lose nothing.

`make chaos` runs the long one (1,000 faults). Both print the same figures; see
`tests/chaos/harness.py` for what is injected and what the checker proves.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.harness import Plan, run
from tests.chaos.nemesis import Kind

SEED, FAULTS = 20261207, 120


@pytest.mark.slow
@pytest.mark.no_cover  # a soak over code the unit tests cover: tracing doubled its time
def test_a_seeded_chaos_run_loses_and_doubles_nothing(tmp_path: Path) -> None:
    figures = run(Plan(seed=SEED, faults=FAULTS, workdir=tmp_path))
    for line in figures.lines():
        print(line)
    assert not figures.problems, "\n".join(figures.problems)
    assert sum(figures.faults.values()) == FAULTS
    assert figures.lost == 0 and figures.duplicated == 0
    # the run proved something: sales flowed, the faults struck where they were meant to
    assert figures.sales_reported > 500, figures.lines()
    assert figures.kills_in_commit > 0 and figures.scale_faults > 0, figures.lines()
    assert figures.faults[Kind.BROKER_KILL.value] > 0, figures.lines()
    if Kind.DISK_FULL.value in figures.faults:
        assert figures.refused_storage_full > 0, "a full disk refused no sale"
    assert figures.drains_measured > 0 and figures.max_drain_after_heal_s < 60
