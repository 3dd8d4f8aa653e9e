"""Devices opened from a register's config: the table, the defaults, and failures that
become problems for the tech instead of exceptions at the till."""

from __future__ import annotations

from dataclasses import replace

import pytest

from appliance.config import Config, DeviceSection
from appliance.devices import CappedScale, DeviceSetupError, open_devices, resolve
from hw.drivers.escpos_printer import EscposPrinter, PrinterDrawer
from hw.drivers.hid_scale import HidScale
from hw.drivers.network_label_printer import NetworkLabelPrinter
from hw.drivers.serial_scale import SerialScale
from hw.profiles import ProfileIndex
from hw.sim.printer import EscposPrinterSimulator


def with_devices(config: Config, **entries: DeviceSection) -> Config:
    return replace(config, devices=entries)


def section(kind: str, url: str, profile: str = "", enabled: bool = True) -> DeviceSection:
    return DeviceSection(kind=kind, url=url, profile=profile, timeout_s=0.5, enabled=enabled)


def test_each_kind_opens_through_its_driver(config: Config) -> None:
    with EscposPrinterSimulator() as sim:
        devices = open_devices(with_devices(
            config,
            drawer=section("cash_drawer", "printer://printer"),
            printer=section("receipt_printer", sim.url),
            scale=section("scale", "/dev/ttyUSB7"),  # opened on first read: no error yet
            usb_scale=section("scale", "usb://0922:8003", "dymo_m10"),
            spare=section("scanner", "/dev/ttyUSB9", enabled=False),
            labels=section("label_printer", "socket://127.0.0.1:9101", "tsc_tx200"),
        ))  # fmt: skip
        try:
            assert devices.problems == {}
            assert isinstance(devices.by_name["printer"], EscposPrinter)
            scale, usb_scale = devices.by_name["scale"], devices.by_name["usb_scale"]
            assert isinstance(scale, CappedScale) and isinstance(scale.scale, SerialScale)
            assert isinstance(usb_scale, CappedScale) and isinstance(usb_scale.scale, HidScale)
            labels = devices.by_name["labels"]
            assert isinstance(labels, NetworkLabelPrinter) and labels.language.value == "tspl"
            drawer = devices.by_name["drawer"]
            assert isinstance(drawer, PrinterDrawer) and drawer.kick().confirmed
            assert "spare" not in devices.by_name, "a disabled device is not opened"
            assert devices.first(CappedScale) is devices.by_name["scale"]
        finally:
            devices.close()


def test_a_device_that_cannot_open_is_a_problem_not_a_crash(config: Config) -> None:
    devices = open_devices(with_devices(
        config,
        drawer=section("cash_drawer", "socket://10.0.0.9:9100"),
        scanner=section("scanner", "/dev/nonexistent-scanner"),
        printer=section("receipt_printer", "socket://127.0.0.1:1", "no_such_model"),
        wedge=section("scanner", "/dev/input/event3", "zebra_ls2208"),
    ))  # fmt: skip
    assert devices.by_name == {}
    assert "expected printer://<name of its receipt_printer entry>" in devices.problems["drawer"]
    assert "cannot open /dev/nonexistent-scanner" in devices.problems["scanner"]
    assert devices.problems["printer"].startswith("devices.printer.profile: no device profile")
    assert "keyboard-wedge scanner" in devices.problems["wedge"]


def test_a_profile_of_another_kind_is_refused_by_name() -> None:
    index = ProfileIndex.load()
    wanted = resolve("scale", section("scale", "/dev/ttyUSB0"), index)
    assert wanted.profile.name == "mettler_toledo_viva", "the kind's default"
    with pytest.raises(DeviceSetupError, match="'epson_tm_t20iii' is a receipt_printer"):
        resolve("scale", section("scale", "/dev/ttyUSB0", "epson_tm_t20iii"), index)
