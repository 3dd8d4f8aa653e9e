"""Each register is itself on the broker: a real Mosquitto with the files `register-add` wrote.

The password file and ACL come from `backoffice register-add` / `broker-user` (the CLI's
`main`); every client here is a real paho MQTT 5 client logged in as one of those users,
and every verdict is the broker's own answer: the CONNACK, PUBACK and SUBACK reason codes,
and what is or is not delivered to a client holding the back office's rights.

What Mosquitto 2.0 does, as these tests observe it: a publish outside the user's ACL is
answered PUBACK 0x87 (Not authorized) and dropped; a bad login is CONNACK 0x87; a
subscription outside the ACL is granted (its acl_file checks `read` when it delivers, not
when a client subscribes) and nothing is ever delivered through it.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from appliance.config import Config
from appliance.domain.money import Money
from appliance.domain.tender import Tender
from appliance.register import Register
from appliance.sync import wire
from appliance.sync.link import SyncLink
from backoffice import provision
from backoffice.cli import _broker_url, main
from backoffice.db import Database
from backoffice.service import BackOffice
from devstack import Mosquitto, free_port, wait_for_port
from tests.backoffice.conftest import Till
from tests.faults.shop import stock, wait_for
from tests.pki import issue, make_ca
from tests.store.conftest import CASHIER_PIN, FakeClock, make_register, seed, write_config

NOT_AUTHORIZED = 0x87
ACCEPTED = (0x00, 0x10)  # Success; No matching subscribers (accepted, nobody listening)
BAD_LOGIN = (0x86, 0x87)  # Bad user name or password; Not authorized (what Mosquitto 2.0 says)
GRANTED_QOS1 = 1
REGISTERS = (("s1", "r1"), ("s1", "r2"), ("s2", "r1"))
SYNC = "[sync]\nack_timeout_s = 1.0\nreconnect_min_s = 0.1\nreconnect_max_s = 0.5\n"


@dataclass(frozen=True, slots=True)
class Logins:
    """The broker's files and each user's credential file, as the CLI wrote them."""

    passwd: Path
    acl: Path
    root: Path

    def boot(self, store: str, register: str) -> Path:
        """The directory standing for that register's boot partition."""
        return self.root / f"boot-{store}-{register}"

    def password(self, user: str) -> str:
        if user == provision.BACKOFFICE_USER:
            return (self.root / f"{user}-{provision.PASSWORD_FILE}").read_text().strip()
        store, register = user.split(".")
        return (self.boot(store, register) / provision.PASSWORD_FILE).read_text().strip()

    def cli(self, *args: str) -> None:
        assert main([*args, "--passwd", str(self.passwd), "--acl", str(self.acl)]) == 0

    def add(self, store: str, register: str, *extra: str) -> None:
        self.cli("register-add", store, register, "--out", str(self.boot(store, register)),
                 *extra)  # fmt: skip


@pytest.fixture
def logins(tmp_path: Path) -> Logins:
    made = Logins(tmp_path / "pos.passwd", tmp_path / "pos.acl", tmp_path)
    for store, register in REGISTERS:
        made.add(store, register)
    made.cli("broker-user", "--out", str(tmp_path))
    return made


@pytest.fixture
def broker(tmp_path: Path, logins: Logins) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path / "mq", password_file=logins.passwd, acl_file=logins.acl) as started:
        yield started


class Login:
    """A paho MQTT 5 client logged in as one user, keeping every reason code it is answered."""

    def __init__(
        self,
        broker: Mosquitto,
        user: str | None,
        password: str | None,
        *,
        port: int | None = None,
        setup: Callable[[mqtt.Client], None] = lambda client: None,
    ) -> None:
        self.host, self.port = broker.host, port or broker.port
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5,
                                  reconnect_on_failure=False)  # fmt: skip
        if user is not None:
            self.client.username_pw_set(user, password)
        setup(self.client)
        self.connack: ReasonCode | None = None
        self.disconnected = threading.Event()
        self.acks: dict[int, ReasonCode | list[ReasonCode]] = {}
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self._changed = threading.Condition()
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda c, u, f, rc, p: self.disconnected.set()
        self.client.on_publish = lambda c, u, mid, rc, p: self._answered(mid, rc)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self._answered(mid, rcs)
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, bytes(m.payload)))

    def _on_connect(self, client: mqtt.Client, u: object, f: object, rc: ReasonCode,
                    p: object) -> None:  # fmt: skip
        with self._changed:
            self.connack = rc
            self._changed.notify_all()

    def _answered(self, mid: int, answer: ReasonCode | list[ReasonCode]) -> None:
        with self._changed:
            self.acks[mid] = answer
            self._changed.notify_all()

    def _wait(self, mid: int) -> ReasonCode | list[ReasonCode]:
        with self._changed:
            assert self._changed.wait_for(lambda: mid in self.acks, 5), f"no answer to {mid}"
            return self.acks[mid]

    def connect(self) -> ReasonCode:
        """The broker's CONNACK reason code."""
        self.client.connect(self.host, self.port)
        self.client.loop_start()
        with self._changed:
            assert self._changed.wait_for(lambda: self.connack is not None, 5), "no CONNACK"
        assert self.connack is not None
        return self.connack

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> int:
        """QoS 1; the PUBACK's reason code (ACCEPTED, or 0x87 not authorized)."""
        answer = self._wait(self.client.publish(topic, payload, qos=1, retain=retain).mid)
        assert isinstance(answer, ReasonCode)
        return answer.value

    def subscribe(self, topic: str) -> int:
        """The SUBACK's reason code for this filter (1: granted QoS 1)."""
        result, mid = self.client.subscribe(topic, qos=1)
        assert result == mqtt.MQTT_ERR_SUCCESS and mid is not None
        answer = self._wait(mid)
        assert isinstance(answer, list)
        return answer[0].value

    def received_until(self, topic: str, timeout: float = 5.0) -> list[tuple[str, bytes]]:
        """Every message up to and including the first one on `topic` (which must come)."""
        seen = []
        while True:
            try:
                message = self.messages.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"nothing on {topic} within {timeout} s; got {seen}") from None
            seen.append(message)
            if message[0] == topic:
                return seen

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@contextlib.contextmanager
def logged_in(broker: Mosquitto, logins: Logins, user: str, **options: object) -> Iterator[Login]:
    login = Login(broker, user, logins.password(user), **options)  # type: ignore[arg-type]
    code = login.connect()
    assert not code.is_failure, f"{user} could not log in: {code}"
    try:
        yield login
    finally:
        login.close()


@contextlib.contextmanager
def back_office(db_url: str, broker_url: str, logins: Logins) -> Iterator[BackOffice]:
    """The real back office, logged in as its provisioned user (the password from its file)."""
    user_url = broker_url.replace("://", f"://{provision.BACKOFFICE_USER}@")
    password_file = logins.root / f"{provision.BACKOFFICE_USER}-{provision.PASSWORD_FILE}"
    service = BackOffice(db_url, _broker_url(user_url, password_file), client_id="bo-acl")
    service.start()
    try:
        assert service.wait_ready(15), "the back office did not log in and subscribe"
        yield service
    finally:
        service.stop()


def test_a_register_may_publish_only_under_its_own_prefix(
    broker: Mosquitto, logins: Logins
) -> None:
    forged = [
        wire.out_topic("s1", "r2", "sale"),  # another register of its store
        wire.out_topic("s2", "r1", "sale"),  # the same register id in another store
        wire.rpc_request_topic("s1", "r2"),
        wire.status_topic("s1", "r2"),
        wire.ack_topic("s1", "r2"),  # acks are the back office's to write
        wire.ack_topic("s1", "r1"),  # ... even its own
        wire.rpc_response_topic("s1", "r2"),
        wire.beacon_topic("s1"),
        "pos/v1/s1/r1/elsewhere",
    ]
    own = [wire.rpc_request_topic("s1", "r1"), wire.out_topic("s1", "r1", "sale")]
    with (
        logged_in(broker, logins, provision.BACKOFFICE_USER) as office,
        logged_in(broker, logins, "s1.r2") as r2,
        logged_in(broker, logins, "s1.r1") as r1,
    ):
        assert office.subscribe("pos/v1/#") == GRANTED_QOS1
        for topic in (wire.ack_topic("s1", "r2"), wire.rpc_response_topic("s1", "r2"),
                      wire.beacon_topic("s1")):  # fmt: skip
            assert r2.subscribe(topic) == GRANTED_QOS1
        refused = {topic: r1.publish(topic, b"forged by s1.r1") for topic in forged}
        assert refused == dict.fromkeys(forged, NOT_AUTHORIZED)
        assert all(r1.publish(topic, b"its own") in ACCEPTED for topic in own)
        # The back office's rights see r1's own messages, and nothing forged came first.
        seen = office.received_until(own[-1])
        assert [topic for topic, _ in seen] == own and all(p == b"its own" for _, p in seen)
        # r2 hears the back office's ack, and nothing r1 tried to write before it.
        assert office.publish(wire.ack_topic("s1", "r2"), b"the office") in ACCEPTED
        assert r2.received_until(wire.ack_topic("s1", "r2")) == [
            (wire.ack_topic("s1", "r2"), b"the office")
        ]
    assert "Denied PUBLISH from" in broker.log_text()


def test_a_register_hears_only_its_own_acks_answers_and_beacon(
    broker: Mosquitto, logins: Logins
) -> None:
    others = [wire.ack_topic("s1", "r2"), wire.rpc_response_topic("s1", "r2"),
              wire.ack_topic("s2", "r1"), wire.beacon_topic("s2"),
              wire.out_topic("s1", "r2", "sale")]  # fmt: skip
    with (
        logged_in(broker, logins, provision.BACKOFFICE_USER) as office,
        logged_in(broker, logins, "s1.r1") as r1,
    ):
        filters = [*others[:4], "pos/v1/s1/+/ack", "pos/v1/#", "#"]
        granted = {topic: r1.subscribe(topic) for topic in filters}
        # Mosquitto 2.0 grants these (refusing them with 0x87 would do as well): its ACL
        # is applied to each delivery, which is what the rest of this test checks.
        assert set(granted.values()) <= {GRANTED_QOS1, NOT_AUTHORIZED}, granted
        for topic in others:
            assert office.publish(topic, b"not for r1") in (*ACCEPTED, NOT_AUTHORIZED)
        mine = [wire.rpc_response_topic("s1", "r1"), wire.beacon_topic("s1"),
                wire.ack_topic("s1", "r1")]  # fmt: skip
        for topic in mine:
            assert office.publish(topic, b"for r1") in ACCEPTED
        heard = r1.received_until(mine[-1])
        assert {topic for topic, _ in heard} <= set(mine), heard
        assert all(payload == b"for r1" for _, payload in heard)


def test_only_the_registers_own_password_logs_it_in(broker: Mosquitto, logins: Logins) -> None:
    attempts = {
        "wrong password": ("s1.r1", "not-" + logins.password("s1.r1")),
        "r2's password": ("s1.r1", logins.password("s1.r2")),
        "unknown user": ("s9.r1", logins.password("s1.r1")),
        "no password": ("s1.r1", None),
        "anonymous": (None, None),
    }
    for what, (user, password) in attempts.items():
        login = Login(broker, user, password)
        try:
            code = login.connect()
        finally:
            login.close()
        assert code.is_failure and code.value in BAD_LOGIN, f"{what}: {code}"
    with logged_in(broker, logins, "s1.r1") as r1:
        assert r1.publish(wire.out_topic("s1", "r1", "sale"), b"x") in ACCEPTED


def test_the_back_office_acks_its_own_entry_and_refuses_one_claiming_another_register(
    tmp_path: Path, broker: Mosquitto, logins: Logins
) -> None:
    db_url = f"sqlite:///{tmp_path / 'bo.db'}"
    r1_till, r2_till = Till(tmp_path / "t1", "s1", "r1"), Till(tmp_path / "t2", "s1", "r2")
    try:
        own, claims_r2 = r1_till.sell("cola"), r2_till.sell("gum")
    finally:
        r1_till.close()
        r2_till.close()
    stock(db_url, r1_till.config).close()
    with (
        back_office(db_url, broker.url, logins),
        logged_in(broker, logins, "s1.r1") as r1,
    ):
        assert r1.subscribe(wire.ack_topic("s1", "r1")) == GRANTED_QOS1
        mine = wire.out_topic("s1", "r1", "sale")
        assert r1.publish(mine, own.payload) in ACCEPTED
        (_, raw), = r1.received_until(wire.ack_topic("s1", "r1"), 10)  # fmt: skip
        ack = wire.decode_ack(raw)
        assert (ack.id, ack.status) == (own.id, "accepted")
        # The broker lets r1 write on its own topic whatever it likes; the consumer checks
        # the payload's identity against the topic on its own.
        assert r1.publish(wire.out_topic("s1", "r2", "sale"), claims_r2.payload) == NOT_AUTHORIZED
        assert r1.publish(mine, claims_r2.payload) in ACCEPTED
        (_, raw), = r1.received_until(wire.ack_topic("s1", "r1"), 10)  # fmt: skip
        refused = wire.decode_ack(raw)
    assert (refused.id, refused.status) == (claims_r2.id, "rejected")
    assert refused.reason == "identity: register: payload says 'r2' but the topic says 'r1'"
    with Database(db_url) as db, db.transaction(readonly=True) as tx:
        assert tx.all("SELECT id FROM entries") == [(own.id,)]
        assert tx.all("SELECT register, id FROM rejected") == [("r1", claims_r2.id)]


def register_with(tmp_path: Path, config_keys: str, url: str) -> Register:
    tmp_path.mkdir(parents=True, exist_ok=True)
    config: Config = write_config(tmp_path, "s1", "r1", extra=SYNC, broker=url,
                                  broker_keys=config_keys)  # fmt: skip
    register = make_register(config, FakeClock())
    seed(register.storage, config)
    register.login("ann", CASHIER_PIN)
    register.open_till(Money(100_00, "CAD"))
    return register


def sells_through(register: Register, db_url: str) -> None:
    """A sale made now is stored by the back office and confirmed at the register."""
    link = SyncLink(register.config, register)
    register.on_commit = link.notify_committed
    link.start()
    try:
        register.add_sku("cola")
        register.add_tender(Tender.cash(Money(5_00, "CAD")))
        sale = register.complete().sale.id
        assert wait_for(lambda: register.status().unsent == 0, 20), link.status()
        assert register.status().rejected == 0
    finally:
        link.stop()
        register.io.close()
        register.storage.close()
    with Database(db_url) as db, db.transaction(readonly=True) as tx:
        assert tx.all("SELECT id FROM sales") == [(sale,)]


def test_a_register_sells_with_the_login_register_add_made(
    tmp_path: Path, broker: Mosquitto, logins: Logins
) -> None:
    db_url = f"sqlite:///{tmp_path / 'bo.db'}"
    secret = logins.boot("s1", "r1") / provision.PASSWORD_FILE
    register = register_with(tmp_path / "till", f'username = "s1.r1"\npassword_file = "{secret}"\n',
                             broker.url)  # fmt: skip
    stock(db_url, register.config).close()
    with back_office(db_url, broker.url, logins):
        sells_through(register, db_url)


def _reload(broker: Mosquitto) -> None:
    """SIGHUP: Mosquitto reads its password file and ACL again."""
    before = broker.log_text().count("Reloading config")
    assert broker.pid is not None
    os.kill(broker.pid, signal.SIGHUP)
    assert wait_for(lambda: broker.log_text().count("Reloading config") > before, 5)


def test_rotating_and_revoking_take_effect_when_the_broker_reloads(
    broker: Mosquitto, logins: Logins
) -> None:
    old = logins.password("s1.r1")
    with logged_in(broker, logins, "s1.r1") as connected:
        logins.add("s1", "r1")  # rotate: a new password for r1, nobody else's changed
        new = logins.password("s1.r1")
        assert new != old
        _reload(broker)
        for password, works in ((old, False), (new, True)):
            login = Login(broker, "s1.r1", password)
            try:
                assert login.connect().is_failure is not works
            finally:
                login.close()
        logins.cli("register-remove", "s1", "r1")
        _reload(broker)
        # Mosquitto checks the connected clients again on reload: the revoked one is out.
        assert connected.disconnected.wait(5), "the revoked register stayed connected"
    login = Login(broker, "s1.r1", new)
    try:
        assert login.connect().value in BAD_LOGIN
    finally:
        login.close()
    with logged_in(broker, logins, "s1.r2") as r2:  # the other registers are untouched
        assert r2.publish(wire.out_topic("s1", "r2", "sale"), b"x") in ACCEPTED


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA (which signs the registers' certificates) and the broker's certificate."""
    d = tmp_path_factory.mktemp("pki")
    issue(make_ca(d), "server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1")
    return d


def test_a_register_logs_in_by_the_certificate_register_add_issued(
    tmp_path: Path, logins: Logins, pki: Path
) -> None:
    ca = ("--cert", "--ca-cert", str(pki / "ca.crt"), "--ca-key", str(pki / "ca.key"))
    for register in ("r1", "r2"):
        logins.add("s1", register, *ca)
    office_port = free_port()
    # The registers' TLS listener takes the certificate's CN as the user name; a second,
    # plain listener on loopback is the back office's, with its password.
    broker = Mosquitto(tmp_path / "mq-tls", password_file=logins.passwd, acl_file=logins.acl,
                       cafile=pki / "ca.crt", certfile=pki / "server.crt",
                       keyfile=pki / "server.key", require_certificate=True,
                       extra={"use_identity_as_username": True,
                              "listener": f"{office_port} 127.0.0.1"})  # fmt: skip
    boot = logins.boot("s1", "r1")
    with broker:
        assert wait_for_port(broker.host, office_port, 5)

        def as_r1(client: mqtt.Client) -> None:
            client.tls_set(ca_certs=str(boot / provision.CA_FILE),
                           certfile=str(boot / provision.CERT_FILE),
                           keyfile=str(boot / provision.KEY_FILE),
                           tls_version=ssl.PROTOCOL_TLS_CLIENT)  # fmt: skip

        r1 = Login(broker, None, None, setup=as_r1)
        try:
            assert not r1.connect().is_failure
            assert r1.publish(wire.out_topic("s1", "r2", "sale"), b"forged") == NOT_AUTHORIZED
            assert r1.publish(wire.out_topic("s1", "r1", "sale"), b"own") in ACCEPTED
        finally:
            r1.close()
        keys = "".join(f'{key} = "{boot / Path(value).name}"\n' for key, value in
                       provision.certificate_keys().items())  # fmt: skip
        db_url = f"sqlite:///{tmp_path / 'bo.db'}"
        register = register_with(tmp_path / "till", keys, broker.url)
        stock(db_url, register.config).close()
        with back_office(db_url, f"mqtt://127.0.0.1:{office_port}", logins):
            sells_through(register, db_url)
        logins.cli("register-remove", "s1", "r1")
        _reload(broker)
        # The certificate still opens a connection, but there is nothing it may do.
        revoked = Login(broker, None, None, setup=as_r1)
        try:
            assert not revoked.connect().is_failure
            assert revoked.publish(wire.out_topic("s1", "r1", "sale"), b"own") == NOT_AUTHORIZED
        finally:
            revoked.close()
