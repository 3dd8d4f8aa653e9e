"""`make run`: a broker, the back office on SQLite and a register, on this machine.

Everything lives under var/demo/: the broker's files, the back office's database,
the register's LMDB data, and links to the simulated scale and scanner. The
devices are the package's simulators (a network ESC/POS printer, a Toledo 8217
scale and a serial scanner on pseudo-terminals), reached by the real drivers.
The register (no screen yet) weighs on the scale, rings up the demo cart,
commits it, and the sync link delivers it; the receipt comes out of the print
queue onto the simulated printer, the drawer is kicked, and the demo shows the
paper as printed, waits for the back office's ack and shows its view.
Run it again and the sales add up: the register's chain and the back office's
database persist between runs. The back office's dashboard runs beside it on
127.0.0.1:8080 (another port if taken), behind a password made for each run.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from appliance.bootstrap import open_register, open_storage, start_sync
from appliance.config import Config, load_config
from appliance.demo import DEMO_DIR, ring_up_demo, seed_demo
from appliance.devices import Devices, open_devices, paper_of, resolve
from appliance.print_queue import PrintQueue
from appliance.register import Register
from backoffice.catalog import load_catalog
from backoffice.db import Database
from backoffice.reports import report
from backoffice.service import BackOffice
from backoffice.web.auth import write_password_file
from backoffice.web.server import WebServer
from devstack.mosquitto import Mosquitto
from devstack.ports import free_port, port_accepts
from devstack.xvfb import Xvfb
from hw.paper import Paper
from hw.profiles import ProfileIndex
from hw.protocols.scale import WeightUnit
from hw.sim.printer import EscposPrinterSimulator
from hw.sim.scale import SerialScaleSimulator
from hw.sim.scanner import SerialScannerSim


def main(argv: list[str] | None = None) -> int:
    """Start the demo; exit 0 when the sale reached the back office."""
    parser = argparse.ArgumentParser(prog="python -m devstack.demo", description=__doc__)
    parser.add_argument("--var", type=Path, default=Path("var/demo"), help="where state lives")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for the ack")
    parser.add_argument("--no-window", action="store_true",
                        help="stop after the scripted sale (no register window)")  # fmt: skip
    args = parser.parse_args(argv)
    var: Path = args.var
    var.mkdir(parents=True, exist_ok=True)

    port = 1883 if not port_accepts("127.0.0.1", 1883) else free_port()
    config = load_config(DEMO_DIR / "register.toml")
    config = replace(
        config,
        register=replace(config.register, data_dir=var / "data"),
        broker=replace(config.broker, url=f"mqtt://127.0.0.1:{port}"),
    )
    db_url = f"sqlite:///{(var / 'backoffice.db').resolve()}"
    with ExitStack() as stack:
        broker = stack.enter_context(
            Mosquitto(
                var / "mosquitto",
                port=port,
                persistence=True,
                max_queued_messages=100_000,
                extra={"max_packet_size": 1 << 20},
            )
        )  # see config/broker
        print(f"broker      {broker.url} (files in {var / 'mosquitto'})")
        load_catalog(Database(db_url), config.register.store, config,
                     DEMO_DIR / "catalog.toml", datetime.now(UTC))  # fmt: skip
        office = BackOffice(db_url, broker.url)
        office.start()
        office.wait_ready(10)
        print(f"back office {db_url}")
        stack.callback(_dashboard(db_url, var).stop)
        storage = open_storage(config)
        sims = stack.enter_context(DemoDevices(var))
        config = sims.configure(config)
        devices = open_devices(config)
        stack.callback(devices.close)
        _show_devices(devices, sims)
        try:
            seed_demo(storage, config)
            register = open_register(config, storage)
            link = start_sync(register)
            print(f"register    {config.register.store}/{config.register.id}, data in "
                  f"{config.register.data_dir}")  # fmt: skip
            # rung up online if we can: connected, and the cache holds the office's catalogue
            _wait(lambda: link.status().state != "offline" and register.catalog_version() > 0, 8.0)
            done = ring_up_demo(register)
            _print_and_kick(register, devices, config)
            print()
            sys.stdout.write(sims.printer.pages[-1] if sims.printer.pages else "(no receipt)\n")
            print()
            reached = _wait(lambda: register.status().unsent == 0, args.timeout)
            status = register.status()
            verdict = (
                "confirmed by the back office"
                if reached
                else (f"NOT confirmed after {args.timeout:g} s ({status.unsent} unsent)")
            )
            print(f"sale {done.sale.register}-{done.seq}: {verdict}")
            print(f"register: {status.unsent} unsent, {status.rejected} rejected, "
                  f"link {link.status().state}")  # fmt: skip
            link.stop()
            register.io.close()
        finally:
            storage.close()
            devices.close()
        print()
        print(report(Database(db_url), "sales").render())
        print()
        if not args.no_window:
            _window(config, var, stack)
        office.stop()
    print(
        "Next: `make test`; `appliance outbox list --config ...`; "
        "`backoffice report drift --db " + db_url + "`"
    )
    return 0 if reached else 1


class DemoDevices:
    """The demo's simulated devices, and the config pointed at them."""

    def __init__(self, var: Path) -> None:
        self.var = var
        port = 9100 if not port_accepts("127.0.0.1", 9100) else 0
        self.printer = EscposPrinterSimulator(port=port, paper=Paper(48, 576))
        self.scale = SerialScaleSimulator("toledo8217", "0.742", WeightUnit.KG,
                                          link=var / "scale")  # fmt: skip
        self.scanner = SerialScannerSim()

    def __enter__(self) -> DemoDevices:
        self.printer.start()
        self.scale.start()
        self.scanner.start()
        link = self.var / "scanner"
        link.unlink(missing_ok=True)
        link.symlink_to(self.scanner.url)
        return self

    def __exit__(self, *exc: object) -> None:
        self.scanner.stop()
        self.scale.stop()
        self.printer.stop()

    def configure(self, config: Config) -> Config:
        """The config with each device entry pointed at its simulator."""
        urls = {"printer": self.printer.url, "scale": str(self.scale.link),
                "scanner": str(self.var / "scanner")}  # fmt: skip
        devices = {name: replace(section, url=urls.get(name, section.url))
                   for name, section in config.devices.items()}  # fmt: skip
        return replace(config, devices=devices)


def _show_devices(devices: Devices, sims: DemoDevices) -> None:
    print(f"printer     {sims.printer.url} (simulated Epson TM-T20III, 48 columns)")
    print(f"scale       {sims.scale.link} -> {sims.scale.slave_path} (simulated Toledo 8217)")
    print(f"scanner     {sims.var / 'scanner'} -> {sims.scanner.url} (simulated)")
    for name, problem in devices.problems.items():
        print(f"device      {name}: {problem}")
    scale = devices.by_name.get("scale")
    if scale is not None:
        reading = scale.read(2.0)
        shown = (
            getattr(reading, "reason", None)
            or f"{reading.weight} {reading.unit.value} {reading.status.value}"
        )
        print(f"scale       reads {shown}")


def _dashboard(db_url: str, var: Path) -> WebServer:
    """The dashboard on 127.0.0.1:8080 (another port if taken), with a new password each run."""
    password = secrets.token_urlsafe(9)
    (var / "dashboard-password").write_text(password + "\n", encoding="utf-8")
    (var / "dashboard-password").chmod(0o600)
    write_password_file(var / "dashboard.passwd", password)
    port = 8080 if not port_accepts("127.0.0.1", 8080) else free_port()
    web = WebServer(db_url, var / "dashboard.passwd", "127.0.0.1", port)
    web.start()
    print(f"dashboard   {web.url} (password {password}, also in {var / 'dashboard-password'})")
    return web


def _print_and_kick(register: Register, devices: Devices, config: Config) -> None:
    """The receipt from the print queue, then the drawer: only after the commit."""
    printer = devices.by_name.get("printer")
    columns = paper_of(resolve("printer", config.devices["printer"], ProfileIndex.load())
                       .profile.quirks).columns  # type: ignore[arg-type]  # fmt: skip
    state = PrintQueue(register, printer, config.receipt, columns=columns).print_pending()
    print(f"printer     {'receipt printed' if state.ok else state.problem}")
    drawer = devices.by_name.get("drawer")
    if drawer is not None:
        kicked = drawer.kick()
        print(f"drawer      {'opened' if kicked.confirmed else 'not confirmed'}: {kicked.detail}")


def _window(config: Config, var: Path, stack: ExitStack) -> None:
    """The register's touchscreen over the same data, broker and simulated devices."""
    from appliance.kiosk import open_kiosk
    from appliance.ui.launch import PI_DISPLAY_2, configure, kivy_post, run_app

    snapshot = None
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        screen = stack.enter_context(Xvfb(PI_DISPLAY_2))
        os.environ["DISPLAY"] = screen.display
        snapshot = (var / "screen.png", 5.0)
        print(f"window      no display here: the register runs on Xvfb {screen.display}; "
              f"its screen is saved to {snapshot[0]} every 5 s (Ctrl-C to stop)")  # fmt: skip
    else:
        print("window      the register is open in its window: log in as demo, PIN 1234 "
              "(manager boss, 9999); close the window to stop")  # fmt: skip
    # force: python-escpos configured the root logger when it was imported
    logging.basicConfig(
        level=logging.WARNING, force=True, format="%(levelname)s %(name)s: %(message)s"
    )
    configure(PI_DISPLAY_2)
    kiosk = open_kiosk(config, kivy_post())
    try:
        run_app(kiosk.session, PI_DISPLAY_2, snapshot=snapshot)
    except KeyboardInterrupt:
        print()
    finally:
        kiosk.close()


def _wait(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


if __name__ == "__main__":
    raise SystemExit(main())
