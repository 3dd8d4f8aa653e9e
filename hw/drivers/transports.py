"""Byte links to a printer: raw TCP and a serial line (any pyserial URL); USB is next door.

Each satisfies `Transport`, the only thing `hw.drivers.escpos_printer` knows of
a link: `connect()` opens it or raises `DeviceOffline` naming the fix;
`send` and `receive` are bounded by the timeout given; a link that breaks
raises `TransportLost` (the printer decides whether that is worth a second
try); `is_open()` says whether the link can be used now, noticing a link the
device dropped while idle and discarding bytes that arrived unasked (a late
status answer is never taken for the next one).

`hw.drivers.usb_transport` has the third, `UsbTransport`, and the small
interface that keeps pyusb out of its way. `run_query` runs a sans-I/O status
query (`hw.protocols.query`) over any of them; `ensure_open` (re)opens one.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import termios
from collections.abc import Callable
from typing import Any, Protocol, cast
from urllib.parse import urlsplit

import serial

from hw.ports import DeviceOffline
from hw.protocols.query import DeadlineQuery
from hw.serial_settings import SerialSettings

DEFAULT_TCP_PORT = 9100
_DRAIN_SIZE = 4096  # more than any late answer (a ZPL ~HS one is three lines): one read
_ANSWER_SIZE = 256  # more than any status answer
_PRINTER = "receipt printer"


class TransportLost(Exception):
    """The link broke while in use: closed by the device, reset, unplugged, or a send timed out."""


class Transport(Protocol):
    """A byte link to one device; see the module docstring."""

    where: str
    """The device's address as messages name it ("10.0.0.9:9100", "USB 04b8:0e28")."""
    url: str
    """How the link is opened again (`socket://...`, a device path, `usb://...`)."""
    stable_id: str
    """An id that survives a replug (see `hw.ports.DeviceInfo`)."""
    link: str
    """What a person checks when the link breaks: "network cable", "USB cable"..."""

    def connect(self) -> None:
        """Open the link; `DeviceOffline` (or `DeviceError`) naming the fix if it cannot."""
        ...

    def close(self) -> None:
        """Close the link; harmless when closed."""
        ...

    def is_open(self) -> bool:
        """True if open and usable now; a dead link is closed and False. Drops unasked input."""
        ...

    def send(self, data: bytes, timeout: float) -> None:
        """Send every byte within `timeout` seconds, or raise `TransportLost`."""
        ...

    def receive(self, size: int, timeout: float) -> bytes:
        """Up to `size` bytes, waiting at most `timeout` for the first; b"" if none came.

        Raises `TransportLost` if the link broke (end of stream, unplugged).
        """
        ...


def ensure_open(transport: Transport) -> bool:
    """Open `transport` unless it is open and usable; True if it was opened just now."""
    if transport.is_open():
        return False
    transport.connect()
    return True


def run_query(
    transport: Transport,
    query: DeadlineQuery[Any],
    clock: Callable[[], float],
    send_timeout: float,
) -> None:
    """Run `query` over `transport` until it is done (see `hw.protocols.query`).

    Raises `TransportLost` if the link breaks, and the query's `CodecError` for
    bytes that cannot be its answer: the caller names the device in either case.
    """
    while not query.done:
        if outgoing := query.data_to_send():
            transport.send(outgoing, send_timeout)
        deadline = query.next_deadline()
        assert deadline is not None  # not done
        chunk = transport.receive(_ANSWER_SIZE, max(deadline - clock(), 0.0))
        if chunk:
            query.receive_data(chunk)
        else:  # nothing came in the time left: the deadline has passed
            query.handle_timer(max(clock(), deadline))


# --- TCP -------------------------------------------------------------------------------


def socket_address(url: str) -> tuple[str, int]:
    """The host and port of `socket://host[:port]` (port 9100 by default); `ValueError` else."""
    parts = urlsplit(url)
    if parts.scheme != "socket" or not parts.hostname:
        raise ValueError(f"{url!r} is not a socket://host:port printer address")
    return parts.hostname, parts.port or DEFAULT_TCP_PORT


class TcpTransport:
    """Raw TCP (port 9100 style), with TCP_NODELAY so a 3-byte status request is not held back."""

    link = "network cable"

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_TCP_PORT,
        *,
        connect_timeout: float = 3.0,
        device: str = _PRINTER,
    ) -> None:
        """Nothing is opened until `connect()`; `device` is what messages call it."""
        self.address = (host, port)
        self.where = self.stable_id = f"{host}:{port}"
        self.url = f"socket://{host}:{port}"
        self._connect_timeout = connect_timeout
        self._device = device
        self._sock: socket.socket | None = None

    def connect(self) -> None:
        """Connect within the connect timeout."""
        self.close()
        try:
            sock = socket.create_connection(self.address, timeout=self._connect_timeout)
        except OSError as err:
            raise DeviceOffline(
                f"cannot reach the {self._device} at {self.where} ({err}): check it is "
                "switched on, its network cable is in and the address in the config is right"
            ) from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock

    def close(self) -> None:
        """Close the connection."""
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def is_open(self) -> bool:
        """False if closed, or if the device closed the connection while it was idle."""
        if self._sock is not None and not _still_open(self._sock):
            self.close()
        return self._sock is not None

    def send(self, data: bytes, timeout: float) -> None:
        """`sendall` within `timeout`."""
        sock = self._open_socket()
        try:
            sock.settimeout(timeout)
            sock.sendall(data)
        except OSError as err:
            raise TransportLost(str(err)) from None

    def receive(self, size: int, timeout: float) -> bytes:
        """One `recv`; end of stream is `TransportLost`."""
        sock = self._open_socket()
        try:
            sock.settimeout(max(timeout, 0.001))  # 0 would make the socket non-blocking
            chunk = sock.recv(size)
        except TimeoutError:
            return b""
        except OSError as err:
            raise TransportLost(str(err)) from None
        if not chunk:
            raise TransportLost("end of stream")
        return chunk

    def _open_socket(self) -> socket.socket:
        if self._sock is None:
            raise TransportLost("not connected")
        return self._sock


def _still_open(sock: socket.socket) -> bool:
    """False if the device closed this connection while it was idle."""
    # Non-blocking: with a timeout set, Python waits for data before recv() even
    # with MSG_DONTWAIT.
    sock.settimeout(0.0)
    try:
        data = sock.recv(_DRAIN_SIZE, socket.MSG_PEEK)
    except BlockingIOError:
        return True  # nothing to read: open and quiet
    except OSError:
        return False
    if data:
        sock.recv(len(data))  # a late answer: never read it as the next one
    return bool(data)


# --- serial ----------------------------------------------------------------------------

# What a port raises when its device is gone: pyserial's own, the OS's, and
# termios's (not an OSError) from flushing a hung-up tty.
_PORT_ERRORS = (serial.SerialException, OSError, termios.error)


class _Port(Protocol):
    """The part of a pyserial port this transport uses."""

    timeout: float | None
    write_timeout: float | None
    in_waiting: int
    is_open: bool

    def open(self) -> None: ...
    def close(self) -> None: ...
    def write(self, data: bytes) -> int | None: ...
    def read(self, size: int) -> bytes: ...
    def reset_input_buffer(self) -> None: ...


class SerialTransport:
    """A serial line opened by pyserial URL: a device path, `/dev/serial/by-id/...`, a pty,
    `loop://`, `spy://`, `rfc2217://` or `socket://`.

    Line settings come from the profile; DTR/RTS are set before the port opens.
    `rtscts`/`dsrdtr` turn on hardware handshake (many receipt printers ship
    with DTR/DSR on). A bad URL raises `ValueError` here, not at first use.
    """

    link = "serial cable"

    def __init__(
        self,
        url: str,
        settings: SerialSettings | None = None,
        *,
        rtscts: bool = False,
        dsrdtr: bool = False,
        device: str = _PRINTER,
    ) -> None:
        """A closed port on `url`; `connect()` opens it."""
        self.url = self.where = self.stable_id = url
        self.settings = settings if settings is not None else SerialSettings()
        self._device = device
        port = serial.serial_for_url(
            url,
            do_not_open=True,
            timeout=0,
            rtscts=rtscts,
            dsrdtr=dsrdtr,
            **self.settings.pyserial_kwargs(),
        )
        self.settings.apply_lines(port)  # before open(): pyserial asserts them as it opens
        self._port = cast(_Port, port)

    def connect(self) -> None:
        """Open the port and throw away whatever was waiting in it."""
        self.close()
        try:
            self._port.open()
            self._port.reset_input_buffer()
        except _PORT_ERRORS as err:
            self.close()
            if getattr(err, "errno", None) in (errno.EACCES, errno.EPERM):
                raise DeviceOffline(
                    f"permission denied on {self.url}: the udev rule from the image grants "
                    "the `dialout` group; is the register user in it?"
                ) from None
            raise DeviceOffline(
                f"cannot open the {self._device}'s port {self.url} ({err}): check it is "
                "plugged in and the path in the config"
            ) from None

    def close(self) -> None:
        """Close the port (a vanished device may fail to close: that is ignored)."""
        with contextlib.suppress(*_PORT_ERRORS):
            self._port.close()

    def is_open(self) -> bool:
        """False if closed or hung up (the adapter was pulled); drains unasked bytes."""
        if not self._port.is_open:
            return False
        try:
            self._port.timeout = 0
            # A timeout-0 read drains what waits (a late answer is nobody's) and
            # is the one call that notices a hung-up tty (EIO, or ready with no data).
            while self._port.read(4096):
                pass
        except _PORT_ERRORS:
            self.close()
            return False
        return True

    def send(self, data: bytes, timeout: float) -> None:
        """Write within `timeout` (a port held back by handshake times out)."""
        try:
            self._port.write_timeout = timeout
            self._port.write(data)
        except _PORT_ERRORS as err:
            raise TransportLost(str(err)) from None

    def receive(self, size: int, timeout: float) -> bytes:
        """Wait up to `timeout` for a byte, then take what else is there (up to `size`)."""
        try:
            self._port.timeout = max(timeout, 0.0)
            data = self._port.read(1)
            waiting = min(self._port.in_waiting, size - 1) if data else 0
            if waiting > 0:
                data += self._port.read(waiting)
        except _PORT_ERRORS as err:
            raise TransportLost(str(err)) from None
        return data
