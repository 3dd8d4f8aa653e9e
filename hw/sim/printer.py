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

Threads (all daemon threads, so a simulator left running never keeps the
process alive; `stop()` closes every socket and joins them):
- "escpos-sim-accept": accepts connections;
- "escpos-sim-conn-N": one per connection: reads, interprets, answers.
State the threads share is kept under one lock.

Run `python -m hw.sim.printer [--port 9100]` to print receipts to the terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType

from hw.escpos_render import (
    PAPER_80MM,
    Paper,
    barcode_label,
    chars_per_line,
    page_text,
    place,
    placeholder,
    qr_label,
)
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


class EscposPrinterSimulator:
    """A network receipt printer on a local TCP port; see the module docstring."""

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
        self._host, self._port, self.paper = host, port, paper
        self.drawer_open_level_high = drawer_open_level_high
        self.drawer_close_after = drawer_close_after
        self._on_page, self._clock = on_page, clock
        self.paper_out = self.paper_near_end = self.cover_open = self.stall = False
        self.paper_lines_left: int | None = None
        self.error_cause: st.ErrorCause | None = None
        self.drawer_reports = True
        self.hang_up = False
        self._drop = False
        self._lock = threading.Lock()
        self._received = bytearray()
        self._events: list[ParseEvent] = []
        self._errors: list[str] = []
        self._pages: list[str] = []
        self._lines: list[str] = []
        self._kicks: list[DrawerKick] = []
        self._opened_at: float | None = None
        self._listener: socket.socket | None = None
        self._connections: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> EscposPrinterSimulator:
        """Open the port and start accepting connections."""
        listener = socket.create_server((self._host, self._port))
        self._port = listener.getsockname()[1]
        self._listener = listener
        self._spawn(self._accept_loop, "escpos-sim-accept")
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

    def __enter__(self) -> EscposPrinterSimulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
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

    # --- faults and the drawer ------------------------------------------------------------

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
    def received(self) -> bytes:
        """Every byte received, over every connection."""
        with self._lock:
            return bytes(self._received)

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
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            count += 1
            self._spawn(self._serve, f"escpos-sim-conn-{count}", conn)

    def _close_connections(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, set()
        for conn in connections:
            _shut(conn)

    def _serve(self, conn: socket.socket) -> None:
        interpreter = EscposInterpreter()
        try:
            while data := conn.recv(4096):
                with self._lock:
                    self._received += data
                interpreter.receive(data)
                reply = self._interpret(interpreter)
                if reply:
                    conn.sendall(reply)
        except OSError:
            pass  # dropped by a fault or by stop(): the connection just ends
        finally:
            with self._lock:
                self._connections.discard(conn)
            _shut(conn)

    def _interpret(self, interpreter: EscposInterpreter) -> bytes:
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
                    raise ConnectionAbortedError("hang_up fault")  # _serve closes the connection
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


def _shut(sock: socket.socket) -> None:
    # shutdown() first: close() alone does not wake a thread blocked in
    # accept() or recv() on the same socket.
    with contextlib.suppress(OSError):  # already disconnected
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


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
