"""The composition root of `appliance run`: everything opened from one config, in order,
and taken down again, with the devices reached through their real drivers."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

from appliance.bootstrap import open_storage
from appliance.config import Config, DeviceSection
from appliance.domain.money import Money
from appliance.domain.tender import Tender
from appliance.kiosk import open_kiosk
from hw.drivers.escpos_printer import EscposPrinter
from hw.sim.printer import EscposPrinterSimulator
from hw.sim.scale import SerialScaleSimulator
from tests.store.conftest import CASHIER_PIN, seed


def wait_until(condition, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not condition():
        time.sleep(0.02)
    return bool(condition())


def test_the_kiosk_opens_everything_prints_after_a_sale_and_closes(config: Config) -> None:
    with EscposPrinterSimulator() as printer, SerialScaleSimulator("toledo8217", "0.5") as scale:
        devices = {
            "printer": DeviceSection("receipt_printer", printer.url, "epson_tm_t20iii", 1.0, True),
            "drawer": DeviceSection("cash_drawer", "printer://printer", "", 1.0, True),
            "scale": DeviceSection("scale", scale.url, "", 1.0, True),
            "broken": DeviceSection("scanner", "/dev/no-such-scanner", "", 1.0, True),
        }
        storage = open_storage(config)
        seed(storage, config)
        storage.close()
        before = set(threading.enumerate())  # another test's threads are not the kiosk's
        kiosk = open_kiosk(replace(config, devices=devices), lambda cb: cb(), connect=False)
        started = {t.name for t in set(threading.enumerate()) - before}
        assert started >= {"printer", "ui-worker", "device-worker", "storage"}, started
        try:
            assert isinstance(kiosk.print_queue.printer, EscposPrinter)
            assert kiosk.print_queue.columns == 48, "the TM-T20III's paper, not receipt.width"
            assert "broken" in kiosk.devices.problems, "a device that will not open is shown"
            assert kiosk.session.weight.scale is not None
            register = kiosk.register
            register.login("ann", CASHIER_PIN)
            register.open_till(Money(100_00, "CAD"))
            register.add_sku("cola")
            register.add_tender(Tender.cash(Money(5_00, "CAD")))
            register.complete()
            kiosk.print_queue.wake()
            assert wait_until(lambda: len(printer.pages) == 1), "printed by the printer thread"
        finally:
            kiosk.close()
    alive = {t.name for t in set(threading.enumerate()) - before}
    assert not alive & {"printer", "ui-worker", "device-worker", "storage"}, alive
