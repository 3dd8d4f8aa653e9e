"""The serial scanner driver against the simulator, through real ptys."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

import pytest

from hw.drivers.serial_scanner import SerialScanner, framing_from
from hw.ports import DeviceError, DeviceInfo, DeviceKind, DeviceOffline, Scanner
from hw.profiles import PACKAGED_DEVICES, ProfileIndex, ScannerQuirks
from hw.protocols.scanner import SerialFraming
from hw.serial_settings import SerialSettings
from hw.sim.scanner import SerialScannerSim

EAN = "4006381333931"
UPC = "036000291452"


@pytest.fixture
def sim() -> Iterator[SerialScannerSim]:
    with SerialScannerSim() as s:
        yield s


def open_scanner(url: str, **framing: object) -> SerialScanner:
    info = DeviceInfo(DeviceKind.SCANNER, "Sim scanner", "sim", url)
    settings = SerialSettings(9600, 8, "N", 1)
    # A short frame timeout keeps the silence-based tests quick.
    framing = {"frame_timeout": 0.05, "max_length": 64, **framing}
    return SerialScanner(info, settings, SerialFraming(**framing))  # type: ignore[arg-type]


def test_codes_arrive_from_a_profile_opened_scanner(sim: SerialScannerSim) -> None:
    profile = ProfileIndex.load(PACKAGED_DEVICES).by_name("honeywell_voyager_1250g_rs232")
    with SerialScanner.from_profile(profile, sim.url, stable_id="usb-port:1-1.2") as scanner:
        port: Scanner = scanner  # satisfies the port the register asks for
        assert port.info == DeviceInfo(
            DeviceKind.SCANNER, "Honeywell Voyager 1250g (RS-232)", "usb-port:1-1.2", sim.url
        )
        sim.scan(EAN)
        sim.scan(UPC)
        assert list(islice(port.codes(timeout=5), 2)) == [EAN, UPC]


def test_prefix_and_crlf_framing_pass_through_the_port() -> None:
    with SerialScannerSim(prefix=b"]E0", suffix=b"\r\n") as sim:
        scanner = open_scanner(sim.url, prefix=b"]E0", suffix=b"\r\n")
        sim.scan(EAN)
        assert next(scanner.codes(timeout=5)) == EAN
        scanner.close()


def test_quiet_scanner_ends_the_iteration_with_no_codes(sim: SerialScannerSim) -> None:
    with open_scanner(sim.url) as scanner:
        assert list(scanner.codes(timeout=0.05)) == []


def test_garbage_is_reported_and_the_next_code_still_arrives(sim: SerialScannerSim) -> None:
    with open_scanner(sim.url) as scanner:
        sim.send_garbage(length=300)
        assert list(scanner.codes(timeout=0.5)) == []  # read, dropped, then quiet
        assert scanner.rejected
        assert "no suffix within 64 characters" in str(scanner.rejected[0])
        sim.scan(EAN)
        assert next(scanner.codes(timeout=5)) == EAN


def test_non_printable_frame_is_reported_between_good_codes(sim: SerialScannerSim) -> None:
    with open_scanner(sim.url) as scanner:
        sim.scan(EAN)
        sim.send_garbage(b"\x1b[2J\r")
        sim.scan(UPC)
        assert list(islice(scanner.codes(timeout=5), 2)) == [EAN, UPC]
        assert "non-printable byte 0x1b" in str(scanner.rejected[0])


def test_half_a_code_then_silence_is_not_glued_to_the_next(sim: SerialScannerSim) -> None:
    with open_scanner(sim.url) as scanner:
        sim.scan_half(EAN)
        assert list(scanner.codes(timeout=0.5)) == []
        assert "incomplete code" in str(scanner.rejected[-1])
        sim.scan(UPC)
        assert next(scanner.codes(timeout=5)) == UPC


def test_unplugged_scanner_raises_device_offline(sim: SerialScannerSim) -> None:
    scanner = open_scanner(sim.url)
    sim.scan(EAN)
    assert next(scanner.codes(timeout=5)) == EAN
    sim.disconnect()
    with pytest.raises(DeviceOffline, match=f"at {sim.url} went away .*unplugged"):
        list(scanner.codes(timeout=5))
    scanner.close()
    with pytest.raises(DeviceOffline, match=f"cannot open {sim.url}"):
        open_scanner(sim.url)


def test_simulator_refuses_use_when_not_running() -> None:
    sim = SerialScannerSim()
    with pytest.raises(RuntimeError, match="start the scanner simulator"):
        _ = sim.url
    sim.start()
    with pytest.raises(RuntimeError, match="already started"):
        sim.start()
    assert sim.connected
    sim.stop()
    sim.stop()
    assert not sim.connected
    with pytest.raises(RuntimeError, match="not connected"):
        sim.scan(EAN)


def test_only_a_serial_scanner_profile_opens() -> None:
    index = ProfileIndex.load(PACKAGED_DEVICES)
    with pytest.raises(DeviceError, match="'zebra_ls2208' is not a serial scanner"):
        SerialScanner.from_profile(index.by_name("zebra_ls2208"), "/dev/null")
    with pytest.raises(DeviceError, match="not a serial scanner"):
        SerialScanner.from_profile(index.by_name("mettler_toledo_viva"), "/dev/null")
    quirks = index.by_name("datalogic_quickscan_qd2430").quirks
    assert isinstance(quirks, ScannerQuirks)
    assert framing_from(quirks) == SerialFraming(b"\r", b"", 256, 0.5)
