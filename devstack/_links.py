"""What the proxy's loop (`devstack._forwarder`) keeps per connection, and its counters.

A link is one client connection and its upstream connection; it has two pipes, up
(client -> target) and down (target -> client), each holding the chunks read from its
source until they are due (`delayed`), then until the destination takes them
(`outbuf`). Only the loop thread touches these.
"""

import socket
from collections import deque
from dataclasses import dataclass
from enum import Enum


class Mode(Enum):
    """What the proxy does with traffic."""

    OPEN = "open"
    CUT = "cut"
    BLACKHOLE = "blackhole"


class Side(Enum):
    CLIENT = "client"
    UPSTREAM = "upstream"


@dataclass(frozen=True)
class ProxyStats:
    """A snapshot of the proxy's counters."""

    bytes_up: int
    """Bytes delivered from clients to the target."""
    bytes_down: int
    """Bytes delivered from the target to clients."""
    bytes_dropped: int
    """Bytes read and thrown away (blackhole, or pending when a link was black-holed)."""
    connections_total: int
    """Client connections accepted since the proxy started."""
    connections_open: int
    """Client connections the proxy holds now (including black-holed ones)."""
    upstream_failures: int
    """Connections whose upstream connect failed (the client was then reset)."""
    mode: Mode


class Pipe:
    """One direction of a link: chunks wait in `delayed` until due, then in `outbuf`."""

    __slots__ = ("delayed", "eof_due", "eof_read", "last_release", "outbuf", "pending", "shut")

    def __init__(self) -> None:
        self.delayed: deque[tuple[float, bytes | None]] = deque()  # None marks EOF
        self.outbuf = bytearray()
        self.pending = 0  # bytes in delayed + outbuf
        self.eof_read = False  # the source sent FIN
        self.eof_due = False  # that FIN is due: shut the destination once outbuf drains
        self.shut = False
        self.last_release = 0.0

    def clear(self) -> int:
        """Forget everything pending; the number of bytes forgotten."""
        dropped = self.pending
        self.delayed.clear()
        self.outbuf.clear()
        self.pending = 0
        return dropped


class Link:
    """One client connection and its upstream connection."""

    __slots__ = ("blackholed", "client", "closed", "connecting", "down", "masks", "up", "upstream")

    def __init__(self, client: socket.socket) -> None:
        self.client: socket.socket | None = client
        self.upstream: socket.socket | None = None
        self.connecting = False
        self.blackholed = False
        self.closed = False
        self.up = Pipe()
        self.down = Pipe()
        self.masks = {Side.CLIENT: 0, Side.UPSTREAM: 0}

    def sock(self, side: Side) -> socket.socket | None:
        return self.client if side is Side.CLIENT else self.upstream
