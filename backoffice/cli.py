"""`backoffice ...`: the back office's command line."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from appliance.cli import run_command
from appliance.config import load_config
from appliance.domain.sale import decode, rederive
from appliance.settings import load_store_file, store_rules

DEMO = Path(__file__).resolve().parent.parent / "config" / "demo"


def _rederive(args: argparse.Namespace) -> int:
    """Re-derive a sale with the store's rules; exit 1 when it drifted."""
    config = load_config(args.config)
    rules = store_rules(config, load_store_file(args.catalog, config))
    sale = decode(args.sale.read_bytes())
    drift = rederive(sale, rules)
    print(f"sale {sale.id} ({sale.register}-{sale.sequence}), total {sale.total}")
    if drift.clean:
        print("no drift: the rules give the same amounts")
        return 0
    for item in drift.items:
        print(f"  {item.field}: register {item.recorded or '-'}, rules {item.derived or '-'}")
    print(f"drift on the total: {drift.total if drift.total is not None else 'unknown'}")
    return 1


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    parser = argparse.ArgumentParser(prog="backoffice", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    rederive_cmd = sub.add_parser("rederive", help="re-derive a sale file and report drift")
    rederive_cmd.add_argument("sale", type=Path, help="a sale in canonical JSON")
    rederive_cmd.add_argument("--config", type=Path, default=DEMO / "register.toml")
    rederive_cmd.add_argument("--catalog", type=Path, default=DEMO / "catalog.toml")
    rederive_cmd.set_defaults(func=_rederive)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `backoffice` console script."""
    return run_command(build_parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
