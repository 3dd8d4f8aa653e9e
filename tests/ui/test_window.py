"""The register's real window (SDL offscreen over Mesa), driven by touch and keys.

Kivy's window is one per process, so each scenario runs `tests.ui.window_driver` in
a subprocess of its own, once per module, and the tests here judge what it reports:
the texts on screen, the register's records, and the screenshots' pixels.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from appliance.ui import theme
from tests.ui.window_harness import headless_env

ROOT = Path(__file__).resolve().parents[2]
NO_WINDOW = ("Unable to find any valuable Window provider", "Unable to create window")

pytestmark = pytest.mark.slow


def drive(directory: Path, scenario: str) -> dict[str, Any]:
    """Run a scenario in its own process; its results (skip when there is no OpenGL)."""
    out = directory / "out"
    command = [sys.executable, "-m", "tests.ui.window_driver", "--scenario", scenario]
    done = subprocess.run(
        [*command, "--out", str(out)],
        cwd=ROOT,
        env=headless_env(directory / "kivy"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if any(sign in done.stderr for sign in NO_WINDOW):
        pytest.skip("no OpenGL window on this machine (SDL offscreen needs Mesa's EGL)")
    report = out / "results.json"
    assert report.exists(), done.stderr[-3000:]
    results: dict[str, Any] = json.loads(report.read_text())
    assert done.returncode == 0 and results["ok"], "\n".join(results["errors"]) or done.stderr
    return results


@pytest.fixture(scope="module")
def sale(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return drive(tmp_path_factory.mktemp("sale"), "sale")


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return drive(tmp_path_factory.mktemp("offline"), "offline")


def image(path: str) -> Any:
    from PIL import Image

    return Image.open(path).convert("RGB")


def pixels(path: str, box: list[int]) -> list[tuple[int, int, int]]:
    """The RGB pixels inside a box of a screenshot."""
    raw = image(path).crop(tuple(box)).tobytes()
    return [(raw[i], raw[i + 1], raw[i + 2]) for i in range(0, len(raw), 3)]


def main_colour(path: str, box: list[int]) -> tuple[int, int, int]:
    """The commonest colour inside a box (a filled widget's fill)."""
    return Counter(pixels(path, box)).most_common(1)[0][0]


def close(colour: tuple[int, int, int], expected: theme.Color, slack: int = 8) -> bool:
    return all(abs(c - round(e * 255)) <= slack for c, e in zip(colour, expected[:3], strict=False))


def dark_share(path: str, box: list[int]) -> float:
    """How much of a box is drawn in near-ink (text), 0..1."""
    found = pixels(path, box)
    return sum(1 for p in found if sum(p) < 3 * 90) / max(len(found), 1)


# --- a whole sale --------------------------------------------------------------------------------


def test_a_sale_by_grid_scan_scale_and_preset_is_paid_by_card_and_cash(
    sale: dict[str, Any],
) -> None:
    recorded = sale["sale"]
    assert recorded["lines"] == 4, "cola by grid, chips by scan, bananas by scale, tea by preset"
    assert recorded["tenders"] == ["card", "cash"], "the split tender, as entered"
    assert sale["weight_reading"] == "1.234 kg stable"
    assert sale["search_after_scan"] == "", "a wedge scan must not leak into the search"
    assert sale["cart_total_before"] == recorded["total"]


def test_paid_shows_the_recorded_change_in_large_type_and_the_cart_is_empty(
    sale: dict[str, Any],
) -> None:
    paid = sale["paid"]
    assert paid["change"] == sale["sale"]["change"] != "0.00"
    assert paid["change_font"] >= theme.HUGE * 0.7, "the change is the largest type there is"
    assert f"Total {sale['sale']['total']}" in paid["summary"]
    assert paid["drawer"] == "Drawer open"
    assert sale["cart_lines_at_paid"] == 0
    assert sale["after"] == {"cart_rows": 0, "total": "0.00"}


def test_typing_searches_scanning_adds_and_an_unknown_scan_is_a_banner_with_a_way_on(
    sale: dict[str, Any],
) -> None:
    assert sale["typed_search"] == ["Bananas"], "slow keys reach the search at the deadline"
    assert "chips" in sale["keyboard_search"], "the on-screen keyboard searches as you type"
    assert sale["banner"]["kind"] == "error" and "999999" in sale["banner"]["text"]
    assert close(main_colour(sale["shots"]["error"], sale["banner_box"]), theme.RED)
    assert sale["banner_after"] == "", "OK dismisses the message"


def test_the_screenshots_are_the_window_and_show_the_figures(sale: dict[str, Any]) -> None:
    for name in ("sell_full", "paid"):
        shot = image(sale["shots"][name])
        assert shot.size == tuple(sale["window"]) == (1280, 800)
        colours = shot.getcolors(maxcolors=1 << 20) or []
        assert len(colours) > 200, f"{name} looks blank: {len(colours)} colours"
    # The large figures are drawn where their labels are: ink covers a part of the box.
    assert dark_share(sale["shots"]["paid"], sale["paid"]["change_box"]) > 0.03
    assert dark_share(sale["shots"]["sell_full"], sale["total_box"]) > 0.03


def test_a_weighed_label_is_printed_by_touch_and_sold_back_by_scan(sale: dict[str, Any]) -> None:
    label = sale["label"]
    assert label["copies"] == 2
    assert {"Bananas", "0.500 kg", "0.87 CAD"} <= set(label["lines"])
    assert label["preview"] == "\n".join(label["lines"]), "what was shown is what printed"
    assert sale["label_line"] == ["bananas", "0.5", "label"]


def test_a_cart_is_parked_and_recalled_by_touch(sale: dict[str, Any]) -> None:
    assert sale["park"] == {"button": "Recall (1)", "parked_after": 0}


# --- the network drops mid-shift ----------------------------------------------------------------


def test_offline_turns_amber_sales_go_on_and_the_badge_counts_up_then_down(
    offline: dict[str, Any],
) -> None:
    seen = [(s["label"], s["indicator"], s["role"], s["badge"]) for s in offline["seen"]]
    assert seen == [
        ("online", "Online", "green", "All sent"),
        ("offline", "Offline", "amber", "All sent"),
        ("offline_1", "Offline", "amber", "1 pending"),
        ("offline_2", "Offline", "amber", "2 pending"),
        ("syncing_1", "Syncing", "blue", "1 pending"),
        ("online_again", "Online", "green", "All sent"),
    ]
    assert offline["sales"] == 2, "both sales completed while offline"
    assert offline["scan_on_paid"] == ["Sea salt chips"], "a scan on Paid starts the next sale"


def test_the_indicator_is_drawn_in_its_colour(offline: dict[str, Any]) -> None:
    fills = {"green": theme.GREEN, "amber": theme.AMBER, "blue": theme.BLUE}
    for look in offline["seen"]:
        colour = main_colour(look["shot"], look["box"])
        assert close(colour, fills[look["role"]]), (look["label"], colour)


def test_appliance_run_opens_the_register_and_stops_cleanly(tmp_path: Path) -> None:
    """`appliance run` as an installer's kiosk service starts it: window up, then SIGINT."""
    from tests.store.conftest import write_config

    config = write_config(tmp_path)
    path = next(tmp_path.glob("register-*.toml"))
    process = subprocess.Popen(
        [sys.executable, "-m", "appliance.cli", "run", "--config", str(path), "--offline",
         "--window", "800x480"],
        cwd=ROOT, env=headless_env(tmp_path / "kivy"), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        time.sleep(6)
        assert process.poll() is None, process.communicate()[1][-3000:]
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    if any(sign in errors for sign in NO_WINDOW):
        pytest.skip("no OpenGL window on this machine")
    assert process.returncode == 0, errors[-3000:]
    assert "Traceback" not in errors, errors[-3000:]
    assert config.register.data_dir.exists(), "it opened the register's data"
