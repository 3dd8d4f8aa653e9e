"""`appliance hw ...` and `appliance sim ...` as a field tech runs them, against the
simulators through real TCP sockets and pseudo-terminals."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.cli import main
from hw.protocols.scale import WeightUnit
from hw.sim import console
from hw.sim.printer import EscposPrinterSimulator
from hw.sim.scale import SerialScaleSimulator, SimFault
from hw.sim.scanner import SerialScannerSim
from tests.store.conftest import write_config


@pytest.fixture
def printer() -> Iterator[EscposPrinterSimulator]:
    with EscposPrinterSimulator() as sim:
        yield sim


@pytest.fixture
def scale() -> Iterator[SerialScaleSimulator]:
    with SerialScaleSimulator("toledo8217", "1.25", WeightUnit.KG) as sim:
        yield sim


@pytest.fixture
def config_file(
    tmp_path: Path, printer: EscposPrinterSimulator, scale: SerialScaleSimulator
) -> Path:
    """The demo's register.toml with its devices pointed at the simulators."""
    config = write_config(tmp_path)
    path = next(tmp_path.glob("register-*.toml"))
    text = path.read_text()
    text = text.replace("socket://127.0.0.1:9100", printer.url)
    text = text.replace('url = "var/demo/scale"', f'url = "{scale.url}"')
    text = text.replace("[devices.scanner]", "[devices.scanner]\nenabled = false")
    path.write_text(text)
    assert config.register.id == "r1"
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["hw", *argv])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_test_print_prints_and_says_ok(
    capsys: pytest.CaptureFixture[str], config_file: Path, printer: EscposPrinterSimulator
) -> None:
    code, out = run(capsys, "test-print", "--config", str(config_file))
    assert (code, out.splitlines()[-1]) == (
        0, f"OK: Epson TM-T20III on {printer.url}, paper OK")  # fmt: skip
    assert "Printer test" in printer.pages[0] and "café crème" in printer.pages[0]


def test_test_print_names_the_fix(
    capsys: pytest.CaptureFixture[str], config_file: Path, printer: EscposPrinterSimulator
) -> None:
    printer.paper_out = True
    code, out = run(capsys, "test-print", "--config", str(config_file))
    assert code == 1 and out.startswith("FAIL: Epson TM-T20III") and "load a roll" in out
    printer.paper_out, printer.paper_near_end = False, True
    code, out = run(capsys, "test-print", "--url", printer.url)
    assert code == 0 and "paper low: change the roll soon" in out


def test_weigh_reads_the_scale_and_a_stalled_scale_fails_in_time(
    capsys: pytest.CaptureFixture[str], config_file: Path, scale: SerialScaleSimulator
) -> None:
    code, out = run(capsys, "weigh", "--config", str(config_file), "--count", "2",
                    "--interval", "0")  # fmt: skip
    assert code == 0 and out.count("1.250 kg stable (can price)") == 3, out
    scale.fault = SimFault.STALL
    code, out = run(capsys, "weigh", "--url", scale.url, "--profile", "mettler_toledo_viva",
                    "--count", "1", "--timeout", "0.3")  # fmt: skip
    assert code == 1 and "FAIL: Mettler Toledo Viva" in out and "no answer" in out


def test_kick_is_confirmed_by_the_drawer_sensor(
    capsys: pytest.CaptureFixture[str], config_file: Path, printer: EscposPrinterSimulator
) -> None:
    code, out = run(capsys, "kick", "--config", str(config_file))
    assert code == 0 and out.startswith("OK: APG Vasario") and len(printer.kicks) == 1
    code, out = run(capsys, "kick", "--url", printer.url, "--profile", "mmf_val_u_line")
    assert code == 0 and "not confirmed" in out, "a drawer with no sensor: said, not assumed"


def test_scan_shows_the_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with SerialScannerSim() as scanner:
        # opening a port drops what waited in it: scan once the command listens
        later = threading.Timer(0.3, scanner.scan, ("0123456789012",))
        later.start()
        code, out = run(capsys, "scan", "--url", scanner.url, "--seconds", "1.0",
                        "--profile", "honeywell_voyager_1250g_rs232")  # fmt: skip
    assert code == 0 and "0123456789012" in out and "1 code(s) read" in out


def test_scan_on_a_port_that_is_not_there_is_a_fail_not_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out = run(capsys, "scan", "--url", "/dev/ttyUSB9", "--seconds", "0.2",
                    "--profile", "honeywell_voyager_1250g_rs232")  # fmt: skip
    assert code == 1 and out.splitlines()[-1].startswith("FAIL: scanner Honeywell Voyager")
    assert "cannot open /dev/ttyUSB9" in out and "Traceback" not in out


def test_list_and_watch_answer(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "list")
    assert code == 0 and out.splitlines()[-1].startswith("OK: ")
    code, out = run(capsys, "watch", "--seconds", "1.2")
    assert code == 0 and "watching" in out


def test_bad_device_choices_exit_2(capsys: pytest.CaptureFixture[str], config_file: Path) -> None:
    code, out = run(capsys, "test-print", "--config", str(config_file), "--device", "nope")
    assert code == 2 and "no device 'nope'" in out
    code, out = run(capsys, "weigh", "--url", "/dev/null", "--profile", "mettler_toledo_vivaa")
    assert code == 2 and "did you mean 'mettler_toledo_viva'" in out
    code, out = run(capsys, "weigh", "--url", "/dev/null", "--profile", "epson_tm_t20iii")
    assert code == 2 and "is a receipt_printer" in out
    code, out = run(capsys, "weigh", "--url", "serial:///dev/ttyUSB0", "--count", "1")
    assert code == 2 and "devices.scale.url: invalid URL, protocol 'serial' not known" in out


def test_the_simulator_consoles_obey_typed_commands(printer: EscposPrinterSimulator) -> None:
    out = io.StringIO()
    console.serve(["paper out", "", "bogus", "pages", "quit", "paper ok"],
                  console.printer_commands(printer), out)  # fmt: skip
    answers = out.getvalue().splitlines()
    assert answers[0] == "ok: paper out" and printer.paper_out, "quit stops before 'paper ok'"
    assert answers[1].startswith("error: unknown printer command 'bogus'")
    assert answers[2] == "ok: 0 receipt(s) printed"


def test_the_scale_and_scanner_consoles(scale: SerialScaleSimulator) -> None:
    out = io.StringIO()
    console.serve(["weight 2.5", "unstable", "fault garbage", "weight x"],
                  console.scale_commands(scale), out)  # fmt: skip
    assert out.getvalue().splitlines() == [
        "ok: 2.5 kg stable", "ok: 2.5 kg in motion", "ok: 2.5 kg in motion, fault garbage",
        "error: weight: expected a number, got 'x'"]  # fmt: skip
    with SerialScannerSim() as scanner:
        out = io.StringIO()
        console.serve(["scan 123", "4006381333931"], console.scanner_commands(scanner), out)
        assert out.getvalue().splitlines() == ["ok: scan 123", "ok: 4006381333931"]


def test_the_label_printer_console() -> None:
    from hw.sim.label_printer import LabelPrinterSimulator

    with LabelPrinterSimulator("tspl") as sim:
        out = io.StringIO()
        console.serve(["head open", "labels", "nope"], console.label_printer_commands(sim), out)
        assert sim.head_open
    answers = out.getvalue().splitlines()
    assert answers[:2] == ["ok: head open", "ok: 0 label(s) printed"]
    assert answers[2].startswith("error: unknown label printer command 'nope'")
