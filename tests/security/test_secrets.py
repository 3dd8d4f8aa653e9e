"""Secrets (passwords, keys, PINs) never appear in logs, command output or crash reports.

One run sets everything up with secrets a grep can find, uses them for real, then greps
everything that was written:

- the register: a broker password in `broker.password_file`, TLS with a client key
  (`ca_file`, `cert_file`, `key_file`) on a real Mosquitto that checks both, cashier and
  manager PINs (hashed in LMDB), wrong ones typed too;
- the back office: a PostgreSQL URL holding a password (a cluster of its own that checks
  it with scram-sha-256), an MQTT URL holding another, the dashboard's password;
- what runs: the link connecting, selling, losing the broker and coming back, then a
  register with a wrong password refused again and again, every paho client logging
  its packets, all Python logging at DEBUG; the back office serving (and its dashboard:
  a wrong and a right login over HTTP); `backoffice serve` started with a wrong database
  password; every `appliance` command that reads the config (`status`, `config check`,
  `config docs`, `outbox list/show`, `upgrade check`, `labels list`, a refused config);
  and the crash reports: the sync thread dying of a bug (its traceback, as the journal
  gets it), `appliance run` failing at start on a key that does not match its
  certificate, and first boot refusing a register.toml with a password in its URL
  (`register-error.txt`, the console's issue file, /run/register/firstboot-error).
- what is grepped: the Python log file, Mosquitto's and PostgreSQL's logs, everything
  this process and its children wrote to stdout and stderr, the first-boot files: for
  each password's text, every line of the private key's PEM body, the dashboard's
  session secret, and each PIN as a number of its own.

The back office's database module hides a password in a URL it refuses and a
`?password=` in the query (which libpq takes) too: both found by this test, both pinned.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg
import pytest
from psycopg import sql

from appliance import firstboot, pins
from appliance.bootstrap import start_sync
from appliance.cli import main as appliance_main
from appliance.config import Config
from appliance.domain.cart import Discount
from appliance.domain.money import Money
from appliance.domain.tender import Tender
from appliance.register import NeedsManager, Register, WrongPin
from appliance.store import local
from appliance.sync.link import SyncLink
from backoffice.cli import main as backoffice_main
from backoffice.db import Database, DatabaseError
from backoffice.service import BackOffice, parse_broker_url
from backoffice.web.auth import read_password_file, write_password_file
from backoffice.web.server import WebServer
from devstack import Mosquitto, Postgres
from devstack.ports import free_port
from tests.faults.shop import stock, wait_for
from tests.store.conftest import FakeClock, make_register, seed, write_config
from tests.sync.test_link_security import pki  # noqa: F401  (shared fixture)

ROOT = Path(__file__).resolve().parents[2]
BROKER_PASSWORD = "brk-Pw-7f3a91c2e8"  # the register's, in broker.password_file
WRONG_BROKER_PASSWORD = "brk-Wrong-4b6d22"
OFFICE_BROKER_PASSWORD = "bo-mqtt-Pw-5d21a9"  # in the back office's --broker URL
DB_PASSWORD = "db-Pw-c0ffee-9271"
WRONG_DB_PASSWORD = "db-Wrong-Pw-4410"
DASHBOARD_PASSWORD = "dash-Pw-horse-battery-77"
CASHIER_PIN, MANAGER_PIN, WRONG_PIN = "73920418", "58203917", "64029183"
PASSWORDS = (
    BROKER_PASSWORD,
    WRONG_BROKER_PASSWORD,
    OFFICE_BROKER_PASSWORD,
    DB_PASSWORD,
    WRONG_DB_PASSWORD,
    DASHBOARD_PASSWORD,
)
SYNC = "[sync]\nack_timeout_s = 1.0\nreconnect_min_s = 0.1\nreconnect_max_s = 0.3\n"
DB_USER, DB_NAME = "bo", "bo_secrets"


# --- the services -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def guarded_postgres() -> Iterator[Postgres]:
    """A cluster of its own that asks `bo` for its password (scram-sha-256) over TCP."""
    with Postgres() as server:
        hba = server.data_dir / "pg_hba.conf"
        with hba.open("w") as out:  # rewritten in place: the server's user keeps reading it
            out.write("local all all trust\nhost all postgres 127.0.0.1/32 trust\n"
                      "host all all 127.0.0.1/32 scram-sha-256\n")  # fmt: skip
        with psycopg.connect(server.url_for("postgres"), autocommit=True) as conn:
            conn.execute("SELECT pg_reload_conf()")
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(DB_USER), sql.Literal(DB_PASSWORD)))  # fmt: skip
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(DB_NAME), sql.Identifier(DB_USER)))  # fmt: skip
        yield server


def db_url(server: Postgres, password: str = DB_PASSWORD) -> str:
    return f"postgresql://{DB_USER}:{password}@{server.host}:{server.port}/{DB_NAME}"


@dataclass(frozen=True)
class Broker:
    """The broker, and the port of its plain listener (for the back office)."""

    server: Mosquitto
    plain_port: int

    @property
    def office_url(self) -> str:
        """The back office's broker URL, its password inside."""
        return f"mqtt://backoffice:{OFFICE_BROKER_PASSWORD}@127.0.0.1:{self.plain_port}"


@pytest.fixture
def broker(tmp_path: Path, pki: Path) -> Iterator[Broker]:  # noqa: F811
    """TLS with a client certificate and a password for registers; a plain listener with a
    password for the back office (it trusts the system's CAs only)."""
    passwords = tmp_path / "passwd"
    passwords.write_text("")
    for user, secret in (("s1-r1", BROKER_PASSWORD), ("backoffice", OFFICE_BROKER_PASSWORD)):
        subprocess.run(["mosquitto_passwd", "-b", str(passwords), user, secret], check=True,
                       capture_output=True, timeout=30)  # fmt: skip
    plain = free_port()
    server = Mosquitto(tmp_path / "mq", allow_anonymous=False, password_file=passwords,
                       cafile=pki / "ca.crt", certfile=pki / "server.crt",
                       keyfile=pki / "server.key", require_certificate=True,
                       extra={"listener": f"{plain} 127.0.0.1"})  # fmt: skip
    with server:
        yield Broker(server, plain)


def register_config(directory: Path, broker: Broker, certs: Path, password: str) -> Config:
    """A register logging in with a password (in a file) and a client certificate."""
    directory.mkdir(parents=True, exist_ok=True)
    secret = directory / "broker-password"
    secret.write_text(password + "\n")
    secret.chmod(0o600)
    files = {"ca_file": "ca.crt", "cert_file": "client.crt", "key_file": "client.key"}
    keys = f'username = "s1-r1"\npassword_file = "{secret}"\n' + "".join(
        f'{key} = "{certs / name}"\n' for key, name in files.items()
    )
    return write_config(directory, extra=SYNC, broker=broker.server.url, broker_keys=keys)


def open_register(config: Config) -> Register:
    register = make_register(config, FakeClock())
    seed(register.storage, config)

    def staff(txn: Any) -> None:
        for who, name, role, pin in (("ann", "Ann", "cashier", CASHIER_PIN),
                                     ("mo", "Mo", "manager", MANAGER_PIN)):  # fmt: skip
            hashed = pins.hash_pin(pin, cost=2**4)
            local.put_cashier(txn, register.storage, local.Cashier(who, name, role, hashed))

    register.storage.write(staff)
    return register


# --- what is grepped ----------------------------------------------------------------------


def pem_body(key: Path) -> list[str]:
    lines = key.read_text().splitlines()
    return [line for line in lines if line and not line.startswith("-----")]


def leaks(texts: dict[str, str], secrets: dict[str, str]) -> list[str]:
    """Every (where, which secret) found; a PIN counts only as a number of its own."""
    found = []
    for where, text in texts.items():
        for name, secret in secrets.items():
            pattern = rf"(?<!\d){secret}(?!\d)" if secret.isdigit() else re.escape(secret)
            for match in re.finditer(pattern, text):
                context = text[max(0, match.start() - 60) : match.end() + 20]
                found.append(f"{where}: {name}: ...{context!r}")
    return found


def http_login(url: str, password: str) -> int:
    host, port = url.split("//")[1].rstrip("/").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        body = urlencode({"password": password, "next": "/dashboard"})
        conn.request("POST", "/login", body,
                     {"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
        return conn.getresponse().status
    finally:
        conn.close()


class _BuggyPort:
    """The register as the link's outbox port, with a bug in loading the outbox."""

    def __init__(self, register: Register) -> None:
        self.register = register

    def unsent_after(self, after: int, limit: int) -> Any:
        raise RuntimeError("a bug in loading the outbox")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.register, name)


# --- the run ------------------------------------------------------------------------------


def sell_with_pins(register: Register) -> None:
    """Wrong and right PINs at login and at the manager's override; one sale."""
    with pytest.raises(WrongPin):
        register.login("ann", WRONG_PIN)
    register.login("ann", CASHIER_PIN)
    register.open_till(Money(100_00, "CAD"))
    register.add_sku("french-press")
    with pytest.raises(NeedsManager, match="not a manager's PIN"):
        register.discount_line(1, Discount.percent(30), manager_pin=CASHIER_PIN)
    with pytest.raises(NeedsManager, match="not a manager's PIN"):
        register.discount_line(1, Discount.percent(30), manager_pin=WRONG_PIN)
    register.discount_line(1, Discount.percent(30), manager_pin=MANAGER_PIN)
    register.add_tender(Tender.card(register.price().total, "credit", "A-1"))
    register.complete()


def link_cycles(register: Register, broker: Mosquitto) -> None:
    """Connect and sync, lose the broker and come back."""
    link = start_sync(register)
    try:
        assert wait_for(lambda: link.status().state == "online", 10), broker.log_text()[-2000:]
        sell_with_pins(register)
        assert wait_for(lambda: register.status().unsent == 0, 10), link.status()
        broker.stop()  # offline while it is down (a restart can be quicker than a poll)
        assert wait_for(lambda: link.status().state == "offline", 10)
        broker.start()
        assert wait_for(lambda: link.status().state == "online", 10), "no reconnect"
    finally:
        link.stop()


def refused_again_and_again(tmp_path: Path, broker: Broker, certs: Path) -> None:
    """A register with a wrong password: refused, and refused again on each retry."""
    config = register_config(tmp_path / "wrong", broker, certs, WRONG_BROKER_PASSWORD)
    register = open_register(config)
    refusals = lambda: broker.server.log_text().lower().count("not authori")  # noqa: E731
    before = refusals()
    link = SyncLink(config, register)
    link.start()
    try:
        assert wait_for(lambda: refusals() >= before + 3, 10), "not refused three times"
        assert link.status().state == "offline"
    finally:
        link.stop()
        register.io.close()
        register.storage.close()


def sync_thread_bug(config: Config, register: Register, debug_log: Path) -> None:
    """A bug in the sync thread: its traceback goes to the log (where the kiosk's logs
    go), and the thread goes on."""
    link = SyncLink(config, _BuggyPort(register))  # type: ignore[arg-type]
    link.start()
    try:
        register.add_sku("cola")
        register.add_tender(Tender.cash(Money(5_00, "CAD")))
        register.complete()
        link.notify_committed(1)
        logged = lambda: "RuntimeError: a bug in loading the outbox" in debug_log.read_text()  # noqa: E731
        assert wait_for(logged, 10), "the bug's traceback was not logged"
        assert link._thread is not None and link._thread.is_alive(), "the bug ended syncing"
    finally:
        link.stop()


def appliance_commands(config_path: Path, capfd: pytest.CaptureFixture[str]) -> str:
    """Every `appliance` command that reads the config, and a refused config."""
    text = ""
    for argv in (["status"], ["outbox", "list", "--all"], ["outbox", "show", "1"],
                 ["upgrade", "check"], ["labels", "list"]):  # fmt: skip
        code = appliance_main([*argv, "--config", str(config_path)])
        out = capfd.readouterr()
        assert code in (0, 1), (argv, out)
        text += out.out + out.err
    assert appliance_main(["config", "check", str(config_path)]) == 0
    assert appliance_main(["config", "docs"]) == 0
    bad = config_path.with_name("bad.toml")
    with_url = config_path.read_text().replace(
        'url = "mqtts://', f'url = "mqtts://s1-r1:{BROKER_PASSWORD}@', 1
    )
    bad.write_text(with_url)
    assert appliance_main(["config", "check", str(bad)]) == 2
    bad.write_text(config_path.read_text().replace(
        'username = "s1-r1"', f'username = "s1-r1"\npassword = "{BROKER_PASSWORD}"'))  # fmt: skip
    assert appliance_main(["config", "check", str(bad)]) == 2
    out = capfd.readouterr()
    assert "not shown: it may hold a password" in out.err and "broker.password_file" in out.err
    return text + out.out + out.err


def run(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """A command of ours in a child process, as systemd would start it."""
    return subprocess.run(
        [sys.executable, "-m", *argv], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)},
    )  # fmt: skip


def appliance_run_fails_on_a_mismatched_key(tmp_path: Path, broker: Broker, certs: Path) -> str:
    """`appliance run` with a client key that is not the certificate's: it stops at start."""
    register_config(tmp_path / "mismatch", broker, certs, BROKER_PASSWORD)
    path = next((tmp_path / "mismatch").glob("register-*.toml"))
    path.write_text(path.read_text().replace(str(certs / "client.key"), str(certs / "server.key")))
    result = run(tmp_path, "appliance.cli", "run", "--config", str(path), "--window", "800x480")
    assert result.returncode == 2 and "KEY_VALUES_MISMATCH" in result.stderr.upper(), result
    return result.stdout + result.stderr


def serve_refused(server: Postgres, broker: Broker, tmp_path: Path) -> str:
    """`backoffice serve` with a wrong database password, then with a broker URL of the
    wrong scheme (its password inside)."""
    passwords = tmp_path / "dashboard.pass"
    write_password_file(passwords, DASHBOARD_PASSWORD)
    web = ("--web", "127.0.0.1:0", "--web-password-file", str(passwords))
    wrong_db = run(tmp_path, "backoffice.cli", "serve", "--db", db_url(server, WRONG_DB_PASSWORD),
                   "--broker", broker.office_url, *web)  # fmt: skip
    assert wrong_db.returncode == 2, wrong_db
    assert "password authentication failed" in wrong_db.stderr
    assert f"{DB_USER}:***@" in wrong_db.stderr
    bad_url = broker.office_url.replace("mqtt://", "tcp://")
    wrong_broker = run(tmp_path, "backoffice.cli", "serve", "--db", db_url(server), "--broker",
                       bad_url, *web)  # fmt: skip
    assert wrong_broker.returncode == 2 and "backoffice:***@" in wrong_broker.stderr, wrong_broker
    return wrong_db.stdout + wrong_db.stderr + wrong_broker.stdout + wrong_broker.stderr


def office_with_dashboard(server: Postgres, broker: Broker, tmp_path: Path) -> None:
    """The back office and its dashboard on the password URLs; a wrong, then a right login."""
    url = db_url(server)
    passwords = tmp_path / "dashboard-live.pass"
    write_password_file(passwords, DASHBOARD_PASSWORD)
    with contextlib.ExitStack() as stack:
        service = BackOffice(url, broker.office_url, client_id="bo-secrets")
        service.start()
        stack.callback(service.stop)
        assert service.wait_ready(15), broker.server.log_text()[-2000:]
        web = WebServer(url, passwords, "127.0.0.1", 0)
        web.start()
        stack.callback(web.stop)
        assert http_login(web.url, WRONG_BROKER_PASSWORD) == 401
        assert http_login(web.url, DASHBOARD_PASSWORD) == 303


def first_boot_refuses(tmp_path: Path) -> dict[str, str]:
    boot, root = tmp_path / "boot", tmp_path / "root"
    boot.mkdir()
    (root / "etc").mkdir(parents=True)
    (boot / "register.toml").write_text(
        '[register]\nstore = "s1"\nid = "r1"\ntimezone = "America/Toronto"\n\n[broker]\n'
        f'url = "mqtts://s1-r1:{BROKER_PASSWORD}@broker.example.com:8883"\n'
        'username = "s1-r1"\npassword_file = "/etc/appliance/broker-password"\n'
    )
    (boot / "broker-password").write_text(BROKER_PASSWORD + "\n")
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        assert firstboot.main(boot, root, live=False) == 1
    files = [boot / firstboot.BOOT_ERROR_FILE, root / "etc/issue.d/register.issue",
             root / "run/register/firstboot-error"]  # fmt: skip
    found = {str(p): p.read_text() for p in files}
    assert all("broker.url" in text for text in found.values()), found
    return {**found, "firstboot output": out.getvalue()}


def test_secrets_never_reach_logs_command_output_or_crash_reports(
    tmp_path: Path,
    broker: Broker,
    pki: Path,  # noqa: F811
    guarded_postgres: Postgres,
    debug_log: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pg_log_from = guarded_postgres.log_path.stat().st_size
    config = register_config(tmp_path / "till", broker, pki, BROKER_PASSWORD)
    config_path = next((tmp_path / "till").glob("register-*.toml"))
    stock(db_url(guarded_postgres), config).close()
    outputs: dict[str, str] = {}

    office_with_dashboard(guarded_postgres, broker, tmp_path)
    service = BackOffice(db_url(guarded_postgres), broker.office_url, client_id="bo-2")
    service.start()
    register = open_register(config)
    try:
        assert service.wait_ready(15)
        link_cycles(register, broker.server)
        with Database(db_url(guarded_postgres)) as db, db.transaction(readonly=True) as tx:
            assert tx.scalar("SELECT COUNT(*) FROM entries") == 1, "the sale went through"
    finally:
        service.stop()
    refused_again_and_again(tmp_path, broker, pki)
    sync_thread_bug(config, register, debug_log)
    register.io.close()
    register.storage.close()
    crash = capfd.readouterr()
    outputs["sync thread bug"] = crash.out + crash.err
    outputs["appliance commands"] = appliance_commands(config_path, capfd)
    outputs["appliance run"] = appliance_run_fails_on_a_mismatched_key(tmp_path, broker, pki)
    outputs["backoffice serve"] = serve_refused(guarded_postgres, broker, tmp_path)
    outputs |= first_boot_refuses(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO(DASHBOARD_PASSWORD + "\n"))
    assert backoffice_main(["web-passwd", str(tmp_path / "w.pass"), "--password-stdin"]) == 0
    assert backoffice_main(["report", "sales", "--db", db_url(guarded_postgres)]) == 0
    rest = capfd.readouterr()
    outputs["backoffice commands"] = rest.out + rest.err

    outputs["python log"] = debug_log.read_text(errors="replace")
    outputs["mosquitto log"] = broker.server.log_text()
    outputs["postgres log"] = guarded_postgres.log_path.read_bytes()[pg_log_from:].decode(
        errors="replace"
    )
    assert "Sending CONNECT" in outputs["python log"], "paho's packet log was on"
    assert f"{DB_USER}:***@" in outputs["python log"]
    secrets = {f"password {i}": p for i, p in enumerate(PASSWORDS)}
    secrets |= {f"key line {i}": line for i, line in enumerate(pem_body(pki / "client.key"))}
    secrets["session secret"] = read_password_file(tmp_path / "dashboard-live.pass").session_secret
    secrets |= {"cashier PIN": CASHIER_PIN, "manager PIN": MANAGER_PIN, "wrong PIN": WRONG_PIN}
    found = leaks(outputs, secrets)
    sizes = ", ".join(f"{k} {len(v)}" for k, v in outputs.items())
    print(f"SECURITY secrets: {len(secrets)} secrets over {sizes} characters")
    assert not found, "\n".join(found)


# --- the helpers, one by one ----------------------------------------------------------------


def test_a_broker_url_refused_by_the_back_office_hides_its_password() -> None:
    with pytest.raises(ValueError) as caught:
        parse_broker_url("tcp://bo:s3cret@127.0.0.1:1883")
    assert "s3cret" not in str(caught.value) and "bo:***@" in str(caught.value)


def test_the_dashboards_credentials_have_no_secret_in_their_repr(tmp_path: Path) -> None:
    creds = write_password_file(tmp_path / "p", DASHBOARD_PASSWORD)
    assert creds.session_secret not in repr(creds) and "scrypt" not in repr(creds)


def test_a_database_url_of_an_unknown_kind_is_refused_without_its_password() -> None:
    with pytest.raises(DatabaseError) as caught:
        Database("postgresql+psycopg://bo:s3cret@127.0.0.1:1/bo")
    assert "s3cret" not in str(caught.value)


def test_a_password_in_the_database_urls_query_is_not_shown() -> None:
    with pytest.raises(DatabaseError) as caught:
        Database("postgresql://bo@127.0.0.1:1/bo?password=s3cret")
    assert "s3cret" not in str(caught.value)


def test_the_back_office_logs_its_database_without_a_password_in_the_query(
    guarded_postgres: Postgres, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = guarded_postgres
    url = f"postgresql://{DB_USER}@{server.host}:{server.port}/{DB_NAME}?password={DB_PASSWORD}"
    with Mosquitto(tmp_path / "mq") as plain, caplog.at_level("INFO", "backoffice.service"):
        service = BackOffice(url, plain.url, client_id="bo-query")
        service.start()
        try:
            assert service.wait_ready(10)
        finally:
            service.stop()
    assert "password=***" in caplog.text and DB_PASSWORD not in caplog.text
