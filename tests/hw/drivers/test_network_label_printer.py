"""The network label printer, against the label printer simulator over real TCP."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from hw.document import Barcode, Cut, Line, PrintDocument
from hw.drivers.network_label_printer import NetworkLabelPrinter
from hw.escpos_render import render_pages
from hw.labels import (
    LabelRenderError,
    escpos_document,
    fill,
    label_paper,
    parse_template,
    render_zpl,
)
from hw.ports import DeviceError, DeviceKind, DeviceOffline, LabelPrinter
from hw.profiles import ProfileIndex
from hw.protocols.escpos_status import ErrorCause
from hw.protocols.label_status import LabelStatus, decode_host_status
from hw.sim.label_printer import LabelPrinterSimulator
from hw.sim.printer import EscposPrinterSimulator
from tests.hw.drivers.helpers import ANSWER, SILENCE, free_port, not_a_printer

SHELF = parse_template(
    {
        "name": "shelf",
        "width_mm": 58,
        "height_mm": 40,
        "elements": [
            {"type": "text", "x": 2, "y": 2, "size": 11, "text": "{name}"},
            {"type": "price", "x": 2, "y": 9, "size": 24},
            {"type": "barcode", "x": 10, "y": 24, "height": 10, "symbology": "EAN13"},
        ],
    },
    "test",
)
LABEL = fill(SHELF, {"name": "Crème fraîche ^~_", "price": "€1.95", "barcode": "400638133393"})
LINES = ("Crème fraîche ^~_", "€1.95", "EAN13 4006381333931")


@pytest.fixture(params=["zpl", "tspl"])
def sim(request: pytest.FixtureRequest) -> Iterator[LabelPrinterSimulator]:
    with LabelPrinterSimulator(request.param) as simulator:
        yield simulator


def driver(sim: LabelPrinterSimulator, timeout: float = ANSWER) -> NetworkLabelPrinter:
    return NetworkLabelPrinter.from_url(sim.url, language=sim.language, status_timeout=timeout)


@pytest.fixture
def printer(sim: LabelPrinterSimulator) -> Iterator[NetworkLabelPrinter]:
    device = driver(sim)
    yield device
    device.close()


def test_satisfies_the_port(printer: NetworkLabelPrinter) -> None:
    port: LabelPrinter = printer
    assert port.info.kind is DeviceKind.LABEL_PRINTER
    assert printer.info.url.startswith("socket://127.0.0.1:")
    assert printer.info.stable_id == printer.where


def test_prints_a_label_the_printer_reads_back(
    sim: LabelPrinterSimulator, printer: NetworkLabelPrinter
) -> None:
    printer.print_label(LABEL)
    assert sim.labels == [LINES]
    assert sim.errors == []


def test_prints_copies(sim: LabelPrinterSimulator, printer: NetworkLabelPrinter) -> None:
    printer.print_label(LABEL, copies=3)
    printer.print_label(LABEL)
    assert sim.labels == [LINES] * 4
    assert len(sim.jobs) == 2  # copies are the printer's job, not four sends


def test_reports_a_ready_printer(printer: NetworkLabelPrinter) -> None:
    assert printer.status() == LabelStatus()


def test_out_of_labels_before_the_job_sends_nothing(
    sim: LabelPrinterSimulator, printer: NetworkLabelPrinter
) -> None:
    sim.paper_out = True
    with pytest.raises(DeviceError, match="out of labels: load a roll; then print the label"):
        printer.print_label(LABEL)
    assert sim.jobs == [] and sim.labels == []
    sim.paper_out = False
    printer.print_label(LABEL)
    assert sim.labels == [LINES]


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        ("head_open", "the print head is open: close it"),
        ("ribbon_out", "out of ribbon: load a ribbon"),
        ("paused", "paused: press its PAUSE button"),
    ],
)
def test_each_fault_is_named_and_nothing_is_sent(
    sim: LabelPrinterSimulator, printer: NetworkLabelPrinter, fault: str, says: str
) -> None:
    setattr(sim, fault, True)
    assert getattr(sim, fault)
    with pytest.raises(DeviceError, match=says):
        printer.print_label(LABEL)
    assert sim.jobs == []
    assert not printer.status().can_print


def test_running_out_mid_job_says_the_printer_finishes_it(
    sim: LabelPrinterSimulator, printer: NetworkLabelPrinter
) -> None:
    sim.labels_left = 1
    with pytest.raises(DeviceError, match="ran out of labels during the job.*do not print it"):
        printer.print_label(LABEL, copies=3)
    assert sim.labels == [LINES]
    assert sim.held == 2
    sim.labels_left = None
    sim.paper_out = False  # a roll is loaded: the rest comes out by itself
    assert sim.labels == [LINES] * 3 and sim.held == 0


def test_a_dropped_connection_fails_then_the_next_call_reconnects(
    sim: LabelPrinterSimulator, printer: NetworkLabelPrinter
) -> None:
    printer.print_label(LABEL)
    sim.drop_connection = True
    with pytest.raises(DeviceOffline, match=f"at 127.0.0.1:{sim.port} closed the connection"):
        printer.print_label(LABEL)
    sim.drop_connection = False
    printer.print_label(LABEL)
    assert sim.labels == [LINES, LINES]


def test_a_connection_closed_while_idle_is_replaced_without_an_error(
    sim: LabelPrinterSimulator, printer: NetworkLabelPrinter
) -> None:
    printer.print_label(LABEL)
    sim.drop_connection = True
    sim.drop_connection = False  # the printer restarted between two labels
    printer.print_label(LABEL)
    assert sim.labels == [LINES, LINES]


def test_a_stalled_printer_is_offline_within_the_timeout(sim: LabelPrinterSimulator) -> None:
    sim.stall = True
    impatient = driver(sim, timeout=SILENCE)
    with pytest.raises(DeviceOffline, match=rf"127\.0\.0\.1:{sim.port} did not answer .* 0\.25 s"):
        impatient.print_label(LABEL)
    assert sim.jobs == []
    sim.stall = False
    impatient.print_label(LABEL)  # the unanswered request's connection was dropped
    assert sim.labels == [LINES]
    impatient.close()


def test_a_wrong_language_printer_is_silent_and_named(sim: LabelPrinterSimulator) -> None:
    other = "tspl" if sim.language == "zpl" else "zpl"
    wrong = NetworkLabelPrinter.from_url(sim.url, language=other, status_timeout=SILENCE)
    with pytest.raises(DeviceOffline, match=f"speaks {other.upper()} as its profile says"):
        wrong.status()
    wrong.close()


def test_a_printer_that_cannot_be_reached_is_offline() -> None:
    port = free_port()
    printer = NetworkLabelPrinter("127.0.0.1", port, language="zpl", connect_timeout=ANSWER)
    with pytest.raises(DeviceOffline, match=f"cannot reach the label printer at 127.0.0.1:{port}"):
        printer.print_label(LABEL)


def test_garbage_instead_of_a_status_is_a_device_error() -> None:
    with not_a_printer() as port:
        url = f"socket://127.0.0.1:{port}"
        printer = NetworkLabelPrinter.from_url(url, language="zpl", status_timeout=ANSWER)
        with pytest.raises(DeviceError, match="does not answer like a ZPL label printer"):
            printer.print_label(LABEL)
        printer.close()


def test_a_label_that_cannot_print_fails_before_the_printer_is_asked(
    sim: LabelPrinterSimulator, printer: NetworkLabelPrinter
) -> None:
    sim.stall = True  # any question to the printer would time out
    with pytest.raises(LabelRenderError, match="1000 copies"):
        printer.print_label(LABEL, copies=1000)
    assert sim.received == b""


def test_a_document_is_for_escpos_printers_only(
    sim: LabelPrinterSimulator, printer: NetworkLabelPrinter
) -> None:
    with pytest.raises(DeviceError, match=f"speaks {sim.language.upper()}.*use print_label"):
        printer.print(PrintDocument((Line("x"),)))
    assert sim.received == b""


def test_from_profile_takes_language_and_resolution(sim: LabelPrinterSimulator) -> None:
    index = ProfileIndex.load()
    name = "zebra_gc420d" if sim.language == "zpl" else "tsc_tx200"
    printer = NetworkLabelPrinter.from_profile(index.by_name(name), sim.url)
    assert printer.language.value == sim.language
    assert printer.info.model == index.by_name(name).title
    printer.print_label(LABEL)
    assert sim.labels == [LINES]
    printer.close()
    with pytest.raises(ValueError, match="is a scale profile"):
        NetworkLabelPrinter.from_profile(index.of_kind(DeviceKind.SCALE)[0], sim.url)


def test_refuses_what_is_not_a_printer_address() -> None:
    with pytest.raises(ValueError, match="not a socket://host:port"):
        NetworkLabelPrinter.from_url("tcp://printer", language="zpl")
    with pytest.raises(LabelRenderError, match="no label language 'epl'"):
        NetworkLabelPrinter("127.0.0.1", language="epl")


# --- the simulator itself ---------------------------------------------------------------------


def test_the_simulator_answers_status_inside_a_job_and_keeps_bad_jobs_as_errors() -> None:
    with (
        LabelPrinterSimulator("zpl") as sim,
        socket.create_connection(("127.0.0.1", sim.port)) as s,
    ):
        s.sendall(b"^XA^FO1,1^FDone~HS")
        assert _read_status(s).startswith(b"\x02")
        s.sendall(b"^FS^XZ^XA^FDbroken^XZ")
        s.sendall(b"~HS")
        _read_status(s)
        assert sim.labels == [("one",)]
        assert len(sim.errors) == 1 and "no ^FS" in sim.errors[0]
        assert sim.received.count(b"~HS") == 2


def test_the_tspl_simulator_drops_other_immediate_commands() -> None:
    with (
        LabelPrinterSimulator("tspl") as sim,
        socket.create_connection(("127.0.0.1", sim.port)) as s,
    ):
        s.sendall(b'\x1b!RCLS\r\nTEXT 1,1,"0",0,8,8,"hi"\r\nPRINT 2\r\n\x1b!?')
        assert s.recv(8) == b"\x00"
        assert sim.labels == [("hi",), ("hi",)]


def test_the_simulator_holds_labels_while_out_of_paper_and_drops_garbage() -> None:
    printed: list[tuple[str, ...]] = []
    sim = LabelPrinterSimulator("zpl", on_label=printed.append).start()
    try:
        sim.paper_out = True
        assert sim.paper_out and not sim.drop_connection
        with socket.create_connection(("127.0.0.1", sim.port)) as s:
            s.sendall(render_zpl(LABEL, 8) + b"~HS")
            status = decode_host_status(_read_status(s))
            assert status.paper_out and status.formats_in_buffer == 1
            assert sim.held == 1 and printed == []
            sim.paper_out = False
            assert printed == [LINES] and sim.labels == [LINES]
            s.sendall(b"x" * (1 << 20) + b"x~HS")
            _read_status(s)
        assert "without a job end: dropped" in sim.errors[-1]
    finally:
        sim.stop()
        sim.stop()  # a second stop is harmless


def test_the_simulator_speaks_zpl_or_tspl_only() -> None:
    with pytest.raises(ValueError, match="zpl or tspl"):
        LabelPrinterSimulator("escpos")


def _read_status(sock: socket.socket) -> bytes:
    sock.settimeout(ANSWER)
    data = b""
    while data.count(b"\r\n") < 3:
        data += sock.recv(256)
    return data


# --- ESC/POS label printers --------------------------------------------------------------------


PAPER = label_paper(LABEL, 8)


@pytest.fixture
def escpos_sim() -> Iterator[EscposPrinterSimulator]:
    with EscposPrinterSimulator(paper=PAPER) as simulator:
        yield simulator


def escpos_printer(sim: EscposPrinterSimulator) -> NetworkLabelPrinter:
    return NetworkLabelPrinter.from_url(
        sim.url, language="escpos", paper=PAPER, status_timeout=ANSWER
    )


def test_an_escpos_label_printer_prints_labels_and_documents(
    escpos_sim: EscposPrinterSimulator,
) -> None:
    printer = escpos_printer(escpos_sim)
    printer.print_label(LABEL, copies=2)
    assert escpos_sim.pages == render_pages(escpos_document(LABEL, 2), PAPER.columns, PAPER.dots)
    assert escpos_sim.pages[0].startswith("Crème fraîche ^~_\n€1.95\n")
    ticket = (Line("Ticket"), Barcode("A-1"))
    printer.print(PrintDocument(ticket), copies=2)
    printer.print(PrintDocument((Line("Cut already"), Cut())))
    # Each copy of a document without a cut gets one; one that has a cut keeps it.
    expected = PrintDocument((*ticket, Cut()) * 2 + (Line("Cut already"), Cut()))
    assert escpos_sim.pages[2:] == render_pages(expected, PAPER.columns, PAPER.dots)
    assert printer.status() == LabelStatus()
    with pytest.raises(LabelRenderError, match="0 copies"):
        printer.print(PrintDocument((Line("x"),)), copies=0)
    printer.close()


def test_an_escpos_label_printer_out_of_paper(escpos_sim: EscposPrinterSimulator) -> None:
    printer = escpos_printer(escpos_sim)
    escpos_sim.paper_out = True
    with pytest.raises(DeviceError, match="out of labels"):
        printer.print_label(LABEL)
    escpos_sim.paper_out = False
    escpos_sim.cover_open = True
    assert printer.status() == LabelStatus(head_open=True)
    escpos_sim.cover_open = False
    escpos_sim.error_cause = ErrorCause(autocutter=True)
    with pytest.raises(DeviceError, match="reports an error \\(it is offline\\)"):
        printer.print_label(LABEL)
    assert escpos_sim.pages == []
    printer.close()
