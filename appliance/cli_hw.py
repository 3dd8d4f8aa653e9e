"""`appliance hw ...` for field techs, and `appliance sim ...` to stand in for devices.

Every `hw` command ends with one verdict line, `OK: ...` (exit 0) or `FAIL: ...` (exit
1) naming the fix, within a few seconds (each device call is bounded by the device's
`timeout_s`). A device comes from the register's config (`--config`, `--device NAME`,
default the first of the kind) or straight from `--url` and `--profile`, to try a
device before it is configured. A bad config or an unknown profile exits 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from appliance.config import DeviceSection, config_path, load_config
from appliance.devices import (
    PRINTER_SCHEME,
    Devices,
    DeviceSetupError,
    Wanted,
    open_wanted,
    resolve,
)
from hw import discovery
from hw.document import Align, Barcode, Columns, Cut, Feed, Line, PrintDocument, QRCode, Rule, Style
from hw.ports import DeviceError, DeviceKind
from hw.profiles import ProfileIndex
from hw.protocols.scale import ScaleFault, ScaleReading, WeightUnit
from hw.sim import console

WATCH_INTERVAL_S = 1.0


class HwCommandError(Exception):
    """A command that cannot pick or open its device as asked (exit 2)."""


def _verdict(ok: bool, text: str) -> int:
    print(f"{'OK' if ok else 'FAIL'}: {text}")
    return 0 if ok else 1


# --- which device ------------------------------------------------------------------------


def wanted_device(args: argparse.Namespace, kind: DeviceKind) -> Wanted:
    """The device the command is about, from --url/--profile or the config."""
    index = ProfileIndex.load()
    if args.url:
        section = DeviceSection(kind=kind.value, url=args.url, profile=args.profile or "",
                                timeout_s=args.timeout, enabled=True)  # fmt: skip
        return resolve(args.device or kind.value, section, index)
    config = load_config(config_path(args.config))
    entries = {n: s for n, s in config.devices.items() if s.kind == kind.value}
    if args.device:
        if args.device not in config.devices:
            raise HwCommandError(f"no device {args.device!r} in the config; it has: "
                                 f"{', '.join(sorted(config.devices)) or 'none'}")  # fmt: skip
        entries = {args.device: config.devices[args.device]}
    if not entries:
        raise HwCommandError(f"the config has no {kind.value}; give --url (and --profile)")
    name, section = next(iter(entries.items()))
    return resolve(name, section, index)


def open_device(wanted: Wanted) -> Any:
    """The device opened by its kind's driver."""
    return open_wanted(wanted, Devices())


def _printer_for_drawer(args: argparse.Namespace, drawer: Wanted) -> Devices:
    """The receipt printer a drawer is kicked through, opened under its config name."""
    opened = Devices()
    if args.url:  # --url is the printer's own address when testing a drawer
        printer = resolve("printer", DeviceSection(kind="receipt_printer", url=args.url, profile="",
                          timeout_s=args.timeout, enabled=True), ProfileIndex.load())  # fmt: skip
        opened.by_name["printer"] = open_device(printer)
        return opened
    name = drawer.section.url.removeprefix(PRINTER_SCHEME)
    printer_args = argparse.Namespace(**{**vars(args), "device": name})
    printer = wanted_device(printer_args, DeviceKind.RECEIPT_PRINTER)
    opened.by_name[printer.name] = open_device(printer)
    return opened


# --- the commands --------------------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    snapshot = discovery.discover(ProfileIndex.load())
    for found in snapshot.found:
        info = found.info
        print(f"{info.kind.value:<16} {info.model:<34} {info.stable_id}  ({found.profile})")
    for port in snapshot.unmatched:
        print(f"{'unknown':<16} {port}")
    for note in snapshot.notes:
        print(f"note: {note}")
    count = len(snapshot.found)
    return _verdict(True, f"{count} device{'s' if count != 1 else ''} matched a profile, "
                          f"{len(snapshot.unmatched)} port(s) unknown")  # fmt: skip


def _watch(args: argparse.Namespace) -> int:
    index = ProfileIndex.load()
    before = discovery.discover(index)
    print(f"watching for devices plugged in or out (Ctrl-C to stop); {len(before.found)} now")
    deadline = None if args.seconds is None else time.monotonic() + args.seconds
    try:
        while deadline is None or time.monotonic() < deadline:
            time.sleep(WATCH_INTERVAL_S)
            after = discovery.discover(index)
            added, removed = discovery.diff(before, after)
            stamp = datetime.now().strftime("%H:%M:%S")
            for event in added:
                print(f"{stamp} + {event.found.info.model} at {event.found.info.stable_id}")
            for gone in removed:
                print(f"{stamp} - {gone.found.info.model} at {gone.found.info.stable_id}")
            before = after
    except KeyboardInterrupt:
        pass
    return _verdict(True, f"{len(before.found)} device(s) connected")


def test_page(title: str, where: str) -> PrintDocument:
    """What `hw test-print` prints: styles, columns, codes and a cut a tech can judge."""
    now = datetime.now().strftime("%Y-%m-%d %H:%M")
    return PrintDocument((
        Line("Printer test", Align.CENTER, Style(bold=True, double_height=True, double_width=True)),
        Line(title, Align.CENTER),
        Line(where, Align.CENTER),
        Rule(),
        Columns(("Bold and underlined", "1.00"), (36,), style=Style(bold=True, underline=True)),
        Columns(("Accents: café crème, £ €", "2.00"), widths=(36,)),
        Rule("="),
        Barcode("TEST-0123"),
        QRCode(f"test print {now}"),
        Line(now, Align.CENTER),
        Feed(2),
        Cut(),
    ))  # fmt: skip


def _test_print(args: argparse.Namespace) -> int:
    wanted = wanted_device(args, DeviceKind.RECEIPT_PRINTER)
    printer = open_device(wanted)
    try:
        printer.print(test_page(wanted.profile.title, wanted.section.url))
        status = printer.status()
    except DeviceError as exc:
        return _verdict(False, f"{wanted.profile.title} on {wanted.section.url}: {exc}")
    finally:
        printer.close()
    paper = "paper low: change the roll soon" if status.paper_near_end else "paper OK"
    return _verdict(True, f"{wanted.profile.title} on {wanted.section.url}, {paper}")


def _describe(event: ScaleReading | ScaleFault) -> str:
    if isinstance(event, ScaleFault):
        return f"FAULT {event.reason}"
    verdict = "can price" if event.can_price() else "cannot price"
    return f"{event.weight} {event.unit.value} {event.status.value} ({verdict})"


def _weigh(args: argparse.Namespace) -> int:
    wanted = wanted_device(args, DeviceKind.SCALE)
    scale = open_device(wanted)
    event: ScaleReading | ScaleFault = ScaleFault("no reading taken")
    try:
        for n in range(args.count):
            if n:
                time.sleep(args.interval)
            event = scale.read(wanted.section.timeout_s)
            print(f"{datetime.now().strftime('%H:%M:%S')} {_describe(event)}")
    finally:
        scale.close()
    where = f"{wanted.profile.title} on {wanted.section.url}"
    if isinstance(event, ScaleFault):
        return _verdict(False, f"{where}: {event.reason}")
    return _verdict(True, f"{where} answers ({_describe(event)})")


def _kick(args: argparse.Namespace) -> int:
    wanted = wanted_device(args, DeviceKind.CASH_DRAWER)
    if args.url:
        wanted = Wanted(wanted.name, DeviceSection(kind="cash_drawer", url="printer://printer",
                        profile=wanted.profile.name, timeout_s=args.timeout, enabled=True),
                        wanted.profile)  # fmt: skip
    opened = _printer_for_drawer(args, wanted)
    try:
        drawer = open_wanted(wanted, opened)
        result = drawer.kick()
    except DeviceError as exc:
        return _verdict(False, f"{wanted.profile.title}: {exc}")
    finally:
        opened.close()
    if result.confirmed:
        return _verdict(True, f"{wanted.profile.title} opened ({result.detail})")
    status_open_high = getattr(wanted.profile.quirks, "status_open_high", None)
    return _verdict(status_open_high is None, f"{wanted.profile.title}: kick sent, not "
                                              f"confirmed: {result.detail}")  # fmt: skip


def _scan(args: argparse.Namespace) -> int:
    wanted = wanted_device(args, DeviceKind.SCANNER)
    try:
        scanner = open_device(wanted)  # a serial scanner opens its port here
    except DeviceError as exc:  # it names the scanner and the port
        return _verdict(False, str(exc))
    print(f"scan a barcode now ({args.seconds:g} s)")
    codes: list[str] = []
    try:
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            for code in scanner.codes(min(1.0, max(deadline - time.monotonic(), 0.01))):
                print(f"{datetime.now().strftime('%H:%M:%S')} {code}")
                codes.append(code)
    except DeviceError as exc:
        return _verdict(False, f"{wanted.profile.title} on {wanted.section.url}: {exc}")
    finally:
        scanner.close()
    if not codes:
        where = f"{wanted.profile.title} on {wanted.section.url}"
        return _verdict(False, f"{where}: nothing scanned; check the cable and the scanner's "
                               "suffix setting")  # fmt: skip
    return _verdict(True, f"{wanted.profile.title} on {wanted.section.url}: "
                          f"{len(codes)} code(s) read")  # fmt: skip


def device_arguments(common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options that pick a device (read by `wanted_device`)."""
    device = argparse.ArgumentParser(add_help=False, parents=[common])
    device.add_argument("--device", help="the config's device entry (default: first of the kind)")
    device.add_argument("--url", help="try a device not configured: its path or URL")
    device.add_argument("--profile", help="with --url: its profile (config/devices/NAME.toml)")
    device.add_argument("--timeout", type=float, default=2.0, help="with --url: seconds")
    return device


def add_hw_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """`appliance hw ...` (see the module docstring)."""
    hw = sub.add_parser("hw", help="what is connected, and does it work (for field techs)")
    hw_sub = hw.add_subparsers(dest="hw_command", required=True)
    device = device_arguments(common)
    hw_sub.add_parser("list", help="devices plugged in, matched to profiles").set_defaults(
        func=_list
    )
    watch = hw_sub.add_parser("watch", help="show devices as they are plugged in or out")
    watch.add_argument("--seconds", type=float, help="stop after this long (default: Ctrl-C)")
    watch.set_defaults(func=_watch)
    hw_sub.add_parser("test-print", parents=[device], help="print a test page").set_defaults(
        func=_test_print
    )
    weigh = hw_sub.add_parser("weigh", parents=[device], help="live readings from the scale")
    weigh.add_argument("--count", type=int, default=5)
    weigh.add_argument("--interval", type=float, default=0.5)
    weigh.set_defaults(func=_weigh)
    hw_sub.add_parser("kick", parents=[device], help="open the cash drawer").set_defaults(
        func=_kick
    )
    scan = hw_sub.add_parser("scan", parents=[device], help="show codes as they are scanned")
    scan.add_argument("--seconds", type=float, default=10.0)
    scan.set_defaults(func=_scan)


HW_ERRORS = (HwCommandError, DeviceSetupError)
"""What `appliance hw` reports as a usage or config error (exit 2)."""


# --- appliance sim --------------------------------------------------------------------------


def _sim_printer(args: argparse.Namespace) -> int:
    console.run_printer(args.port, args.columns, sys.stdin, sys.stdout)
    return 0


def _sim_labels(args: argparse.Namespace) -> int:
    console.run_label_printer(args.language, args.port, sys.stdin, sys.stdout)
    return 0


def _sim_scale(args: argparse.Namespace) -> int:
    try:
        weight = Decimal(args.weight)
    except InvalidOperation:
        raise HwCommandError(f"--weight: expected a number, got {args.weight!r}") from None
    console.run_scale(args.protocol, weight, WeightUnit(args.unit), args.link, sys.stdin,
                      sys.stdout)  # fmt: skip
    return 0


def _sim_scanner(args: argparse.Namespace) -> int:
    console.run_scanner(SUFFIXES[args.suffix], sys.stdin, sys.stdout)
    return 0


SUFFIXES = {"CR": b"\r", "LF": b"\n", "CRLF": b"\r\n", "TAB": b"\t"}


def add_sim_commands(sub: Any) -> None:
    """`appliance sim ...`: simulated devices, steered by typed commands (hw.sim.console)."""
    sim = sub.add_parser("sim", help="simulated devices for the demo and for field techs",
                         description=console.__doc__,
                         formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    sim_sub = sim.add_subparsers(dest="sim_command", required=True)
    printer = sim_sub.add_parser("printer", help="a network ESC/POS receipt printer")
    printer.add_argument("--port", type=int, default=9100, help="TCP port (0: any free one)")
    printer.add_argument(
        "--columns", type=int, default=48, help="characters per line (48: TM-T20III; 42: TM-T88)"
    )
    printer.set_defaults(func=_sim_printer)
    labels = sim_sub.add_parser("label-printer", help="a network ZPL or TSPL label printer")
    labels.add_argument("--language", choices=("zpl", "tspl"), default="zpl")
    labels.add_argument("--port", type=int, default=9101, help="TCP port (0: any free one)")
    labels.set_defaults(func=_sim_labels)
    scale = sim_sub.add_parser("scale", help="a serial scale on a pseudo-terminal")
    scale.add_argument("--protocol", choices=("toledo8217", "mtsics", "nci"),
                       default="toledo8217")  # fmt: skip
    scale.add_argument("--weight", default="1.250")
    scale.add_argument("--unit", choices=[u.value for u in WeightUnit], default="kg")
    scale.add_argument("--link", help="also reachable at this path (a symlink to the pty)")
    scale.set_defaults(func=_sim_scale)
    scanner = sim_sub.add_parser("scanner", help="a serial barcode scanner on a pseudo-terminal")
    scanner.add_argument("--suffix", choices=sorted(SUFFIXES), default="CR")
    scanner.set_defaults(func=_sim_scanner)
