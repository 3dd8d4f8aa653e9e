"""An ESC/POS receipt printer over any `Transport`, and the cash drawer behind it.

`EscposPrinter` satisfies `hw.ports.ReceiptPrinter`: it keeps one link open
(TCP, serial or USB: `hw.drivers.transports`, `hw.drivers.usb_transport`),
asks the real-time status with `StatusQuery`, renders a `PrintDocument` with
`hw.escpos_render` and sends the bytes. `open_escpos_printer(url)` picks the
transport from the URL a profile or `hw.discovery` gives.

`print()` checks the status before sending and again after: a printer out of
paper or with its cover open raises `DeviceError` naming the fix, before a
byte is sent or once the bytes are in, so the caller's persisted print job
stays pending and is printed again, whole, once the fault clears. Anything
that goes wrong with the link drops it; the next call opens it anew. A link
the printer dropped while idle (many close port 9100 after a minute or two; a
USB printer re-enumerates after a power cycle) is noticed before use, or on
the first request, and replaced once without an error.

`PrinterDrawer` satisfies `hw.ports.CashDrawer`: `ESC p` through the printer,
then status polls until `KickConfirmation` decides. The drawer's sensor
polarity (`drawer_open_level_high`) belongs to the drawer, so it is passed to
the drawer, not the printer.

All calls are blocking and bounded by their timeouts; one lock serialises
them, so a status poll from another thread never interleaves with a receipt.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypedDict, Unpack
from urllib.parse import urlsplit

from hw.document import PrintDocument
from hw.drivers.transports import (
    SerialTransport,
    TcpTransport,
    Transport,
    TransportLost,
    ensure_open,
    run_query,
    socket_address,
)
from hw.drivers.usb_transport import UsbBus, UsbTransport
from hw.escpos_render import render_escpos
from hw.paper import PAPER_80MM, Paper
from hw.ports import DeviceError, DeviceInfo, DeviceKind, DeviceOffline, KickResult, PrinterStatus
from hw.protocols.escpos_status import (
    EscposStatusError,
    KickConfirmation,
    StatusAnswers,
    StatusQuery,
    drawer_kick,
)
from hw.serial_settings import SerialSettings


class _ConnectionLost(Exception):
    """A link that was already open turned out dead on use (internal)."""


class PrinterOptions(TypedDict, total=False):
    """`EscposPrinter`'s keyword options, as `open_escpos_printer` passes them on."""

    paper: Paper
    model: str
    status_timeout: float
    send_timeout: float
    drawer_open_level_high: bool | None
    clock: Callable[[], float]


class EscposPrinter:
    """A receipt printer on `transport`; see the module docstring."""

    def __init__(
        self,
        transport: Transport,
        *,
        paper: Paper = PAPER_80MM,
        model: str = "ESC/POS receipt printer",
        status_timeout: float = 2.0,
        send_timeout: float = 10.0,
        drawer_open_level_high: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Nothing is opened until the first call."""
        self.transport = transport
        self.info = DeviceInfo(
            DeviceKind.RECEIPT_PRINTER, model, transport.stable_id, transport.url
        )
        self._paper = paper
        self._status_timeout = status_timeout
        self._send_timeout = send_timeout
        self._drawer_open_level_high = drawer_open_level_high
        self._clock = clock
        self._lock = threading.RLock()

    @property
    def where(self) -> str:
        """The printer's address, as messages name it."""
        return self.transport.where

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
        """Send raw ESC/POS bytes; `DeviceOffline` if the link fails."""
        with self._lock:
            ensure_open(self.transport)
            try:
                self.transport.send(data, self._send_timeout)
            except TransportLost as err:
                self.transport.close()
                raise DeviceOffline(
                    f"the receipt printer at {self.where} stopped taking data ({err}): "
                    f"it may be out of paper, or its {self.transport.link} is out"
                ) from None

    def close(self) -> None:
        """Close the link (the next call opens a new one)."""
        with self._lock:
            self.transport.close()

    # --- status ------------------------------------------------------------------------

    def _read_status(self, level_high: bool | None) -> tuple[PrinterStatus, StatusAnswers]:
        with self._lock:
            try:
                return self._query(level_high)
            except _ConnectionLost:
                # The printer had dropped a link that still looked open (it
                # restarted, a switch port flapped): once more, on a new one.
                return self._query(level_high)

    def _query(self, level_high: bool | None) -> tuple[PrinterStatus, StatusAnswers]:
        """One status query; `_ConnectionLost` only if the link was an old one."""
        fresh = ensure_open(self.transport)
        query = StatusQuery(self._clock(), self._status_timeout, level_high)
        try:
            self._exchange(query)
        except TransportLost as lost:
            self.transport.close()
            if not fresh:
                raise _ConnectionLost(str(lost)) from None
            raise DeviceOffline(
                f"the receipt printer at {self.where} closed the connection ({lost}): "
                f"check its power and {self.transport.link}"
            ) from None
        status, answers = query.status, query.answers
        if status is None or answers is None:
            self.transport.close()  # its answer may still come: never read it as the next one
            raise DeviceOffline(
                f"the receipt printer at {self.where} did not answer a status request "
                f"within {self._status_timeout:g} s ({query.state.value}): check it "
                "is switched on and online, and that no other computer holds its port"
            )
        return status, answers

    def _exchange(self, query: StatusQuery) -> None:
        """Run `query` over the link; `TransportLost` if the link breaks."""
        try:
            run_query(self.transport, query, self._clock, self._status_timeout)
        except EscposStatusError as err:
            self.transport.close()
            raise DeviceError(
                f"the device at {self.where} does not answer like an ESC/POS printer ({err}): "
                "check the address and that the printer is in ESC/POS mode"
            ) from None

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


def open_escpos_printer(
    url: str,
    *,
    settings: SerialSettings | None = None,
    connect_timeout: float = 3.0,
    usb_bus: UsbBus | None = None,
    **options: Unpack[PrinterOptions],
) -> EscposPrinter:
    """A receipt printer at `url`, on the transport the URL names.

    - `socket://host[:port]`: raw TCP (port 9100 by default), `connect_timeout` bounding
      the connect;
    - `usb://vvvv:pppp[?serial=...|?port=1-1.2]`: USB bulk endpoints (`usb_bus`: a fake,
      for tests and demos; the real bus by default);
    - anything else (`/dev/ttyUSB0`, `/dev/serial/by-id/...`, `loop://`, `spy://`,
      `rfc2217://`): a serial line with `settings` (9600 8N1 if None).

    Nothing is opened yet; a malformed URL raises `ValueError` now.
    """
    scheme = urlsplit(url).scheme
    transport: Transport
    if scheme == "socket":
        host, port = socket_address(url)
        transport = TcpTransport(host, port, connect_timeout=connect_timeout)
    elif scheme == "usb":
        transport = UsbTransport.from_url(url, bus=usb_bus)
    else:
        transport = SerialTransport(url, settings)
    return EscposPrinter(transport, **options)


class PrinterDrawer:
    """A cash drawer on an `EscposPrinter`'s drawer port; see the module docstring."""

    def __init__(
        self,
        printer: EscposPrinter,
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
