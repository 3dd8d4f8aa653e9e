"""`appliance ...`: the command line for installers, field techs and the demo."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from appliance.bootstrap import new_sale_id
from appliance.catalog_file import CatalogFileError
from appliance.config import ConfigError, describe_schema, load_config
from appliance.domain.cart import Cart, Discount, WeightSource
from appliance.domain.chain import GENESIS_HASH
from appliance.domain.errors import DomainError
from appliance.domain.money import Money
from appliance.domain.pricing import price_cart
from appliance.domain.receipt import build_receipt, render_text
from appliance.domain.sale import SaleHeader, complete, encode
from appliance.domain.tender import Tender
from appliance.settings import load_store_file, store_rules

DEMO = Path(__file__).resolve().parent.parent / "config" / "demo"


def _demo_sale(args: argparse.Namespace) -> int:
    """Ring up a demo cart (weights, tea presets, a promotion, split tax) and print it."""
    config = load_config(args.config)
    rules = store_rules(config, load_store_file(args.catalog, config))
    now = datetime.now(ZoneInfo(config.register.timezone)).replace(tzinfo=None, microsecond=0)
    product = rules.catalog.product
    cart = (
        Cart()
        .add_weighed(product("sencha"), Decimal(100), WeightSource.PRESET)
        .add_weighed(product("sencha"), Decimal(50), WeightSource.PRESET)
        .add_weighed(product("cheddar"), Decimal("0.412"), WeightSource.SCALE)
        .add_weighed(product("bananas"), Decimal("1.135"), WeightSource.SCALE)
        .add_item(rules.catalog.by_barcode("0067000000019"), Decimal(4))  # cola, scanned
        .add_item(product("sourdough"))
        .add_item(product("croissant"), Decimal(2))
        .add_item(product("pod-mint"))
    )
    cart = cart.set_line_discount(len(cart.lines), Discount.percent(10, "Loyal customer"))
    due = price_cart(cart, rules, now).total
    card = Money(due.minor // 2, due.currency)
    cash = Money(((due.minor - card.minor) // 1000 + 1) * 1000, due.currency)
    header = SaleHeader(new_sale_id(), config.register.store, config.register.id, 1,
                        GENESIS_HASH, "demo", now, offline=True)  # fmt: skip
    sale = complete(
        cart, rules, [Tender.card(card, "visa", "DEMO-0001"), Tender.cash(cash)], header
    )
    receipt = build_receipt(sale, config.receipt.header, config.receipt.footer)
    sys.stdout.write(render_text(receipt, config.receipt.width))
    if args.save is not None:
        args.save.write_bytes(encode(sale))
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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and for `--help`)."""
    parser = argparse.ArgumentParser(prog="appliance", description=__doc__)
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
    return parser


def run_command(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    """Parse, run the chosen command, and turn a known failure into one line and exit 2."""
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except (ConfigError, CatalogFileError, DomainError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `appliance` console script."""
    return run_command(build_parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
