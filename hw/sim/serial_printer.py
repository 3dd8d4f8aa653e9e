"""An ESC/POS receipt printer on a serial line (a real pty), with the network simulator's faults.

`ByteFedPrinter` is `hw.sim.printer.EscposPrinterSimulator`'s mechanism
(interpreter, paper, drawer, status answers, faults, and the record of
`received`, `pages`, `kicks`) fed bytes by a caller instead of by its own TCP
server: `feed(session, data)` returns what the printer answers. The serial
simulator here and `hw.sim.usb.FakeUsbPrinter` are both built on it, so every
transport meets the same printer.

`SerialPrinterSimulator()` opens a pty pair in raw mode and answers on a
daemon thread ("escpos-sim-serial-N", one per plug-in). Its `url` is a
symlink (`link`, or one in a temporary directory) to the pty's slave, opened
with pyserial like `/dev/serial/by-id/...`: it stays the same across a replug,
as a by-id link does. The faults of `EscposPrinterSimulator` all work, and
two mean what they mean on a serial line:

    drop_connection   True: the adapter is pulled (the pty is closed, the link
                      removed); False: plugged back in (a new pty, the link to it)
    hang_up           the next status request resets the adapter: the pty dies
                      and a new one takes the link at once (a printer that restarted)

Run `python -m hw.sim.serial_printer --link /tmp/printer0` to print receipts
to the terminal from a register configured with `url = "/tmp/printer0"`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import shutil
import tempfile
import threading
import tty
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self, Unpack

from hw.paper import PAPER_80MM, Paper
from hw.protocols.escpos_parse import EscposInterpreter
from hw.sim.printer import EscposPrinterSimulator, SimulatorOptions


class ByteFedPrinter(EscposPrinterSimulator):
    """The simulated printer without its TCP front; see the module docstring."""

    def __init__(self, paper: Paper = PAPER_80MM, **options: Unpack[SimulatorOptions]) -> None:
        """A printer with paper in and no fault; `options` as `EscposPrinterSimulator`'s."""
        super().__init__(paper=paper, **options)

    def start(self) -> Self:
        """Nothing to open: bytes come through `feed`."""
        return self

    def stop(self) -> None:
        """Nothing to close."""

    def feed(self, session: EscposInterpreter, data: bytes) -> bytes:
        """Take `data` on the link whose parser state is `session`; return the printer's answer.

        Raises `ConnectionAbortedError` when the `hang_up` fault takes the link down.
        """
        self._record(data)
        return self._answer(session, data)


@dataclass
class _Pty:
    """One plug-in: a pty pair, the thread answering on it, and a pipe to wake that thread."""

    master: int
    slave: int
    path: str
    wake_r: int
    wake_w: int
    stopping: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def shut(self) -> None:
        """Stop the thread (unless it is the caller) and close every descriptor."""
        self.stopping.set()
        thread = self.thread
        if thread is not None and thread is not threading.current_thread():
            os.write(self.wake_w, b"x")
            thread.join()
        # Closed after the thread is gone, never under its select().
        for fd in (self.master, self.slave, self.wake_r, self.wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)


class SerialPrinterSimulator(ByteFedPrinter):
    """A receipt printer on a pty; see the module docstring."""

    def __init__(
        self,
        paper: Paper = PAPER_80MM,
        *,
        link: str | Path | None = None,
        **options: Unpack[SimulatorOptions],
    ) -> None:
        """A simulator, not yet plugged in; `link` names the symlink to make to the pty."""
        super().__init__(paper, **options)
        self.link = None if link is None else Path(link)
        self._tmpdir: str | None = None
        self._pty: _Pty | None = None
        self._pty_lock = threading.Lock()  # the plug state: test thread vs answering thread
        self._plug_ins = 0

    def start(self) -> Self:
        """Plug it in: open a pty and point the link at it."""
        if self.link is None:
            self._tmpdir = tempfile.mkdtemp(prefix="escpos-sim-")
            self.link = Path(self._tmpdir, "printer")
        self._plug_in()
        return self

    def stop(self) -> None:
        """Unplug it and remove the link (and the temporary directory made for it)."""
        self._unplug()
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir, self.link = None, None

    @property
    def url(self) -> str:
        """The link a driver opens: the same path across replugs."""
        if self.link is None:
            raise RuntimeError("the simulator is not started: call start() or use `with`")
        return str(self.link)

    @property
    def drop_connection(self) -> bool:
        """True while unplugged (see the module docstring)."""
        with self._pty_lock:
            return self._pty is None

    @drop_connection.setter
    def drop_connection(self, drop: bool) -> None:
        if drop:
            self._unplug()
        elif self.drop_connection:
            self._plug_in()

    # --- the pty ---------------------------------------------------------------------

    def _plug_in(self) -> None:
        assert self.link is not None  # started
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no CR/LF translation, whoever opens it
        # The sim holds the slave open, so the pty outlives the driver closing
        # its port: bytes sent meanwhile wait, as in a real adapter's buffer.
        path = os.ttyname(slave)
        _point_link(self.link, path)
        wake_r, wake_w = os.pipe()
        pty = _Pty(master, slave, path, wake_r, wake_w)
        with self._pty_lock:
            old, self._pty = self._pty, pty
            self._plug_ins += 1
            count = self._plug_ins
        pty.thread = threading.Thread(
            target=self._answer_on, args=(pty,), name=f"escpos-sim-serial-{count}", daemon=True
        )
        pty.thread.start()
        if old is not None:  # after the link moved, so a driver reopening finds the new one
            old.shut()

    def _unplug(self) -> None:
        with self._pty_lock:
            pty, self._pty = self._pty, None
        if pty is not None:
            pty.shut()
            link = self.link
            if link is not None and link.is_symlink() and os.readlink(link) == pty.path:
                link.unlink()

    def _answer_on(self, pty: _Pty) -> None:
        session = EscposInterpreter()
        while not pty.stopping.is_set():
            ready, _, _ = select.select([pty.master, pty.wake_r], [], [])
            if pty.master not in ready:
                continue
            try:
                data = os.read(pty.master, 4096)
                reply = self.feed(session, data)
            except ConnectionAbortedError:  # the hang_up fault
                self._plug_in()  # a new pty takes the link; this one is shut
                return
            except OSError:
                return  # the pty is gone under us: nothing is left to serve
            if reply:
                os.write(pty.master, reply)


def _point_link(link: Path, target: str) -> None:
    """Make `link` point at `target` in one step, so no opener ever finds it missing."""
    if link.exists() and not link.is_symlink():
        raise FileExistsError(f"{link} exists and is not a symlink: choose another link path")
    spare = link.with_name(f".{link.name}.new")
    with contextlib.suppress(FileNotFoundError):
        spare.unlink()
    spare.symlink_to(target)
    spare.replace(link)


def main(argv: list[str] | None = None) -> None:
    """Run a simulator in the foreground, printing each receipt as it is cut."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--link", default=None, help="symlink to make to the pty")
    parser.add_argument("--columns", type=int, default=PAPER_80MM.columns)
    args = parser.parse_args(argv)
    paper = Paper(args.columns, PAPER_80MM.dots)
    with SerialPrinterSimulator(paper, link=args.link, on_page=print) as sim:
        print(f"ESC/POS serial printer simulator on {sim.url}; Ctrl-C to stop", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
