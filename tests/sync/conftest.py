"""Real services for the sync tests (a Mosquitto per test)."""

from tests.devstack.conftest import mosquitto, mosquitto_factory, proxy_factory  # noqa: F401
