"""The print queue: receipts come out after the commit, from the persisted queue.

`Register.complete` writes the receipt's print job in the sale's own commit; this
queue prints jobs in order through whatever `hw.ports.ReceiptPrinter` the register
has. A job that fails (paper out, cover open, a pulled cable) is recorded with the
device's reason and stays queued: the pass stops there, so receipts never come out
of order, and the job is tried again every `retry_s` and at once on `wake()` (a new
sale, a tech saying the printer is back). A sale never waits for paper.

One thread, `printer` (listed in docs/architecture.md), runs the passes; `print_pending`
runs one pass in the caller's thread (the CLI, tests).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from appliance.config import ReceiptSection
from appliance.printing import receipt_document
from appliance.register import Register, RegisterError
from appliance.store.errors import StorageError
from hw.ports import DeviceError, ReceiptPrinter

log = logging.getLogger("appliance.printing")


@dataclass(frozen=True, slots=True)
class QueueState:
    """What the screen shows about printing: all printed, or what holds the queue."""

    waiting: int
    problem: str = ""

    @property
    def ok(self) -> bool:
        """True when nothing holds the queue."""
        return not self.problem


class PrintQueue:
    """Prints the register's queued receipts; see the module docstring."""

    def __init__(
        self,
        register: Register,
        printer: ReceiptPrinter | None,
        receipt: ReceiptSection,
        retry_s: float = 5.0,
        columns: int | None = None,
    ) -> None:
        """`columns`: characters per line on the printer's paper (default: receipt.width)."""
        self.register, self.printer, self.receipt = register, printer, receipt
        self.columns = columns or receipt.width
        self.retry_s = retry_s
        self.state = QueueState(0)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def print_pending(self) -> QueueState:
        """Print every waiting job in order, stopping at the first that fails."""
        jobs = self.register.print_jobs()
        problem = ""
        for n, job in enumerate(jobs):
            if self.printer is None:
                problem = "no receipt printer is configured"
                break
            problem = self._print(job)
            if problem:
                self.state = QueueState(len(jobs) - n, problem)
                return self.state
        self.state = QueueState(len(jobs) if problem else 0, problem)
        return self.state

    def _print(self, job: dict[str, object]) -> str:
        """Print one job; the reason it failed, or "" once it is printed."""
        number, ref = int(str(job["number"])), str(job["ref"])
        try:
            if job["kind"] != "receipt":
                raise RegisterError(f"job {number}: unknown kind {job['kind']!r}")
            sale = self.register.sale(ref)
        except RegisterError as exc:  # nothing to print: say so, and go on with the rest
            log.error("print job %d cannot be printed: %s", number, exc)
            self.register.finish_print_job(number, str(exc), final=True)
            return ""
        document = receipt_document(sale, self.columns, self.receipt.header,
                                    self.receipt.footer)  # fmt: skip
        assert self.printer is not None
        try:
            self.printer.print(document)
        except DeviceError as exc:
            log.warning("receipt of sale %s waits: %s", ref, exc)
            self.register.finish_print_job(number, str(exc))
            return str(exc)
        self.register.finish_print_job(number)
        return ""

    # --- the thread ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the `printer` thread."""
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="printer", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Print now (a sale was committed, a reprint queued, the printer is back)."""
        self._wake.set()

    def stop(self) -> None:
        """Stop after the job in hand."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                state = self.print_pending()
            except (StorageError, RegisterError) as exc:
                log.error("the print queue could not be read: %s", exc)
                state = QueueState(self.state.waiting, f"the print queue could not be read: {exc}")
                self.state = state
            self._wake.wait(self.retry_s if state.waiting else None)
