"""Every page and endpoint of the dashboard over HTTP, against a back office that real
registers filled through a real Mosquitto (see conftest.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from appliance.domain.money import Money
from backoffice import reports
from backoffice.db import Database, DatabaseUnavailable
from backoffice.web.app import WebSettings, create_app
from backoffice.web.auth import COOKIE
from tests.store.conftest import ROOT
from tests.web.conftest import DAY, PASSWORD, Shop

TRACE = ("Traceback", 'File "', "Error:")


def client_for(shop: Shop, *, late_s: float = 0, settings: WebSettings | None = None) -> TestClient:
    db = Database(shop.db_url)
    now = datetime.now(UTC) + timedelta(seconds=late_s)
    app = create_app(db, shop.creds, settings, clock=lambda: now, today=lambda: DAY)
    return TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False)


@pytest.fixture
def anon(shop: Shop) -> Iterator[TestClient]:
    with client_for(shop) as client:
        yield client


@pytest.fixture
def owner(anon: TestClient) -> TestClient:
    answer = anon.post("/login", data={"password": PASSWORD}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard"
    return anon


def row(html: str, attribute: str, value: str) -> list[str]:
    """The text of each cell of the table row marked `attribute="value"`."""
    found = re.search(rf'<tr[^>]*{attribute}="{re.escape(value)}"[^>]*>(.*?)</tr>', html, re.S)
    assert found, f"no row {attribute}={value}"
    return [re.sub(r"<[^>]+>|\s+", " ", cell).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", found.group(1), re.S)]  # fmt: skip


def test_login_sets_a_signed_session_and_a_wrong_password_is_refused(anon: TestClient) -> None:
    page = anon.get("/login")
    assert page.status_code == 200 and 'name="password"' in page.text
    wrong = anon.post("/login", data={"password": "not-it"}, follow_redirects=False)
    assert wrong.status_code == 401 and "Wrong password." in wrong.text
    assert COOKIE not in wrong.headers.get("set-cookie", "")
    right = anon.post("/login", data={"password": PASSWORD, "next": "/dashboard?day=2026-11-24"},
                      follow_redirects=False)  # fmt: skip
    cookie = right.headers["set-cookie"]
    assert right.status_code == 303 and right.headers["location"] == "/dashboard?day=2026-11-24"
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    assert PASSWORD not in cookie
    assert anon.get("/login", follow_redirects=False).headers["location"] == "/dashboard"
    out = anon.post("/logout", follow_redirects=False)
    assert out.status_code == 303 and anon.get("/dashboard.json").status_code == 401


def test_without_a_session_pages_go_to_the_login_and_endpoints_answer_401(
    anon: TestClient, shop: Shop
) -> None:
    page = anon.get("/dashboard?day=2026-11-25", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Fdashboard%3Fday%3D2026-11-25"
    for path in ("/dashboard/live", "/dashboard.json", "/chart.svg"):
        assert anon.get(path).status_code == 401, path
    anon.cookies.set(COOKIE, "eyJvd25lciI6dHJ1ZX0.forged.signature")
    assert anon.get("/dashboard.json").status_code == 401
    other = client_for(shop)  # same password, but a session made by another secret
    other.app.state.dashboard.sessions._signer.secret_keys = [b"another secret" * 4]
    other.post("/login", data={"password": PASSWORD})
    anon.cookies.set(COOKIE, other.cookies[COOKIE])
    assert anon.get("/dashboard.json").status_code == 401
    assert anon.get("/healthz").text == "ok"


def test_wrong_passwords_are_throttled(shop: Shop) -> None:
    with client_for(shop) as client:
        codes = [client.post("/login", data={"password": f"guess-{n}"}).status_code
                 for n in range(11)]  # fmt: skip
        assert codes == [401] * 10 + [429]
        assert client.post("/login", data={"password": PASSWORD}).status_code == 429


def test_the_registers_their_queues_gaps_and_rejections(owner: TestClient, shop: Shop) -> None:
    data: dict[str, Any] = owner.get("/dashboard.json").json()
    tills = {r["register"]: r for r in data["registers"]}
    assert set(tills) == {"r1", "r9"}
    assert tills["r1"]["state"] == "online" and tills["r1"]["pending"] == 0
    assert tills["r1"]["contiguous"] == tills["r1"]["last_seq"] == 3
    assert tills["r9"]["pending"] == 2 and tills["r9"]["missing"] == [3]
    assert tills["r9"]["rejected"] == 1 and not tills["r9"]["silent"]
    assert tills["r1"]["oldest_unsent_since"] is None  # nothing unsent
    waited = datetime.fromisoformat(data["now"]) - datetime.fromisoformat(
        tills["r9"]["oldest_unsent_since"]
    )
    assert timedelta(minutes=25) <= waited < timedelta(minutes=26)
    assert tills["r1"]["last_sale_at"] == "2026-11-25T11:00:00"
    assert data["online"] == 2 and data["pending"] == 2
    html = owner.get("/dashboard").text
    assert row(html, "data-register", "s1/r9")[1:3] == ["online", "2  oldest 25 min ago"]
    assert row(html, "data-register", "s1/r9")[6].startswith("3")
    [refused] = data["rejected"]
    assert refused["register"] == "r9" and refused["seq"] == 2 and refused["own"]
    assert refused["reason"].startswith("online sale drifted from the back office's rules")
    assert "online sale drifted" in html


def test_a_till_not_heard_from_is_flagged_silent(shop: Shop) -> None:
    with client_for(shop, late_s=3600) as late:
        late.post("/login", data={"password": PASSWORD})
        data = late.get("/dashboard.json").json()
        assert [r["silent"] for r in data["registers"]] == [True, True] and data["online"] == 0
        assert row(late.get("/dashboard").text, "data-register", "s1/r1")[1] == "silent"


def test_takings_match_the_sales_report_to_the_cent(owner: TestClient, shop: Shop) -> None:
    html = owner.get("/dashboard").text
    with Database(shop.db_url) as db:
        table = reports.report(db, "sales")
    report = subprocess.run([sys.executable, "-m", "backoffice.cli", "report", "sales", "--db",
                             shop.db_url], capture_output=True, text=True, timeout=60, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert report.stdout.strip() == table.render()
    kinds = [h for h in table.headers[7:]]
    for store, register, day, count, total, tax, rounding, *paid in table.cells():
        assert day == DAY.isoformat()
        cells = row(html, "data-takings", f"{store}/{register}")
        assert cells[1] == count and cells[-1] == total and cells[-2] == tax
        assert cells[-3] == rounding and cells[2:-3] == paid, kinds
        cents = [Money.parse(v, "CAD").minor for v in (total, rounding, *paid)]
        assert cents[0] + cents[1] == sum(cents[2:]), "the tenders add up to total + rounding"
    r1 = next(r for r in table.cells() if r[1] == "r1")
    assert r1[3] == str(shop.r1_sales) and r1[4] == Money(shop.r1_total, "CAD").format()
    store = row(html, "data-store-total", "s1")
    assert store[1] == str(sum(int(r[3]) for r in table.cells()))


def test_drift_and_oversold_products(owner: TestClient) -> None:
    data = owner.get("/dashboard.json").json()
    [drift] = data["drift"]
    assert drift["register"] == "r9" and drift["seq"] == 1 and drift["offline"]
    assert ["lines[1].unit_price", "299", "349"] in drift["items"]
    assert drift["drift_total"] < 0
    oversold = {o["sku"]: o for o in data["oversold"]}
    assert oversold["chips"]["lowest"] == "-4" and oversold["chips"]["sales_below_zero"] == 4
    cola = oversold["cola"]  # received 1, then sold 3: the 2nd and 3rd went below zero
    assert (cola["level"], cola["lowest"], cola["sales_below_zero"]) == ("-2", "-2", 2)
    assert cola["first_at"] == "2026-11-25T11:00:00" and cola["name"]
    assert "oj" not in oversold and data["oversold_count"] == len(oversold)
    html = owner.get("/dashboard").text
    assert "lines[1].unit_price: 299 vs 349" in html


def test_the_hourly_chart_and_the_live_sections(owner: TestClient) -> None:
    svg = owner.get("/chart.svg")
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    assert "<title>11:00-12:00: 3 sales, " in svg.text
    assert "<title>09:00-10:00: 2 sales, " in svg.text
    live = owner.get("/dashboard/live")
    assert live.status_code == 200 and "<html" not in live.text
    assert 'id="registers"' in live.text and "<svg" in live.text
    page = owner.get("/dashboard")
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert 'src="/static/dashboard.js"' in page.text
    assert owner.get("/static/dashboard.js").status_code == 200
    assert owner.get("/static/dashboard.css").status_code == 200


def test_another_day_and_another_store(owner: TestClient) -> None:
    before = owner.get("/dashboard?day=2026-11-24")
    assert before.status_code == 200 and "No sales on 2026-11-24." in before.text
    assert 'data-register="s1/r1"' in before.text  # the tills are shown whatever the day
    data = owner.get("/dashboard.json?store=s2").json()
    assert data["registers"] == [] and data["takings"] == [] and data["rejected"] == []


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/nowhere", 404),
        ("GET", "/static/../auth.py", 404),
        ("GET", "/dashboard?day=banana", 400),
        ("GET", "/dashboard?day=2026-13-45", 400),
        ("GET", "/dashboard?day=2026-11-25T00:00", 400),
        ("GET", "/dashboard.json?day=%00%27;DROP", 400),
        ("GET", "/dashboard?colour=blue", 400),
        ("GET", "/dashboard/live?day=2026-11-25&day=2026-11-24", 400),
        ("GET", "/dashboard?store=%01", 400),
        ("GET", "/chart.svg?store=" + "x" * 65, 400),
        ("POST", "/dashboard", 405),
        ("GET", "/logout", 405),
    ],
)
def test_bad_requests_get_the_right_status_and_no_trace(
    owner: TestClient, method: str, path: str, status: int
) -> None:
    answer = owner.request(method, path, headers={"accept": "text/html"})
    assert answer.status_code == status, answer.text
    assert not any(word in answer.text for word in TRACE)


def test_a_huge_form_and_a_foreign_next_are_refused(anon: TestClient) -> None:
    assert anon.post("/login", content=b"password=" + b"x" * 10_000,
                     headers={"content-type": "application/x-www-form-urlencoded"}
                     ).status_code == 413  # fmt: skip
    for target in ("//evil.example/", "https://evil.example/", "/\\evil"):
        answer = anon.post("/login", data={"password": PASSWORD, "next": target},
                           follow_redirects=False)  # fmt: skip
        assert answer.headers["location"] == "/dashboard", target


def test_a_database_failure_or_a_bug_answers_without_a_trace(
    owner: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    handlers = owner.app.state.dashboard  # type: ignore[attr-defined]

    def unavailable(*args: object) -> None:
        raise DatabaseUnavailable("postgresql://bo:***@db/bo: connection refused")

    monkeypatch.setattr(handlers, "_load", unavailable)
    down = owner.get("/dashboard", headers={"accept": "text/html"})
    assert down.status_code == 503 and "cannot be reached" in down.text
    assert "connection refused" not in down.text

    def bug(*args: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(handlers, "_load", bug)
    for path in ("/dashboard", "/dashboard/live"):
        crashed = owner.get(path, headers={"accept": "text/html"})
        assert crashed.status_code == 500 and "secret internals" not in crashed.text
        assert not any(word in crashed.text for word in TRACE)
