"""`backoffice serve --consumers N`: one service that runs N consumer processes.

One Python process ingests on one core (the GIL), so a back office with more cores runs
several consumers in one shared subscription group. The parent runs consumer 0 itself
(and the dashboard, if asked) and keeps N-1 children, each `python -m backoffice.cli
serve --worker ...` with its own client id (`{client_id}-{n}`, so each keeps its own
persistent session) and the same group. Nothing is shared between them but the database
and the broker; dedupe stays the database's unique key on the entry id.

- The broker and database URLs, passwords included, reach a child on its stdin, never
  its command line (which `ps` shows to every user of the machine).
- A child's stdin then stays open: when the parent dies, even by SIGKILL, the child
  reads end-of-file and stops, so no orphan consumer keeps running.
- A child that dies is logged with its exit status and started again after a backoff
  (1 s, doubling up to 30 s; back to 1 s once a child has run for a minute).
  What it held unacknowledged the broker redelivers to the group.
- SIGTERM to the parent stops the children (SIGTERM, then SIGKILL after a grace period).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

log = logging.getLogger(__name__)

RESTART_FIRST_S, RESTART_MAX_S, STEADY_S = 1.0, 30.0, 60.0
STOP_GRACE_S = 10.0


def restart_delay(previous: float, ran_s: float) -> float:
    """How long to wait before starting again a child that ran `ran_s` seconds, when the
    last wait was `previous` (0 for none yet)."""
    if ran_s >= STEADY_S or previous <= 0:
        return RESTART_FIRST_S
    return min(previous * 2, RESTART_MAX_S)


@dataclass
class _Child:
    n: int
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    delay: float = 0.0
    due: float = 0.0  # when a dead child is started again (monotonic)
    stdin: IO[bytes] | None = field(default=None, repr=False)


class Supervisor:
    """Starts the children, restarts the ones that die, stops them all."""

    def __init__(
        self,
        argv_for: Callable[[int], list[str]],
        count: int,
        urls: tuple[str, str],
    ) -> None:
        self._children = [_Child(n, argv_for(n)) for n in range(1, count)]
        self._urls = urls  # (broker, database)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start every child and the thread that watches them."""
        for child in self._children:
            self._spawn(child)
        self._thread = threading.Thread(target=self._watch, name="backoffice-supervisor",
                                        daemon=True)  # fmt: skip
        self._thread.start()

    def _spawn(self, child: _Child) -> None:
        child.process = subprocess.Popen(child.argv, stdin=subprocess.PIPE)
        child.started = time.monotonic()
        assert child.process.stdin is not None
        child.stdin = child.process.stdin
        with contextlib.suppress(BrokenPipeError):  # died at once: the watch loop says so
            child.stdin.write("".join(f"{url}\n" for url in self._urls).encode())
            child.stdin.flush()  # stays open: its end-of-file tells the child we are gone
        log.info("consumer %d started (pid %d)", child.n, child.process.pid)

    def _watch(self) -> None:
        while not self._stopping.wait(0.2):
            now = time.monotonic()
            for child in self._children:
                self._check(child, now)

    def _check(self, child: _Child, now: float) -> None:
        process = child.process
        if process is not None:
            status = process.poll()
            if status is None:
                return
            self._close_stdin(child)
            child.process = None
            child.delay = restart_delay(child.delay, now - child.started)
            child.due = now + child.delay
            log.error("consumer %d (pid %d) ended with %s; starting it again in %.0f s",
                      child.n, process.pid, _describe(status), child.delay)  # fmt: skip
        elif now >= child.due and not self._stopping.is_set():
            self._spawn(child)

    @staticmethod
    def _close_stdin(child: _Child) -> None:
        if child.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                child.stdin.close()
            child.stdin = None

    def stop(self) -> None:
        """Stop watching, then SIGTERM every child; SIGKILL what is left after the grace."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        running = [c.process for c in self._children if c.process and c.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for process in running:
            try:
                process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                log.error("consumer pid %d did not stop in %.0f s: killed",
                          process.pid, STOP_GRACE_S)  # fmt: skip
                process.kill()
                process.wait()
        for child in self._children:
            self._close_stdin(child)
            child.process = None


def _describe(status: int) -> str:
    if status < 0:
        return f"signal {signal.Signals(-status).name}"
    return f"exit status {status}"


def read_urls(stream: IO[str]) -> tuple[str, str]:
    """A child's (broker URL, database URL): the two lines its parent writes on its stdin."""
    broker, database = stream.readline().strip(), stream.readline().strip()
    if not broker or not database:
        raise ValueError("stdin: expected the broker and database URLs, one a line, from the "
                         "parent `backoffice serve --consumers N`")  # fmt: skip
    return broker, database


def watch_parent(stream: IO[str], stop: threading.Event) -> threading.Thread:
    """Set `stop` when `stream` (the child's stdin from its parent) reaches end-of-file."""

    def wait_for_eof() -> None:
        while stream.readline():
            pass
        if not stop.is_set():
            log.warning("the parent `backoffice serve` is gone: stopping")
        stop.set()

    thread = threading.Thread(target=wait_for_eof, name="backoffice-parent", daemon=True)
    thread.start()
    return thread


def worker_argv(client_id: str, n: int, group: str, session_expiry_s: int) -> list[str]:
    """The command line of consumer `n` (its URLs come on stdin)."""
    return [sys.executable, "-m", "backoffice.cli", "serve", "--worker", "--shared", group,
            "--client-id", f"{client_id}-{n}",
            "--session-expiry", str(session_expiry_s)]  # fmt: skip
