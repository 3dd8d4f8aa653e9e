"""A TCP forwarder on 127.0.0.1 that injects network faults: latency, loss, cut, blackhole.

Control methods (``set_latency``, ``cut``, ``blackhole``, ``heal``, ``stats``) may be
called from any thread; each returns once it has taken effect on every connection. The
forwarding itself is one selector loop on one thread (see ``devstack._forwarder``).

Modes:
- open: bytes flow (after the configured latency).
- cut: every connection is closed with a RST (SO_LINGER 0) and the listening socket is
  closed, so new connections are refused, as when the far end is down.
- blackhole: bytes are read and dropped both ways, new connections are accepted but never
  connected upstream. The client's TCP sees nothing wrong: only an application keepalive
  notices. The upstream side of existing connections stays open until the target gives
  up on it (the broker's keepalive), as it would behind a dead router.
- ``heal()`` returns to open; connections that were black-holed are then reset, so their
  clients see the link die and reconnect.

The latency and the loss persist across ``heal()``: properties of the link, not modes. Loss
is what TCP makes of it: a lost segment stalls the stream for a retransmission timeout.
"""

import contextlib
import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Self

from devstack._forwarder import Forwarder
from devstack._links import Mode, ProxyStats
from devstack.errors import ServiceError
from devstack.ports import LOOPBACK

__all__ = ["Mode", "ProxyStats", "TcpProxy"]

_CALL_TIMEOUT = 10.0


class TcpProxy:
    """Forward 127.0.0.1:`port` to (`host`, `target_port`), with faults on demand.

    The proxy listens and runs from construction until ``close()`` (or the end of a
    ``with`` block). ``port`` picks the listening port (default: any free one).
    """

    def __init__(self, host: str, target_port: int, *, port: int = 0) -> None:
        infos = socket.getaddrinfo(host, target_port, type=socket.SOCK_STREAM)
        if not infos:
            raise ServiceError(f"cannot resolve {host}:{target_port}")
        family, _, _, _, sockaddr = infos[0]
        self.target = (host, target_port)
        self.host = LOOPBACK
        self._forwarder = Forwarder(family, sockaddr, self.host, port)
        self.port: int = self._forwarder.port
        self._closed = False
        self._thread = threading.Thread(
            target=self._forwarder.run, name=f"devstack-proxy-{self.port}", daemon=True
        )
        self._thread.start()

    def url_for(self, scheme: str) -> str:
        """``SCHEME://127.0.0.1:PORT``: the proxy's address for a client of that scheme."""
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) to connect to instead of the target."""
        return (self.host, self.port)

    @property
    def latency(self) -> float:
        """The one-way delay added to each direction, in seconds."""
        return self._forwarder.latency

    @property
    def mode(self) -> Mode:
        """The current fault mode."""
        return self._forwarder.mode

    def set_latency(self, seconds: float) -> None:
        """Delay every chunk by `seconds` each way (a round trip gains twice that).

        Applies to bytes read from now on, on existing and new connections alike.
        """
        if seconds < 0:
            raise ValueError("latency cannot be negative")
        self._call(lambda: self._forwarder.set_latency(float(seconds)))

    def set_loss(self, probability: float, retransmit_s: float = 0.2, seed: int = 0) -> None:
        """Lose each chunk with `probability` (0 heals): the stream stalls `retransmit_s`
        while TCP retransmits it, then goes on in order. Persists across ``heal()``."""
        if not 0 <= probability <= 1 or retransmit_s < 0:
            raise ValueError("loss is a probability in [0, 1] with a non-negative stall")
        self._call(lambda: self._forwarder.set_loss(float(probability), retransmit_s, seed))

    def cut(self) -> None:
        """Reset every connection and refuse new ones until ``heal()``."""
        self._call(self._forwarder.cut)

    def blackhole(self) -> None:
        """Silently drop all bytes both ways and accept new connections into the void."""
        self._call(self._forwarder.blackhole)

    def heal(self) -> None:
        """Back to forwarding: reopen after a cut, reset black-holed connections."""
        self._call(self._forwarder.heal)

    def stats(self) -> ProxyStats:
        """A consistent snapshot of the counters."""
        result = self._call(self._forwarder.snapshot)
        assert isinstance(result, ProxyStats)
        return result

    def close(self) -> None:
        """Close every connection and the listener, and join the loop thread."""
        if self._closed:
            return
        self._closed = True
        if self._thread.is_alive():
            # the loop may be ending on its own right now: then there is nothing to stop
            with contextlib.suppress(ServiceError):
                self._call(self._forwarder.stop, closing=True)
            self._thread.join(_CALL_TIMEOUT)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        host, port = self.target
        return f"<TcpProxy {self.host}:{self.port} -> {host}:{port} {self.mode.value}>"

    def _call(self, fn: Callable[[], object], *, closing: bool = False) -> object:
        if (self._closed and not closing) or not self._thread.is_alive():
            raise ServiceError("the proxy is closed")
        return self._forwarder.submit(fn).result(_CALL_TIMEOUT)
