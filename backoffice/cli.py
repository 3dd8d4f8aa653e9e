"""`backoffice ...`: the back office's command line.

backoffice serve --db URL --broker URL [--shared GROUP]   run the consumer
    [--consumers N]                                      ... N of them, in one shared group
    [--broker-password-file FILE]                        ... the URL's user's password
    [--web [HOST:]PORT --web-password-file FILE]         ... and the dashboard
backoffice web-passwd FILE [--password-stdin]          set the dashboard's password
backoffice register-add STORE REGISTER [--out DIR] [--passwd FILE] [--acl FILE]
    [--cert --ca-cert CA --ca-key KEY [--days N]]       a register's broker login and ACL
backoffice register-remove STORE REGISTER [--passwd FILE] [--acl FILE]   revoke it
backoffice broker-user [NAME] [--out DIR] [--shared GROUP] ...   the back office's own login
backoffice catalog load FILE --config REGISTER_TOML [--store S] --db URL
backoffice customers load FILE.json --store S --db URL
backoffice stock receive SKU QUANTITY --store S --db URL
backoffice report sales|drift|gaps|stock|pending --db URL [--store S]
backoffice rederive SALE.json [--config ...] [--catalog ...]
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from appliance.cli import CommandError, run_command
from appliance.config import load_config
from appliance.domain.sale import decode, rederive
from appliance.domain.tender import BALANCE_KINDS
from appliance.settings import load_store_file, store_rules
from backoffice import ledger, provision, reports
from backoffice.catalog import load_catalog
from backoffice.db import Database, DatabaseError

DEMO = Path(__file__).resolve().parent.parent / "config" / "demo"
DEFAULT_DB = "sqlite:///var/backoffice.db"
log = logging.getLogger("backoffice")


def _rederive(args: argparse.Namespace) -> int:
    """Re-derive a sale with the store's rules; exit 1 when it drifted."""
    config = load_config(args.config)
    rules = store_rules(config, load_store_file(args.catalog, config))
    sale = decode(args.sale.read_bytes())
    drift = rederive(sale, rules)
    print(f"sale {sale.id} ({sale.register}-{sale.sequence}), total {sale.total}")
    if drift.clean:
        print("no drift: the rules give the same amounts")
        return 0
    for item in drift.items:
        print(f"  {item.field}: register {item.recorded or '-'}, rules {item.derived or '-'}")
    print(f"drift on the total: {drift.total if drift.total is not None else 'unknown'}")
    return 1


def _serve(args: argparse.Namespace) -> int:
    """Run the consumer (and with --consumers N, N-1 more in child processes) until SIGTERM
    or SIGINT; a --worker child also stops when its parent is gone."""
    from backoffice import supervisor
    from backoffice.service import BackOffice  # paho only where it is needed

    if args.consumers < 1:
        raise CommandError(f"--consumers {args.consumers}: expected 1 or more")
    group, client_id = args.shared, args.client_id
    if args.consumers > 1:
        group, client_id = group or provision.BACKOFFICE_USER, f"{client_id}-0"
    # force: python-escpos calls logging.basicConfig() when imported (escpos/capabilities.py),
    # and a root logger that already has a handler would ignore ours
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, force=True,
                        format=f"%(asctime)s %(levelname)s {client_id} %(name)s: "
                               "%(message)s")  # fmt: skip
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        stop.set()

    if args.worker:
        broker_url, db_url = supervisor.read_urls(sys.stdin)
        supervisor.watch_parent(sys.stdin, stop)
    elif args.broker is None:
        raise CommandError("serve: --broker URL is required")
    else:
        broker_url, db_url = _broker_url(args.broker, args.broker_password_file), args.db
    web = None if args.worker else _web_server(args)  # a bad file or busy port: stop here
    children = None
    if args.consumers > 1:
        children = supervisor.Supervisor(
            lambda n: supervisor.worker_argv(args.client_id, n, group, args.session_expiry),
            args.consumers,
            (broker_url, db_url),
        )
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    service = BackOffice(db_url, broker_url, client_id=client_id, shared_group=group,
                         session_expiry_s=args.session_expiry)  # fmt: skip
    service.start()
    try:
        if children is not None:
            children.start()
        if web is not None:
            web.start()
            print(f"dashboard at {web.url}", flush=True)
        stop.wait()
    finally:
        if web is not None:
            web.stop()
        if children is not None:
            children.stop()
        service.stop()
    return 0


def _broker_url(url: str, password_file: Path | None) -> str:
    """The broker URL with the password from `password_file` put in, so that the password
    need not be on a command line (which `ps` shows to every user of the machine)."""
    if password_file is None:
        return url
    parts = urlsplit(url)
    user, host = parts.username, parts.netloc.rpartition("@")[2]
    if not user or parts.password is not None:
        raise CommandError("--broker-password-file needs the user and no password in the URL: "
                           "mqtt://USER@host:port")  # fmt: skip
    password = password_file.read_text(encoding="utf-8").strip()
    if not password:
        raise CommandError(f"{password_file}: empty; expected the broker password")
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def _register_add(args: argparse.Namespace) -> int:
    """Provision a register's broker login: a credential file, its password line, its ACL."""
    ca = None
    if args.cert:
        if args.ca_cert is None or args.ca_key is None:
            raise CommandError("--cert needs --ca-cert FILE and --ca-key FILE (the CA that "
                               "signs the registers' client certificates)")  # fmt: skip
        ca = provision.CertificateAuthority(args.ca_cert, args.ca_key, args.days)
    elif args.ca_cert is not None or args.ca_key is not None:
        raise CommandError("--ca-cert and --ca-key go with --cert")
    try:
        user = provision.register_username(args.store, args.register)
        made = provision.add_register(
            args.store, args.register, out=args.out or Path(user), passwd_file=args.passwd,
            acl_file=args.acl, ca=ca,
        )  # fmt: skip
    except provision.ProvisionError as exc:
        raise CommandError(str(exc)) from None
    print(f"register {args.register} of store {args.store}: broker user {made.username}")
    for path in made.written:
        print(f"  wrote {path}: put it beside register.toml on the register's boot partition")
    if ca is None:
        print(f"  {args.passwd}: password of {made.username} set (hashed)")
    else:
        print(f"  {args.passwd}: no password for {made.username} (it logs in by certificate)")
    print(f"  {args.acl}: ACL block of {made.username} written")
    print("register.toml, [broker] table:")
    for key, value in made.register_keys.items():
        print(f'  {key} = "{value}"')
    if ca is not None:
        print("  (url = mqtts://... to a listener with require_certificate true and "
              "use_identity_as_username true)")  # fmt: skip
    print(_RELOAD)
    return 0


_RELOAD = "reload the broker to apply: systemctl reload mosquitto (SIGHUP)"


def _register_remove(args: argparse.Namespace) -> int:
    """Revoke a register: its password line and ACL block go."""
    try:
        user = provision.register_username(args.store, args.register)
        removed = provision.remove_user(user, passwd_file=args.passwd, acl_file=args.acl)
    except provision.ProvisionError as exc:
        raise CommandError(str(exc)) from None
    if not removed:
        raise CommandError(f"no broker user {user} in {args.passwd} or {args.acl}")
    print(f"broker user {user}: removed from {args.passwd} and {args.acl}")
    print(_RELOAD + "; the register's open connection is closed then")
    return 0


def _broker_user(args: argparse.Namespace) -> int:
    """Provision the back office's own broker login."""
    try:
        made = provision.add_backoffice(args.name, out=args.out, passwd_file=args.passwd,
                                        acl_file=args.acl, shared_group=args.shared)  # fmt: skip
    except provision.ProvisionError as exc:
        raise CommandError(str(exc)) from None
    (path,) = made.written
    print(f"back office broker user {made.username}")
    print(f"  wrote {path} (mode 600)")
    print(f"  {args.passwd}: password of {made.username} set (hashed)")
    print(f"  {args.acl}: ACL block of {made.username} written")
    print(f"serve with: --broker mqtt://{made.username}@HOST:PORT --broker-password-file {path}")
    print(_RELOAD)
    return 0


def _broker_file_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--passwd", type=Path, default=provision.BROKER_PASSWD, metavar="FILE",
                        help="the broker's password_file (default %(default)s)")  # fmt: skip
    parser.add_argument("--acl", type=Path, default=provision.BROKER_ACL, metavar="FILE",
                        help="the broker's acl_file (default %(default)s)")  # fmt: skip


def _add_broker_commands(sub: Any) -> None:
    add = sub.add_parser("register-add", help="a register's broker login and ACL (rerun: rotate)")
    add.add_argument("store", help="store id")
    add.add_argument("register", help="register id")
    add.add_argument("--out", type=Path, metavar="DIR",
                     help="where its credential files go (default ./STORE.REGISTER)")  # fmt: skip
    _broker_file_options(add)
    add.add_argument("--cert", action="store_true",
                     help="a client certificate (CN = the user) instead of a password")  # fmt: skip
    add.add_argument("--ca-cert", type=Path, metavar="FILE", help="the CA certificate (--cert)")
    add.add_argument("--ca-key", type=Path, metavar="FILE", help="the CA's private key (--cert)")
    add.add_argument("--days", type=int, default=825, help="certificate lifetime (--cert)")
    add.set_defaults(func=_register_add)
    remove = sub.add_parser("register-remove", help="revoke a register's broker login")
    remove.add_argument("store", help="store id")
    remove.add_argument("register", help="register id")
    _broker_file_options(remove)
    remove.set_defaults(func=_register_remove)
    user = sub.add_parser("broker-user", help="the back office's own broker login and ACL")
    user.add_argument("name", nargs="?", default=provision.BACKOFFICE_USER,
                      help="its user name (default %(default)s)")  # fmt: skip
    user.add_argument("--out", type=Path, default=Path("."), metavar="DIR",
                      help="where NAME-broker-password goes (default: here)")  # fmt: skip
    user.add_argument("--shared", default=provision.BACKOFFICE_USER, metavar="GROUP",
                      help="the shared subscription group of `serve --shared`")  # fmt: skip
    _broker_file_options(user)
    user.set_defaults(func=_broker_user)


def _web_server(args: argparse.Namespace) -> Any:
    """The dashboard's server when `--web` is given (not started), else None."""
    if args.web is None:
        if args.web_password_file is not None:
            raise CommandError("--web-password-file needs --web [HOST:]PORT")
        return None
    from backoffice.web.app import WebSettings
    from backoffice.web.server import WebServer, parse_address

    if args.web_password_file is None:
        raise CommandError("--web needs --web-password-file FILE "
                           "(write one with `backoffice web-passwd FILE`)")  # fmt: skip
    host, port = parse_address(args.web)
    settings = WebSettings(silent_after_s=args.web_silent_after)
    return WebServer(args.db, args.web_password_file, host, port, settings)


def _web_passwd(args: argparse.Namespace) -> int:
    """Write the dashboard's password file: a salted hash and a new session secret."""
    import getpass

    from backoffice.web.auth import write_password_file

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("dashboard password: ")
        if getpass.getpass("again: ") != password:
            raise CommandError("the two passwords differ; nothing written")
    write_password_file(args.file, password)
    print(f"wrote {args.file} (mode 600); open sessions end when the dashboard restarts")
    return 0


def _catalog_load(args: argparse.Namespace) -> int:
    """Store a catalogue file for a store, with the register config's tax and currency."""
    config = load_config(args.config)
    store = args.store or config.register.store
    with Database(args.db) as db:
        version = load_catalog(db, store, config, args.file, datetime.now(UTC))
    print(f"store {store}: catalogue version {version} from {args.file}")
    return 0


def _customers_load(args: argparse.Namespace) -> int:
    """Store customers and balances from `{"customers": [...], "balances": [...]}`."""
    data = json.loads(args.file.read_text(encoding="utf-8"))
    kinds = {k.value for k in BALANCE_KINDS}
    try:
        customers = [(str(c["id"]), str(c["name"]), int(c.get("lifetime_points", 0)),
                      int(c.get("points", 0))) for c in data.get("customers", [])]  # fmt: skip
        balances = [(str(b["kind"]), str(b["account"]), int(b["amount"]))
                    for b in data.get("balances", [])]  # fmt: skip
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CommandError(f"{args.file}: expected customers with id and name, balances with "
                           f"kind, account and amount ({exc})") from None  # fmt: skip
    unknown = sorted({kind for kind, _, _ in balances} - kinds)
    if unknown:
        raise CommandError(f"{args.file}: unknown balance kind {unknown[0]!r}")
    with Database(args.db) as db, db.transaction() as tx:
        for customer_id, name, lifetime, points in customers:
            ledger.put_customer(tx, args.store, customer_id, name, lifetime, points)
        for kind, account, amount in balances:
            ledger.put_balance(tx, args.store, kind, account, amount)
    print(f"store {args.store}: {len(customers)} customers, {len(balances)} balances")
    return 0


def _stock_receive(args: argparse.Namespace) -> int:
    """Goods received: a positive stock movement."""
    try:
        quantity = Decimal(args.quantity)
    except InvalidOperation:
        raise CommandError(f"quantity: not a number: {args.quantity!r}") from None
    if not quantity.is_finite() or quantity <= 0:
        raise CommandError(f"quantity: must be positive, got {args.quantity}")
    at = datetime.now().replace(microsecond=0).isoformat()
    with Database(args.db) as db, db.transaction() as tx:
        ledger.add_stock(tx, args.store, args.sku, quantity, "receipt", at)
    print(f"store {args.store}: received {args.quantity} of {args.sku}")
    return 0


def _report(args: argparse.Namespace) -> int:
    """Print one report."""
    with Database(args.db) as db:
        print(reports.report(db, args.name, args.store).render())
    return 0


def _db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        default=DEFAULT_DB,
        help=f"sqlite:///FILE or postgresql://... (default {DEFAULT_DB})",
    )


def _add_data_commands(sub: Any) -> None:
    catalog = sub.add_parser("catalog", help="store catalogues").add_subparsers(
        dest="action", required=True)  # fmt: skip
    load = catalog.add_parser("load", help="store a catalogue file and bump its version")
    load.add_argument("file", type=Path, help="catalogue: .toml, .json or .csv")
    load.add_argument("--config", type=Path, required=True,
                      help="a register config: currency, tax table and cash rounding")  # fmt: skip
    load.add_argument("--store", help="store id (default: the config's)")
    _db_option(load)
    load.set_defaults(func=_catalog_load)
    customers = sub.add_parser("customers", help="customers and balances").add_subparsers(
        dest="action", required=True)  # fmt: skip
    cload = customers.add_parser("load", help="store customers and balances from JSON")
    cload.add_argument("file", type=Path)
    cload.add_argument("--store", required=True)
    _db_option(cload)
    cload.set_defaults(func=_customers_load)
    stock = sub.add_parser("stock", help="stock").add_subparsers(dest="action", required=True)
    receive = stock.add_parser("receive", help="record goods received")
    receive.add_argument("sku")
    receive.add_argument("quantity")
    receive.add_argument("--store", required=True)
    _db_option(receive)
    receive.set_defaults(func=_stock_receive)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    parser = argparse.ArgumentParser(
        prog="backoffice", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="consume register entries until SIGTERM")
    _db_option(serve)
    serve.add_argument("--broker", help="mqtt://[user:pass@]host:port or mqtts (required)")
    serve.add_argument("--broker-password-file", type=Path, metavar="FILE",
                       help="the broker password, for a URL mqtt://USER@host:port")  # fmt: skip
    serve.add_argument("--shared", help="MQTT 5 shared subscription group (several consumers)")
    serve.add_argument("--client-id", default="backoffice",
                       help="the MQTT client id (with --consumers N: ID-0 ... ID-N-1)")  # fmt: skip
    serve.add_argument("--consumers", type=int, default=1, metavar="N",
                       help="run N consumer processes in one shared group")  # fmt: skip
    serve.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    serve.add_argument("--session-expiry", type=int, default=3600, help="seconds")
    serve.add_argument("--web", metavar="[HOST:]PORT",
                       help="serve the dashboard too (host 127.0.0.1 unless named)")  # fmt: skip
    serve.add_argument("--web-password-file", type=Path, metavar="FILE",
                       help="the dashboard's login, from `backoffice web-passwd`")  # fmt: skip
    serve.add_argument("--web-silent-after", type=float, default=90.0, metavar="SECONDS",
                       help="flag an online register not heard from for this long")  # fmt: skip
    serve.set_defaults(func=_serve)
    passwd = sub.add_parser("web-passwd", help="set the dashboard's password (hashed)")
    passwd.add_argument("file", type=Path, help="the password file to write (mode 600)")
    passwd.add_argument("--password-stdin", action="store_true",
                        help="read the password from the first line of stdin")  # fmt: skip
    passwd.set_defaults(func=_web_passwd)
    _add_data_commands(sub)
    _add_broker_commands(sub)
    report = sub.add_parser("report", help="print a report")
    report.add_argument("name", choices=reports.REPORTS)
    report.add_argument("--store")
    _db_option(report)
    report.set_defaults(func=_report)
    rederive_cmd = sub.add_parser("rederive", help="re-derive a sale file and report drift")
    rederive_cmd.add_argument("sale", type=Path, help="a sale in canonical JSON")
    rederive_cmd.add_argument("--config", type=Path, default=DEMO / "register.toml")
    rederive_cmd.add_argument("--catalog", type=Path, default=DEMO / "catalog.toml")
    rederive_cmd.set_defaults(func=_rederive)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `backoffice` console script."""
    try:
        return run_command(build_parser(), argv)
    except (DatabaseError, json.JSONDecodeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
