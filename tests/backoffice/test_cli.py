"""`backoffice ...` as a subprocess, over a database holding real register entries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.sync.wire import Status, encode_status
from backoffice import reports
from backoffice.consumer import Consumer
from backoffice.db import Database
from backoffice.presence import record_status
from tests.backoffice.conftest import NOW, Till, count, reprice
from tests.store.conftest import DEMO_CATALOG, ROOT


def backoffice(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backoffice.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def fill(db: Database, till: Till, tmp_path: Path) -> None:
    """Sales with a gap and drift, a status: what the reports show."""
    reprice(tmp_path, db, till, "lighter", 349)
    consumer = Consumer(db)
    sales = [till.sell("lighter"), till.sell("cola"), till.sell("cola", "cola")]
    for sent in (sales[0], sales[2]):
        assert consumer.handle(sent.topic, sent.payload, NOW) is not None
    record_status(db, "s1", "r1", encode_status(Status("online", 1, "2026-11-25T09:05:00")), NOW)


def test_catalog_customers_stock_and_every_report(db: Database, till: Till, tmp_path: Path) -> None:
    config = tmp_path / "till-s1-r1" / "register-s1-r1.toml"
    loaded = backoffice(
        "catalog",
        "load",
        str(DEMO_CATALOG),
        "--config",
        str(config),
        "--store",
        "s1",
        "--db",
        db.url,
    )
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout == f"store s1: catalogue version 1 from {DEMO_CATALOG}\n"
    people = tmp_path / "customers.json"
    people.write_text(
        json.dumps(
            {
                "customers": [{"id": "c1", "name": "Cy", "points": 30}],
                "balances": [{"kind": "gift_card", "account": "g-1", "amount": 500}],
            }
        )
    )
    done = backoffice("customers", "load", str(people), "--store", "s1", "--db", db.url)
    assert (done.returncode, done.stdout) == (0, "store s1: 1 customers, 1 balances\n")
    done = backoffice("stock", "receive", "cola", "1", "--store", "s1", "--db", db.url)
    assert (done.returncode, done.stdout) == (0, "store s1: received 1 of cola\n")
    fill(db, till, tmp_path)
    out = {
        name: backoffice("report", name, "--db", db.url, "--store", "s1")
        for name in reports.REPORTS
    }
    assert all(r.returncode == 0 for r in out.values()), {n: r.stderr for n, r in out.items()}
    sales = out["sales"].stdout.splitlines()
    assert sales[0] == "Sales per register per day"
    assert sales[1].split() == [
        "store",
        "register",
        "day",
        "sales",
        "total",
        "tax",
        "rounding",
        "cash",
    ]
    assert sales[3].split()[:4] == ["s1", "r1", "2026-11-25", "2"]
    assert "lines[1].unit_price  299" in out["drift"].stdout
    assert "offline" in out["drift"].stdout
    gaps = out["gaps"].stdout.splitlines()
    assert gaps[3].split() == ["s1", "r1", "1", "3", "2", "-", "0"]
    stock = [line.split() for line in out["stock"].stdout.splitlines()[3:]]
    assert [row[6:] for row in stock if row[1] == "cola"] == [["1"], ["-1", "NEGATIVE"]]
    assert out["pending"].stdout.splitlines()[3].split()[:4] == ["s1", "r1", "online", "1"]
    other = backoffice("report", "sales", "--db", db.url, "--store", "s9")
    assert other.stdout.splitlines()[-1] == "(nothing)"


@pytest.mark.parametrize(
    "args, error",
    [
        (["report", "sales", "--db", "mysql://x"], "error: 'mysql://x': expected sqlite:///FILE"),
        (["stock", "receive", "cola", "-1", "--store", "s1"], "error: quantity: must be positive"),
        (["stock", "receive", "cola", "x", "--store", "s1"], "error: quantity: not a number"),
        (["catalog", "load", "nope.toml", "--config", "config/demo/register.toml"], "error: "),
    ],
)
def test_mistakes_are_one_line_and_exit_2(args: list[str], error: str, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'bo.db'}"
    full = args if "--db" in args else [*args, "--db", db]
    done = backoffice(*full)
    assert done.returncode == 2 and done.stderr.startswith(error), done.stderr
    assert len(done.stderr.splitlines()) == 1


def test_bad_customer_files_are_refused(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'bo.db'}"
    people = tmp_path / "customers.json"
    for data, error in (
        ({"customers": [{"name": "no id"}]}, "expected customers with id and name"),
        ({"balances": [{"kind": "cash", "account": "a", "amount": 1}]}, "unknown balance kind"),
    ):
        people.write_text(json.dumps(data))
        done = backoffice("customers", "load", str(people), "--store", "s1", "--db", db)
        assert done.returncode == 2 and error in done.stderr
    assert count(Database(db), "customers") == 0


def test_default_database_is_var_backoffice_db(tmp_path: Path) -> None:
    done = backoffice("report", "pending", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["Registers: last status", "(nothing)"]
    assert (tmp_path / "var" / "backoffice.db").exists()
