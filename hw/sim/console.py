"""Simulated devices run in the foreground, steered by typed commands (`appliance sim ...`).

For the demo, for a field tech without the hardware at hand, and for tests: each
simulator starts, prints where a driver reaches it, then reads one command per line
from its input until `quit` (or end of input). Faults are switched on and off the same
way a test does it, so what a tech sees is what the tests prove:

    printer: paper out | paper ok | paper low | cover open | cover closed | drop | reconnect
             | stall | answer | pages
    scale:   weight 1.25 | unit kg | stable | unstable | fault garbage|stall|over capacity|
             under zero|hang up | fault none | unplug | plug
    labels:  paper out | paper ok | head open | head closed | drop | reconnect | labels
    scanner: scan CODE | half CODE | garbage | unplug     (any other line is scanned as is)

Every command answers with one line (`ok: ...` or `error: ...`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import TextIO

from hw.paper import PAPER_58MM, PAPER_80MM, Paper
from hw.protocols.scale import WeightUnit
from hw.sim.label_printer import LabelPrinterSimulator
from hw.sim.printer import EscposPrinterSimulator
from hw.sim.scale import SerialScaleSimulator, SimFault
from hw.sim.scanner import SerialScannerSim

Handler = Callable[[str], str]


def serve(commands: Iterable[str], handle: Handler, out: TextIO) -> None:
    """Run typed commands until `quit` or the end of input, one answer line each."""
    for raw in commands:
        line = raw.strip()
        if not line:
            continue
        if line in ("quit", "exit"):
            break
        try:
            answer = handle(line)
        except (ValueError, KeyError, OSError, RuntimeError) as exc:
            answer = f"error: {exc}"
        print(answer, file=out, flush=True)


def printer_commands(sim: EscposPrinterSimulator) -> Handler:
    """The printer simulator's commands (see the module docstring)."""
    switches: dict[str, Callable[[], None]] = {
        "paper out": lambda: setattr(sim, "paper_out", True),
        "paper ok": lambda: _paper_ok(sim),
        "paper low": lambda: setattr(sim, "paper_near_end", True),
        "cover open": lambda: setattr(sim, "cover_open", True),
        "cover closed": lambda: setattr(sim, "cover_open", False),
        "drop": lambda: setattr(sim, "drop_connection", True),
        "reconnect": lambda: setattr(sim, "drop_connection", False),
        "stall": lambda: setattr(sim, "stall", True),
        "answer": lambda: setattr(sim, "stall", False),
    }

    def handle(line: str) -> str:
        if line == "pages":
            return f"ok: {len(sim.pages)} receipt(s) printed"
        switch = switches.get(line)
        if switch is None:
            raise ValueError(f"unknown printer command {line!r}; try: {', '.join(switches)}")
        switch()
        return f"ok: {line}"

    return handle


def label_printer_commands(sim: LabelPrinterSimulator) -> Handler:
    """The label printer simulator's commands (see the module docstring)."""
    switches: dict[str, Callable[[], None]] = {
        "paper out": lambda: setattr(sim, "paper_out", True),
        "paper ok": lambda: setattr(sim, "paper_out", False),
        "head open": lambda: setattr(sim, "head_open", True),
        "head closed": lambda: setattr(sim, "head_open", False),
        "drop": lambda: setattr(sim, "drop_connection", True),
        "reconnect": lambda: setattr(sim, "drop_connection", False),
    }

    def handle(line: str) -> str:
        if line == "labels":
            return f"ok: {len(sim.labels)} label(s) printed"
        switch = switches.get(line)
        if switch is None:
            raise ValueError(f"unknown label printer command {line!r}; try: {', '.join(switches)}")
        switch()
        return f"ok: {line}"

    return handle


def _paper_ok(sim: EscposPrinterSimulator) -> None:
    sim.paper_out = sim.paper_near_end = False
    sim.paper_lines_left = None


def scale_commands(sim: SerialScaleSimulator) -> Handler:
    """The scale simulator's commands (see the module docstring)."""

    def handle(line: str) -> str:
        verb, _, rest = line.partition(" ")
        if verb == "weight":
            try:
                sim.weight = Decimal(rest)
            except InvalidOperation:
                raise ValueError(f"weight: expected a number, got {rest!r}") from None
        elif verb == "unit":
            sim.unit = WeightUnit(rest)
        elif line in ("stable", "unstable"):
            sim.stable = line == "stable"
        elif verb == "fault":
            sim.fault = None if rest == "none" else SimFault(rest)
        elif line == "unplug":
            sim.disconnect()
        elif line == "plug":
            sim.start()
        else:
            raise ValueError(f"unknown scale command {line!r}")
        return f"ok: {_reading(sim)}"

    return handle


def _reading(sim: SerialScaleSimulator) -> str:
    fault = f", fault {sim.fault.value}" if sim.fault is not None else ""
    return f"{sim.weight} {sim.unit.value} {'stable' if sim.stable else 'in motion'}{fault}"


def scanner_commands(sim: SerialScannerSim) -> Handler:
    """The scanner simulator's commands (see the module docstring)."""

    def handle(line: str) -> str:
        verb, _, rest = line.partition(" ")
        if verb == "scan" and rest:
            sim.scan(rest)
        elif verb == "half" and rest:
            sim.scan_half(rest)
        elif line == "garbage":
            sim.send_garbage()
        elif line == "unplug":
            sim.disconnect()
        else:
            sim.scan(line)
        return f"ok: {line}"

    return handle


def run_printer(port: int, columns: int, commands: Iterable[str], out: TextIO) -> None:
    """A network receipt printer on 127.0.0.1:`port` (0: any free port), `columns` wide."""
    paper = Paper(columns, PAPER_80MM.dots if columns > PAPER_58MM.columns else PAPER_58MM.dots)
    with EscposPrinterSimulator(port=port, paper=paper,
                                on_page=lambda page: print(page, file=out)) as sim:  # fmt: skip
        print(f"printer {sim.url}", file=out, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            serve(commands, printer_commands(sim), out)


def run_label_printer(language: str, port: int, commands: Iterable[str], out: TextIO) -> None:
    """A network label printer speaking `language` (zpl, tspl) on 127.0.0.1:`port`."""
    show = lambda lines: print("\n".join(["[label]", *lines]), file=out)  # noqa: E731
    with LabelPrinterSimulator(language, port=port, on_label=show) as sim:
        print(f"label printer {sim.url} ({language})", file=out, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            serve(commands, label_printer_commands(sim), out)


def run_scale(
    protocol: str, weight: Decimal, unit: WeightUnit, link: str | None,
    commands: Iterable[str], out: TextIO,
) -> None:  # fmt: skip
    """A serial scale speaking `protocol` on a pty (and at `link`, if given)."""
    with SerialScaleSimulator(protocol, weight, unit, link=link) as sim:
        print(f"scale {sim.url} ({protocol}, {_reading(sim)})", file=out, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            serve(commands, scale_commands(sim), out)


def run_scanner(suffix: bytes, commands: Iterable[str], out: TextIO) -> None:
    """A serial barcode scanner on a pty."""
    with SerialScannerSim(suffix=suffix) as sim:
        print(f"scanner {sim.url}", file=out, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            serve(commands, scanner_commands(sim), out)
