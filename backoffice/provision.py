"""Broker credentials: one Mosquitto user per register, and one for the back office.

Theory of operation. A register logs in to the broker as itself, `{store}.{register}`
(ids never hold a '.', so the name is unambiguous and can never be the back office's,
whose name is a plain id). Provisioning a register writes three things:

1. its credential, in an output directory that stands for the register's boot
   partition: a fresh random password in `broker-password` (mode 0600), or, with a
   CA, a client certificate whose CN is the user name (`client.crt`, `client.key`,
   and the CA as `ca.pem`); `register_keys` says what register.toml's [broker] names;
2. the user's line in the broker's password file, through the real `mosquitto_passwd`
   (the password goes in on its stdin, never on a command line that `ps` shows); a
   certificate user has no password line, so an old one is removed;
3. the user's block in the broker's ACL file: `user NAME` and its `topic` lines.

Rerunning replaces that user's password line and ACL block and keeps everything else,
hand-written blocks included, so it is also how a password is rotated. Files are
replaced whole (temp file, fsync, rename), keeping their mode and owner, so a broker
reloading at any moment reads the old file or the new one; one lock beside the ACL
file keeps two runs from interleaving. Mosquitto reads both files again on SIGHUP.

The ACL follows docs/protocol.md: a register writes only under `pos/v1/{s}/{r}/` and
reads only its acks, its answers and its store's beacon; the back office reads every
register's entries, requests and presence (also as a shared subscription) and writes
acks, answers and beacons. Mosquitto applies `read` when it delivers, not when a
client subscribes: a subscription to another register's acks is granted and stays
silent. No password is ever printed or logged, only where it was written.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from appliance.sync import wire

PASSWORD_FILE = "broker-password"
CERT_FILE, KEY_FILE, CA_FILE = "client.crt", "client.key", "ca.pem"
REGISTER_DIR = PurePosixPath("/etc/appliance")  # where first boot installs credentials
BROKER_PASSWD = Path("/etc/mosquitto/pos.passwd")  # as in config/broker/mosquitto.conf.example
BROKER_ACL = Path("/etc/mosquitto/pos.acl")
BACKOFFICE_USER = "backoffice"
MOSQUITTO_PASSWD = "mosquitto_passwd"
_MARK = "# written by backoffice: "
_ACL_HEADER = (
    "# Mosquitto ACL of the registers and the back office (docs/protocol.md).\n"
    f"# Blocks under '{_MARK.strip()}' are rewritten by `backoffice register-add`\n"
    "# and `backoffice broker-user`; every other line is kept as it is.\n"
)
_ID_RULE = "lowercase letters, digits, '-' and '_', at most 64, first a letter or digit"


class ProvisionError(Exception):
    """Credentials that cannot be made as asked; the message names what and why."""


@dataclass(frozen=True, slots=True)
class CertificateAuthority:
    """The CA that signs the registers' client certificates (its key stays with the office)."""

    cert: Path
    key: Path
    days: int = 825


@dataclass(frozen=True, slots=True)
class Provisioned:
    """What was made: the user, the files written, and register.toml's [broker] keys."""

    username: str
    written: list[Path] = field(default_factory=list)
    register_keys: dict[str, str] = field(default_factory=dict)


# --- names and ACL blocks (pure) -----------------------------------------------------------


def check_id(what: str, value: str) -> str:
    """`value` if it is a valid id (a topic level), else ProvisionError naming it."""
    if not wire.ID_PATTERN.fullmatch(value):
        raise ProvisionError(f"{what} {value[:80]!r}: expected an id: {_ID_RULE} "
                             "(it becomes an MQTT topic level)")  # fmt: skip
    return value


def register_username(store: str, register: str) -> str:
    """The broker user of a register: `{store}.{register}`."""
    return f"{check_id('store', store)}.{check_id('register', register)}"


def register_acl(store: str, register: str) -> list[str]:
    """A register's ACL block: write under its own prefix, read its own answers and beacon."""
    user, prefix = register_username(store, register), f"{wire.ROOT}/{store}/{register}"
    return [
        f"{_MARK}register {register} of store {store}",
        f"user {user}",
        f"topic write {prefix}/out/#",
        f"topic write {wire.rpc_request_topic(store, register)}",
        f"topic write {wire.status_topic(store, register)}",
        f"topic read {wire.ack_topic(store, register)}",
        f"topic read {wire.rpc_response_topic(store, register)}",
        f"topic read {wire.beacon_topic(store)}",
    ]


def backoffice_acl(username: str, shared_group: str) -> list[str]:
    """The back office's block: read all entries, requests and presence; write the answers.

    Mosquitto 2.0 checks `read` against the message's own topic when it delivers; the
    `$share/...` lines are for brokers that check the shared filter at subscribe time.
    """
    check_id("back office user", username)
    check_id("shared group", shared_group)
    share = f"$share/{shared_group}/"
    return [
        f"{_MARK}the back office",
        f"user {username}",
        f"topic read {wire.OUT_FILTER}",
        f"topic read {wire.RPC_FILTER}",
        f"topic read {wire.STATUS_FILTER}",
        f"topic read {share}{wire.OUT_FILTER}",
        f"topic read {share}{wire.RPC_FILTER}",
        f"topic write {wire.ack_topic('+', '+')}",
        f"topic write {wire.rpc_response_topic('+', '+')}",
        f"topic write {wire.beacon_topic('+')}",
    ]


def _user_of(line: str) -> str | None:
    words = line.strip().split(None, 1)
    return words[1].strip() if len(words) == 2 and words[0] == "user" else None


def _block_spans(lines: list[str], username: str) -> list[tuple[int, int]]:
    """Where each `user NAME` block of the file is: its user line (and our mark above it),
    its topic lines and the comments among them, and the blank lines after."""
    spans = []
    for i, line in enumerate(lines):
        if _user_of(line) != username:
            continue
        start = i - 1 if i > 0 and lines[i - 1].startswith(_MARK) else i
        end = last = i
        while end + 1 < len(lines):
            words = lines[end + 1].split()
            if words and words[0] not in ("topic", "#") and not words[0].startswith("#"):
                break  # the next user, a pattern line, anything not this block's
            end += 1
            if words and words[0] == "topic":
                last = end
        end = last + 1
        while end < len(lines) and not lines[end].strip():
            end += 1
        spans.append((start, end))
    return spans


def replace_block(text: str, username: str, block: list[str] | None) -> str:
    """The ACL text with `username`'s block(s) replaced by `block` (None: removed).

    The new block takes the place of the first old one, or goes at the end; every other
    line is kept byte for byte.
    """
    lines = text.splitlines()
    spans = _block_spans(lines, username)
    new = [*block, ""] if block else []
    at = spans[0][0] if spans else len(lines)
    for start, end in reversed(spans):
        del lines[start:end]
    if not spans and new and lines and lines[-1].strip():
        new.insert(0, "")
    lines[at:at] = new
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines) + "\n" if lines else ""


# --- files ----------------------------------------------------------------------------------


def _replace_file(path: Path, text: str, mode: int = 0o600) -> None:
    """Write `text` over `path` whole: temp file in the same directory, fsync, rename.

    An existing file keeps its mode and owner (Mosquitto, once it dropped root, must
    still read it on SIGHUP); a new one gets `mode`.
    """
    try:
        old = path.stat()
        mode, owner = stat.S_IMODE(old.st_mode), (old.st_uid, old.st_gid)
    except FileNotFoundError:
        owner = None
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        if owner is not None and os.geteuid() == 0:
            os.chown(tmp, *owner)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _locked(acl_file: Path) -> Iterator[None]:
    """One provisioning run at a time on these broker files."""
    acl_file.parent.mkdir(parents=True, exist_ok=True)
    with open(acl_file.parent / f".{acl_file.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def write_acl(acl_file: Path, username: str, block: list[str] | None) -> None:
    """Replace (or, with None, remove) the user's block in the ACL file."""
    try:
        text = acl_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    if not text.strip() and block:
        text = _ACL_HEADER
    _replace_file(acl_file, replace_block(text, username, block))


def _mosquitto_passwd(binary: str) -> str:
    found = shutil.which(binary)
    if found is None:
        raise ProvisionError(f"{binary}: not found; it comes with the mosquitto package "
                             "(apt-get install mosquitto) and must run where the broker's "
                             "password file is")  # fmt: skip
    return found


def set_password(passwd_file: Path, username: str, password: str,
                 binary: str = MOSQUITTO_PASSWD) -> None:  # fmt: skip
    """Add or replace the user's hashed line ($7$, PBKDF2-SHA512) with `mosquitto_passwd`.

    The password goes in on stdin, twice as the tool asks, so it never appears in a
    process list.
    """
    tool = _mosquitto_passwd(binary)
    if not passwd_file.exists():
        _replace_file(passwd_file, "")
    done = subprocess.run([tool, str(passwd_file), username], input=f"{password}\n{password}\n",
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise ProvisionError(f"{tool} could not set {username!r} in {passwd_file}: "
                             f"{said[-1] if said else f'exit {done.returncode}'}")  # fmt: skip


def remove_password(passwd_file: Path, username: str) -> bool:
    """Drop the user's line from the password file; False if it had none."""
    try:
        lines = passwd_file.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return False
    kept = [line for line in lines if line.split(":", 1)[0] != username]
    if len(kept) == len(lines):
        return False
    _replace_file(passwd_file, "".join(f"{line}\n" for line in kept))
    return True


def _write_secret(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _replace_file(path, text, 0o600)
    os.chmod(path, 0o600)  # a secret stays private even over an older, wider file
    return path


def _openssl(*args: str, cwd: Path) -> None:
    if shutil.which("openssl") is None:
        raise ProvisionError("openssl: not found (apt-get install openssl)")
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    if done.returncode != 0:
        said = done.stderr.strip().splitlines()
        raise ProvisionError(f"openssl {args[0]} failed: {said[-1] if said else done.returncode}")


def issue_certificate(out: Path, username: str, ca: CertificateAuthority) -> list[Path]:
    """A client certificate with CN = `username`, signed by the CA, and its key (0600).

    The key is made in a private scratch directory and only renamed into `out`, so it
    is never readable by anyone else, even for a moment.
    """
    for what, path in (("--ca-cert", ca.cert), ("--ca-key", ca.key)):
        if not path.is_file():
            raise ProvisionError(f"{what} {path}: no such file")
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.TemporaryDirectory(dir=out, prefix=".cert-") as scratch:
        work = Path(scratch)
        (work / "ext").write_text("basicConstraints=critical,CA:FALSE\n"
                                  "keyUsage=critical,digitalSignature\n"
                                  "extendedKeyUsage=clientAuth\n")  # fmt: skip
        _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-nodes", "-subj", f"/CN={username}", "-keyout", "key", "-out", "csr",
                 cwd=work)  # fmt: skip
        _openssl("x509", "-req", "-in", "csr", "-CA", str(ca.cert.resolve()), "-CAkey",
                 str(ca.key.resolve()), "-set_serial", str(secrets.randbits(127) | 1),
                 "-days", str(ca.days), "-sha256", "-extfile", "ext", "-out", "crt",
                 cwd=work)  # fmt: skip
        os.chmod(work / "key", 0o600)
        os.replace(work / "key", out / KEY_FILE)
        os.replace(work / "crt", out / CERT_FILE)
    shutil.copyfile(ca.cert, out / CA_FILE)
    return [out / CERT_FILE, out / KEY_FILE, out / CA_FILE]


def password_keys(username: str) -> dict[str, str]:
    """register.toml's [broker] keys for a register that logs in by password."""
    return {"username": username, "password_file": str(REGISTER_DIR / PASSWORD_FILE)}


def certificate_keys() -> dict[str, str]:
    """register.toml's [broker] keys for a register that logs in by certificate."""
    files = (("ca_file", CA_FILE), ("cert_file", CERT_FILE), ("key_file", KEY_FILE))
    return {name: str(REGISTER_DIR / file) for name, file in files}


def new_password() -> str:
    """256 random bits, URL-safe text: nothing to escape in a file or a URL."""
    return secrets.token_urlsafe(32)


# --- the commands' logic --------------------------------------------------------------------


def add_register(
    store: str,
    register: str,
    *,
    out: Path,
    passwd_file: Path = BROKER_PASSWD,
    acl_file: Path = BROKER_ACL,
    ca: CertificateAuthority | None = None,
    binary: str = MOSQUITTO_PASSWD,
) -> Provisioned:
    """Give a register its own broker login and ACL block (again: a new password)."""
    user = register_username(store, register)
    block = register_acl(store, register)
    with _locked(acl_file):
        if ca is None:
            password = new_password()
            written = [_write_secret(out / PASSWORD_FILE, password + "\n")]
            set_password(passwd_file, user, password, binary)
            keys = password_keys(user)
        else:
            written = issue_certificate(out, user, ca)
            remove_password(passwd_file, user)  # a certificate user logs in by no password
            keys = certificate_keys()
        write_acl(acl_file, user, block)
    return Provisioned(user, written, keys)


def add_backoffice(
    username: str = BACKOFFICE_USER,
    *,
    out: Path,
    passwd_file: Path = BROKER_PASSWD,
    acl_file: Path = BROKER_ACL,
    shared_group: str = BACKOFFICE_USER,
    binary: str = MOSQUITTO_PASSWD,
) -> Provisioned:
    """Give the back office its broker login (a new password) and its ACL block."""
    block = backoffice_acl(username, shared_group)
    with _locked(acl_file):
        password = new_password()
        path = _write_secret(out / f"{username}-{PASSWORD_FILE}", password + "\n")
        set_password(passwd_file, username, password, binary)
        write_acl(acl_file, username, block)
    return Provisioned(username, [path])


def remove_user(username: str, *, passwd_file: Path = BROKER_PASSWD,
                acl_file: Path = BROKER_ACL) -> bool:  # fmt: skip
    """Revoke a user: its password line and its ACL block go; False if it had neither."""
    with _locked(acl_file):
        had_password = remove_password(passwd_file, username)
        try:
            text = acl_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        had_block = bool(_block_spans(text.splitlines(), username))
        if had_block:
            write_acl(acl_file, username, None)
    return had_password or had_block
