"""The one composition root: config and files in, the register's parts out.

Nothing is built at import time; each function builds what it is asked for
from a loaded Config. Later issues add the store, the sync link and the
hardware here; tests build the same parts with fakes where no real one runs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from appliance.catalog_file import StoreData
from appliance.config import Config
from appliance.domain.ids import uuid7
from appliance.register import Register
from appliance.settings import load_store_file
from appliance.store.cache import replace_catalog
from appliance.store.executor import StorageThread
from appliance.store.lmdb_env import Storage
from appliance.sync.link import SyncLink


def new_sale_id() -> str:
    """A fresh UUIDv7 from the wall clock and the OS's entropy (the shell's job)."""
    return str(uuid7(time.time_ns() // 1_000_000, os.urandom(10)))


def open_storage(config: Config, readonly: bool = False) -> Storage:
    """The register's LMDB environment as configured."""
    storage = config.storage
    return Storage(
        config.register.data_dir,
        readonly=readonly,
        map_size=storage.map_size_mb << 20,
        map_max=storage.map_max_mb << 20,
    )


def local_now(config: Config) -> Callable[[], datetime]:
    """The register's local wall clock (naive, in the configured time zone)."""
    zone = ZoneInfo(config.register.timezone)
    return lambda: datetime.now(zone).replace(tzinfo=None)


def open_register(config: Config, storage: Storage | None = None) -> Register:
    """The register's services over its storage, with the real clock and ids."""
    storage = storage or open_storage(config)
    io = StorageThread(config.storage.op_timeout_s)
    register = Register(config, storage, io, local_now(config), new_sale_id)
    if not storage.readonly:  # the writer drops old confirmed history at start
        register.prune_history()
    return register


def import_catalog(storage: Storage, config: Config, path: Path) -> StoreData:
    """Load a catalogue file into the cache (see `write_catalog`); returns what was loaded."""
    started = time.monotonic()
    data = load_store_file(path, config)
    write_catalog(storage, config, data, path, started)
    return data


def write_catalog(
    storage: Storage, config: Config, data: StoreData, path: Path, started: float
) -> None:
    """Write a loaded catalogue file into the cache.

    A TOML or JSON catalogue replaces everything (products, tiers, promotions,
    limits, loyalty). A CSV can only describe products, so it replaces the
    products and categories and keeps the cached campaigns: a spreadsheet import
    never silently drops a purchase limit.
    """
    now = local_now(config)()
    products_only = path.suffix.lower() == ".csv"

    def run(txn: Any) -> None:
        replace_catalog(txn, storage, data, now=now, duration_s=time.monotonic() - started,
                        version=f"file:{path.name}", products_only=products_only)  # fmt: skip

    storage.write(run)


def start_sync(register: Register) -> SyncLink:
    """Connect the register to the back office: its outbox drains by itself from now on."""
    link = SyncLink(
        register.config,
        register,
        apply_changes=register.apply_catalog_changes,
        apply_refresh=register.apply_refresh,
        known_version=register.catalog_version(),
    )
    register.on_commit = link.notify_committed
    register.online = lambda: link.status().state != "offline"
    register.ask = link.request
    link.start()
    return link
