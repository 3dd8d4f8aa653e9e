"""Fixtures shared by the security tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho_client
import pytest


class _LoggingClient(paho_client.Client):
    """Every paho client of the test logs its packets (paho logs nothing unless asked)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.enable_logger(logging.getLogger("paho"))


@pytest.fixture
def debug_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Everything logged in this process at DEBUG, paho's packet log too, into a file."""
    path = tmp_path / "python-debug.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s "
                                           "%(name)s: %(message)s"))  # fmt: skip
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    monkeypatch.setattr(paho_client, "Client", _LoggingClient)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(level)
