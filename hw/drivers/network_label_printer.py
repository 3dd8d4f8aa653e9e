"""A label printer on raw TCP (port 9100), in ZPL, TSPL or ESC/POS as its profile says.

`NetworkLabelPrinter` satisfies `hw.ports.LabelPrinter`. `print_label()` is the
main entry: it renders a `hw.labels.FilledLabel` in the printer's language
(`hw.labels.render_label`, before touching the printer, so a label that cannot
print fails with `LabelRenderError` and nothing sent), asks the status, sends
the job and asks the status again. `print()` takes a `PrintDocument` and
works on ESC/POS label printers only: ZPL and TSPL have no document form, so
it raises `DeviceError` naming the language.

Status: ZPL printers are asked ``~HS`` and TSPL printers ``<ESC>!?``, through
the sans-I/O `hw.protocols.label_status.LabelStatusQuery`; ESC/POS label
printers go through `hw.drivers.network_printer.NetworkPrinter`, whose DLE EOT
status and connection handling they share. Out of labels, head open, out of
ribbon, paused or a fault raises `DeviceError` naming the fix: before the job
nothing was sent and the label must be printed again once fixed; after it,
the printer holds the rest of the job and finishes it by itself once fixed,
so it must not be printed again. A printer that does not answer within
`status_timeout` raises `DeviceOffline` naming host:port and the likely
causes.

The connection is a `hw.drivers.transports.TcpTransport` (TCP_NODELAY, so a
three-byte status request is not held back by Nagle's algorithm), kept between
calls; anything that goes wrong with it drops it and the next call connects
anew. One the printer closed while idle is noticed before use and replaced
without an error. All calls are blocking, bounded by their timeouts and
serialised by one lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from hw.document import Cut, PrintDocument
from hw.drivers.network_printer import NetworkPrinter
from hw.drivers.transports import (
    DEFAULT_TCP_PORT,
    TcpTransport,
    TransportLost,
    ensure_open,
    run_query,
    socket_address,
)
from hw.escpos_render import render_escpos
from hw.labels import (
    MAX_COPIES,
    FilledLabel,
    LabelLanguage,
    LabelRenderError,
    dots_per_mm,
    label_language,
    render_label,
)
from hw.paper import PAPER_58MM, Paper
from hw.ports import DeviceError, DeviceInfo, DeviceKind, DeviceOffline
from hw.profiles import DeviceProfile, LabelPrinterQuirks
from hw.protocols.label_status import (
    STATUS_REQUESTS,
    LabelStatus,
    LabelStatusError,
    LabelStatusQuery,
)

DEFAULT_PORT = DEFAULT_TCP_PORT


class _ConnectionLost(Exception):
    """A connection that was already open turned out dead on use (internal)."""


class NetworkLabelPrinter:
    """A label printer at `host:port`; see the module docstring."""

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_PORT,
        *,
        language: str | LabelLanguage,
        dpmm: int = 8,
        paper: Paper = PAPER_58MM,
        model: str = "network label printer",
        connect_timeout: float = 3.0,
        status_timeout: float = 2.0,
        send_timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Nothing is opened until the first call. `dpmm`: the head's dots per mm;
        `paper`: what an ESC/POS `print()` lays a document out for."""
        self.language = label_language(language)  # an unknown language fails here
        link = TcpTransport(host, port, connect_timeout=connect_timeout, device="label printer")
        self.info = DeviceInfo(DeviceKind.LABEL_PRINTER, model, link.stable_id, link.url)
        self._link = link
        self._dpmm, self._paper = dpmm, paper
        self._status_timeout = status_timeout
        self._send_timeout = send_timeout
        self._clock = clock
        self._lock = threading.RLock()
        self._escpos: NetworkPrinter | None = None
        if self.language is LabelLanguage.ESCPOS:
            self._escpos = NetworkPrinter(
                host, port, paper=paper, model=model, connect_timeout=connect_timeout,
                status_timeout=status_timeout, send_timeout=send_timeout, clock=clock,
            )  # fmt: skip

    @classmethod
    def from_url(cls, url: str, **options: Any) -> NetworkLabelPrinter:
        """A printer from `socket://host:port` (the port defaults to 9100)."""
        return cls(*socket_address(url), **options)

    @classmethod
    def from_profile(cls, profile: DeviceProfile, url: str, **options: Any) -> NetworkLabelPrinter:
        """A printer at `url` speaking the profile's language at its resolution."""
        if not isinstance(profile.quirks, LabelPrinterQuirks):
            raise ValueError(f"{profile.source.name} is a {profile.kind.value} profile")
        dpmm = dots_per_mm(profile.quirks.dpi)
        return cls.from_url(
            url, language=profile.protocol, dpmm=dpmm, model=profile.title, **options
        )

    @property
    def where(self) -> str:
        """host:port, as messages name the printer."""
        return self._link.where

    # --- LabelPrinter ------------------------------------------------------------------

    def print_label(self, label: FilledLabel, copies: int = 1) -> None:
        """Print `copies` of `label`, or raise `DeviceError` naming what to fix
        (`LabelRenderError` first, and nothing sent, for a label that cannot print)."""
        self._print(render_label(label, self.language, self._dpmm, copies))

    def print(self, document: PrintDocument, copies: int = 1) -> None:
        """Print `copies` of `document`, each cut off: ESC/POS label printers only."""
        if self.language is not LabelLanguage.ESCPOS:
            raise DeviceError(
                f"the label printer at {self.where} speaks {self.language.name}, which "
                "prints label templates, not documents: use print_label()"
            )
        if not 1 <= copies <= MAX_COPIES:
            raise LabelRenderError(f"{copies} copies is outside 1..{MAX_COPIES}")
        one = document.elements
        if not one or not isinstance(one[-1], Cut):
            one = (*one, Cut())  # else the copies would run together on one piece
        self._print(render_escpos(PrintDocument(one * copies), self._paper))

    def status(self) -> LabelStatus:
        """The printer's status; `DeviceOffline` if it does not answer in time."""
        with self._lock:
            if self._escpos is not None:
                return _from_escpos(self._escpos)
            try:
                return self._query()
            except _ConnectionLost:
                # The printer had closed a connection that still looked open (it
                # restarted, a switch port flapped): once more, on a new one.
                return self._query()

    def send(self, data: bytes) -> None:
        """Send raw job bytes; `DeviceOffline` if the connection fails."""
        with self._lock:
            if self._escpos is not None:
                self._escpos.send(data)
                return
            ensure_open(self._link)
            try:
                self._link.send(data, self._send_timeout)
            except TransportLost as err:
                self._link.close()
                raise DeviceOffline(
                    f"the label printer at {self.where} stopped taking data ({err}): "
                    "check its power and network cable"
                ) from None

    def close(self) -> None:
        """Close the connection (the next call opens a new one)."""
        with self._lock:
            if self._escpos is not None:
                self._escpos.close()
            self._link.close()

    def _print(self, data: bytes) -> None:
        with self._lock:
            self._raise_unless_printable(self.status(), during=False)
            self.send(data)
            self._raise_unless_printable(self.status(), during=True)

    # --- status ------------------------------------------------------------------------

    def _query(self) -> LabelStatus:
        """One status query; `_ConnectionLost` only if the connection was an old one."""
        fresh = ensure_open(self._link)
        query = LabelStatusQuery(self.language.value, self._clock(), self._status_timeout)
        try:
            run_query(self._link, query, self._clock, self._status_timeout)
        except TransportLost as lost:
            self._link.close()
            if not fresh:
                raise _ConnectionLost(str(lost)) from None
            raise DeviceOffline(
                f"the label printer at {self.where} closed the connection ({lost}): "
                "check its power and network cable, and that no other computer holds its port"
            ) from None
        except LabelStatusError as err:
            self._link.close()
            raise DeviceError(
                f"the device at {self.where} does not answer like a {self.language.name} "
                f"label printer ({err}): check the address and the profile's protocol"
            ) from None
        if query.status is None:
            self._link.close()  # its answer may still come: never read it as the next one
            request = STATUS_REQUESTS[self.language.value]
            raise DeviceOffline(
                f"the label printer at {self.where} did not answer a status request "
                f"({request!r}) within {self._status_timeout:g} s: check it is switched on "
                f"and speaks {self.language.name} as its profile says, and that no other "
                "computer holds its port"
            )
        return query.status

    def _raise_unless_printable(self, status: LabelStatus, *, during: bool) -> None:
        if status.can_print:
            return
        then = (
            "the printer finishes the job by itself then, so do not print it again"
            if during
            else "then print the label again"
        )
        if status.paper_out:
            what = "ran out of labels during the job" if during else "out of labels"
            raise DeviceError(f"{what}: load a roll; {then}")
        if status.head_open:
            raise DeviceError(f"the print head is open: close it until it clicks; {then}")
        if status.ribbon_out:
            raise DeviceError(f"out of ribbon: load a ribbon; {then}")
        if status.paused:
            raise DeviceError(f"the label printer is paused: press its PAUSE button; {then}")
        raise DeviceError(
            f"the label printer at {self.where} reports {status.fault}: clear it and "
            f"press PAUSE or FEED; {then}"
        )


def _from_escpos(printer: NetworkPrinter) -> LabelStatus:
    status = printer.status()
    named = status.paper_out or status.cover_open
    fault = "" if status.online or named else "an error (it is offline)"
    return LabelStatus(
        online=not fault, paper_out=status.paper_out, head_open=status.cover_open, fault=fault
    )
