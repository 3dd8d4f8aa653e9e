"""`appliance ...`: the command line for installers, field techs and the demo.

The register's commands (`status`, `outbox ...`, `catalog import`) work on the
data dir named by `--config`. Reading commands open the storage read-only, so
they work while the register runs; `catalog import` writes, so it takes the
writer lock and is refused while the register holds it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from appliance.bootstrap import open_register, open_storage, write_catalog
from appliance.catalog_file import CatalogFileError, StoreData
from appliance.cli_hw import HW_ERRORS, add_hw_commands, add_sim_commands
from appliance.cli_labels import LABEL_ERRORS, add_label_commands
from appliance.config import (
    CONFIG_ENV,
    DEFAULT_CONFIG,
    Config,
    ConfigError,
    config_path,
    describe_schema,
    load_config,
)
from appliance.domain import codec
from appliance.domain.errors import DomainError
from appliance.domain.money import Money
from appliance.domain.receipt import build_receipt, render_text
from appliance.domain.sale import Sale, encode
from appliance.outbox_export import export_unconfirmed
from appliance.register import Register
from appliance.settings import load_store_file
from appliance.store import outbox
from appliance.store.errors import StorageError
from appliance.store.lmdb_env import Txn
from appliance.store.outbox import OutboxEntry
from appliance.sync.wire import decode_envelope

DEMO = Path(__file__).resolve().parent.parent / "config" / "demo"
T = TypeVar("T")


class CommandError(Exception):
    """A command that cannot do what was asked; the message says why."""


def _demo_sale(args: argparse.Namespace) -> int:
    """Ring up the demo cart on a throwaway register and print its receipt."""
    from appliance.demo import ring_up_demo, seed_demo

    config = load_config(args.config)
    with tempfile.TemporaryDirectory(prefix="appliance-demo-") as scratch:
        config = replace(config, register=replace(config.register, data_dir=Path(scratch)))
        storage = open_storage(config)
        try:
            seed_demo(storage, config, args.catalog)
            register = open_register(config, storage)
            done = ring_up_demo(register)
            register.io.close()
        finally:
            storage.close()
    receipt = build_receipt(done.sale, config.receipt.header, config.receipt.footer)
    sys.stdout.write(render_text(receipt, config.receipt.width))
    if args.save is not None:
        args.save.write_bytes(encode(done.sale))
        print(f"sale saved to {args.save} (try: backoffice rederive {args.save})")
    return 0


def _config_check(args: argparse.Namespace) -> int:
    config = load_config(args.file)
    print(f"OK: {args.file} (store {config.register.store}, register {config.register.id})")
    return 0


def _config_docs(args: argparse.Namespace) -> int:
    for entry in describe_schema():
        default = f" = {entry.default}" if entry.default else ""
        print(f"{entry.key}  ({entry.type}){default}\n    {entry.doc}")
    return 0


# --- the register's commands -------------------------------------------------------------


def _register_config(args: argparse.Namespace) -> Config:
    return load_config(config_path(args.config))


@contextlib.contextmanager
def _reading(args: argparse.Namespace) -> Iterator[Register]:
    """The register's services over its storage opened read-only (works while it runs)."""
    config = _register_config(args)
    with open_storage(config, readonly=True) as storage:
        register = open_register(config, storage)
        try:
            yield register
        finally:
            register.io.close()


def _table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


def _status(args: argparse.Namespace) -> int:
    with _reading(args) as register:
        status = register.status()
    rows = [("store", status.store), ("register", status.register),
            ("data dir", str(register.config.register.data_dir)),
            ("unsent", str(status.unsent)), ("rejected", str(status.rejected)),
            ("last seq", str(status.last_seq))]  # fmt: skip
    rows += [(f"sync {kind}", f"{str(m.get('last_sync'))[:19].replace('T', ' ')}, "
              f"{m.get('count')} records in "
              f"{m.get('duration_s')} s, version {m.get('version')}")
             for kind, m in sorted(status.sync.items())] or [("sync", "never")]  # fmt: skip
    _table(rows)
    return 0


def _snapshot(register: Register, fn: Callable[[Txn], T]) -> T:
    """One read snapshot, on this thread: the storage thread's deadline is there so the
    screen never freezes, and would cut off a listing of a large backlog."""
    with register.storage.read() as txn:
        return fn(txn)


def _listed(txn: Txn, register: Register, every: bool) -> list[OutboxEntry]:
    # Not Register.pending(): that is a screen's first page; a tech needs the whole list.
    storage, queue = register.storage, register.queue
    if every:
        return outbox.entries(txn, storage, queue)
    unsent = outbox.entries(txn, storage, queue, index="unsent")
    return sorted(unsent + outbox.entries(txn, storage, queue, index="rejected"),
                  key=lambda e: e.seq)  # fmt: skip


def _money(register: Register, entry: OutboxEntry) -> str:
    minor = entry.summary.get("total")
    return Money(minor, register.currency).format() if isinstance(minor, int) else ""


def _outbox_list(args: argparse.Namespace) -> int:
    with _reading(args) as register:
        found = _snapshot(register, lambda txn: _listed(txn, register, args.all))
    if not found:
        print("the outbox is empty" if args.all else "nothing unsent or rejected")
        return 0
    rows = [("SEQ", "ID", "TIME", "KIND", "STATE", f"TOTAL {register.currency}", "TRIES",
             "REASON")]  # fmt: skip
    rows += [(str(e.seq), e.id, e.at.replace("T", " "), e.kind, e.state.value,
              _money(register, e), str(e.attempts), e.reason) for e in found]  # fmt: skip
    _table(rows)
    return 0


def _entry(txn: Txn, register: Register, ident: str) -> tuple[OutboxEntry, bytes]:
    storage, queue = register.storage, register.queue
    if ident.isdigit() and int(ident) < 2**63:  # a sequence number
        entry = outbox.get(txn, storage, queue.key(int(ident)))
    else:
        entry = outbox.find(txn, storage, queue, ident)
    if entry is None:
        raise CommandError(f"no outbox entry {ident!r} in store {queue.store}, register "
                           f"{queue.register} (see: appliance outbox list --all)")  # fmt: skip
    return entry, outbox.payload(txn, storage, entry.key)


def _outbox_show(args: argparse.Namespace) -> int:
    with _reading(args) as register:
        entry, raw = _snapshot(register, lambda txn: _entry(txn, register, args.id))
    config = register.config
    print(f"entry {entry.id}")
    for key, value in entry.to_record().items():
        print(f"  {key:<9} {json.dumps(value) if isinstance(value, dict) else value}".rstrip())
    print("payload:")
    try:
        print(json.dumps(json.loads(raw), indent=2, ensure_ascii=False))
    except ValueError:
        print(repr(raw))  # a damaged payload: its bytes as they are
    if entry.kind != "sale":
        return 0
    try:
        body = decode_envelope(raw).body
        sale = codec.from_data(Sale, body, str(body.get("currency")))
    except (ValueError, DomainError) as exc:  # WireError, EncodingError
        print(f"error: no receipt: entry {entry.id} holds no readable sale: {exc}", file=sys.stderr)
        return 1
    print("receipt:")
    receipt = build_receipt(sale, config.receipt.header, config.receipt.footer)
    sys.stdout.write(render_text(receipt, config.receipt.width))
    return 0


def _outbox_export(args: argparse.Namespace) -> int:
    config = _register_config(args)
    with open_storage(config, readonly=True) as storage:
        at = datetime.now(ZoneInfo(config.register.timezone)).isoformat(timespec="seconds")
        queue = outbox.Queue(config.register.store, config.register.id)
        result = export_unconfirmed(storage, queue, args.file, at)
    detail = ", ".join(
        f"{n} {state.replace('_', ' ')}" for state, n in sorted(result.states.items())
    )
    print(f"exported {result.count} unconfirmed entries ({detail or 'none'}) to {args.file}")
    if result.unreadable:
        print(f"error: {result.unreadable} of them have an unreadable payload (exported as "
              "null, with the problem in their reason)", file=sys.stderr)  # fmt: skip
        return 1
    return 0


def _dangling(data: StoreData) -> list[str]:
    """Tiers and limit classes products name but the file does not define."""
    products = data.catalog.products.values()
    tiers = {p.price_tier for p in products if p.price_tier} - set(data.catalog.tiers)
    limits = {p.limit_class for p in products if p.limit_class} - set(data.limits)
    notes = []
    if tiers:
        notes.append(f"price tiers not defined in the file: {', '.join(sorted(tiers))}; "
                     "their presets sell at the product's price per unit")  # fmt: skip
    if limits:
        notes.append(f"limit classes not defined in the file: {', '.join(sorted(limits))}; "
                     "no purchase limit applies to their products")  # fmt: skip
    return notes


def _catalog_import(args: argparse.Namespace) -> int:
    config, path = _register_config(args), args.file
    started = time.monotonic()
    data = load_store_file(path, config)  # a bad file is named before the lock is taken
    with open_storage(config) as storage:  # StorageBusy while the register runs
        write_catalog(storage, config, data, path, started)
    took = time.monotonic() - started
    catalog = data.catalog
    print(f"imported {len(catalog.products)} products from {path} in {took:.3f} s")
    if path.suffix.lower() == ".csv":
        print(f"replaced the products and categories in {config.register.data_dir}; "
              "price tiers, promotions, limit classes and loyalty were kept")  # fmt: skip
    else:
        print(f"replaced the catalogue in {config.register.data_dir}: categories "
              f"{len(catalog.categories)}, price tiers {len(catalog.tiers)}, promotions "
              f"{len(data.promotions)}, limit classes {len(data.limits)}, loyalty program "
              f"{'yes' if data.loyalty else 'none'}")  # fmt: skip
        for note in _dangling(data):
            print(f"warning: {note}", file=sys.stderr)
    return 0


def _run(args: argparse.Namespace) -> int:
    """The register with its touchscreen, until the window closes."""
    from appliance.kiosk import open_kiosk
    from appliance.ui.launch import PI_DISPLAY, PI_DISPLAY_2, configure, kivy_post, run_app

    config = _register_config(args)
    sizes = {"800x480": PI_DISPLAY, "1280x800": PI_DISPLAY_2}
    size = sizes[args.window] if args.window else None
    # force: python-escpos configured the root logger when it was imported
    logging.basicConfig(level=logging.INFO, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")  # fmt: skip
    configure(size, fullscreen=size is None)  # before anything opens the window
    kiosk = open_kiosk(config, kivy_post(), connect=not args.offline)
    try:
        run_app(kiosk.session, size, fullscreen=size is None)
    except KeyboardInterrupt:
        pass
    finally:
        kiosk.close()
    return 0


def _firstboot(args: argparse.Namespace) -> int:
    from appliance import firstboot

    return firstboot.main(args.boot, args.root, args.live)


def _upgrade_check(args: argparse.Namespace) -> int:
    from appliance.upgrade import check

    verdict = check(_register_config(args), args.exported, stopped=args.stopped)
    print(verdict.message, file=sys.stdout if verdict.ok else sys.stderr)
    return 0 if verdict.ok else 1


def _upgrade_migrate(args: argparse.Namespace) -> int:
    from appliance.upgrade import installed_version, migrate_once

    print(migrate_once(_register_config(args), args.version or installed_version()))
    return 0


def _add_image_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """What the SD image runs: first boot and the upgrade guard (see docs/operations.md)."""
    first = sub.add_parser("firstboot", help="set the register up from register.toml on the "
                           "boot partition (run by register-firstboot.service)")  # fmt: skip
    first.add_argument("--boot", type=Path, default=Path("/boot/firmware"),
                       help="the boot partition holding register.toml")  # fmt: skip
    first.add_argument("--root", type=Path, default=Path("/"), help="the system to set up")
    first.add_argument("--live", action="store_true",
                       help="also set the running hostname and start the kiosk now")  # fmt: skip
    first.set_defaults(func=_firstboot)
    upgrade = sub.add_parser("upgrade", help="the guard and the migration of an upgrade")
    upgrade_sub = upgrade.add_subparsers(dest="upgrade_command", required=True)
    check = upgrade_sub.add_parser("check", parents=[common], help="exit 0 if the software may "
                                   "be replaced: the outbox is flushed or exported")  # fmt: skip
    check.add_argument("--exported", type=Path, help="an `outbox export` file of this register")
    check.add_argument("--stopped", action="store_true", help="also take the writer lock "
                       "(refused while the register runs)")  # fmt: skip
    check.set_defaults(func=_upgrade_check)
    migrate = upgrade_sub.add_parser("migrate", parents=[common], help="run this version's "
                                     "schema migration once (the register stopped)")  # fmt: skip
    migrate.add_argument("--version", help="the version to record (default: this one)")
    migrate.set_defaults(func=_upgrade_migrate)


def _add_register_commands(sub: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help=f"the register's config (default: "
                        f"${CONFIG_ENV}, else {DEFAULT_CONFIG})")  # fmt: skip
    run = sub.add_parser("run", parents=[common], help="the register with its touchscreen")
    run.add_argument("--window", choices=("800x480", "1280x800"),
                     help="a window of this size instead of the full screen")  # fmt: skip
    run.add_argument("--offline", action="store_true", help="do not connect to the broker")
    run.set_defaults(func=_run)
    status = sub.add_parser("status", parents=[common], help="store, register, counts, syncs")
    status.set_defaults(func=_status)

    box = sub.add_parser("outbox", help="what the register has still to deliver")
    box_sub = box.add_subparsers(dest="outbox_command", required=True)
    listing = box_sub.add_parser("list", parents=[common], help="unsent and rejected entries")
    listing.add_argument("--all", action="store_true", help="every entry, confirmed too")
    listing.set_defaults(func=_outbox_list)
    show = box_sub.add_parser("show", parents=[common], help="one entry, payload and receipt")
    show.add_argument("id", help="the entry's id, or its sequence number")
    show.set_defaults(func=_outbox_show)
    export = box_sub.add_parser(
        "export", parents=[common], help="write every unconfirmed entry to a JSON Lines file"
    )
    export.add_argument("file", type=Path)
    export.set_defaults(func=_outbox_export)

    catalog = sub.add_parser("catalog", help="the register's cached catalogue")
    catalog_sub = catalog.add_subparsers(dest="catalog_command", required=True)
    load = catalog_sub.add_parser("import", parents=[common],
                                  help="replace the catalogue from a TOML, JSON or CSV file "
                                  "(the register must be stopped)")  # fmt: skip
    load.add_argument("file", type=Path)
    load.set_defaults(func=_catalog_import)
    add_hw_commands(sub, common)
    _add_image_commands(sub, common)
    add_label_commands(sub, common)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and for `--help`)."""
    parser = argparse.ArgumentParser(
        prog="appliance", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo-sale", help="ring up a demo sale and print its receipt")
    demo.add_argument("--config", type=Path, default=DEMO / "register.toml")
    demo.add_argument("--catalog", type=Path, default=DEMO / "catalog.toml")
    demo.add_argument("--save", type=Path, help="also write the sale's canonical JSON here")
    demo.set_defaults(func=_demo_sale)

    config = sub.add_parser("config", help="check a register.toml or list every setting")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    check = config_sub.add_parser("check", help="validate a register.toml")
    check.add_argument("file", type=Path)
    check.set_defaults(func=_config_check)
    docs = config_sub.add_parser("docs", help="every setting with its type, default and meaning")
    docs.set_defaults(func=_config_docs)
    _add_register_commands(sub)
    add_sim_commands(sub)
    return parser


def run_command(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    """Parse, run the chosen command, and turn a known failure into one line and exit 2."""
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except (ConfigError, CatalogFileError, CommandError, DomainError, StorageError, OSError,
            *HW_ERRORS, *LABEL_ERRORS) as exc:  # fmt: skip
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `appliance` console script."""
    return run_command(build_parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
