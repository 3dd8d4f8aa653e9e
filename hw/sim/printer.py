"""A raw-TCP ESC/POS receipt printer (port 9100 style) with fault injection.

`EscposPrinterSimulator()` listens on 127.0.0.1 (port 0: a free port; `url`
is `socket://127.0.0.1:PORT`, what a `NetworkPrinter` opens). Every byte
received is kept (`received`) and read by the same interpreter the tests use
(`hw.protocols.escpos_parse`); what would come out on paper is kept as text
(`pages`, one string per cut-off receipt, laid out as `hw.escpos_render`'s
`render_pages` lays out the document; `current_page` for what is printed but
not yet cut). `DLE EOT n` is answered with the current status; an `ESC p`
kick opens the drawer, which closes again after `drawer_close_after` seconds
(None: only on `close_drawer()`).

Faults, settable at any time from any thread:

    paper_out         the printer is offline: nothing prints, kicks are not done
    paper_near_end    the near-end sensor reports (printing goes on)
    cover_open        offline like paper_out, reported as cover open
    error_cause       an `ErrorCause` (a jammed cutter, a hot head...): offline with
                      that error; None: no error
    paper_lines_left  lines left on the roll (None: endless); at 0 the paper runs
                      out mid-receipt
    stall             status requests are read and never answered (hung firmware,
                      or another host holding the port)
    drawer_reports    False: a model or drawer without the sensor; pin 3 always
                      reads "closed", whatever the drawer does
    hang_up           True: the next status request closes the connection instead
                      of being answered (a printer that restarted); then resets
    drop_connection   True closes every connection at once, and each new one as
                      soon as it is accepted, until set back to False

The TCP server, `drop_connection` and `received` are `hw.sim.tcp_device`'s.
Threads (daemon threads; `stop()` closes every socket and joins them):
- "escpos-sim-accept": accepts connections;
- "escpos-sim-conn-N": one per connection: reads, interprets, answers.
State the threads share is kept under one lock.

Run `python -m hw.sim.printer [--port 9100]` to print receipts to the terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import threading
import time
from collections.abc import Callable
from typing import TypedDict

from hw.escpos_render import (
    barcode_label,
    chars_per_line,
    page_text,
    place,
    placeholder,
    qr_label,
)
from hw.paper import PAPER_80MM, Paper
from hw.protocols import escpos_status as st
from hw.protocols.escpos_parse import (
    BarcodePrinted,
    DrawerKick,
    EscposInterpreter,
    EscposParseError,
    ImagePrinted,
    PaperCut,
    ParseEvent,
    PrintedLine,
    QRPrinted,
    StatusRequested,
    UnknownCommand,
)
from hw.sim.tcp_device import Session, TcpDeviceServer


class SimulatorOptions(TypedDict, total=False):
    """`EscposPrinterSimulator`'s keyword options, as the serial and USB printers pass them on."""

    drawer_open_level_high: bool
    drawer_close_after: float | None
    on_page: Callable[[str], None] | None
    clock: Callable[[], float]


class EscposPrinterSimulator(TcpDeviceServer):
    """A network receipt printer on a local TCP port; see the module docstring."""

    thread_prefix = "escpos-sim"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        paper: Paper = PAPER_80MM,
        *,
        drawer_open_level_high: bool = True,
        drawer_close_after: float | None = None,
        on_page: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """A stopped simulator; `start()` (or `with`) opens the port."""
        super().__init__(host, port)
        self.paper = paper
        self.drawer_open_level_high = drawer_open_level_high
        self.drawer_close_after = drawer_close_after
        self._on_page, self._clock = on_page, clock
        self.paper_out = self.paper_near_end = self.cover_open = self.stall = False
        self.paper_lines_left: int | None = None
        self.error_cause: st.ErrorCause | None = None
        self.drawer_reports = True
        self.hang_up = False
        self._events: list[ParseEvent] = []
        self._errors: list[str] = []
        self._pages: list[str] = []
        self._lines: list[str] = []
        self._kicks: list[DrawerKick] = []
        self._opened_at: float | None = None

    # --- faults and the drawer ------------------------------------------------------------

    @property
    def online(self) -> bool:
        """False while out of paper, with the cover open or in error."""
        return not (self.paper_out or self.cover_open or self.error_cause is not None)

    @property
    def drawer_open(self) -> bool:
        """Whether the drawer is open (kicked and not yet closed)."""
        with self._lock:
            return self._drawer_open_locked()

    def _drawer_open_locked(self) -> bool:
        if self._opened_at is None:
            return False
        close_after = self.drawer_close_after
        return close_after is None or self._clock() - self._opened_at < close_after

    def close_drawer(self) -> None:
        """Push the drawer shut."""
        with self._lock:
            self._opened_at = None

    # --- what it recorded ----------------------------------------------------------------

    @property
    def pages(self) -> list[str]:
        """The text of each receipt cut off so far."""
        with self._lock:
            return list(self._pages)

    @property
    def current_page(self) -> str:
        """What is printed since the last cut."""
        with self._lock:
            return page_text(list(self._lines))

    @property
    def events(self) -> list[ParseEvent]:
        """Every interpreter event, printed or not (unknown commands included)."""
        with self._lock:
            return list(self._events)

    @property
    def errors(self) -> list[str]:
        """Malformed commands the interpreter skipped."""
        with self._lock:
            return list(self._errors)

    @property
    def kicks(self) -> list[DrawerKick]:
        """Drawer kicks carried out (not those received while offline)."""
        with self._lock:
            return list(self._kicks)

    # --- serving -------------------------------------------------------------------------

    def _new_session(self) -> Session:
        return functools.partial(self._answer, EscposInterpreter())  # parser state per link

    def _answer(self, interpreter: EscposInterpreter, data: bytes) -> bytes:
        """Take `data` into `interpreter` (one link's parser state); return the answer.

        Raises `ConnectionAbortedError` when the `hang_up` fault takes the link down.
        """
        interpreter.receive(data)
        reply = b""
        while True:
            try:
                event = interpreter.next_event()
            except EscposParseError as err:
                with self._lock:
                    self._errors.append(str(err))
                continue
            if event is None:
                return reply
            reply += self._apply(event)

    def _apply(self, event: ParseEvent) -> bytes:
        with self._lock:
            self._events.append(event)
            if isinstance(event, StatusRequested):
                if self.hang_up:
                    self.hang_up = False
                    raise ConnectionAbortedError("hang_up fault")  # the link closes
                return b"" if self.stall else self._status_byte(event.n)
            if isinstance(event, UnknownCommand) or not self.online:
                return b""  # an offline printer holds its buffer: nothing comes out
            if isinstance(event, DrawerKick):
                self._kicks.append(event)
                self._opened_at = self._clock()
            elif isinstance(event, PaperCut):
                self._cut()
            else:
                self._print(self._paper_lines(event))
        return b""

    def _paper_lines(
        self, event: PrintedLine | BarcodePrinted | QRPrinted | ImagePrinted
    ) -> list[str]:
        width = self.paper.columns
        if isinstance(event, PrintedLine):
            chars = chars_per_line(width, event.style)
            # The printer itself wraps a line longer than the paper, mid-word.
            chunks = [event.text[i : i + chars] for i in range(0, len(event.text), chars)]
            return [place(chunk, event.align, chars) for chunk in chunks or [""]]
        if isinstance(event, BarcodePrinted):
            label = barcode_label(event.symbology, event.data)
        elif isinstance(event, QRPrinted):
            label = qr_label(event.data)
        else:
            label = f"IMAGE {event.width}x{event.height}"
        return [place(placeholder(label, width), event.align, width)]

    def _print(self, lines: list[str]) -> None:
        for line in lines:
            if self.paper_lines_left is not None:
                if self.paper_lines_left <= 0:
                    self.paper_out = True
                    return
                self.paper_lines_left -= 1
            self._lines.append(line)

    def _cut(self) -> None:
        page = page_text(self._lines)
        self._pages.append(page)
        self._lines = []
        if self._on_page is not None:
            self._on_page(page)

    def _status_byte(self, n: int) -> bytes:
        if n == st.StatusRequest.PRINTER:
            opened = self._drawer_open_locked() and self.drawer_reports
            pin3_high = opened == self.drawer_open_level_high
            return st.encode_status_printer(st.PrinterByte(pin3_high, offline=not self.online))
        error = self.error_cause
        if n == st.StatusRequest.OFFLINE_CAUSE:
            cause = st.OfflineCause(
                cover_open=self.cover_open, paper_end_stop=self.paper_out, error=error is not None
            )
            return st.encode_status_offline_cause(cause)
        if n == st.StatusRequest.ERROR_CAUSE:
            return st.encode_status_error_cause(error or st.ErrorCause())
        near_end = self.paper_near_end or self.paper_out
        return st.encode_status_roll_paper(st.RollPaper(near_end, self.paper_out))


def main(argv: list[str] | None = None) -> None:
    """Run a simulator in the foreground, printing each receipt as it is cut."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--columns", type=int, default=PAPER_80MM.columns)
    args = parser.parse_args(argv)
    paper = Paper(args.columns, PAPER_80MM.dots)
    with EscposPrinterSimulator(args.host, args.port, paper, on_page=print) as sim:
        print(f"ESC/POS printer simulator on {sim.url}; Ctrl-C to stop", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
