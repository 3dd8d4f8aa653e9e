"""Simulated scales: serial ones on a real pseudo-terminal, and a fake USB HID scale.

`SerialScaleSimulator("toledo8217")` opens a pty pair, puts it in raw mode and
answers requests on a daemon thread ("scale-sim-<protocol>") with the same
codec the driver decodes with, so both sides speak the protocol by
construction. Its `url` (the pty's slave path, or the `link` symlink made to
it, e.g. /tmp/scale0) opens with `serial.serial_for_url` like a real port,
with the line settings in `settings` (8N1: see there why).

Everything a field tech would want to provoke is settable while it runs:
`weight`, `unit`, `stable`, `capacity`, and `fault`:

    SimFault.UNSTABLE       every reading is in motion
    SimFault.OVER_CAPACITY  the scale reports over capacity
    SimFault.UNDER_ZERO     the scale reports under zero
    SimFault.GARBAGE        answers are bytes no scale sends (a baud-rate mismatch)
    SimFault.STALL          requests are read and never answered
    SimFault.HANG_UP        the next request drops the line (unplugged mid-weigh)

and `disconnect()` closes the master side at once: the driver's port dies as
when a USB-serial adapter is pulled.

A USB device cannot be made here, so `FakeHidScale` stands in for a HID scale:
its `read(size, timeout_ms)` is the callable a HID driver reads reports
through (hidapi's shape), with the same settings and faults.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import threading
import tty
from decimal import Decimal
from enum import Enum
from pathlib import Path
from types import TracebackType

from hw.protocols import hid_scale
from hw.protocols.poller import serial_codec
from hw.protocols.scale import ScaleReading, ScaleStatus, WeightUnit
from hw.serial_settings import SerialSettings

GARBAGE = b"\xff\x00#!~garbage\x7f\xfe"


class SimFault(Enum):
    """A fault a simulated scale can be told to show."""

    UNSTABLE = "unstable"
    OVER_CAPACITY = "over capacity"
    UNDER_ZERO = "under zero"
    GARBAGE = "garbage"
    STALL = "stall"
    HANG_UP = "hang up"


_STATUS_FAULTS = {
    SimFault.OVER_CAPACITY: ScaleStatus.OVER_CAPACITY,
    SimFault.UNDER_ZERO: ScaleStatus.UNDER_ZERO,
    SimFault.UNSTABLE: ScaleStatus.IN_MOTION,
}

Weight = Decimal | str | int | float


class SimulatedScale:
    """The state both simulators share: what is on the platter and what is going wrong.

    Attributes are read by the serving thread and set by anyone, so each is
    kept under one lock.
    """

    def __init__(
        self,
        weight: Weight = 0,
        unit: WeightUnit = WeightUnit.KG,
        stable: bool = True,
        capacity: Weight | None = None,
    ) -> None:
        """A scale holding `weight` in `unit`; over `capacity` it reports over capacity."""
        self._lock = threading.Lock()
        self._weight = Decimal(str(weight))
        self._unit = unit
        self._stable = stable
        self._capacity = None if capacity is None else Decimal(str(capacity))
        self._fault: SimFault | None = None

    @property
    def weight(self) -> Decimal:
        """The weight on the platter."""
        with self._lock:
            return self._weight

    @weight.setter
    def weight(self, value: Weight) -> None:
        with self._lock:
            self._weight = Decimal(str(value))

    @property
    def unit(self) -> WeightUnit:
        """The unit the scale weighs in."""
        with self._lock:
            return self._unit

    @unit.setter
    def unit(self, value: WeightUnit) -> None:
        with self._lock:
            self._unit = value

    @property
    def stable(self) -> bool:
        """False while the goods are still settling."""
        with self._lock:
            return self._stable

    @stable.setter
    def stable(self, value: bool) -> None:
        with self._lock:
            self._stable = value

    @property
    def fault(self) -> SimFault | None:
        """The fault being shown, or None."""
        with self._lock:
            return self._fault

    @fault.setter
    def fault(self, value: SimFault | str | None) -> None:
        with self._lock:
            self._fault = SimFault(value) if isinstance(value, str) else value

    def reading(self) -> ScaleReading:
        """What the scale would report now (faults that garble or silence it aside)."""
        with self._lock:
            weight, unit, fault = self._weight, self._unit, self._fault
            over = self._capacity is not None and weight > self._capacity
            moving = not self._stable
        status = _STATUS_FAULTS.get(fault) if fault is not None else None
        if status is None:
            if over:
                status = ScaleStatus.OVER_CAPACITY
            elif weight < 0:
                status = ScaleStatus.UNDER_ZERO
            elif moving:
                status = ScaleStatus.IN_MOTION
            else:
                status = ScaleStatus.STABLE if weight else ScaleStatus.ZERO
        return ScaleReading(weight, unit, status)

    def take_zero(self) -> bool:
        """Zero the platter as a scale does: only when it is steady. True if it did."""
        if self.reading().status not in (ScaleStatus.STABLE, ScaleStatus.ZERO):
            return False
        self.weight = 0
        return True


class SerialScaleSimulator(SimulatedScale):
    """A serial scale speaking `protocol` ("toledo8217", "mtsics", "nci") on a real pty."""

    def __init__(
        self,
        protocol: str,
        weight: Weight = 0,
        unit: WeightUnit = WeightUnit.KG,
        stable: bool = True,
        capacity: Weight | None = None,
        link: str | Path | None = None,
    ) -> None:
        """A simulator, not yet serving; `link` names a symlink to make to the pty."""
        super().__init__(weight, unit, stable, capacity)
        self.protocol = protocol
        self.codec = serial_codec(protocol, unit)
        self.link = None if link is None else Path(link)
        self.requests_seen = 0
        self._master = -1
        self._slave = -1
        self._path = ""
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = -1, -1
        self._stopping = threading.Event()

    @property
    def url(self) -> str:
        """What a driver opens: the `link` if one was asked for, else the pty's slave path."""
        if not self._path:
            raise RuntimeError("the simulator is not started: call start() or use `with`")
        return str(self.link) if self.link is not None else self._path

    @property
    def settings(self) -> SerialSettings:
        """The line settings to open the simulator with: 8N1, whatever the protocol's usual.

        A pty has no UART, so its line settings change nothing, and some kernels
        refuse 7 data bits or parity on one (EINVAL from tcsetattr): a profile
        saying 9600 7E1 for the real scale opens the simulator 8N1.
        """
        return SerialSettings(baudrate=9600, bytesize=8, parity="N", stopbits=1)

    @property
    def slave_path(self) -> str:
        """The pty's slave device (/dev/pts/N)."""
        return self._path

    def start(self) -> SerialScaleSimulator:
        """Open the pty pair, make the link, and start answering.

        After `disconnect()` this plugs the scale back in: a new pty, the link moved to it.
        """
        if self._thread is not None:
            raise RuntimeError("the simulator is already running")
        if self._slave >= 0:  # disconnected, never stopped: let go of the old pty first
            self.stop()
        master, slave = os.openpty()
        try:
            tty.setraw(slave)  # no echo, no CR/LF translation, whoever opens it
            path = os.ttyname(slave)
            if self.link is not None:
                _replace_symlink(self.link, path)
        except BaseException:
            os.close(master)
            os.close(slave)
            raise
        self._master, self._slave, self._path = master, slave, path
        self._wake_r, self._wake_w = os.pipe()
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._serve, name=f"scale-sim-{self.protocol}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering, close the pty, remove the link."""
        self._halt()
        for fd in (self._slave, self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._slave = self._wake_r = self._wake_w = -1
        link = self.link
        if link is not None and link.is_symlink() and os.readlink(link) == self._path:
            link.unlink()  # only our own: a newer simulator may have taken the name

    def disconnect(self) -> None:
        """Close the master side now: the driver's port dies as if unplugged."""
        self._halt()

    def __enter__(self) -> SerialScaleSimulator:
        """Start on entering a `with` block."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop on leaving it."""
        self.stop()

    def _halt(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stopping.set()
            os.write(self._wake_w, b"x")
            thread.join()
        if self._master >= 0:  # closed here, after the thread, never under its select
            os.close(self._master)
            self._master = -1

    def _serve(self) -> None:
        pending = bytearray()
        while not self._stopping.is_set():
            ready, _, _ = select.select([self._master, self._wake_r], [], [])
            if self._master not in ready:
                continue
            try:
                data = os.read(self._master, 1024)
            except OSError:  # the pty is gone under us: nothing is left to serve
                return
            pending += data
            for request in self._cut(pending):
                if not self._respond(request):
                    return

    def _cut(self, pending: bytearray) -> list[bytes]:
        terminator = self.codec.request_terminator
        if terminator is None:  # one letter per command (8217)
            requests = [bytes([byte]) for byte in pending]
            pending.clear()
            return requests
        requests = []
        while (end := pending.find(terminator)) >= 0:
            requests.append(bytes(pending[: end + 1]))
            del pending[: end + 1]
        return requests

    def _respond(self, request: bytes) -> bool:
        """Answer one request; False when the line was dropped."""
        self.requests_seen += 1
        fault = self.fault
        if fault is SimFault.STALL:
            return True
        if fault is SimFault.HANG_UP:
            os.close(self._master)  # this thread owns it now: _halt only joins
            self._master = -1
            self._thread = None
            return False
        if fault is SimFault.GARBAGE:
            answer = GARBAGE + self.codec.frame_buffer().terminator
        else:
            answer = self.codec.answer(request, self.reading())
            if request == self.codec.zero_request():
                self.take_zero()
        os.write(self._master, answer)
        return True


def _replace_symlink(link: Path, target: str) -> None:
    if link.exists() and not link.is_symlink():
        raise FileExistsError(f"{link} exists and is not a symlink: choose another link path")
    with contextlib.suppress(FileNotFoundError):
        link.unlink()
    link.symlink_to(target)


class FakeHidScale(SimulatedScale):
    """A USB HID scale without the USB: `read` hands back its input reports."""

    def __init__(
        self,
        weight: Weight = 0,
        unit: WeightUnit = WeightUnit.G,
        stable: bool = True,
        capacity: Weight | None = None,
    ) -> None:
        """A fake scale, plugged in, holding `weight` in `unit`."""
        super().__init__(weight, unit, stable, capacity)
        self.connected = True
        self.reports_sent = 0

    def read(self, size: int = hid_scale.REPORT_LEN, timeout_ms: int = 0) -> bytes:
        """The next input report (hidapi's `read` shape): b"" when stalled, as on a timeout.

        Raises `OSError` (ENODEV) once unplugged, as hidapi and pyusb do.
        """
        fault = self.fault
        if fault is SimFault.HANG_UP:
            self.disconnect()
        if not self.connected:
            raise OSError(errno.ENODEV, "No such device (the fake HID scale was unplugged)")
        if fault is SimFault.STALL:
            return b""
        self.reports_sent += 1
        if fault is SimFault.GARBAGE:
            return GARBAGE[:size]
        return hid_scale.encode(self.reading())[:size]

    def write(self, report: bytes) -> int:
        """Take an output report: the zero report zeroes a steady scale. Returns its length."""
        if not self.connected:
            raise OSError(errno.ENODEV, "No such device (the fake HID scale was unplugged)")
        if bytes(report) == hid_scale.zero_request():
            self.take_zero()
        return len(report)

    def disconnect(self) -> None:
        """Unplug it: every later call raises `OSError`."""
        self.connected = False
