"""The storage thread: every storage operation runs here, with a deadline.

A storage call that does not finish in time (a stuck lock, a dying SD card)
raises StorageTimeout in the caller, so the screen never freezes; the
operation itself goes on in this thread and its result, when it comes, is
dropped. Operations run one at a time, in order, which is also what LMDB asks
of the one writer.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from appliance.store.errors import StorageTimeout

T = TypeVar("T")


class StorageThread:
    """A single worker thread running storage operations with a timeout."""

    def __init__(self, timeout_s: float, name: str = "storage") -> None:
        self.timeout_s = timeout_s
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            fn, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to the caller, never lost in the thread
                future.set_exception(exc)

    def call(self, fn: Callable[[], T], what: str = "storage operation") -> T:
        """Run `fn` on the storage thread; raise StorageTimeout past the deadline."""
        if threading.current_thread() is self._thread:
            return fn()
        future: Future[T] = Future()
        self._jobs.put((fn, future))
        try:
            return future.result(timeout=self.timeout_s)
        except FutureTimeout:
            raise StorageTimeout(
                f"{what} did not finish within {self.timeout_s:g} s; the storage may be "
                "failing. The cart is kept; try again, and call a technician if it persists"
            ) from None

    def close(self) -> None:
        """Finish queued operations and stop the thread."""
        self._jobs.put(None)
        self._thread.join(timeout=self.timeout_s)
