"""The proxy's engine: one thread, one selector loop, every connection of a TcpProxy.

Theory of operation: the loop runs over the listening socket, every client socket and
every upstream socket, all non-blocking; there is no thread per connection, so hundreds
of connections cost nothing but file descriptors. Each connection (a link) has two pipes,
up (client -> target) and down (target -> client). Bytes read from one side are stamped
with a release time (now + latency, never earlier than the chunk before, so order holds
when the latency drops) and wait in the pipe until due; a heap of release times sets the
select timeout. An EOF travels through the pipe like a chunk and becomes
``shutdown(SHUT_WR)`` on the other side, so half-closes pass. A pipe holding more than
1 MiB stops reading its source: back pressure, not memory.

Only the loop thread touches this state. Other threads hand it work with ``submit()``,
which queues a function and wakes the loop through a socketpair; the loop runs it between
two rounds of I/O, so a mode change applies to every connection at once.
"""

import contextlib
import errno
import heapq
import itertools
import logging
import queue
import random
import selectors
import socket
import struct
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from devstack._links import Link, Mode, Pipe, ProxyStats, Side
from devstack.errors import ServiceError

log = logging.getLogger(__name__)

_CHUNK = 65536
_MAX_PENDING = 1 << 20
_LINGER_RST = struct.pack("ii", 1, 0)


_LISTENER = object()
_WAKE = object()


def _nodelay(sock: socket.socket) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Forwarder:
    """The loop behind a :class:`~devstack.proxy.TcpProxy`.

    Construction binds the listener (so ``port`` is known at once); ``run()`` is the body
    of the loop thread. Every other public method here runs on the loop thread only:
    reach it from elsewhere through ``submit()``.
    """

    def __init__(
        self,
        target_family: socket.AddressFamily,
        target_addr: tuple[Any, ...],
        host: str,
        port: int,
    ) -> None:
        self._family = target_family
        self._target_addr = target_addr
        self.host = host
        self.port = port
        self.mode = Mode.OPEN
        self.latency = 0.0
        self.loss = 0.0  # chance that a chunk is "lost" and waits for its retransmission
        self.retransmit_s = 0.2
        self._rand = random.Random(0)
        self._links: set[Link] = set()
        self._timers: list[tuple[float, int, Link, Pipe]] = []
        self._seq = itertools.count()
        self._commands: queue.SimpleQueue[tuple[Callable[[], object], Future[object]]] = (
            queue.SimpleQueue()
        )
        self._bytes_up = self._bytes_down = self._bytes_dropped = 0
        self._connections_total = self._upstream_failures = 0
        self._stopping = False
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, _WAKE)
        self._listener: socket.socket | None = None
        try:
            self._listen()
        except OSError:
            self._selector.close()
            self._wake_r.close()
            self._wake_w.close()
            raise

    def submit(self, fn: Callable[[], object]) -> Future[object]:
        """Run `fn` on the loop thread (any thread may call this); its result, as a future."""
        future: Future[object] = Future()
        self._commands.put((fn, future))
        try:
            self._wake_w.send(b"\0")
        except BlockingIOError:
            pass  # the loop is already due to wake
        except OSError as error:
            raise ServiceError("the proxy is closed") from error
        return future

    # -- commands (loop thread) ----------------------------------------------------------

    def set_latency(self, seconds: float) -> None:
        """Stamp chunks read from now on with this one-way delay."""
        self.latency = seconds

    def set_loss(self, probability: float, retransmit_s: float, seed: int) -> None:
        """Lose chunks read from now on with this probability, as TCP sees a lost segment:
        the stream stalls for `retransmit_s` (the retransmission timeout) and then goes on,
        in order, nothing missing (a byte stream cannot drop bytes and stay a stream)."""
        self.loss, self.retransmit_s = probability, retransmit_s
        self._rand = random.Random(seed)

    def stop(self) -> None:
        """End the loop after this round; ``run()`` then closes everything."""
        self._stopping = True

    def snapshot(self) -> ProxyStats:
        """The counters as they stand."""
        return ProxyStats(
            bytes_up=self._bytes_up,
            bytes_down=self._bytes_down,
            bytes_dropped=self._bytes_dropped,
            connections_total=self._connections_total,
            connections_open=len(self._links),
            upstream_failures=self._upstream_failures,
            mode=self.mode,
        )

    # -- the loop thread -----------------------------------------------------------------

    def run(self) -> None:
        """The loop thread's body: forward until ``stop()``, then close everything."""
        try:
            while not self._stopping:
                timeout = None
                if self._timers:
                    timeout = max(0.0, self._timers[0][0] - time.monotonic())
                for key, events in self._selector.select(timeout):
                    if key.data is _WAKE:
                        self._drain_wake()
                    elif key.data is _LISTENER:
                        self._accept()
                    else:
                        link, side = key.data
                        try:
                            self._on_event(link, side, events)
                        except Exception:
                            log.exception("proxy %s: error on a connection", self.port)
                            self._close_link(link, rst=True)
                self._run_commands()
                self._release_due(time.monotonic())
        except Exception:
            log.exception("proxy %s: loop failed", self.port)
        finally:
            self._shutdown()

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass

    def _run_commands(self) -> None:
        while True:
            try:
                fn, future = self._commands.get_nowait()
            except queue.Empty:
                return
            try:
                future.set_result(fn())
            except Exception as error:
                future.set_exception(error)

    def _shutdown(self) -> None:
        for link in list(self._links):
            self._close_link(link, rst=False)
        self._close_listener()
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()
        # Anyone still waiting on a command hears that the proxy is gone.
        while True:
            try:
                _, future = self._commands.get_nowait()
            except queue.Empty:
                break
            future.set_exception(ServiceError("the proxy is closed"))

    # -- listening -----------------------------------------------------------------------

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self.host, self.port))
            listener.listen(1024)
            listener.setblocking(False)
        except OSError:
            listener.close()
            raise
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._selector.register(listener, selectors.EVENT_READ, _LISTENER)

    def _close_listener(self) -> None:
        if self._listener is not None:
            self._selector.unregister(self._listener)
            self._listener.close()
            self._listener = None

    def _accept(self) -> None:
        while self._listener is not None:
            try:
                client, _ = self._listener.accept()
            except BlockingIOError:
                return
            except OSError as error:  # EMFILE and friends: try again on the next wake
                log.warning("proxy %s: accept failed: %s", self.port, error)
                return
            client.setblocking(False)
            _nodelay(client)
            link = Link(client)
            self._links.add(link)
            self._connections_total += 1
            if self.mode is Mode.BLACKHOLE:
                link.blackholed = True
            else:
                self._connect_upstream(link)
            if not link.closed:
                self._update(link)

    def _connect_upstream(self, link: Link) -> None:
        upstream = socket.socket(self._family, socket.SOCK_STREAM)
        upstream.setblocking(False)
        _nodelay(upstream)
        link.upstream = upstream
        err = upstream.connect_ex(self._target_addr)
        if err in (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN):
            link.connecting = True
        elif err != 0:
            self._upstream_failures += 1
            self._close_link(link, rst=True)

    # -- connection events ---------------------------------------------------------------

    def _on_event(self, link: Link, side: Side, events: int) -> None:
        sock = link.sock(side)
        if link.closed or sock is None:
            return
        if side is Side.UPSTREAM and link.connecting:
            if events & selectors.EVENT_WRITE:
                if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                    self._upstream_failures += 1
                    self._close_link(link, rst=True)
                    return
                link.connecting = False
                self._flush(link, link.up)
                self._update(link)
            return
        if events & selectors.EVENT_READ:
            self._read(link, side, sock)
        if events & selectors.EVENT_WRITE and not link.closed:
            self._flush(link, link.down if side is Side.CLIENT else link.up)

    def _read(self, link: Link, side: Side, sock: socket.socket) -> None:
        pipe = link.up if side is Side.CLIENT else link.down
        try:
            chunk = sock.recv(_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            if link.blackholed:
                self._close_side(link, side, rst=False)
            else:
                self._close_link(link, rst=True)
            return
        if link.blackholed:
            # Nothing crosses a black hole, not even a FIN: each side is on its own.
            self._bytes_dropped += len(chunk)
            if not chunk:
                self._close_side(link, side, rst=False)
            return
        if not chunk:
            pipe.eof_read = True
        self._push(link, pipe, chunk or None, time.monotonic())
        if not link.closed:
            self._update(link)

    def _push(self, link: Link, pipe: Pipe, chunk: bytes | None, now: float) -> None:
        lost = self.loss > 0 and self._rand.random() < self.loss
        release = max(now + self.latency + (self.retransmit_s if lost else 0.0), pipe.last_release)
        pipe.last_release = release
        if chunk is not None:
            pipe.pending += len(chunk)
        if release <= now and not pipe.delayed:
            self._deliver(pipe, chunk)
            self._flush(link, pipe)
        else:
            pipe.delayed.append((release, chunk))
            heapq.heappush(self._timers, (release, next(self._seq), link, pipe))

    @staticmethod
    def _deliver(pipe: Pipe, chunk: bytes | None) -> None:
        if chunk is None:
            pipe.eof_due = True
        else:
            pipe.outbuf += chunk

    def _release_due(self, now: float) -> None:
        while self._timers and self._timers[0][0] <= now:
            _, _, link, pipe = heapq.heappop(self._timers)
            if link.closed:
                continue
            while pipe.delayed and pipe.delayed[0][0] <= now:
                self._deliver(pipe, pipe.delayed.popleft()[1])
            self._flush(link, pipe)
            if not link.closed:
                self._update(link)

    def _flush(self, link: Link, pipe: Pipe) -> None:
        dst = link.upstream if pipe is link.up else link.client
        if dst is None or link.connecting or link.blackholed:
            return
        while pipe.outbuf:
            try:
                sent = dst.send(pipe.outbuf)
            except BlockingIOError:
                break
            except OSError:
                self._close_link(link, rst=True)
                return
            del pipe.outbuf[:sent]
            pipe.pending -= sent
            if pipe is link.up:
                self._bytes_up += sent
            else:
                self._bytes_down += sent
        if not pipe.outbuf and pipe.eof_due and not pipe.shut:
            pipe.shut = True
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                self._close_link(link, rst=True)
                return
            if link.up.shut and link.down.shut:
                self._close_link(link, rst=False)
                return
        self._update(link)

    # -- interest and closing ------------------------------------------------------------

    def _update(self, link: Link) -> None:
        """Register each socket for exactly the events its link can act on now."""
        if link.closed:
            return
        up, down = link.up, link.down
        client_mask = 0
        if not up.eof_read and (link.blackholed or up.pending < _MAX_PENDING):
            client_mask |= selectors.EVENT_READ
        if not link.blackholed and down.outbuf:
            client_mask |= selectors.EVENT_WRITE
        upstream_mask = 0
        if link.connecting:
            upstream_mask = selectors.EVENT_WRITE
        else:
            if not down.eof_read and (link.blackholed or down.pending < _MAX_PENDING):
                upstream_mask |= selectors.EVENT_READ
            if not link.blackholed and up.outbuf:
                upstream_mask |= selectors.EVENT_WRITE
        self._set_mask(link, Side.CLIENT, client_mask)
        self._set_mask(link, Side.UPSTREAM, upstream_mask)

    def _set_mask(self, link: Link, side: Side, mask: int) -> None:
        sock = link.sock(side)
        old = link.masks[side]
        if sock is None or mask == old:
            return
        if old == 0:
            self._selector.register(sock, mask, (link, side))
        elif mask == 0:
            self._selector.unregister(sock)
        else:
            self._selector.modify(sock, mask, (link, side))
        link.masks[side] = mask

    def _close_side(self, link: Link, side: Side, *, rst: bool) -> None:
        sock = link.sock(side)
        if sock is not None:
            if link.masks[side]:
                self._selector.unregister(sock)
                link.masks[side] = 0
            if rst:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RST)
            sock.close()
            if side is Side.CLIENT:
                link.client = None
            else:
                link.upstream = None
        if link.client is None and link.upstream is None:
            link.closed = True
            self._links.discard(link)

    def _close_link(self, link: Link, *, rst: bool) -> None:
        self._close_side(link, Side.CLIENT, rst=rst)
        self._close_side(link, Side.UPSTREAM, rst=rst)

    # -- modes (loop thread) -------------------------------------------------------------

    def cut(self) -> None:
        """Reset every connection and close the listener."""
        self.mode = Mode.CUT
        self._close_listener()
        for link in list(self._links):
            self._close_link(link, rst=True)

    def blackhole(self) -> None:
        """Drop everything from now on, on existing and new connections."""
        if self._listener is None:
            self._listen()
        self.mode = Mode.BLACKHOLE
        for link in self._links:
            link.blackholed = True
            self._bytes_dropped += link.up.clear() + link.down.clear()
            self._update(link)

    def heal(self) -> None:
        """Listen again if cut; reset the black-holed connections."""
        if self._listener is None:
            self._listen()
        self.mode = Mode.OPEN
        for link in list(self._links):
            if link.blackholed:
                self._close_link(link, rst=True)
