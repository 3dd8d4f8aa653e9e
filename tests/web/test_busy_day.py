"""The benchmark's busy day, small: its rows still fit the schema (it writes them by
position) and the dashboard adds them up, so `make bench` cannot break unseen."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from starlette.testclient import TestClient

from appliance.domain.money import Money
from backoffice.db import Database
from backoffice.web.app import create_app
from backoffice.web.auth import write_password_file
from tests.web.busy_day import CURRENCY, fill_busy_day

DAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)
PASSWORD = "busy-day-password"


def test_a_small_busy_day_is_summed_on_the_dashboard(tmp_path: Path) -> None:
    creds = write_password_file(tmp_path / "passwd", PASSWORD)
    with Database(f"sqlite:///{tmp_path / 'busy.db'}") as db:
        day = fill_busy_day(db, DAY, stores=2, per_store=3, sales=120, now=NOW)
        app = create_app(db, creds, clock=lambda: NOW, today=lambda: DAY)
        with TestClient(app, base_url="http://127.0.0.1") as client:
            assert client.post("/login", data={"password": PASSWORD}).status_code == 200
            data = client.get("/dashboard.json").json()
            page = client.get("/dashboard")
    assert page.status_code == 200 and Money(day.total, CURRENCY).format() in page.text
    assert len(data["registers"]) == 6 and data["pending"] == sum(
        r["pending"] for r in data["registers"]
    )
    waiting = [r for r in data["registers"] if r["pending"]]
    assert waiting and all(r["oldest_unsent_since"] for r in waiting)
