"""The TCP front of a simulated network device (port 9100 style), shared by every such simulator.

`TcpDeviceServer` listens on host:port (port 0: a free port; `port` is the
real one once started, `url` is `socket://host:port`, what a driver opens),
accepts connections and serves each on its own thread. What the device does
with the bytes is the subclass's: `_new_session()` gives, for each new
connection, a callable that takes every chunk received and returns the
device's answer (b"" for none), so parser state stays per connection as on a
real printer. One raising `OSError` (`ConnectionAbortedError` for a "hang up"
fault) ends that connection.

What every such device has, it has here: the record of every byte received
(`received`), and the `drop_connection` fault: True closes every connection
at once, and each new one as soon as it is accepted, until set back to False.

Threads (all daemon threads, so a simulator left running never keeps the
process alive; `stop()` closes every socket and joins them), named after the
subclass's `thread_prefix`:
- "<prefix>-accept": accepts connections;
- "<prefix>-conn-N": one per connection: reads, hands the bytes on, answers.
State the threads share (the subclass's too) is kept under one lock, `_lock`.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import ClassVar, Self

Session = Callable[[bytes], bytes]
"""One connection's device: takes the bytes received, returns the answer."""


class TcpDeviceServer:
    """A device on a local TCP port; see the module docstring."""

    thread_prefix: ClassVar[str] = "tcp-sim"
    """What the serving threads' names start with (each simulator names its own)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """A stopped server; `start()` (or `with`) opens the port."""
        self._host, self._port = host, port
        self._drop = False
        self._lock = threading.Lock()
        self._received = bytearray()
        self._listener: socket.socket | None = None
        self._connections: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []

    def _new_session(self) -> Session:
        """What serves one new connection (see the module docstring)."""
        raise NotImplementedError

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> Self:
        """Open the port and start accepting connections."""
        listener = socket.create_server((self._host, self._port))
        self._port = listener.getsockname()[1]
        self._listener = listener
        self._spawn(self._accept_loop, f"{self.thread_prefix}-accept")
        return self

    def stop(self) -> None:
        """Close the port and every connection; wait for the threads to end."""
        listener, self._listener = self._listener, None
        if listener is not None:
            _shut(listener)  # wakes the accept thread
        self._close_connections()
        for thread in self._threads:
            thread.join(timeout=2)
        self._threads.clear()

    def __enter__(self) -> Self:
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

    @property
    def host(self) -> str:
        """The address it listens on."""
        return self._host

    @property
    def port(self) -> int:
        """The TCP port (the real one once started with port 0)."""
        return self._port

    @property
    def url(self) -> str:
        """`socket://host:port`, as a driver opens it."""
        return f"socket://{self._host}:{self._port}"

    @property
    def drop_connection(self) -> bool:
        """True: connections are closed at once (see the module docstring)."""
        return self._drop

    @drop_connection.setter
    def drop_connection(self, drop: bool) -> None:
        with self._lock:
            self._drop = drop
        if drop:
            self._close_connections()

    @property
    def received(self) -> bytes:
        """Every byte received, over every connection."""
        with self._lock:
            return bytes(self._received)

    def _record(self, data: bytes) -> None:
        with self._lock:
            self._received += data

    # --- serving -------------------------------------------------------------------------

    def _spawn(self, target: Callable[..., None], name: str, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        count = 0
        while (listener := self._listener) is not None:
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # the listener was closed by stop()
            with self._lock:  # so a drop_connection set meanwhile cannot miss it
                dropped = self._drop
                if not dropped:
                    self._connections.add(conn)
            if dropped:
                _shut(conn)
                continue
            # A device answers a 3-byte status request at once: Nagle would hold it back.
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            count += 1
            self._spawn(self._serve, f"{self.thread_prefix}-conn-{count}", conn)

    def _close_connections(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, set()
        for conn in connections:
            _shut(conn)

    def _serve(self, conn: socket.socket) -> None:
        session = self._new_session()
        try:
            while data := conn.recv(4096):
                self._record(data)
                reply = session(data)
                if reply:
                    conn.sendall(reply)
        except OSError:
            pass  # dropped by a fault or by stop(): the connection just ends
        finally:
            with self._lock:
                self._connections.discard(conn)
            _shut(conn)


def _shut(sock: socket.socket) -> None:
    # shutdown() first: close() alone does not wake a thread blocked in
    # accept() or recv() on the same socket.
    with contextlib.suppress(OSError):  # already disconnected
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
