"""`make run`: a broker, the back office on SQLite and a register, on this machine.

Everything lives under var/demo/: the broker's files, the back office's database,
the register's LMDB data. The register (simulated: no screen yet) rings up the
demo cart, commits it, and the sync link delivers it; the demo then prints the
receipt, waits for the back office's ack, and shows the back office's view.
Run it again and the sales add up: the register's chain and the back office's
database persist between runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from appliance.bootstrap import open_register, open_storage, start_sync
from appliance.config import load_config
from appliance.demo import DEMO_DIR, ring_up_demo, seed_demo
from appliance.domain.receipt import build_receipt, render_text
from backoffice.catalog import load_catalog
from backoffice.db import Database
from backoffice.reports import report
from backoffice.service import BackOffice
from devstack.mosquitto import Mosquitto
from devstack.ports import free_port, port_accepts


def main(argv: list[str] | None = None) -> int:
    """Start the demo; exit 0 when the sale reached the back office."""
    parser = argparse.ArgumentParser(prog="python -m devstack.demo", description=__doc__)
    parser.add_argument("--var", type=Path, default=Path("var/demo"), help="where state lives")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for the ack")
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
    with Mosquitto(
        var / "mosquitto", port=port, persistence=True, max_queued_messages=100_000
    ) as broker:  # see config/broker
        print(f"broker      {broker.url} (files in {var / 'mosquitto'})")
        load_catalog(Database(db_url), config.register.store, config,
                     DEMO_DIR / "catalog.toml", datetime.now(UTC))  # fmt: skip
        office = BackOffice(db_url, broker.url)
        office.start()
        office.wait_ready(10)
        print(f"back office {db_url}")
        storage = open_storage(config)
        try:
            seed_demo(storage, config)
            register = open_register(config, storage)
            link = start_sync(register)
            print(f"register    {config.register.store}/{config.register.id}, data in "
                  f"{config.register.data_dir}")  # fmt: skip
            # rung up online if we can: connected, and the cache holds the office's catalogue
            _wait(lambda: link.status().state != "offline" and register.catalog_version() > 0, 8.0)
            done = ring_up_demo(register)
            receipt = build_receipt(done.sale, config.receipt.header, config.receipt.footer)
            print()
            sys.stdout.write(render_text(receipt, config.receipt.width))
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
            office.stop()
    print()
    print(report(Database(db_url), "sales").render())
    print()
    print(
        "Next: `make test`; `appliance outbox list --config ...`; "
        "`backoffice report drift --db " + db_url + "`"
    )
    return 0 if reached else 1


def _wait(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


if __name__ == "__main__":
    raise SystemExit(main())
