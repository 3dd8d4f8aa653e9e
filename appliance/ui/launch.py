"""Starting the touchscreen: the runners the composition root gives the session, and
`run_app`. Importing this module loads no kivy; calling its functions does.

The composition root (`appliance run`) does::

    session = Session(register, ui_runner(), device_runner=ui_runner("device-worker"), ...)
    run_app(session, fullscreen=True)

Kivy reads the window size and its own command-line options when it is first
imported, so `run_app` sets them (and turns the options off: the register's own
command line is not Kivy's) before importing it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from appliance.ui.viewmodels.runner import WorkerRunner
from appliance.ui.viewmodels.session import Session

PI_DISPLAY = (800, 480)
PI_DISPLAY_2 = (1280, 800)


def _quiet_kivy() -> None:
    # Kivy parses sys.argv at import unless told not to: `appliance run --config x`
    # would reach Kivy's option parser and stop the register.
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    # Kivy's records go through Python logging like everyone else's, once, in one format
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")


def kivy_post() -> Callable[[Callable[[], None]], None]:
    """A `post` that runs a callback on the Kivy thread (thread-safe, never blocks)."""
    _quiet_kivy()
    from kivy.clock import Clock  # type: ignore[import-untyped]

    def post(callback: Callable[[], None]) -> None:
        """Run `callback` on the Kivy thread at the next frame."""
        Clock.schedule_once(lambda _dt: callback())

    return post


def ui_runner(name: str = "ui-worker") -> WorkerRunner:
    """A worker thread for register calls (or, named "device-worker", for devices) whose
    results come back on the Kivy thread (house rule 8: only it touches widgets)."""
    return WorkerRunner(kivy_post(), name)


def configure(size: tuple[int, int] | None = None, fullscreen: bool = False) -> None:
    """Window and input settings; must run before the window exists."""
    _quiet_kivy()
    from kivy.config import Config  # type: ignore[import-untyped]

    if size is not None:
        Config.set("graphics", "width", str(size[0]))
        Config.set("graphics", "height", str(size[1]))
    if fullscreen:
        Config.set("graphics", "fullscreen", "auto")
        Config.set("graphics", "borderless", "1")
    Config.set("graphics", "resizable", "1")
    Config.set("kivy", "log_level", "warning")  # its start-up chatter is not the register's
    logging.getLogger("kivy").setLevel(logging.WARNING)  # Kivy set INFO when imported
    Config.set("kivy", "exit_on_escape", "0")  # a register never quits from the keyboard
    Config.set("input", "mouse", "mouse,multitouch_on_demand")  # no red dots on right-click


def run_app(
    session: Session,
    size: tuple[int, int] | None = None,
    fullscreen: bool = False,
    snapshot: tuple[Path, float] | None = None,
) -> None:
    """Open the register's window over a ready session and run until it is closed.

    `snapshot` = (png path, seconds): keep a screenshot of the window there, refreshed
    that often, for a machine whose screen nobody can see (the demo under Xvfb).
    """
    configure(size, fullscreen)
    from appliance.ui.app import RegisterApp

    app = RegisterApp(session)
    if snapshot is not None:
        from kivy.clock import Clock
        from kivy.core.window import Window  # type: ignore[import-untyped]

        path, every = snapshot

        def take(_dt: float) -> None:
            written = Window.screenshot(name=str(path.with_suffix("")) + ".png")
            if written:  # Kivy numbers each file (name0001.png): keep one, at `path`
                os.replace(written, path)

        Clock.schedule_interval(take, every)
    app.run()
