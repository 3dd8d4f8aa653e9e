"""Real local services for tests, benchmarks and the demo: never shipped on the register image.

- :class:`~devstack.mosquitto.Mosquitto`: a throwaway MQTT broker on a free port.
- :class:`~devstack.postgres.Postgres`: a throwaway PostgreSQL cluster in a temp dir.
- :class:`~devstack.proxy.TcpProxy`: a TCP forwarder with latency, cut and blackhole faults.
- :class:`~devstack.mqtt.MqttProbe`: a paho client observable from a test, Nagle off.

Each is a context manager; nothing starts at import.
"""

from appliance.sync.ports import set_nodelay
from devstack.errors import ServiceError
from devstack.mosquitto import Mosquitto
from devstack.mqtt import MqttProbe
from devstack.ports import free_port, process_listens_on, wait_for_port, wait_until
from devstack.postgres import Postgres
from devstack.proxy import ProxyStats, TcpProxy

__all__ = [
    "Mosquitto",
    "MqttProbe",
    "Postgres",
    "ProxyStats",
    "ServiceError",
    "TcpProxy",
    "free_port",
    "process_listens_on",
    "set_nodelay",
    "wait_for_port",
    "wait_until",
]
