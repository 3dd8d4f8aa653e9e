"""`make chaos`: the long chaos run, its figures and BENCH lines (see harness.py).

    python -m tests.chaos [--faults 1000] [--seed 20261206] [--keep DIR]

Exit code 0 only if nothing was lost or duplicated and every check held.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from tests.chaos.harness import Plan, clean, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--faults", type=int, default=1000, help="faults to inject")
    parser.add_argument("--seed", type=int, default=20261206, help="the nemesis's seed")
    parser.add_argument("--keep", type=Path, help="run in DIR and keep it (logs, data)")
    args = parser.parse_args(argv)
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="chaos-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        figures = run(Plan(seed=args.seed, faults=args.faults, workdir=workdir))
    finally:
        if args.keep is None:
            clean(workdir)
    for line in figures.lines():
        print(line)
    print(f"BENCH chaos_faults {sum(figures.faults.values())}")
    print(f"BENCH chaos_lost {figures.lost}")
    print(f"BENCH chaos_duplicated {figures.duplicated}")
    print(f"BENCH chaos_max_drain_after_heal_s {figures.max_drain_after_heal_s:.2f}")
    return 1 if figures.problems else 0


if __name__ == "__main__":
    sys.exit(main())
