"""`make run`'s demo, run as a person runs it: broker, back office and register, one sale."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_sale_reaches_the_back_office_and_runs_add_up(tmp_path: Path) -> None:
    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "devstack.demo", "--var", str(tmp_path),
                               "--no-window"],
                              capture_output=True, text=True, cwd=ROOT, timeout=120)  # fmt: skip

    first = run()
    assert first.returncode == 0, first.stdout + first.stderr
    assert "TOTAL CAD                                  87.31" in first.stdout, "as printed"
    assert "printer     receipt printed" in first.stdout
    assert "drawer      opened: the drawer reported open" in first.stdout
    assert "scale       reads 0.742 kg stable" in first.stdout
    assert "sale till-1-1: confirmed by the back office" in first.stdout
    assert "Recorded offline" not in first.stdout, "rung up while connected"
    second = run()
    assert "sale till-1-2: confirmed by the back office" in second.stdout, second.stderr
    row = next(line for line in second.stdout.splitlines() if line.startswith("demo-store"))
    assert row.split()[3:5] == ["2", "174.62"], row
