"""A finger and an eye for the register's real window, for `window_driver` scenarios.

Kivy's window is one per process, so a scenario runs in a process of its own: the
driver builds a session over a temporary register (tests.ui.conftest's shop with a
fake link, scale, drawer and print queue, and the real worker-thread runner), opens
`RegisterApp`, and runs a script, a generator that yields conditions to wait for.
Taps are `UnitTestTouch` events at a widget's centre, keys are the window's own
`on_textinput` / `on_key_down` events, and screenshots are `Window.screenshot`.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

Wait = tuple[Callable[[], bool], float, str]
Script = Iterator[Wait]

TRACE = bool(os.environ.get("WINDOW_TRACE"))  # print each step's time, to see what is slow
HEADLESS_ENV = {
    "KIVY_WINDOW": "sdl2",
    "SDL_VIDEODRIVER": "offscreen",
    "KIVY_NO_ARGS": "1",
    "KIVY_NO_FILELOG": "1",
}


def headless_env(kivy_home: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a window with no display (DISPLAY unset: SDL renders offscreen)."""
    env = dict(os.environ if base is None else base)
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    env.update(HEADLESS_ENV)
    env["KIVY_HOME"] = str(kivy_home)
    return env


def prepare_process(kivy_home: Path) -> None:
    """Set this process up for a headless window (before kivy is imported)."""
    if not os.environ.get("DISPLAY") or os.environ.get("SDL_VIDEODRIVER") == "offscreen":
        os.environ.update(headless_env(kivy_home))
    else:  # a person watching on a real display
        os.environ.setdefault("KIVY_NO_ARGS", "1")
        os.environ.setdefault("KIVY_HOME", str(kivy_home))


class Driver:
    """Runs a script against the running app, one step per frame."""

    def __init__(self, app: Any, out: Path) -> None:
        from kivy.core.window import Window

        self.app, self.out, self.window = app, out, Window
        self.session = app.session
        self.results: dict[str, Any] = {"errors": []}
        self._script: Script | None = None
        self._wait: Wait | None = None
        self.ok = False

    # --- running ---------------------------------------------------------------------------

    def start(self, script: Script) -> None:
        """Run `script` from the next frame on."""
        from kivy.clock import Clock

        self._script = script
        self._t0 = time.monotonic()
        self._event = Clock.schedule_interval(self._step, 0)

    def _step(self, _dt: float) -> None:
        assert self._script is not None
        try:
            if self._wait is not None:
                ready, deadline, what = self._wait
                if not ready():
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"waited too long for: {what}")
                    return
                self._wait = None
            self._wait = next(self._script)
            if TRACE:
                print(f"{time.monotonic() - self._t0:7.3f} {self._wait[2]}", file=sys.stderr)
        except StopIteration:
            self.ok = True
            self._finish()
        except Exception:
            self.results["errors"].append(traceback.format_exc())
            self._finish()

    def _finish(self) -> None:
        self._event.cancel()
        self.results["ok"] = self.ok
        (self.out / "results.json").write_text(json.dumps(self.results, indent=2))
        self.app.stop()

    # --- waiting ----------------------------------------------------------------------------

    def until(self, ready: Callable[[], bool], what: str, timeout: float = 5.0) -> Wait:
        """Wait (yield this) until `ready()`."""
        return ready, time.monotonic() + timeout, what

    def frames(self, count: int = 2) -> Wait:
        """Wait some frames (the screen draws what changed)."""
        left = [count]

        def ready() -> bool:
            left[0] -= 1
            return left[0] < 0

        return self.until(ready, f"{count} frames")

    def pause(self, seconds: float) -> Iterator[Wait]:
        """Let real time pass (keys typed by a person are that far apart)."""
        until = time.monotonic() + seconds
        yield self.until(lambda: time.monotonic() >= until, f"{seconds} s", timeout=seconds + 5)

    def idle(self) -> Iterator[Wait]:
        """Wait until no view model has a call under way, then let the screen draw."""
        yield self.until(
            lambda: not any(vm.state.busy for vm in self.session.screens()), "the register's calls"
        )
        yield self.frames(2)

    # --- finding and touching -----------------------------------------------------------------

    def layers(self) -> list[Any]:
        """Where a finger lands: an open modal, else the screen that is up."""
        from kivy.uix.modalview import ModalView

        modals = [w for w in self.window.children if isinstance(w, ModalView)]
        return modals[:1] or [self.app.root.current_screen]

    def find(self, tag: str, where: Any = None) -> Any:
        """The visible widget tagged `tag` (KeyError when there is none)."""
        for root in [where] if where is not None else self.layers():
            for widget in root.walk(restrict=True):
                if getattr(widget, "tag", None) == tag and _visible(widget):
                    return widget
        raise KeyError(f"no visible widget tagged {tag!r} on {self.app.root.current}")

    def tap(self, tag: str, where: Any = None) -> Iterator[Wait]:
        """Touch a widget at its centre and let go; wait for what it started."""
        from kivy.tests.common import UnitTestTouch

        widget = self.find(tag, where)
        if widget.disabled:
            raise AssertionError(f"{tag!r} is disabled on {self.app.root.current}")
        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        yield self.frames(1)
        touch.touch_up()
        yield self.frames(1)
        yield from self.idle()

    def keys(self, *taps: str, where: Any = None) -> Iterator[Wait]:
        """Tap keypad keys in turn."""
        for key in taps:
            yield from self.tap(key, where)

    def wedge(self, code: str) -> Iterator[Wait]:
        """A keyboard-wedge scanner: the code's characters and Enter within one frame."""
        for char in code:
            self.window.dispatch("on_textinput", char)
        self.window.dispatch("on_key_down", 13, 40, None, [])
        yield from self.idle()

    def screen_is(self, name: str) -> Wait:
        """Wait until `name` is the screen that is up."""
        return self.until(lambda: self.app.root.current == name, f"the {name} screen")

    # --- looking ------------------------------------------------------------------------------

    def shot(self, name: str, directory: Path | None = None) -> Iterator[Wait]:
        """Save a screenshot as `name`.png (after the screen has drawn its latest state)."""
        yield from self.pause(0.06)  # a button just let go shows pressed for 35 ms
        yield self.frames(3)
        target = (directory or self.out) / f"{name}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        written = self.window.screenshot(name=str(self.out / f"_{name}.png"))
        shutil.move(written, target)
        self.results.setdefault("shots", {})[name] = str(target)

    def box(self, widget: Any) -> list[int]:
        """A widget's box in screenshot pixels: [left, top, right, bottom] (y from the top)."""
        left, bottom = widget.to_window(widget.x, widget.y)
        right, top = widget.to_window(widget.right, widget.top)
        height = self.window.height
        return [round(left), round(height - top), round(right), round(height - bottom)]


def _visible(widget: Any) -> bool:
    if widget.get_root_window() is None or widget.width < 1 or widget.height < 1:
        return False
    node, window = widget, widget.get_root_window()
    while node is not None and node is not window:  # the window is its own parent
        if getattr(node, "opacity", 1) == 0:
            return False
        node = node.parent
    return True
