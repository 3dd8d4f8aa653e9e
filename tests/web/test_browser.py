"""The dashboard in a real browser: Debian's chromium, headless, driven by Playwright.

A real register sells through a TCP proxy to a real Mosquitto; the back office and its
dashboard (uvicorn on a thread, as `backoffice serve --web` runs it) store and show it.
The owner logs in; the link is cut and the page shows the register offline; sales are
made; the link comes back slow and the page shows the pending count up, then drained to
zero, without a reload. The last screen is saved to docs/screens/dashboard.png.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from datetime import time as clock_time
from pathlib import Path

import pytest

from appliance.domain.money import Money
from appliance.domain.tender import Tender
from appliance.register import Register
from appliance.sync.link import SyncLink
from backoffice.catalog import load_catalog
from backoffice.db import Database
from backoffice.service import BackOffice
from backoffice.web.app import WebSettings
from backoffice.web.auth import write_password_file
from backoffice.web.server import WebServer
from devstack import Mosquitto, TcpProxy
from tests.store.conftest import CASHIER_PIN, DEMO_CATALOG, ROOT, FakeClock, make_register, seed
from tests.store.conftest import write_config as register_config
from tests.web.conftest import PASSWORD, till_r9, wait_for

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = ROOT / "docs" / "screens" / "dashboard.png"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]  # fmt: skip
SYNC = "[sync]\nwindow = 1\nack_timeout_s = 5.0\nreconnect_min_s = 0.1\nreconnect_max_s = 0.3\n"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")


def sell(register: Register, clock: FakeClock, *skus: str) -> None:
    for sku in skus:
        register.add_sku(sku)
    register.add_tender(Tender.cash(Money(50_00, "CAD")))
    register.complete()
    clock.advance(minutes=41)


@pytest.fixture
def office(tmp_path: Path) -> Iterator[tuple[WebServer, TcpProxy, Register, FakeClock, SyncLink]]:
    """Broker, proxy, back office, dashboard and a register selling today, linked."""
    db_url = f"sqlite:///{tmp_path / 'backoffice.db'}"
    with Mosquitto(tmp_path / "mosquitto") as broker, TcpProxy("127.0.0.1", broker.port) as proxy:
        (tmp_path / "r1").mkdir()
        config = register_config(tmp_path / "r1", extra=SYNC, broker=proxy.url_for("mqtt"),
                                 broker_keys="keepalive_s = 5\n")  # fmt: skip
        with Database(db_url) as db:
            load_catalog(db, "s1", config, DEMO_CATALOG, datetime.now(UTC))
        service = BackOffice(db_url, broker.url, beacon_interval_s=0.2)
        service.start()
        write_password_file(tmp_path / "dashboard.passwd", PASSWORD)
        web = WebServer(db_url, tmp_path / "dashboard.passwd", "127.0.0.1", 0,
                        WebSettings(refresh_s=0.25))  # fmt: skip
        clock = FakeClock(datetime.combine(date.today(), clock_time(9, 5)))
        register = make_register(config, clock)
        link = None
        try:
            assert service.wait_ready(10)
            web.start()
            seed(register.storage, config)
            register.login("ann", CASHIER_PIN)
            register.open_till(Money(100_00, "CAD"))
            for basket in (("cola", "chips"), ("oj",), ("cola",), ("chips", "oj"), ("cola",)):
                sell(register, clock, *basket)
            with Database(db_url) as db:
                till_r9(tmp_path, db, broker, datetime.combine(date.today(), clock_time(10, 20)))
            link = SyncLink(config, register, known_version=register.catalog_version())
            link.machine.settings = replace(link.machine.settings, status_every=0.2)
            register.on_commit = link.notify_committed
            register.online = lambda: False  # priced at the till: no RPC over the slow link
            link.start()
            assert wait_for(lambda: register.status().unsent == 0), link.status()
            yield web, proxy, register, clock, link
        finally:
            if link is not None:
                link.stop()
            web.stop()
            register.io.close()
            register.storage.close()
            service.stop()


def watch(read: Callable[[], tuple[str, str]], until: Callable[[str, str], bool],
          seen: list[tuple[str, str]], timeout: float = 20.0) -> bool:  # fmt: skip
    """Poll the page's (state, pending) for r1, recording changes, until `until` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = read()
        if not seen or seen[-1] != now:
            seen.append(now)
        if until(*now):
            return True
        time.sleep(0.05)
    return False


def test_owner_sees_a_register_go_offline_queue_sales_and_drain(
    office: tuple[WebServer, TcpProxy, Register, FakeClock, SyncLink], tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    web, proxy, register, clock, _ = office
    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=str(CHROMIUM), headless=True,
            args=ARGS, viewport={"width": 1440, "height": 1000}, device_scale_factor=1,
        )  # fmt: skip
        try:
            page = browser.new_page()
            page.goto(web.url + "dashboard")
            assert "/login" in page.url
            page.fill("#password", "wrong password")
            page.click("button[type=submit]")
            assert page.locator(".error").inner_text() == "Wrong password."
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/dashboard")
            r1 = 'tr[data-register="s1/r1"]'

            waited: list[str] = []  # "oldest ..." under a pending count, when one showed

            def read() -> tuple[str, str]:
                cell = page.locator(f"{r1} td.pending")
                waited.extend(t for t in [cell.inner_text(timeout=2000)] if "oldest" in t)
                return (page.locator(f"{r1} .pill").inner_text(timeout=2000),
                        cell.locator(".count").inner_text(timeout=2000))  # fmt: skip

            seen: list[tuple[str, str]] = []
            assert watch(read, lambda s, p: s == "online" and p == "0", seen), seen
            proxy.cut()
            assert watch(read, lambda s, p: s == "offline", seen), seen
            for _ in range(6):
                sell(register, clock, "cola", "chips")
            assert register.status().unsent == 6
            proxy.set_latency(0.12)  # slow enough to watch the queue drain
            proxy.heal()
            assert watch(read, lambda s, p: s == "online" and p not in ("", "-", "0"), seen), seen
            for _ in range(2):
                sell(register, clock, "oj")  # sold while it drains: the count goes up again
            assert watch(read, lambda s, p: s == "online" and p == "0", seen, 30), seen
            back = [int(p) for s, p in seen[seen.index(next(x for x in seen if x[0] == "offline")):]
                    if s == "online" and p.isdigit()]  # fmt: skip
            assert max(back) >= 2 and back[-1] == 0, seen
            assert waited, "a register holding sales says how long the oldest has waited"
            assert page.locator("#pending-total").inner_text() == "2"  # r9's, never drained
            assert page.locator("svg.chart rect.bar").count() >= 5
            assert page.locator("#drift tbody tr").count() == 1
            page.wait_for_timeout(300)
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            shot = tmp_path / "dashboard.png"
            page.screenshot(path=str(shot), full_page=True)
            shutil.copyfile(shot, SCREENSHOT)
            page.click("button.link")  # log out
            page.wait_for_url("**/login")
        finally:
            browser.close()
