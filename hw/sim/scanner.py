"""A barcode scanner simulator: a serial scanner on a real pty, and a wedge typer.

`SerialScannerSim` opens a pseudo-terminal pair in raw mode and plays the
scanner on the master side; a driver opens `sim.url` (the slave's path) exactly
as it would open ``/dev/ttyUSB0``, with pyserial, so the real transport is under
test. The simulator writes when told to, so it needs no thread. Faults are
injected by command, as OctoPrint's virtual printer does: `send_garbage` (line
noise), `scan_half` (half a code, then silence: a cable pulled mid-scan) and
`disconnect` (the scanner unplugged: reads fail and the device path vanishes).

`WedgeTyper` produces timed `Keystroke`s for `WedgeDecoder`: a scanner's burst,
or a person typing at human speed.
"""

from __future__ import annotations

import os
import random
import tty
from types import TracebackType

from hw.protocols.scanner import Keystroke


class SerialScannerSim:
    """A serial barcode scanner on a pty; `url` is where a driver opens it."""

    def __init__(self, *, prefix: bytes = b"", suffix: bytes = b"\r") -> None:
        self.prefix = prefix
        self.suffix = suffix
        self._master: int | None = None
        self._slave: int | None = None
        self._url: str | None = None

    def start(self) -> SerialScannerSim:
        """Open the pty pair; the scanner is then plugged in at `url`."""
        if self._url is not None:
            raise RuntimeError("the scanner simulator is already started")
        master, slave = os.openpty()
        # Raw on both ends: no CR->LF translation or echo, as on a real UART.
        tty.setraw(master)
        tty.setraw(slave)
        # The simulator keeps the slave open too, so writes before the driver
        # opens the port are buffered rather than lost.
        self._master, self._slave = master, slave
        self._url = os.ttyname(slave)
        return self

    def stop(self) -> None:
        """Close the pty (as `disconnect`); safe to call twice."""
        self.disconnect()

    def __enter__(self) -> SerialScannerSim:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The device path a driver opens (``/dev/pts/N``)."""
        if self._url is None:
            raise RuntimeError("start the scanner simulator before asking for its url")
        return self._url

    @property
    def connected(self) -> bool:
        """True between `start` and `disconnect`/`stop`."""
        return self._master is not None

    def scan(self, code: str) -> None:
        """Send one code, framed with the prefix and suffix, as a scan does."""
        self.write_raw(self.prefix + code.encode("ascii") + self.suffix)

    def scan_half(self, code: str) -> None:
        """Send the prefix and the first half of a code, then nothing (fault)."""
        data = code.encode("ascii")
        self.write_raw(self.prefix + data[: max(1, len(data) // 2)])

    def send_garbage(self, data: bytes | None = None, *, length: int = 300, seed: int = 0) -> None:
        """Send line noise: `data`, or `length` random bytes without the suffix (fault)."""
        if data is None:
            noise = random.Random(seed).randbytes(length)
            data = bytes(b for b in noise if b not in self.suffix)
        self.write_raw(data)

    def write_raw(self, data: bytes) -> None:
        """Send bytes exactly as given."""
        if self._master is None:
            raise RuntimeError("the scanner simulator is not connected")
        view = memoryview(data)
        while view:
            view = view[os.write(self._master, view) :]

    def disconnect(self) -> None:
        """Unplug the scanner: the driver's reads fail and the device path goes away."""
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None


class WedgeTyper:
    """Timed keystrokes for a wedge decoder: a scanner's burst or human typing.

    Gaps are in seconds; `jitter` adds up to that much to every gap, drawn from
    a seeded generator so a test sees the same keystrokes every run.
    """

    def __init__(
        self,
        *,
        scan_gap: float = 0.004,
        human_gap: float = 0.18,
        jitter: float = 0.0,
        prefix: str = "",
        enter: str = "\r",
        seed: int = 0,
    ) -> None:
        self.scan_gap = scan_gap
        self.human_gap = human_gap
        self.jitter = jitter
        self.prefix = prefix
        self.enter = enter
        self._random = random.Random(seed)

    def scan(self, code: str, start: float) -> list[Keystroke]:
        """A scanner typing prefix, code and Enter, the first key at `start`."""
        return self._keys(self.prefix + code + self.enter, start, self.scan_gap)

    def type(self, text: str, start: float, *, enter: bool = False) -> list[Keystroke]:
        """A person typing `text` (and Enter if asked), the first key at `start`."""
        return self._keys(text + (self.enter if enter else ""), start, self.human_gap)

    def _keys(self, chars: str, start: float, gap: float) -> list[Keystroke]:
        keys: list[Keystroke] = []
        at = start
        for char in chars:
            keys.append(Keystroke(char, at))
            at += gap + self._random.uniform(0, self.jitter)
        return keys
