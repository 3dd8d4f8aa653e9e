"""An ESC/POS receipt printer on raw TCP (port 9100), and the cash drawer behind it.

`NetworkPrinter` satisfies `hw.ports.ReceiptPrinter`: it keeps one TCP
connection (TCP_NODELAY, so a 3-byte status request is not held back by
Nagle's algorithm), asks the real-time status with `StatusQuery`, renders a
`PrintDocument` with `hw.escpos_render` and sends the bytes.

`print()` checks the status before sending and again after: a printer out of
paper or with its cover open raises `DeviceError` naming the fix, before a
byte is sent or once the bytes are in, so the caller's persisted print job
stays pending and is printed again, whole, once the fault clears. Anything
that goes wrong with the connection drops it; the next call connects anew. A
connection the printer closed while idle (many close port 9100 after a minute
or two) is noticed before use and replaced without an error.

`PrinterDrawer` satisfies `hw.ports.CashDrawer`: `ESC p` through the printer,
then status polls until `KickConfirmation` decides. The drawer's sensor
polarity (`drawer_open_level_high`) belongs to the drawer, so it is passed to
the drawer, not the printer.

All calls are blocking and bounded by their timeouts; one lock serialises
them, so a status poll from another thread never interleaves with a receipt.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from hw.document import PrintDocument
from hw.escpos_render import PAPER_80MM, Paper, render_escpos
from hw.ports import DeviceError, DeviceInfo, DeviceKind, DeviceOffline, KickResult, PrinterStatus
from hw.protocols.escpos_status import (
    EscposStatusError,
    KickConfirmation,
    StatusAnswers,
    StatusQuery,
    drawer_kick,
)

DEFAULT_PORT = 9100
_RECV_SIZE = 64


class _ConnectionLost(Exception):
    """The printer closed or reset the connection (internal)."""


class NetworkPrinter:
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
        self.info = DeviceInfo(
            DeviceKind.RECEIPT_PRINTER, model, f"{host}:{port}", f"socket://{host}:{port}"
        )
        self._address = (host, port)
        self._paper = paper
        self._connect_timeout = connect_timeout
        self._status_timeout = status_timeout
        self._send_timeout = send_timeout
        self._drawer_open_level_high = drawer_open_level_high
        self._clock = clock
        self._sock: socket.socket | None = None
        self._lock = threading.RLock()

    @classmethod
    def from_url(cls, url: str, **options: Any) -> NetworkPrinter:
        """A printer from `socket://host:port` (the port defaults to 9100)."""
        parts = urlsplit(url)
        if parts.scheme != "socket" or not parts.hostname:
            raise ValueError(f"{url!r} is not a socket://host:port printer address")
        return cls(parts.hostname, parts.port or DEFAULT_PORT, **options)

    @property
    def where(self) -> str:
        """host:port, as messages name the printer."""
        return f"{self._address[0]}:{self._address[1]}"

    # --- ReceiptPrinter ----------------------------------------------------------------

    def status(self) -> PrinterStatus:
        """The real-time status; `DeviceOffline` if the printer does not answer in time."""
        return self.query_status(self._drawer_open_level_high)

    def query_status(self, drawer_open_level_high: bool | None) -> PrinterStatus:
        """The real-time status, reading the drawer sensor with this polarity."""
        return self._read_status(drawer_open_level_high)[0]

    def print(self, document: PrintDocument) -> None:
        """Print `document` whole, or raise `DeviceError` naming what to fix.

        Raises `RenderError` (before touching the printer) for a document that
        cannot be printed as given.
        """
        data = render_escpos(document, self._paper)
        with self._lock:
            self._raise_unless_printable(*self._read_status(None), mid_receipt=False)
            self.send(data)
            self._raise_unless_printable(*self._read_status(None), mid_receipt=True)

    def send(self, data: bytes) -> None:
        """Send raw ESC/POS bytes; `DeviceOffline` if the connection fails."""
        with self._lock:
            sock, _ = self._connection()
            try:
                sock.settimeout(self._send_timeout)
                sock.sendall(data)
            except OSError as err:
                self._drop()
                raise DeviceOffline(
                    f"the receipt printer at {self.where} stopped taking data ({err}): "
                    "it may be out of paper, or its network cable is out"
                ) from None

    def close(self) -> None:
        """Close the connection (the next call opens a new one)."""
        with self._lock:
            self._drop()

    # --- connection --------------------------------------------------------------------

    def _connection(self) -> tuple[socket.socket, bool]:
        """The open socket and whether it is fresh (just connected)."""
        if self._sock is not None and not _still_open(self._sock):
            self._drop()
        if self._sock is not None:
            return self._sock, False
        try:
            sock = socket.create_connection(self._address, timeout=self._connect_timeout)
        except OSError as err:
            raise DeviceOffline(
                f"cannot reach the receipt printer at {self.where} ({err}): check it is "
                "switched on, its network cable is in and the address in the config is right"
            ) from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        return sock, True

    def _drop(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    # --- status ------------------------------------------------------------------------

    def _read_status(self, level_high: bool | None) -> tuple[PrinterStatus, StatusAnswers]:
        with self._lock:
            try:
                return self._query(level_high)
            except _ConnectionLost:
                # The printer had closed a connection that still looked open (it
                # restarted, a switch port flapped): once more, on a new one.
                return self._query(level_high)

    def _query(self, level_high: bool | None) -> tuple[PrinterStatus, StatusAnswers]:
        """One status query; `_ConnectionLost` only if the connection was an old one."""
        sock, fresh = self._connection()
        query = StatusQuery(self._clock(), self._status_timeout, level_high)
        try:
            self._exchange(sock, query)
        except _ConnectionLost as lost:
            self._drop()
            if not fresh:
                raise
            raise DeviceOffline(
                f"the receipt printer at {self.where} closed the connection ({lost}): "
                "check its power and network cable"
            ) from None
        status, answers = query.status, query.answers
        if status is None or answers is None:
            self._drop()  # its answer may still come: never read it as the next one
            raise DeviceOffline(
                f"the receipt printer at {self.where} did not answer a status request "
                f"within {self._status_timeout:g} s ({query.state.value}): check it "
                "is switched on and online, and that no other computer holds its port"
            )
        return status, answers

    def _exchange(self, sock: socket.socket, query: StatusQuery) -> None:
        try:
            while not query.done:
                if outgoing := query.data_to_send():
                    sock.sendall(outgoing)
                deadline = query.next_deadline()
                assert deadline is not None  # not done
                sock.settimeout(max(deadline - self._clock(), 0.001))
                try:
                    chunk = sock.recv(_RECV_SIZE)
                except TimeoutError:
                    query.handle_timer(max(self._clock(), deadline))
                    continue
                if not chunk:
                    raise _ConnectionLost("end of stream")
                query.receive_data(chunk)
        except EscposStatusError as err:
            self._drop()
            raise DeviceError(
                f"the device at {self.where} does not answer like an ESC/POS printer ({err}): "
                "check the address and that the printer is in ESC/POS mode"
            ) from None
        except OSError as err:
            raise _ConnectionLost(str(err)) from None

    def _raise_unless_printable(
        self, status: PrinterStatus, answers: StatusAnswers, *, mid_receipt: bool
    ) -> None:
        if status.can_print:
            return
        then = (
            "the whole receipt will print again then"
            if mid_receipt
            else "the receipt will print then"
        )
        during = " during the receipt" if mid_receipt else ""
        if status.paper_out:
            raise DeviceError(f"out of paper{during}: load a roll, {then}")
        if status.cover_open:
            raise DeviceError(f"the printer cover is open{during}: close it, {then}")
        raise DeviceError(f"the printer at {self.where} is offline{during}: {_why(answers)}")


def _why(answers: StatusAnswers) -> str:
    error = answers.error_cause
    if error.autocutter:
        return "the cutter is jammed: open the cover, clear the paper and close it"
    if error.unrecoverable:
        return "it reports an unrecoverable error: switch it off and on"
    if error.auto_recoverable:
        return "its print head is too hot: it carries on by itself in a minute"
    return "check its lights and press its FEED button once"


def _still_open(sock: socket.socket) -> bool:
    """False if the printer closed this connection while it was idle."""
    # Non-blocking: with a timeout set, Python waits for data before recv() even
    # with MSG_DONTWAIT.
    sock.settimeout(0.0)
    try:
        data = sock.recv(_RECV_SIZE, socket.MSG_PEEK)
    except BlockingIOError:
        return True  # nothing to read: open and quiet
    except OSError:
        return False
    if data:
        sock.recv(len(data))  # a late answer: never read it as the next one
    return bool(data)


class PrinterDrawer:
    """A cash drawer on a `NetworkPrinter`'s drawer port; see the module docstring."""

    def __init__(
        self,
        printer: NetworkPrinter,
        *,
        pin: int = 2,
        pulse_on_ms: int = 100,
        pulse_off_ms: int = 500,
        drawer_open_level_high: bool | None = None,
        confirm_timeout: float = 2.0,
        poll_interval: float = 0.05,
        model: str = "printer-driven cash drawer",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`drawer_open_level_high`: True if pin 3 HIGH means open, None if no sensor."""
        self._printer = printer
        self._kick = drawer_kick(pin, pulse_on_ms, pulse_off_ms)  # a bad pin fails here
        self._level_high = drawer_open_level_high
        self._confirm_timeout, self._poll_interval = confirm_timeout, poll_interval
        self._clock, self._sleep = clock, sleep
        where = printer.info.stable_id
        self.info = DeviceInfo(DeviceKind.CASH_DRAWER, model, f"{where}#pin{pin}", printer.info.url)

    def kick(self) -> KickResult:
        """Pulse the drawer and report whether its sensor saw it open.

        Raises `DeviceOffline` if the printer cannot be reached at all.
        """
        before = self._printer.query_status(self._level_high)
        if not before.online:
            return KickResult(
                False,
                "the printer is offline (out of paper or cover open) and would hold the kick "
                "until that is fixed: open the drawer with its key",
            )
        self._printer.send(self._kick)
        watch = KickConfirmation(self._clock(), self._confirm_timeout, before)
        while watch.result is None:
            self._sleep(self._poll_interval)
            try:
                status = self._printer.query_status(self._level_high)
            except DeviceError as err:
                return KickResult(
                    False, f"the kick was sent but the printer stopped answering: {err}"
                )
            watch.observe(status, self._clock())
        return watch.result

    def is_open(self) -> bool | None:
        """True/False from the drawer sensor; None where there is none."""
        return self._printer.query_status(self._level_high).drawer_open
