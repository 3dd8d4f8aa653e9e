"""A virtual X display (Xvfb) for a machine with no screen: `make run` shows the window there."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from devstack._service import Service
from devstack.errors import ServiceError

SOCKETS = Path("/tmp/.X11-unix")


class Xvfb(Service):
    """`Xvfb :N` at `size`, on the first free display number from 90; `display` is ":N"."""

    def __init__(self, size: tuple[int, int] = (1280, 800)) -> None:
        self.size = size
        self.display = ""
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> Xvfb:
        """Start the server and wait for its socket (up to 10 s)."""
        number = next(n for n in range(90, 200) if not (SOCKETS / f"X{n}").exists())
        self.display = f":{number}"
        width, height = self.size
        self._process = subprocess.Popen(
            ["Xvfb", self.display, "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not (SOCKETS / f"X{number}").exists():
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise ServiceError(f"Xvfb {self.display} did not start")
            time.sleep(0.05)
        return self

    def close(self) -> None:
        """Stop the server."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(10)
