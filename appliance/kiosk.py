"""The running register with its screen: the composition root of `appliance run`.

One place builds everything the touchscreen needs, in order, from one config:
storage and the register's services, the sync link, the devices (a device that
will not open is a problem shown on the device screen, never a reason not to
start), the print queue and its `printer` thread, and the screens' `Session`
with its workers. `close()` takes it all down in the reverse order. Nothing
here imports kivy: the app is handed a ready session, and `post` (how a
callback reaches the UI thread) comes from whoever owns that thread.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass

from appliance.bootstrap import open_register, open_storage, start_sync
from appliance.config import Config
from appliance.devices import CappedScale, Devices, open_devices, paper_of, resolve
from appliance.print_queue import PrintQueue
from appliance.register import Register
from appliance.sync.link import SyncLink
from appliance.ui.viewmodels.runner import Post, WorkerRunner
from appliance.ui.viewmodels.session import Session
from hw.drivers.escpos_printer import EscposPrinter, PrinterDrawer
from hw.drivers.network_label_printer import NetworkLabelPrinter
from hw.profiles import ProfileIndex, ReceiptPrinterQuirks, ScannerQuirks
from hw.protocols.scanner import WedgeTiming

log = logging.getLogger("appliance")


@dataclass
class Kiosk:
    """Everything the running register holds; `close()` releases it all."""

    config: Config
    register: Register
    link: SyncLink | None
    devices: Devices
    print_queue: PrintQueue
    session: Session
    _stack: ExitStack

    def close(self) -> None:
        """Stop the threads and release devices, the link and storage (reverse order)."""
        self._stack.close()


def _columns(config: Config, devices: Devices, index: ProfileIndex) -> int | None:
    """Characters per line of the receipt printer's paper (None: the receipt's width)."""
    for name, device in devices.by_name.items():
        if isinstance(device, EscposPrinter):
            quirks = resolve(name, config.devices[name], index).profile.quirks
            if isinstance(quirks, ReceiptPrinterQuirks):
                return paper_of(quirks).columns
    return None


def _wedge(config: Config, index: ProfileIndex) -> WedgeTiming | None:
    """How the keyboard-wedge scanner's bursts are told from typing (its profile's quirks)."""
    for name, section in config.devices.items():
        if section.kind != "scanner" or not section.enabled:
            continue
        profile = resolve(name, section, index).profile
        quirks = profile.quirks
        if profile.serial is None and isinstance(quirks, ScannerQuirks):
            prefix = quirks.prefix.decode("ascii", "replace")
            return WedgeTiming(quirks.wedge_min_chars, quirks.wedge_max_gap_ms / 1000, prefix)
    return None


def open_kiosk(config: Config, post: Post, *, connect: bool = True) -> Kiosk:
    """Open the register for its screen; `connect=False` keeps it off the network."""
    stack = ExitStack()
    try:
        storage = open_storage(config)
        stack.callback(storage.close)
        register = open_register(config, storage)
        stack.callback(register.io.close)
        link = start_sync(register) if connect else None
        if link is not None:
            stack.callback(link.stop)
        devices = open_devices(config)
        stack.callback(devices.close)
        for name, problem in devices.problems.items():
            log.warning("device %s: %s", name, problem)
        index = ProfileIndex.load()
        printer = devices.first(EscposPrinter)
        queue = PrintQueue(register, printer, config.receipt,
                           columns=_columns(config, devices, index))  # fmt: skip
        queue.start()
        stack.callback(queue.stop)
        runner, device_runner = WorkerRunner(post), WorkerRunner(post, name="device-worker")
        stack.callback(runner.close)
        stack.callback(device_runner.close)
        scale, drawer = devices.first(CappedScale), devices.first(PrinterDrawer)
        session = Session(register, runner, link=link, print_queue=queue, scale=scale,
                          drawer=drawer, printer=printer, device_runner=device_runner,
                          wedge=_wedge(config, index),
                          label_printer=devices.first(NetworkLabelPrinter))  # fmt: skip
    except BaseException:
        stack.close()
        raise
    return Kiosk(config, register, link, devices, queue, session, stack)
