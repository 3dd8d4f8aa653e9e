"""The parent's handle on one chaos register (`tests.chaos.till`): start, command, watch, kill.

It reads the child's stdout lines (`ready`, `sold ID`, `status ...`, `refused`,
`scale-fault`) into counts and a status history the nemesis and the checker wait on,
and tells a death the nemesis caused (a kill, `die-in-commit`, a stop) from a crash.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from appliance.config import Config
from tests.faults.shop import ROOT


class TillProcess:
    """A register lane's process (`tests.chaos.till`), restarted after each kill."""

    def __init__(self, index: int, config: Config, config_path: Path, seed: int, log: Path):
        self.index, self.config, self.config_path = index, config, config_path
        self.seed, self.log = seed, log
        self.sold: list[str] = []
        self.status: list[tuple[float, int, str, int]] = []  # (t, unsent, state, waiting)
        self.refused = self.scale_faults = self.starts = 0
        self.crashes: list[str] = []  # deaths no nemesis caused, with the log's tail
        self._expect_death = False
        self._changed = threading.Condition()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        self.starts += 1
        with self.log.open("ab") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.chaos.till", str(self.config_path),
                 str(self.seed * 1000 + self.starts)],
                cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )  # fmt: skip
        ready = threading.Event()
        self._expect_death = False
        threading.Thread(target=self._read, args=(self.process, ready), daemon=True).start()
        if not ready.wait(timeout):
            raise RuntimeError(f"register {self.index} not ready in {timeout} s:\n{self.tail()}")

    def _read(self, process: subprocess.Popen[bytes], ready: threading.Event) -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            words = raw.decode(errors="replace").split()
            with self._changed:
                if not words:
                    continue
                if words[0] == "ready":
                    ready.set()
                elif words[0] == "sold":
                    self.sold.append(words[1])
                elif words[0] == "status":
                    now = time.monotonic()
                    self.status.append((now, int(words[1]), words[2], int(words[3])))
                elif words[0] == "refused":
                    self.refused += 1
                elif words[0] == "scale-fault":
                    self.scale_faults += 1
                self._changed.notify_all()
        code = process.wait()
        if not self._expect_death:
            self.crashes.append(f"r{self.index + 1} exited by itself ({code}):\n{self.tail()}")

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def command(self, line: str) -> None:
        assert self.process is not None and self.process.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self.process.stdin.write(f"{line}\n".encode())
            self.process.stdin.flush()

    def last(self) -> tuple[float, int, str, int] | None:
        with self._changed:
            return self.status[-1] if self.status else None

    def wait_status(self, ok: Callable[[int, str, int], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                if self.status and ok(*self.status[-1][1:]):
                    return True
                left = deadline - time.monotonic()
                if left <= 0 or not self.alive:
                    return False
                self._changed.wait(left)

    def kill(self) -> None:
        assert self.process is not None
        self._expect_death = True
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self._forget_status()

    def wait_death(self, timeout: float) -> bool:
        """After `die-in-commit`: True when it died within `timeout`."""
        assert self.process is not None
        self._expect_death = True
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        self._forget_status()
        return True

    def _forget_status(self) -> None:
        with self._changed:  # a dead register reports nothing: its last line is stale
            self.status.append((time.monotonic(), -1, "dead", -1))

    def stop(self) -> int:
        if self.process is None or self.process.poll() is not None:
            return -1 if self.process is None else self.process.returncode
        self._expect_death = True
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except FileNotFoundError:
            return ""
