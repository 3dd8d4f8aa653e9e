"""A serial barcode scanner: pyserial transport + `SerialFramer` + lifecycle.

The port is opened by URL (``serial.serial_for_url(url, do_not_open=True)``, the
profile's DTR/RTS, then ``open()``), so a ``/dev/serial/by-id`` path, the
simulator's pty or ``loop://`` all work the same. `codes(timeout)` yields codes
as they are scanned until `timeout` passes with none; a frame that is not a code
(line noise, half a code) is logged and kept in `rejected`, and the scanner
carries on with the next one. A port that vanishes or fails raises
`DeviceOffline`, whose message says which scanner and where.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from types import TracebackType

import serial

from hw.ports import DeviceError, DeviceInfo, DeviceKind, DeviceOffline
from hw.profiles import DeviceProfile, ScannerQuirks
from hw.protocols.scanner import ScannerFrameError, SerialFramer, SerialFraming
from hw.serial_settings import SerialSettings

log = logging.getLogger(__name__)


def framing_from(quirks: ScannerQuirks, frame_timeout: float = 0.5) -> SerialFraming:
    """The serial framing a scanner profile's quirks describe."""
    return SerialFraming(
        suffix=quirks.suffix,
        prefix=quirks.prefix,
        max_length=quirks.max_length,
        frame_timeout=frame_timeout,
    )


class SerialScanner:
    """A barcode scanner on a serial line; satisfies `hw.ports.Scanner`."""

    def __init__(
        self,
        info: DeviceInfo,
        settings: SerialSettings,
        framing: SerialFraming,
        *,
        clock: Callable[[], float] = time.monotonic,
        keep_rejected: int = 20,
    ) -> None:
        self.info = info
        self.settings = settings
        self.rejected: deque[ScannerFrameError] = deque(maxlen=keep_rejected)
        self._framer = SerialFramer(framing)
        self._clock = clock
        self._port = self._open()

    @classmethod
    def from_profile(
        cls,
        profile: DeviceProfile,
        url: str,
        *,
        stable_id: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> SerialScanner:
        """Open the scanner a serial-scanner profile describes, at `url`."""
        quirks = profile.quirks
        if not isinstance(quirks, ScannerQuirks) or profile.serial is None:
            raise DeviceError(f"profile {profile.name!r} is not a serial scanner")
        info = DeviceInfo(DeviceKind.SCANNER, profile.title, stable_id or url, url)
        return cls(info, profile.serial, framing_from(quirks), clock=clock)

    def _open(self) -> serial.SerialBase:
        url = self.info.url
        try:
            port = serial.serial_for_url(
                url, do_not_open=True, timeout=0, **self.settings.for_port(url).pyserial_kwargs()
            )
            self.settings.apply_lines(port)
            port.open()
        except (serial.SerialException, OSError, ValueError) as e:
            raise DeviceOffline(f"scanner {self.info.model}: cannot open {url}: {e}") from e
        return port

    def codes(self, timeout: float) -> Iterator[str]:
        """Codes as they are scanned, until `timeout` seconds pass with none."""
        quiet_until = self._clock() + timeout
        while True:
            for code in self._drain():
                yield code
                quiet_until = self._clock() + timeout
            now = self._clock()
            if now >= quiet_until:
                return
            wake = min(quiet_until, self._framer.next_deadline() or quiet_until)
            data = self._read(max(0.0, wake - now))
            self._framer.receive_data(data, self._clock())

    def close(self) -> None:
        """Release the port."""
        self._port.close()

    def __enter__(self) -> SerialScanner:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _drain(self) -> list[str]:
        codes: list[str] = []
        while True:
            try:
                event = self._framer.next_event()
            except ScannerFrameError as e:
                # Noise is not a sale stopper: note it for the field tech, read on.
                self.rejected.append(e)
                log.warning("scanner %s at %s: %s", self.info.model, self.info.url, e)
                continue
            if event is None:
                return codes
            codes.append(event.code)

    def _read(self, wait: float) -> bytes:
        port = self._port
        try:
            port.timeout = wait
            first = bytes(port.read(1))
            if not first:
                return b""
            # every concrete port has in_waiting; the stubs type serial_for_url as SerialBase
            waiting: int = getattr(port, "in_waiting", 0)
            return first + bytes(port.read(waiting))
        except (serial.SerialException, OSError) as e:
            raise DeviceOffline(
                f"scanner {self.info.model} at {self.info.url} went away ({e}); "
                "is its cable unplugged?"
            ) from e
