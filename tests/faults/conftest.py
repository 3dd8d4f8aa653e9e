"""Fixtures of the sync fault tests: real Mosquitto, real back office, real registers.

The broker, the PostgreSQL cluster, the proxies and the back office database come from
the devstack and back office fixtures. `report` prints each test's one-line summary
(also repeated at the end of the run, so `pytest -q` shows them without `-s`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.backoffice.conftest import db_url, pg_template  # noqa: F401  (shared fixtures)
from tests.devstack.conftest import (  # noqa: F401  (shared fixtures)
    mosquitto,
    mosquitto_factory,
    postgres,
    proxy_factory,
)
from tests.faults.shop import Shop

_SUMMARIES: list[str] = []

Report = Callable[..., str]


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Report:
    """Print `FAULTS <test>: key=value ...` once, and keep it for the end of the run."""

    def emit(**fields: object) -> str:
        text = " ".join(f"{key}={value}" for key, value in fields.items())
        line = f"FAULTS {request.node.name}: {text}"
        print(line)
        _SUMMARIES.append(line)
        return line

    return emit


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _SUMMARIES:
        terminalreporter.section("sync fault summaries")
        for line in _SUMMARIES:
            terminalreporter.write_line(line)


@pytest.fixture
def shops(tmp_path: Path) -> Iterator[list[Shop]]:
    """Registers made by the test (append them); each is stopped and closed at teardown."""
    made: list[Shop] = []
    yield made
    for shop in made:
        shop.close()
