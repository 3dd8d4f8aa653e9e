"""Where the view models' calls run: off the Kivy thread, with results back on it.

A register call can take seconds (`complete` may wait the 3 s RPC timeout, a
storage operation its deadline, a scale read its timeout), and the Kivy thread
must never wait that long. So a view model never calls the register itself: it
hands a `Runner` the call and two callbacks. The runner runs the call somewhere
else and delivers the result (or the exception) to one callback *on the thread
that owns the widgets*. Jobs run one at a time in the order given: the register
keeps the cart in memory and is not meant to be used from two threads at once.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

Post = Callable[[Callable[[], None]], None]
"""Runs a callback on the UI thread (Kivy: `Clock.schedule_once(lambda dt: cb())`)."""


class Runner(Protocol):
    """Runs `fn` away from the UI thread, then `on_done(result)` or `on_error(exc)` on it."""

    def run(
        self,
        fn: Callable[[], T],
        on_done: Callable[[T], None],
        on_error: Callable[[Exception], None],
    ) -> None:
        """Queue one job; jobs run one at a time, in order."""
        ...


class SyncRunner:
    """Runs each job at once, in the caller's thread: for tests and the CLI."""

    def run(
        self,
        fn: Callable[[], T],
        on_done: Callable[[T], None],
        on_error: Callable[[Exception], None],
    ) -> None:
        """Run `fn` now; hand its result or exception to the matching callback."""
        try:
            result = fn()
        except Exception as exc:  # handed over, never swallowed: on_error decides
            on_error(exc)
            return
        on_done(result)


class WorkerRunner:
    """One worker thread (`ui-worker`) runs the jobs; `post` brings callbacks to the UI thread.

    Under Kivy, `post` is `lambda cb: Clock.schedule_once(lambda dt: cb())`, so the
    callbacks (which update view model state and thereby widgets) run on the Kivy thread.
    """

    def __init__(self, post: Post, name: str = "ui-worker") -> None:
        self._post = post
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Any, Any] | None] = (
            queue.SimpleQueue()
        )
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def run(
        self,
        fn: Callable[[], T],
        on_done: Callable[[T], None],
        on_error: Callable[[Exception], None],
    ) -> None:
        """Queue one job (never blocks)."""
        self._jobs.put((fn, on_done, on_error))

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            fn, on_done, on_error = job
            try:
                result = fn()
            except Exception as exc:
                self._post(_deliver(on_error, exc))
                continue
            self._post(_deliver(on_done, result))

    def close(self, timeout: float = 10.0) -> None:
        """Finish the queued jobs, then stop the thread."""
        self._jobs.put(None)
        self._thread.join(timeout=timeout)


def _deliver(callback: Callable[[T], None], value: T) -> Callable[[], None]:
    """A call of `callback(value)` to post (a closure per job, not per loop variable)."""
    return lambda: callback(value)
