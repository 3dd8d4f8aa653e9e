"""The serial scale driver against the simulators, through real pseudo-terminals.

No mocks: each test opens the simulator's pty with pyserial exactly as the
register opens /dev/ttyUSB0. Timeouts are short (0.3 s); nothing is asserted
on how long anything took.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from hw.drivers.serial_scale import DEFAULT_SETTINGS, SerialScale, line_settings
from hw.ports import DeviceError, DeviceKind, Scale
from hw.protocols.scale import ScaleFault, ScaleReading, ScaleStatus, WeightUnit
from hw.serial_settings import SerialSettings
from hw.sim.scale import SerialScaleSimulator, SimFault

PROTOCOLS = ["toledo8217", "mtsics", "nci"]
KG = WeightUnit.KG
WAIT = 0.3


@pytest.fixture(params=PROTOCOLS)
def sim(request: pytest.FixtureRequest) -> Iterator[SerialScaleSimulator]:
    with SerialScaleSimulator(request.param, weight="1.234", unit=KG) as simulator:
        yield simulator


@pytest.fixture
def scale(sim: SerialScaleSimulator) -> Iterator[SerialScale]:
    driver = SerialScale(sim.url, sim.protocol, settings=sim.settings, unit=KG)
    yield driver
    driver.close()


def test_each_protocol_reads_a_stable_weight(scale: SerialScale) -> None:
    event = scale.read(WAIT)
    assert event == ScaleReading(Decimal("1.234"), KG, ScaleStatus.STABLE)
    assert isinstance(event, ScaleReading) and event.can_price(Decimal("15"))


def test_the_weight_follows_the_platter(sim: SerialScaleSimulator, scale: SerialScale) -> None:
    sim.weight = "0.456"
    event = scale.read(WAIT)
    assert isinstance(event, ScaleReading) and event.weight == Decimal("0.456")


def test_in_motion_is_never_priceable(sim: SerialScaleSimulator, scale: SerialScale) -> None:
    sim.stable = False
    event = scale.read(WAIT)
    assert event.status is ScaleStatus.IN_MOTION
    assert not (isinstance(event, ScaleReading) and event.can_price())
    sim.stable = True
    assert scale.read(WAIT) == ScaleReading(Decimal("1.234"), KG, ScaleStatus.STABLE)


def test_garbage_is_a_fault_and_the_next_read_recovers(
    sim: SerialScaleSimulator, scale: SerialScale
) -> None:
    sim.fault = SimFault.GARBAGE
    event = scale.read(WAIT)
    assert isinstance(event, ScaleFault)
    assert "garbled answer from the scale on" in event.reason
    assert "check the cable and the baud rate (9600 8N1 expected)" in event.reason
    sim.fault = None
    assert scale.read(WAIT) == ScaleReading(Decimal("1.234"), KG, ScaleStatus.STABLE)


def test_a_stalled_scale_is_a_fault_within_the_timeout(
    sim: SerialScaleSimulator, scale: SerialScale
) -> None:
    sim.fault = SimFault.STALL
    event = scale.read(WAIT)
    assert event == ScaleFault(
        f"no answer from the scale on {sim.url} in 0.3 s: "
        "check the cable and the baud rate (9600 8N1 expected)"
    )
    assert sim.requests_seen == 1  # it was asked, and kept quiet
    sim.fault = None
    assert isinstance(scale.read(WAIT), ScaleReading)


def test_unplugged_mid_weigh_is_a_fault_never_zero(
    sim: SerialScaleSimulator, scale: SerialScale
) -> None:
    assert isinstance(scale.read(WAIT), ScaleReading)
    sim.fault = SimFault.HANG_UP  # the line drops as the request arrives
    event = scale.read(WAIT)
    assert isinstance(event, ScaleFault)
    assert event.reason.startswith(f"lost the scale on {sim.url}")
    assert event.reason.endswith("check the cable and that the scale is on")
    again = scale.read(WAIT)  # the port is gone: it cannot even be reopened
    assert isinstance(again, ScaleFault) and again.reason.startswith("cannot open the scale")


def test_a_port_that_dies_between_reads_is_a_fault(
    sim: SerialScaleSimulator, scale: SerialScale
) -> None:
    assert isinstance(scale.read(WAIT), ScaleReading)
    sim.disconnect()
    assert isinstance(scale.read(WAIT), ScaleFault)


def test_a_disconnected_simulator_plugs_back_in_on_its_link(tmp_path: Path) -> None:
    with SerialScaleSimulator("mtsics", weight="1.5", link=tmp_path / "scale0") as sim:
        driver = SerialScale(sim.url, "mtsics", settings=sim.settings)
        assert isinstance(driver.read(WAIT), ScaleReading)
        sim.disconnect()
        assert isinstance(driver.read(WAIT), ScaleFault)
        sim.start()
        assert driver.read(WAIT) == ScaleReading(Decimal("1.5"), KG, ScaleStatus.STABLE)
        driver.close()


def test_over_capacity_is_a_fault_with_its_status(
    sim: SerialScaleSimulator, scale: SerialScale
) -> None:
    sim.fault = SimFault.OVER_CAPACITY
    event = scale.read(WAIT)
    assert isinstance(event, ScaleFault) and event.status is ScaleStatus.OVER_CAPACITY
    sim.fault = None
    sim.weight = "-0.5"  # under zero: a weight no protocol lets through as priceable
    event = scale.read(WAIT)
    assert event.status is ScaleStatus.UNDER_ZERO


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_load_past_capacity_reads_over_capacity(protocol: str) -> None:
    with SerialScaleSimulator(protocol, weight="20", unit=KG, capacity="15") as heavy:
        driver = SerialScale(heavy.url, heavy.protocol, settings=heavy.settings, unit=KG)
        assert driver.read(WAIT).status is ScaleStatus.OVER_CAPACITY
        driver.close()


def test_zero_zeroes_a_steady_scale_and_refuses_a_moving_one(
    sim: SerialScaleSimulator, scale: SerialScale
) -> None:
    sim.weight = "0.002"
    scale.zero()
    event = scale.read(WAIT)
    assert isinstance(event, ScaleReading) and event.status is ScaleStatus.ZERO
    assert event.weight == 0
    sim.weight, sim.stable = "0.5", False
    with pytest.raises(DeviceError, match="did not zero: .*(motion|busy|settled)"):
        scale.zero()


def test_a_silent_scale_will_not_zero(sim: SerialScaleSimulator) -> None:
    driver = SerialScale(sim.url, sim.protocol, settings=sim.settings, answer_timeout=WAIT)
    sim.fault = SimFault.STALL
    with pytest.raises(DeviceError, match="did not zero: no answer"):
        driver.zero()
    driver.close()


def test_held_lines_are_set_before_the_first_exchange(
    sim: SerialScaleSimulator, tmp_path: Path
) -> None:
    log = tmp_path / "spy.txt"
    settings = SerialSettings(dtr=True, rts=False)
    driver = SerialScale(f"spy://{sim.url}?file={log}", sim.protocol, settings=settings, unit=KG)
    assert isinstance(driver.read(WAIT), ScaleReading)
    driver.close()
    lines = log.read_text()
    assert "DTR  active" in lines and "RTS  inactive" in lines
    assert lines.index("DTR") < lines.index("TX")


def test_a_replugged_scale_is_picked_up_on_its_stable_path(tmp_path: Path) -> None:
    link = tmp_path / "scale0"
    with SerialScaleSimulator("nci", weight="1.5", unit=KG, link=link) as first:
        driver = SerialScale(first.url, "nci", settings=first.settings)
        assert str(link) == first.url
        assert isinstance(driver.read(WAIT), ScaleReading)
    assert not link.exists()  # the simulator took its link away with it
    with SerialScaleSimulator("nci", weight="2.5", unit=KG, link=link):
        assert isinstance(driver.read(WAIT), ScaleFault)  # the old port died with the scale
        event = driver.read(WAIT)
        assert isinstance(event, ScaleReading) and event.weight == Decimal("2.500")
    driver.close()


def test_close_then_read_opens_the_port_again(scale: SerialScale) -> None:
    scale.close()
    scale.close()
    assert isinstance(scale.read(WAIT), ScaleReading)


def test_a_missing_port_is_a_fault_naming_the_path_and_the_expected_line() -> None:
    driver = SerialScale("/dev/does-not-exist", "toledo8217")
    event = driver.read(WAIT)
    assert isinstance(event, ScaleFault)
    assert event.reason.startswith("cannot open the scale on /dev/does-not-exist")
    assert event.reason.endswith("check it is plugged in and the path in its profile")
    with pytest.raises(DeviceError, match="cannot open"):
        driver.zero()


def test_defaults_follow_each_protocols_usual_scales() -> None:
    assert line_settings(DEFAULT_SETTINGS["toledo8217"]) == "9600 7E1"
    assert line_settings(DEFAULT_SETTINGS["nci"]) == "9600 7E1"
    assert line_settings(DEFAULT_SETTINGS["mtsics"]) == "9600 8N1"
    assert line_settings(SerialSettings(19200, 8, "N", 1.5)) == "19200 8N1.5"


def test_the_driver_is_a_scale_port(sim: SerialScaleSimulator) -> None:
    driver: Scale = SerialScale(sim.url, sim.protocol, settings=sim.settings)
    assert driver.info.kind is DeviceKind.SCALE
    assert driver.info.url == sim.url
    driver.close()


def test_an_unknown_protocol_fails_at_construction() -> None:
    with pytest.raises(ValueError, match="unknown scale protocol 'cas'"):
        SerialScale("/dev/null", "cas")
    with pytest.raises(ValueError, match="unknown scale protocol 'cas'"):
        SerialScaleSimulator("cas")


def test_the_simulator_must_be_started_once_before_it_has_a_url(tmp_path: Path) -> None:
    sim = SerialScaleSimulator("mtsics", link=tmp_path / "scale0")
    with pytest.raises(RuntimeError, match="not started"):
        _ = sim.url
    with sim:
        with pytest.raises(RuntimeError, match="already running"):
            sim.start()
        assert sim.slave_path.startswith("/dev/pts/")
        assert Path(sim.url).resolve() == Path(sim.slave_path)


def test_the_simulator_will_not_clobber_a_real_file(tmp_path: Path) -> None:
    taken = tmp_path / "scale0"
    taken.write_text("not a port")
    with pytest.raises(FileExistsError, match="not a symlink"):
        SerialScaleSimulator("nci", link=taken).start()
    assert taken.read_text() == "not a port"


def test_a_fault_can_be_named_as_in_a_config_file(sim: SerialScaleSimulator) -> None:
    sim.fault = "stall"
    assert sim.fault is SimFault.STALL
    sim.fault = None
    assert sim.reading() == ScaleReading(Decimal("1.234"), KG, ScaleStatus.STABLE)


@pytest.mark.parametrize("protocol", ["mtsics", "nci"])
def test_a_scale_switched_to_pounds_says_so(protocol: str) -> None:
    with SerialScaleSimulator(protocol, weight="2.5", unit=KG) as sim:
        driver = SerialScale(sim.url, protocol, settings=sim.settings)
        sim.unit = WeightUnit.LB
        assert (sim.unit, sim.stable) == (WeightUnit.LB, True)
        event = driver.read(WAIT)
        assert isinstance(event, ScaleReading) and event.unit is WeightUnit.LB
        assert event.weight == Decimal("2.5")
        driver.close()
