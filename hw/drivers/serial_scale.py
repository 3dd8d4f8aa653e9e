"""A serial scale: a pyserial port, a scale codec and the poller, behind `hw.ports.Scale`.

The port is opened by URL (`/dev/serial/by-id/...`, a simulator's pty, or any
`serial_for_url` URL) with the device profile's line settings; DTR and RTS are
set before it opens, so a scale that needs a line held never sees it drop.
Each `read` is one exchange: flush what is waiting (a late answer to an
earlier request is not this one's), send the request, wait on the port until
the poller has an answer or its deadline passes.

Whatever goes wrong becomes a `ScaleFault` whose reason names the fix, never
a weight: no answer, garbage, a vanished port (`SerialException`, `OSError`)
alike. A port that died is closed and reopened on the next read, so plugging
the scale back in is all a cashier has to do.
"""

from __future__ import annotations

import contextlib
import termios
import threading
import time
from collections.abc import Callable
from typing import Protocol, cast

import serial

from hw.ports import DeviceError, DeviceInfo, DeviceKind, DeviceOffline
from hw.protocols.poller import Poller, PollerEvent, serial_codec
from hw.protocols.scale import ScaleEvent, ScaleFault, WeightUnit, ZeroResult
from hw.serial_settings import SerialSettings

__all__ = ["DEFAULT_SETTINGS", "SerialScale", "SerialSettings", "line_settings"]

# Factory settings of each protocol's usual scales: 8217 (DIVA, Viva, Ariva) and
# NCI (7800 family, DIVA in NCI mode) talk 7 bits even parity; MT-SICS balances 8N1.
DEFAULT_SETTINGS = {
    "toledo8217": SerialSettings(baudrate=9600, bytesize=7, parity="E", stopbits=1),
    "mtsics": SerialSettings(baudrate=9600, bytesize=8, parity="N", stopbits=1),
    "nci": SerialSettings(baudrate=9600, bytesize=7, parity="E", stopbits=1),
}

# Errors a port raises when its device is gone: pyserial's own, the OS's, and
# termios's (not an OSError) from flushing a hung-up tty.
PORT_ERRORS = (serial.SerialException, OSError, termios.error)


class _Port(Protocol):
    """The part of a pyserial port this driver uses."""

    timeout: float | None
    in_waiting: int

    def open(self) -> None: ...
    def close(self) -> None: ...
    def write(self, data: bytes) -> int | None: ...
    def read(self, size: int) -> bytes: ...
    def reset_input_buffer(self) -> None: ...


def line_settings(settings: SerialSettings) -> str:
    """The line settings as a field tech reads them off a scale's menu: "9600 7E1"."""
    stopbits = f"{settings.stopbits:g}"
    return f"{settings.baudrate} {settings.bytesize}{settings.parity}{stopbits}"


class SerialScale:
    """A scale on a serial line, speaking `protocol` ("toledo8217", "mtsics", "nci").

    `unit` is what an 8217 scale is set to weigh in (its frames do not say);
    `answer_timeout` bounds a zero command; `read(timeout)` bounds itself.
    """

    def __init__(
        self,
        url: str,
        protocol: str,
        settings: SerialSettings | None = None,
        unit: WeightUnit = WeightUnit.LB,
        info: DeviceInfo | None = None,
        answer_timeout: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """A driver for the scale at `url`; the port opens on the first read."""
        codec = serial_codec(protocol, unit)  # an unknown protocol fails here, named
        self.url = url
        self.protocol = protocol
        self.settings = settings if settings is not None else DEFAULT_SETTINGS[protocol]
        self.info = info or DeviceInfo(DeviceKind.SCALE, protocol, url, url)
        self._clock = clock
        self._lock = threading.Lock()  # one exchange at a time, whoever asks
        self._poller = Poller(
            codec,
            answer_timeout,
            source=f"the scale on {url}",
            hint=f": check the cable and the baud rate ({line_settings(self.settings)} expected)",
        )
        self._port = self._make_port()
        self._open = False

    def _make_port(self) -> _Port:
        port = serial.serial_for_url(
            self.url,
            do_not_open=True,
            timeout=0,
            **self.settings.for_port(self.url).pyserial_kwargs(),
        )
        self.settings.apply_lines(port)  # before open(): pyserial asserts them as it opens
        return cast(_Port, port)

    def read(self, timeout: float) -> ScaleEvent:
        """The scale's reading, or a `ScaleFault` within about `timeout` seconds."""
        with self._lock:
            try:
                event = self._exchange(self._poller.poll, timeout)
            except DeviceOffline as exc:
                return ScaleFault(str(exc))
            assert not isinstance(event, ZeroResult)  # a weigh exchange ends in a ScaleEvent
            return event

    def zero(self) -> None:
        """Zero the scale; raises `DeviceError` saying why if it would not."""
        with self._lock:
            result = self._exchange(self._poller.zero, None)
        assert isinstance(result, ZeroResult)  # a zero exchange ends in a ZeroResult
        if not result.zeroed:
            raise DeviceError(f"the scale on {self.url} did not zero: {result.reason}")

    def close(self) -> None:
        """Release the port (a later read opens it again)."""
        with self._lock:
            self._drop_port()

    def _exchange(
        self, start: Callable[[float, float | None], bytes | None], timeout: float | None
    ) -> PollerEvent:
        """One request and its answer; a dead port raises `DeviceOffline`."""
        self._poller.reset()  # whatever an interrupted exchange left is stale
        try:
            port = self._ensure_open()
            port.reset_input_buffer()
            request = start(self._clock(), timeout)
            assert request is not None  # the poller is idle after reset()
            port.write(request)
            return self._await_answer(port)
        except PORT_ERRORS as exc:
            self._drop_port()
            raise DeviceOffline(
                f"lost the scale on {self.url} ({exc}): check the cable and that the scale is on"
            ) from exc

    def _await_answer(self, port: _Port) -> PollerEvent:
        while True:
            now = self._clock()
            events = self._poller.tick(now)
            if events:
                return events[0]
            deadline = self._poller.next_deadline()
            assert deadline is not None  # an exchange is in flight
            port.timeout = max(0.0, deadline - now)
            data = port.read(1)  # wakes on the first byte or at the deadline
            if data:
                data += port.read(port.in_waiting)
                events = self._poller.feed(data, self._clock())
                if events:
                    return events[0]

    def _ensure_open(self) -> _Port:
        if not self._open:
            try:
                self._port.open()
            except PORT_ERRORS as exc:
                raise DeviceOffline(
                    f"cannot open the scale on {self.url} ({exc}): check it is plugged in "
                    "and the path in its profile"
                ) from exc
            self._open = True
        return self._port

    def _drop_port(self) -> None:
        self._poller.reset()
        if self._open:
            self._open = False
            with contextlib.suppress(*PORT_ERRORS):  # a vanished device may fail to close
                self._port.close()
