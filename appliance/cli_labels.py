"""`appliance labels ...`: the label templates the register prints from.

    appliance labels import PATH...     replace the cached templates (the register stopped)
    appliance labels list               the cached templates
    appliance labels print TEMPLATE SKU [--weight W] [--copies N]
                                        fill one and print it on the label printer (or
                                        --text: show what it would print)

Import checks every file before anything is written and names the file and key
of the first thing wrong (exit 2); nothing is replaced then.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from appliance.bootstrap import local_now, open_register, open_storage
from appliance.cli_hw import device_arguments, open_device, wanted_device
from appliance.config import config_path, load_config
from appliance.labels import import_templates
from appliance.register import Register, RegisterError
from hw.labels import LabelTemplateError
from hw.ports import DeviceError, DeviceKind


@contextmanager
def _register(args: argparse.Namespace, *, readonly: bool) -> Iterator[Register]:
    config = load_config(config_path(args.config))
    with open_storage(config, readonly=readonly) as storage:
        register = open_register(config, storage)
        try:
            yield register
        finally:
            register.io.close()


def _import(args: argparse.Namespace) -> int:
    config = load_config(config_path(args.config))
    version = "file:" + ",".join(p.name for p in args.paths)
    with open_storage(config) as storage:  # StorageBusy while the register runs
        names = import_templates(storage, args.paths, now=local_now(config)(), version=version)
    print(f"imported {len(names)} label template(s): {', '.join(names)}")
    return 0


def _list(args: argparse.Namespace) -> int:
    with _register(args, readonly=True) as register:
        choices = register.label_choices()
    if not choices:
        print("no label templates: `appliance labels import config/labels`")
        return 1
    for choice in choices:
        print(f"{choice.id:<16} {'weighed item (prints a weight)' if choice.weighed else 'shelf'}")
    return 0


def _weight(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        weight = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"--weight: not a number: {text!r}") from None
    return weight


def _print(args: argparse.Namespace) -> int:
    with _register(args, readonly=True) as register:
        label = register.label(args.template, args.sku, _weight(args.weight))
    if args.text:
        print("\n".join(label.lines()))
        return 0
    wanted = wanted_device(args, DeviceKind.LABEL_PRINTER)
    printer = open_device(wanted)
    try:
        printer.print_label(label, copies=args.copies)
    except DeviceError as exc:
        print(f"FAIL: {wanted.profile.title} on {wanted.section.url}: {exc}")
        return 1
    finally:
        printer.close()
    print(f"OK: {args.copies} {label.name} label(s) for {args.sku} on {wanted.profile.title}")
    return 0


def add_label_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """`appliance labels ...` (see the module docstring)."""
    labels = sub.add_parser("labels", help="label templates, and printing a label")
    labels_sub = labels.add_subparsers(dest="labels_command", required=True)
    load = labels_sub.add_parser("import", parents=[common],
                                 help="replace the cached label templates from TOML files or "
                                 "directories (the register must be stopped)")  # fmt: skip
    load.add_argument("paths", type=Path, nargs="+")
    load.set_defaults(func=_import)
    labels_sub.add_parser("list", parents=[common], help="the cached templates").set_defaults(
        func=_list
    )
    show = labels_sub.add_parser("print", parents=[device_arguments(common)],
                                 help="fill a template for a product and print it")  # fmt: skip
    show.add_argument("template")
    show.add_argument("sku")
    show.add_argument("--weight", help="for a weighed-item label: the weight in the product's unit")
    show.add_argument("--copies", type=int, default=1)
    show.add_argument("--text", action="store_true", help="show the label's text, print nothing")
    show.set_defaults(func=_print)


LABEL_ERRORS = (LabelTemplateError, RegisterError, argparse.ArgumentTypeError)
"""What `appliance labels` reports as a usage or template error (exit 2)."""
