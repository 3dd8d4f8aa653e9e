"""A raw-TCP label printer (port 9100 style) speaking ZPL or TSPL, with fault injection.

`LabelPrinterSimulator(language="zpl")` (or ``"tspl"``) listens on 127.0.0.1
(port 0: a free port; `url` is `socket://127.0.0.1:PORT`, what a
`NetworkLabelPrinter` opens). Every byte received is kept (`received`); the
stream is split into jobs (ZPL: up to each ``^XZ``; TSPL: up to each
``PRINT`` line), each kept raw (`jobs`) and read with `hw.labels.read_labels`;
what comes out is kept as text, one tuple of lines per physical label, copies
counted (`labels`). A job no printer could read is recorded in `errors` and
prints nothing. Status requests (ZPL ``~HS``, TSPL ``<ESC>!?``) are answered
as soon as they arrive, wherever they fall in the stream (inside a job too),
with the status after every job before them (`hw.protocols.label_status`);
TSPL's other immediate commands (``<ESC>!R``...) are dropped.

Faults, settable at any time from any thread:

    paper_out        out of labels     \\
    head_open        the head is up     |  jobs received meanwhile are held, as a
    ribbon_out       out of ribbon      |  printer holds its buffer, and print
    paused           paused             /  once every one of these is cleared
    labels_left      labels left on the roll (None: endless); at 0 the roll runs
                     out mid-job: paper_out comes on and the rest of the job is
                     held, to print once a roll is loaded (paper_out cleared)
    stall            status requests are read and never answered (hung firmware,
                     or another host holding the port)
    drop_connection  True closes every connection at once, and each new one as
                     soon as it is accepted, until set back to False

The TCP server, `drop_connection` and `received` are `hw.sim.tcp_device`'s.
Threads (daemon threads; `stop()` closes every socket and joins them):
- "label-sim-accept": accepts connections;
- "label-sim-conn-N": one per connection: reads, splits, answers.
State the threads share is kept under one lock.

Run `python -m hw.sim.label_printer [--language tspl] [--port 9100]` to print
labels to the terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import re
import threading
from collections.abc import Callable

from hw.labels import LabelReadError, read_labels
from hw.protocols.label_status import (
    TSC_STATUS_REQUEST,
    ZEBRA_STATUS_REQUEST,
    TscStatus,
    ZebraHostStatus,
    encode_host_status,
    encode_tsc_status,
)
from hw.sim.tcp_device import Session, TcpDeviceServer

LANGUAGES = ("zpl", "tspl")
"""The languages the simulator speaks."""

_MAX_PENDING = 1 << 20  # a megabyte with no job end in it is garbage: dropped
_ZPL_END = re.compile(rb"\^XZ", re.IGNORECASE)
_TSPL_END = re.compile(rb"(?:^|\n)PRINT[^\n]*\n")
_TSPL_IMMEDIATE = re.compile(rb"\x1b![^?]", re.DOTALL)  # all but the status request


class LabelPrinterSimulator(TcpDeviceServer):
    """A network label printer on a local TCP port; see the module docstring."""

    thread_prefix = "label-sim"

    def __init__(
        self,
        language: str = "zpl",
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        on_label: Callable[[tuple[str, ...]], None] | None = None,
    ) -> None:
        """A stopped simulator; `start()` (or `with`) opens the port."""
        if language not in LANGUAGES:
            raise ValueError(f"the simulator speaks {' or '.join(LANGUAGES)}, not {language!r}")
        super().__init__(host, port)
        self.language = language
        self._on_label = on_label
        self._faults = {"paper_out": False, "head_open": False, "ribbon_out": False,
                        "paused": False}  # fmt: skip
        self.stall = False
        self.labels_left: int | None = None
        self._jobs: list[bytes] = []
        self._held: list[tuple[str, ...]] = []
        self._labels: list[tuple[str, ...]] = []
        self._errors: list[str] = []

    # --- faults --------------------------------------------------------------------------

    def _fault(self, name: str) -> bool:
        with self._lock:
            return self._faults[name]

    def _set_fault(self, name: str, on: bool) -> None:
        with self._lock:
            self._faults[name] = on
            self._feed_locked()

    @property
    def paper_out(self) -> bool:
        """Out of labels: nothing prints; status says paper out."""
        return self._fault("paper_out")

    @paper_out.setter
    def paper_out(self, on: bool) -> None:
        self._set_fault("paper_out", on)

    @property
    def head_open(self) -> bool:
        """The print head is up: nothing prints; status says head open."""
        return self._fault("head_open")

    @head_open.setter
    def head_open(self, on: bool) -> None:
        self._set_fault("head_open", on)

    @property
    def ribbon_out(self) -> bool:
        """Out of ribbon (a thermal-transfer printer): nothing prints."""
        return self._fault("ribbon_out")

    @ribbon_out.setter
    def ribbon_out(self, on: bool) -> None:
        self._set_fault("ribbon_out", on)

    @property
    def paused(self) -> bool:
        """Paused by its button: nothing prints until it is pressed again."""
        return self._fault("paused")

    @paused.setter
    def paused(self, on: bool) -> None:
        self._set_fault("paused", on)

    def _blocked_locked(self) -> bool:
        return any(self._faults.values())

    # --- what it recorded ----------------------------------------------------------------

    @property
    def jobs(self) -> list[bytes]:
        """Every job received (status requests taken out), printed or not."""
        with self._lock:
            return list(self._jobs)

    @property
    def labels(self) -> list[tuple[str, ...]]:
        """The text of every label printed, one entry per physical label."""
        with self._lock:
            return list(self._labels)

    @property
    def held(self) -> int:
        """Labels received while a fault stopped printing, not yet printed."""
        with self._lock:
            return len(self._held)

    @property
    def errors(self) -> list[str]:
        """Why each job that printed nothing could not be read."""
        with self._lock:
            return list(self._errors)

    # --- serving -------------------------------------------------------------------------

    def _new_session(self) -> Session:
        # The start of a job still arriving, kept across reads: one per connection.
        return functools.partial(self._take, bytearray())

    def _take(self, pending: bytearray, data: bytes) -> bytes:
        """Add `data` to `pending`; print the whole jobs in it and answer its status
        requests, in stream order (so an answer reflects the jobs before it), removing
        both; what is left is the start of a job still arriving."""
        pending += data
        request = ZEBRA_STATUS_REQUEST if self.language == "zpl" else TSC_STATUS_REQUEST
        end = _ZPL_END if self.language == "zpl" else _TSPL_END
        if self.language == "tspl":
            # Any other immediate command (a reset, a feed) is not a job's content.
            pending[:] = _TSPL_IMMEDIATE.sub(b"", bytes(pending))
        reply = b""
        while True:
            at = pending.find(request)
            job_end = end.search(pending, 0, len(pending) if at < 0 else at)
            if job_end is not None:
                job = bytes(pending[: job_end.end()])
                del pending[: job_end.end()]
                self._job(job)
            elif at >= 0:
                del pending[at : at + len(request)]
                reply += self._status()
            else:
                break
        if len(pending) > _MAX_PENDING:
            with self._lock:
                self._errors.append(f"{len(pending)} bytes without a job end: dropped")
            pending.clear()
        return reply

    def _status(self) -> bytes:
        with self._lock:
            if self.stall:
                return b""
            f = self._faults
            if self.language == "zpl":
                return encode_host_status(
                    ZebraHostStatus(paper_out=f["paper_out"], paused=f["paused"],
                                    head_up=f["head_open"], ribbon_out=f["ribbon_out"],
                                    thermal_transfer=True,
                                    formats_in_buffer=min(len(self._held), 999))
                )  # fmt: skip
            return encode_tsc_status(
                TscStatus(head_open=f["head_open"], paper_empty=f["paper_out"],
                          ribbon_empty=f["ribbon_out"], paused=f["paused"])
            )  # fmt: skip

    def _job(self, job: bytes) -> None:
        with self._lock:
            self._jobs.append(job)
            try:
                printed = read_labels(job, self.language)
            except LabelReadError as err:
                self._errors.append(str(err))
                return
            self._held += [label.lines for label in printed for _ in range(label.copies)]
            self._feed_locked()

    def _feed_locked(self) -> None:
        """Print held labels while nothing stops the printer."""
        while self._held and not self._blocked_locked():
            if self.labels_left is not None:
                if self.labels_left <= 0:
                    self._faults["paper_out"] = True
                    return
                self.labels_left -= 1
            lines = self._held.pop(0)
            self._labels.append(lines)
            if self._on_label is not None:
                self._on_label(lines)


def _show(lines: tuple[str, ...]) -> None:
    width = max((len(line) for line in lines), default=0)
    print("+" + "-" * (width + 2) + "+")
    for line in lines:
        print(f"| {line:<{width}} |")
    print("+" + "-" * (width + 2) + "+", flush=True)


def main(argv: list[str] | None = None) -> None:
    """Run a simulator in the foreground, showing each label as it prints."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--language", choices=LANGUAGES, default="zpl")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    args = parser.parse_args(argv)
    with LabelPrinterSimulator(args.language, args.host, args.port, on_label=_show) as sim:
        print(f"{args.language.upper()} label printer simulator on {sim.url}; Ctrl-C to stop")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
