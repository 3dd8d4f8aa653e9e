"""The upgrade guard over real LMDB data: refused while anything is unconfirmed, unless exported."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from appliance.cli import main
from appliance.store.errors import StorageBusy, StorageError
from appliance.store.outbox import EntryState
from appliance.upgrade import MARKER, check, installed_version, migrate_once
from tests.test_cli_register import Shop, settle, shop  # noqa: F401  (the fixture)

REPO = Path(__file__).resolve().parents[2]
RUNNING = """
import sys
from pathlib import Path
from appliance.bootstrap import open_storage
from appliance.config import load_config
with open_storage(load_config(Path(sys.argv[1]))):
    print("open", flush=True)
    sys.stdin.read()
"""


def export(till: Shop, target: Path) -> Path:
    assert main(["outbox", "export", str(target), "--config", str(till.path)]) == 0
    return target


def test_refused_while_sales_are_unconfirmed(shop: Shop) -> None:  # noqa: F811
    verdict = check(shop.config)

    assert not verdict.ok
    assert "refused: 3 outbox entries are not confirmed" in verdict.message


def test_allowed_once_the_back_office_confirmed_everything(shop: Shop) -> None:  # noqa: F811
    for entry_id in shop.ids:
        settle(shop, entry_id, EntryState.CONFIRMED)

    assert check(shop.config).ok
    assert check(shop.config, stopped=True).ok


def test_a_rejected_entry_holds_the_upgrade_too(shop: Shop) -> None:  # noqa: F811
    settle(shop, shop.ids[0], EntryState.CONFIRMED)
    settle(shop, shop.ids[1], EntryState.CONFIRMED)
    settle(shop, shop.ids[2], EntryState.REJECTED, "tax mismatch")

    assert "refused: 1 outbox entries" in check(shop.config).message


def test_allowed_with_an_export_that_holds_every_unconfirmed_entry(
    shop: Shop,  # noqa: F811
    tmp_path: Path,
) -> None:
    saved = export(shop, tmp_path / "outbox.jsonl")

    verdict = check(shop.config, saved)

    assert verdict.ok and "3 unconfirmed entries are saved in" in verdict.message


def test_an_export_older_than_the_last_sale_is_not_enough(
    shop: Shop,  # noqa: F811
    tmp_path: Path,
) -> None:
    saved = export(shop, tmp_path / "outbox.jsonl")
    lines = saved.read_text().splitlines()
    saved.write_text("\n".join(lines[:-1]) + "\n")  # as if a sale came after the export

    verdict = check(shop.config, saved)

    assert not verdict.ok and "1 of the 3 unconfirmed entries are not in" in verdict.message


def test_another_registers_export_is_refused(shop: Shop, tmp_path: Path) -> None:  # noqa: F811
    saved = export(shop, tmp_path / "outbox.jsonl")
    header, *rest = saved.read_text().splitlines()
    saved.write_text("\n".join([header.replace('"r1"', '"r9"'), *rest]) + "\n")

    with pytest.raises(StorageError, match="not an outbox export of store s1, register r1"):
        check(shop.config, saved)


def test_stopped_is_refused_while_the_register_holds_its_data(shop: Shop) -> None:  # noqa: F811
    for entry_id in shop.ids:
        settle(shop, entry_id, EntryState.CONFIRMED)
    holder = subprocess.Popen(  # the running register: another process holding the writer lock
        [sys.executable, "-c", RUNNING, str(shop.path)], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True, cwd=REPO,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        assert check(shop.config).ok  # read-only: answers while it runs
        with pytest.raises(StorageBusy, match=f"in use by another process \\(pid {holder.pid}\\)"):
            check(shop.config, stopped=True)
    finally:
        holder.communicate("", timeout=30)
    assert check(shop.config, stopped=True).ok


def test_a_register_that_never_ran_has_nothing_to_lose(shop: Shop, tmp_path: Path) -> None:  # noqa: F811
    from dataclasses import replace

    fresh = replace(shop.config, register=replace(shop.config.register, data_dir=tmp_path / "x"))
    assert check(fresh).ok


def test_the_migration_runs_once_per_version(shop: Shop) -> None:  # noqa: F811
    at = datetime(2026, 11, 25, 10, 0)
    first = migrate_once(shop.config, "0.2.0", at)
    marker = json.loads((shop.config.register.data_dir / MARKER).read_text())

    again = migrate_once(shop.config, "0.2.0")
    later = migrate_once(shop.config, "0.3.0", at)

    assert first.startswith("migrated the data in") and "schema 1 for 0.2.0" in first
    assert marker == {"version": "0.2.0", "schema": 1, "at": "2026-11-25T10:00:00",
                      "previous": None}  # fmt: skip
    assert again.startswith("already migrated for 0.2.0")
    assert later.startswith("migrated")
    newest = json.loads((shop.config.register.data_dir / MARKER).read_text())
    assert newest["previous"]["version"] == "0.2.0"


def test_the_command_line(
    shop: Shop,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = ["--config", str(shop.path)]
    assert main(["upgrade", "check", *config]) == 1
    assert "refused" in capsys.readouterr().err
    saved = export(shop, tmp_path / "outbox.jsonl")
    capsys.readouterr()
    assert main(["upgrade", "check", "--exported", str(saved), "--stopped", *config]) == 0
    assert main(["upgrade", "migrate", *config]) == 0
    assert f"for {installed_version()}" in capsys.readouterr().out
