"""Label templates into the register's cache.

Templates are TOML files in the form `hw.labels.parse` reads (config/labels/ ships a
shelf label and a weighed-item label). `read_template_files` checks every file
strictly before anything is written, naming the file and key of the first thing
wrong; `import_templates` then replaces the cached set in one write, so the labels
screen never sees half a set. The screen fills a cached template with
`Register.label` (`appliance.register_labels`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from appliance.store import cache
from appliance.store.lmdb_env import Storage
from hw.labels import LabelTemplateError, parse_template, read_template_file

SHIPPED = Path(__file__).resolve().parent.parent / "config" / "labels"
"""The templates that come with the register (the demo loads them)."""


def template_files(paths: Iterable[Path]) -> list[Path]:
    """The .toml files named, a directory standing for the .toml files in it."""
    found: list[Path] = []
    for path in paths:
        found += sorted(path.glob("*.toml")) if path.is_dir() else [path]
    return found


def read_template_files(paths: Iterable[Path]) -> dict[str, dict[str, Any]]:
    """Each file's template as the cache keeps it (by the template's name), after parsing
    it strictly; `LabelTemplateError` names the file and key of what is wrong."""
    templates: dict[str, dict[str, Any]] = {}
    sources: dict[str, Path] = {}
    for path in template_files(paths):
        data = read_template_file(path)
        name = parse_template(data, str(path)).name
        if name in templates:
            raise LabelTemplateError(str(path), "name", f"{name!r} is also {sources[name]}")
        templates[name], sources[name] = data, path
    if not templates:
        raise LabelTemplateError(", ".join(map(str, paths)), "", "no label templates found")
    return templates


def import_templates(
    storage: Storage, paths: Iterable[Path], *, now: datetime, version: str
) -> list[str]:
    """Replace the cached templates with those in `paths`; their names."""
    templates = read_template_files(paths)
    storage.write(lambda txn: cache.replace_label_templates(txn, storage, templates,
                                                            now=now, version=version))  # fmt: skip
    return sorted(templates)
