"""Fixtures for real local services: a Mosquitto per test, one Postgres per session, proxies.

To use them from another test package, import them into that package's conftest.py
(``from tests.devstack.conftest import mosquitto, postgres, proxy_factory``).
"""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack import Mosquitto, Postgres, TcpProxy

MosquittoFactory = Callable[..., Mosquitto]
ProxyFactory = Callable[[str, int], TcpProxy]


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A running broker on a free port, anonymous, no persistence; its files in tmp_path."""
    with Mosquitto(tmp_path / "mosquitto") as broker:
        yield broker


@pytest.fixture
def mosquitto_factory(tmp_path: Path) -> Iterator[MosquittoFactory]:
    """Start brokers with any `Mosquitto` options; all are stopped at teardown."""
    brokers: list[Mosquitto] = []

    def start(**options: Any) -> Mosquitto:
        broker = Mosquitto(tmp_path / f"mosquitto-{len(brokers)}", **options)
        brokers.append(broker)
        return broker.start()

    yield start
    for broker in brokers:
        broker.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One throwaway cluster for the whole session (a start costs ~0.6 s), fsync off."""
    with Postgres() as server:
        yield server


@pytest.fixture
def proxy_factory() -> Iterator[ProxyFactory]:
    """Start `TcpProxy(host, port)` forwarders; all are closed at teardown."""
    proxies: list[TcpProxy] = []

    def start(host: str, port: int) -> TcpProxy:
        proxy = TcpProxy(host, port)
        proxies.append(proxy)
        return proxy

    yield start
    for proxy in proxies:
        proxy.close()
