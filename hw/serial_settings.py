"""How a serial device wants its port set up: the one definition every driver shares.

Field names are pyserial's (`serial.Serial(baudrate=..., bytesize=..., parity=...,
stopbits=...)`) so a profile's settings pass straight through as keyword
arguments. `dtr` and `rts` are the modem-control lines: some scales only talk
while one is held high, others hang if it is; `None` leaves the line as the OS
opened it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class SerialSettings:
    """A serial port's line settings, as a device profile states them.

    `parity` is pyserial's one-letter code ("N", "E", "O", "M", "S");
    `stopbits` is 1, 1.5 or 2; `dtr`/`rts` True/False hold the line
    asserted/deasserted from the moment the port opens, None leaves it alone.
    """

    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1
    dtr: bool | None = None
    rts: bool | None = None

    def pyserial_kwargs(self) -> dict[str, Any]:
        """The line settings as keyword arguments for `serial.serial_for_url`.

        DTR/RTS are not keyword arguments there; see `apply_lines`.
        """
        return {
            "baudrate": self.baudrate,
            "bytesize": self.bytesize,
            "parity": self.parity,
            "stopbits": self.stopbits,
        }

    def for_port(self, path: str) -> SerialSettings:
        """These settings, made 8N1 where `path` is a pseudo-terminal.

        A pty (a simulator, a tech's `appliance sim`) has no UART: its line settings
        change nothing, and some kernels refuse 7 data bits or parity on one
        (EINVAL from tcsetattr). So a profile saying 9600 7E1 for the real scale
        still opens its simulator.
        """
        if os.path.realpath(path).startswith("/dev/pts/") and (self.bytesize, self.parity) != (
            8,
            "N",
        ):
            return replace(self, bytesize=8, parity="N")
        return self

    def apply_lines(self, port: Any) -> None:
        """Set DTR/RTS on a pyserial port where the profile asks for it.

        Call it before `port.open()` (a port made with `do_not_open=True`):
        pyserial then applies the lines as it opens, so a scale that needs DTR
        held never sees it drop.
        """
        if self.dtr is not None:
            port.dtr = self.dtr
        if self.rts is not None:
            port.rts = self.rts
