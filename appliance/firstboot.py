"""First boot of the SD image: one file on the boot partition turns a card into a register.

Theory of operation. The installer writes `register.toml` (and the broker's
password or certificate files it names) onto the card's boot partition, which
any laptop can write. At boot `register-firstboot.service` runs
`appliance firstboot --boot /boot/firmware --root / --live` while that file is
there. It:

1. validates the file with the register's own strict schema (`load_config`, the
   same as `appliance config check` and the running register), then what only
   the image cares about: the data dir is under /var/lib/appliance (the path an
   upgrade keeps), every credential the file names lives under /etc/appliance and
   is found (beside register.toml on the boot partition, or already installed),
   every device's profile exists;
2. installs the credentials (0600, owned by the `register` user) and the config
   (0640, root:register) with write-to-temp, fsync, rename;
3. sets the hostname (`register-<store>-<id>`), creates the data dir, turns ssh
   on only if an `authorized_keys` file came with it, and enables the kiosk;
4. only then deletes the credentials from the boot partition (FAT, readable by
   anyone holding the card) and renames `register.toml` to `register-applied.toml`.

A bad file changes nothing: the message (file, key, what was expected) goes
where the screen shows it (`/etc/issue.d/register.issue`, printed by the
console on tty1 while the kiosk is off; `/run/register/firstboot-error` for the
kiosk), into the journal (stderr) and into `register-error.txt` on the boot
partition for the installer's laptop; `register.toml` stays for the next try.
Every step is safe to repeat, so a power cut half-way is fixed by booting again.
Without `--live` nothing outside `--root` is touched (tests, image builds).
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from appliance.config import Config, ConfigError, load_config

BOOT_FILE = "register.toml"
APPLIED_FILE = "register-applied.toml"
BOOT_ERROR_FILE = "register-error.txt"
AUTHORIZED_KEYS = "authorized_keys"
CONFIG_DIR = PurePosixPath("/etc/appliance")
CONFIG_TARGET = CONFIG_DIR / "register.toml"
DATA_ROOT = PurePosixPath("/var/lib/appliance")
RUN_ERROR = PurePosixPath("/run/register/firstboot-error")
ISSUE = PurePosixPath("/etc/issue.d/register.issue")
USER = "register"
KIOSK_UNIT = "register-kiosk.service"
KIOSK_WANTS = PurePosixPath("/etc/systemd/system/graphical.target.wants")
UNIT_DIR = PurePosixPath("/etc/systemd/system")
SSH_WANTS = PurePosixPath("/etc/systemd/system/multi-user.target.wants/ssh.service")
SSH_UNIT = PurePosixPath("/lib/systemd/system/ssh.service")
CREDENTIAL_KEYS = ("password_file", "ca_file", "cert_file", "key_file")

ISSUE_CONFIGURED = "Register {hostname}: configured; the register starts on this screen.\n\n"
ISSUE_UNCONFIGURED = (
    "This register is not set up yet.\n"
    "Put register.toml on the card's boot partition and restart it\n"
    "(the installer's guide: docs/operations.md).\n\n"
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a first-boot run did: `applied`, `nothing` to do, or `failed` (see `message`)."""

    status: str
    message: str

    @property
    def exit_code(self) -> int:
        """0 unless the file was refused."""
        return 1 if self.status == "failed" else 0


@dataclass(frozen=True, slots=True)
class Owner:
    """The uid and gid of the register user inside the target root."""

    uid: int
    gid: int


def _in(root: Path, path: PurePosixPath) -> Path:
    """`path` (absolute, as on the register) inside the target root."""
    return root / path.relative_to("/")


def owner(root: Path, user: str = USER) -> Owner:
    """The user's ids from the target's own /etc/passwd (never the builder's)."""
    try:
        lines = _in(root, PurePosixPath("/etc/passwd")).read_text().splitlines()
    except OSError as exc:
        raise RuntimeError(f"cannot read {root}/etc/passwd: {exc}") from exc
    for line in lines:
        parts = line.split(":")
        if len(parts) >= 4 and parts[0] == user:
            return Owner(int(parts[2]), int(parts[3]))
    raise RuntimeError(f"no user {user!r} in {root}/etc/passwd (the image's kiosk stage makes it)")


def hostname_of(config: Config) -> str:
    """`register-<store>-<id>`, made a valid host name (no '_', at most 63 characters)."""
    name = f"register-{config.register.store}-{config.register.id}".replace("_", "-")
    return re.sub(r"-+", "-", name)[:63].strip("-")


# --- checking the file -------------------------------------------------------------------


def _bad(file: Path, key: str, expected: str, got: str) -> ConfigError:
    return ConfigError(str(file), key, expected, f"expected {expected}, got {got}")


def credential_sources(config: Config, file: Path, boot: Path, root: Path) -> dict[str, Path]:
    """Each credential the config names -> where to take it from (the boot partition), or
    nothing when it is already installed; ConfigError naming the key if it is unusable."""
    found: dict[str, Path] = {}
    for name in CREDENTIAL_KEYS:
        value = getattr(config.broker, name)
        if not value:
            continue
        key, target = f"broker.{name}", PurePosixPath(value)
        expected = (
            f"an absolute path under {CONFIG_DIR}/ where the register keeps the file "
            f"(the file itself goes beside {BOOT_FILE} on the boot partition)"
        )
        if not target.is_absolute() or CONFIG_DIR not in target.parents or ".." in target.parts:
            raise _bad(file, key, expected, repr(value))
        source = boot / target.name
        if source.is_file():
            if source.stat().st_size == 0:
                raise _bad(file, key, f"a non-empty file {source}", "an empty file")
            found[key] = source
        elif not _in(root, target).is_file():
            raise _bad(
                file, key, f"a file called {target.name} beside {BOOT_FILE} on the boot "
                f"partition (it is installed as {target})", "no such file",
            )  # fmt: skip
    return found


def check(file: Path, boot: Path, root: Path) -> tuple[Config, dict[str, Path]]:
    """The config and its credential sources; ConfigError (file, key, expected) if bad."""
    from appliance.devices import DeviceSetupError, resolve
    from hw.profiles import ProfileError, ProfileIndex

    config = load_config(file)
    data_dir = PurePosixPath(str(config.register.data_dir))
    if data_dir != DATA_ROOT and DATA_ROOT not in data_dir.parents:
        raise _bad(file, "register.data_dir", f"{DATA_ROOT} or a directory under it (the "
                   "data an upgrade keeps); best left out", repr(str(data_dir)))  # fmt: skip
    sources = credential_sources(config, file, boot, root)
    try:
        index = ProfileIndex.load()
    except ProfileError as exc:  # the image's own profiles: not the installer's fault
        raise ConfigError(exc.file, exc.key, "a valid device profile", str(exc)) from exc
    for name, section in config.devices.items():
        try:
            resolve(name, section, index)
        except DeviceSetupError as exc:
            key, _, detail = str(exc).partition(": ")
            raise ConfigError(str(file), key, "the name of a profile of that kind", detail) from exc
    return config, sources


# --- writing -------------------------------------------------------------------------------


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def install_file(data: bytes, target: Path, mode: int, uid: int, gid: int) -> None:
    """Write `target` whole or not at all, with its mode and owner set before it appears."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.part")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchown(out.fileno(), uid, gid)
            os.fchmod(out.fileno(), mode)
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_dir(target.parent)


def _enable(root: Path, wants: PurePosixPath, unit: PurePosixPath) -> None:
    """What `systemctl enable` does for a unit with one WantedBy: a symlink."""
    link = _in(root, wants)
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() and os.readlink(link) == str(unit):
        return
    with contextlib.suppress(FileNotFoundError):
        link.unlink()
    link.symlink_to(unit)


def _set_hostname(root: Path, name: str) -> None:
    _in(root, PurePosixPath("/etc/hostname")).write_text(name + "\n")
    hosts = _in(root, PurePosixPath("/etc/hosts"))
    lines = hosts.read_text().splitlines() if hosts.exists() else ["127.0.0.1\tlocalhost"]
    lines = [line for line in lines if not line.startswith("127.0.1.1")]
    hosts.write_text("\n".join([*lines, f"127.0.1.1\t{name}"]) + "\n")


def _install(config: Config, file: Path, sources: dict[str, Path], boot: Path, root: Path) -> str:
    who = owner(root)
    config_dir = _in(root, CONFIG_DIR)
    config_dir.mkdir(parents=True, exist_ok=True)
    os.chown(config_dir, 0, who.gid)
    config_dir.chmod(0o750)
    for key, source in sources.items():
        target = _in(root, PurePosixPath(getattr(config.broker, key.split(".")[1])))
        install_file(source.read_bytes(), target, 0o600, who.uid, who.gid)
    install_file(file.read_bytes(), _in(root, CONFIG_TARGET), 0o640, 0, who.gid)
    data_dir = _in(root, PurePosixPath(str(config.register.data_dir)))
    data_dir.mkdir(parents=True, exist_ok=True)
    os.chown(data_dir, who.uid, who.gid)
    data_dir.chmod(0o750)
    name = hostname_of(config)
    _set_hostname(root, name)
    keys = boot / AUTHORIZED_KEYS
    if keys.is_file():
        install_file(keys.read_bytes(), root / "root/.ssh/authorized_keys", 0o600, 0, 0)
        _enable(root, SSH_WANTS, SSH_UNIT)
    _enable(root, KIOSK_WANTS / KIOSK_UNIT, UNIT_DIR / KIOSK_UNIT)
    return name


def _clear_boot(sources: dict[str, Path], boot: Path, file: Path) -> None:
    """Secrets off the FAT partition, the file renamed: only after everything is installed."""
    for source in [*sources.values(), boot / AUTHORIZED_KEYS, boot / BOOT_ERROR_FILE]:
        with contextlib.suppress(FileNotFoundError):
            source.unlink()
    os.replace(file, boot / APPLIED_FILE)
    _fsync_dir(boot)


def error_text(exc: Exception) -> str:
    """The message the screen shows for a refused file: file, key, what was expected."""
    lines = ["THIS REGISTER IS NOT SET UP: its register.toml has a problem.", ""]
    if isinstance(exc, ConfigError):
        lines.append(f"  file:      {exc.file}")
        if exc.key:
            lines.append(f"  key:       {exc.key}")
        lines.append(f"  expected:  {exc.expected}")
    lines += [
        f"  problem:   {exc}",
        "",
        "Nothing was changed and the file was kept. Put the card in a computer, fix",
        f"{BOOT_FILE} on its boot partition, put it back and restart the register.",
    ]
    return "\n".join(lines) + "\n"


def _issue(text: str) -> str:
    """agetty expands backslash escapes in issue files: keep a message's text as it is."""
    return text.replace("\\", "\\\\")


def _write_issue(root: Path, text: str) -> None:
    issue = _in(root, ISSUE)
    issue.parent.mkdir(parents=True, exist_ok=True)
    issue.write_text(_issue(text))


def _show_error(text: str, boot: Path, root: Path) -> None:
    _write_issue(root, text + "\n")
    run_error = _in(root, RUN_ERROR)
    run_error.parent.mkdir(parents=True, exist_ok=True)
    run_error.write_text(text)
    with contextlib.suppress(OSError):  # a read-only or full boot partition: the screen has it
        (boot / BOOT_ERROR_FILE).write_text(text)


def _go_live(name: str, ssh: bool) -> None:
    socket.sethostname(name)
    units = [KIOSK_UNIT, *(["ssh.service"] if ssh else [])]
    # --no-block: the kiosk is ordered after this service; waiting for it would deadlock.
    subprocess.run(["systemctl", "start", "--no-block", *units], check=False)


def apply(boot: Path, root: Path, *, live: bool = False) -> Outcome:
    """Apply `boot/register.toml` to the system under `root` (see the module doc)."""
    file = boot / BOOT_FILE
    if not file.is_file():
        if _in(root, CONFIG_TARGET).is_file():
            return Outcome("nothing", f"no {file}: already set up, nothing to do")
        _write_issue(root, ISSUE_UNCONFIGURED)
        return Outcome("failed", f"no {file}: this register is not set up yet")
    try:
        config, sources = check(file, boot, root)
    except ConfigError as exc:
        text = error_text(exc)
        _show_error(text, boot, root)
        return Outcome("failed", text)
    ssh = (boot / AUTHORIZED_KEYS).is_file()
    name = _install(config, file, sources, boot, root)
    _clear_boot(sources, boot, file)
    _write_issue(root, ISSUE_CONFIGURED.format(hostname=name))
    with contextlib.suppress(FileNotFoundError):
        _in(root, RUN_ERROR).unlink()
    if live:
        _go_live(name, ssh)
    return Outcome("applied", f"set up store {config.register.store}, register "
                   f"{config.register.id} as {name}: {len(sources)} credential file(s) "
                   f"installed, ssh {'on' if ssh else 'off'}, kiosk enabled")  # fmt: skip


def main(boot: Path, root: Path, live: bool) -> int:
    """`appliance firstboot`: apply; the outcome goes to stdout, a refusal to stderr (both
    reach the journal)."""
    outcome = apply(boot, root, live=live)
    print(outcome.message, file=sys.stderr if outcome.exit_code else sys.stdout)
    return outcome.exit_code
