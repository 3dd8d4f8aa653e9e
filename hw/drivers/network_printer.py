"""An ESC/POS receipt printer on raw TCP (port 9100): the names callers have always used.

`NetworkPrinter(host, port)` is an `EscposPrinter` over a `TcpTransport`
(TCP_NODELAY, so a 3-byte status request is not held back by Nagle's
algorithm); everything else, status checks before and after a receipt and the
reconnect after a drop included, is `hw.drivers.escpos_printer`'s.
`PrinterDrawer` works over any `EscposPrinter` and is re-exported from here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from hw.drivers.escpos_printer import EscposPrinter, PrinterDrawer
from hw.drivers.transports import DEFAULT_TCP_PORT, TcpTransport, socket_address
from hw.paper import PAPER_80MM, Paper

__all__ = ["DEFAULT_PORT", "NetworkPrinter", "PrinterDrawer"]

DEFAULT_PORT = DEFAULT_TCP_PORT


class NetworkPrinter(EscposPrinter):
    """A receipt printer at `host:port`; see the module docstring."""

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_PORT,
        *,
        paper: Paper = PAPER_80MM,
        model: str = "ESC/POS network printer",
        connect_timeout: float = 3.0,
        status_timeout: float = 2.0,
        send_timeout: float = 10.0,
        drawer_open_level_high: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Nothing is opened until the first call."""
        super().__init__(
            TcpTransport(host, port, connect_timeout=connect_timeout),
            paper=paper,
            model=model,
            status_timeout=status_timeout,
            send_timeout=send_timeout,
            drawer_open_level_high=drawer_open_level_high,
            clock=clock,
        )

    @classmethod
    def from_url(cls, url: str, **options: Any) -> NetworkPrinter:
        """A printer from `socket://host:port` (the port defaults to 9100)."""
        return cls(*socket_address(url), **options)
