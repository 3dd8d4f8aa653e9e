"""The link logs in as its register: a password from a file, or TLS with a client certificate.

A throwaway CA is made by the test with the openssl command line; the broker is a real
Mosquitto requiring the password or the client certificate.
"""

from __future__ import annotations

import contextlib
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.domain.money import Money
from appliance.domain.tender import Tender
from appliance.register import Register
from appliance.sync.link import SyncLink
from devstack import Mosquitto
from devstack.mqtt import MqttProbe
from tests.pki import issue, make_ca
from tests.store.conftest import CASHIER_PIN, FakeClock, make_register, seed, write_config
from tests.sync.helpers import Acker, wait_for

SYNC = "[sync]\nack_timeout_s = 1.0\nreconnect_min_s = 0.1\nreconnect_max_s = 0.5\n"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for 127.0.0.1 and a client certificate for till r1."""
    d = tmp_path_factory.mktemp("pki")
    make_ca(d)
    for name, subject, ext in (("server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1"),
                               ("client", "/CN=s1-r1", "extendedKeyUsage=clientAuth")):  # fmt: skip
        issue(d, name, subject, ext)
    return d


def till(tmp_path: Path, broker_url: str, broker_keys: str) -> Register:
    config = write_config(tmp_path, extra=SYNC, broker=broker_url, broker_keys=broker_keys)
    register = make_register(config, FakeClock())
    seed(register.storage, config)
    register.login("ann", CASHIER_PIN)
    register.open_till(Money(100_00, "CAD"))
    return register


@contextlib.contextmanager
def linked(register: Register, acker: Acker | None = None) -> Iterator[SyncLink]:
    """The register's link running for the block; everything closed after."""
    link = SyncLink(register.config, register)
    register.on_commit = link.notify_committed
    link.start()
    try:
        yield link
    finally:
        link.stop()
        if acker is not None:
            acker.close()
        register.io.close()
        register.storage.close()


def drains_through(register: Register, acker: Acker) -> None:
    """A sale made now reaches the acker and is confirmed."""
    with linked(register, acker) as link:
        sale = sell(register)
        assert wait_for(lambda: register.status().unsent == 0), link.status()
        assert sale in acker.seen


def sell(register: Register) -> str:
    register.add_sku("cola")
    register.add_tender(Tender.cash(Money(5_00, "CAD")))
    return register.complete().sale.id


@pytest.fixture
def password_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    passwords = tmp_path / "passwd"
    passwords.write_text("")
    for user, secret in (("s1-r1", "till-secret"), ("acker", "acker-secret")):
        subprocess.run(["mosquitto_passwd", "-b", str(passwords), user, secret], check=True,
                       capture_output=True, timeout=30)  # fmt: skip
    with Mosquitto(tmp_path / "mq", allow_anonymous=False, password_file=passwords) as broker:
        yield broker


def test_a_register_logs_in_with_the_password_in_its_file(
    tmp_path: Path, password_broker: Mosquitto
) -> None:
    secret = tmp_path / "till.pass"
    secret.write_text("till-secret\n")
    secret.chmod(0o600)
    register = till(tmp_path, password_broker.url,
                    f'username = "s1-r1"\npassword_file = "{secret}"\n')  # fmt: skip
    acker = Acker(
        password_broker, setup=lambda p: p.client.username_pw_set("acker", "acker-secret")
    )
    drains_through(register, acker)


def test_a_wrong_password_keeps_the_register_selling_offline(
    tmp_path: Path, password_broker: Mosquitto
) -> None:
    secret = tmp_path / "till.pass"
    secret.write_text("not-it\n")
    register = till(tmp_path, password_broker.url,
                    f'username = "s1-r1"\npassword_file = "{secret}"\n')  # fmt: skip
    with linked(register) as link:
        sell(register)
        assert wait_for(lambda: "not authorised" in password_broker.log_text().lower()
                        or "not authorized" in password_broker.log_text().lower(), 5)  # fmt: skip
        assert link.status().state == "offline" and register.status().unsent == 1


def test_tls_with_a_client_certificate(tmp_path: Path, pki: Path) -> None:
    broker = Mosquitto(tmp_path / "mq", cafile=pki / "ca.crt", certfile=pki / "server.crt",
                       keyfile=pki / "server.key", require_certificate=True,
                       extra={"use_identity_as_username": True})  # fmt: skip
    with broker:
        assert broker.url.startswith("mqtts://")
        keys = "".join(
            f'{key} = "{pki / name}"\n'
            for key, name in (("ca_file", "ca.crt"), ("cert_file", "client.crt"),
                              ("key_file", "client.key"))
        )  # fmt: skip
        register = till(tmp_path, broker.url, keys)

        def tls(probe: MqttProbe) -> None:
            probe.client.tls_set(ca_certs=str(pki / "ca.crt"), certfile=str(pki / "client.crt"),
                                 keyfile=str(pki / "client.key"),
                                 tls_version=ssl.PROTOCOL_TLS_CLIENT)  # fmt: skip

        drains_through(register, Acker(broker, setup=tls))
