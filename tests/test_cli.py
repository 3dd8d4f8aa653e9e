"""The command lines as a person runs them: real processes, real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, cwd=ROOT, timeout=60
    )


def test_demo_sale_prints_a_receipt_and_the_back_office_rederives_it(tmp_path: Path) -> None:
    saved = tmp_path / "sale.json"
    demo = run("appliance.cli", "demo-sale", "--save", str(saved))
    assert demo.returncode == 0, demo.stderr
    for needle in ("TOTAL CAD", "GST 5%", "PST 7%", "Vapour tax 20%", "100 g @ 27.00",
                   "50 g @ 15.00", "kg @ 32.99/kg", "FREE: Free mug", "Change"):  # fmt: skip
        assert needle in demo.stdout, needle
    clean = run("backoffice.cli", "rederive", str(saved))
    assert clean.returncode == 0 and "no drift" in clean.stdout, clean.stdout + clean.stderr
    data = json.loads(saved.read_bytes())
    data["total"] += 100
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(data))
    drifted = run("backoffice.cli", "rederive", str(tampered))
    assert drifted.returncode == 1 and "total: register" in drifted.stdout
    assert "drift on the total: 1.00 CAD" in drifted.stdout


def test_backoffice_names_a_broken_sale_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"currency": "CAD", "total": "lots"}')
    result = run("backoffice.cli", "rederive", str(bad))
    assert result.returncode == 2 and "error: Sale." in result.stderr


def test_config_check_accepts_the_demo_and_names_a_bad_key(tmp_path: Path) -> None:
    ok = run("appliance.cli", "config", "check", "config/demo/register.toml")
    assert ok.returncode == 0 and "OK:" in ok.stdout and "till-1" in ok.stdout
    bad = tmp_path / "register.toml"
    bad.write_text('[register]\nstore = "s1"\nid = "r1"\n[broker]\nkeepalive_s = "soon"\n')
    result = run("appliance.cli", "config", "check", str(bad))
    assert result.returncode == 2
    assert "broker.keepalive_s" in result.stderr and "register.toml" in result.stderr


def test_config_docs_lists_every_setting_once() -> None:
    result = run("appliance.cli", "config", "docs")
    assert result.returncode == 0
    keys = [line.split()[0] for line in result.stdout.splitlines() if not line.startswith(" ")]
    assert "register.store" in keys and "devices.<name>.url" in keys
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("module", ["appliance.cli", "backoffice.cli"])
def test_no_command_is_a_usage_error(module: str) -> None:
    result = run(module)
    assert result.returncode == 2 and "usage:" in result.stderr
