"""The root filesystem the stages build, checked as built, in a chroot and booted.

Booting: `systemd-nspawn --boot` runs the image's own systemd over an overlay of
the root, with a directory bound as the boot partition. The kiosk cannot open a
display in a container, so a drop-in replaces only its ExecStart by a stand-in
that uses `appliance.systemd_notify` as the real app must, from a child of the
main process as the app is under xinit (NotifyAccess=all): READY=1, then
WATCHDOG=1 pings, once stopping them to show the watchdog restarts it. A probe
unit records what systemd says, then powers the container off.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from image import manifest, udev_rules
from image.build import CHROOT_ENV
from tests.test_cli_register import Shop, shop  # noqa: F401  (the fixture)

pytestmark = pytest.mark.image

REPO = Path(__file__).resolve().parents[2]
UNITS = ("register-kiosk.service", "register-firstboot.service")

GOOD = """\
[register]
store = "s1"
id = "r1"

[broker]
url = "mqtt://broker.example:1883"
username = "s1-r1"
password_file = "/etc/appliance/broker-password"
"""


def chroot(root: Path, *cmd: str) -> subprocess.CompletedProcess[str]:
    env = [f"{k}={v}" for k, v in CHROOT_ENV.items()]
    return subprocess.run(["chroot", str(root), "env", "-i", *env, *cmd],
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def register_ids(root: Path) -> tuple[int, int]:
    for line in (root / "etc/passwd").read_text().splitlines():
        name, _, uid, gid, *_ = line.split(":")
        if name == "register":
            return int(uid), int(gid)
    raise AssertionError("no register user in the image")


# --- as built ----------------------------------------------------------------------------


def test_the_build_stamp_lists_what_is_installed(rootfs: Path) -> None:
    data = json.loads((rootfs / manifest.MANIFEST).read_text())
    with (REPO / "pyproject.toml").open("rb") as f:
        version = tomllib.load(f)["project"]["version"]

    assert data["version"] == version
    assert re.fullmatch(r"([0-9a-f]{40}(-dirty)?|unknown)", data["commit"])
    assert data["stages"] == sorted(p.name for p in (REPO / "image/stages").iterdir())
    debian, python = data["packages"]["debian"], data["packages"]["python"]
    for package in ("systemd", "python3", "xserver-xorg-core", "openssh-server", "usbutils"):
        assert package in debian, package
    assert python["register-appliance"] == version
    assert python["kivy"] == "2.3.1"
    assert f"REGISTER_VERSION={version}\n" in (rootfs / manifest.RELEASE).read_text()
    # what the manifest says is what the venv has
    freeze = chroot(rootfs, "/opt/register/venv/bin/python", "-m", "pip", "freeze")
    assert manifest.parse_pip_freeze(freeze.stdout) == python


def test_the_register_software_runs_in_the_image_without_the_back_office(rootfs: Path) -> None:
    assert os.readlink(rootfs / "opt/register/venv") == f"releases/{rootfs_version(rootfs)}"
    done = chroot(rootfs, "/opt/register/venv/bin/appliance", "config", "docs")
    assert done.returncode == 0, done.stderr
    assert "register.store" in done.stdout  # the defaults were found beside the package
    gone = chroot(rootfs, "/opt/register/venv/bin/python", "-c", "import backoffice")
    assert "No module named 'backoffice'" in gone.stderr


def rootfs_version(root: Path) -> str:
    return str(json.loads((root / manifest.MANIFEST).read_text())["version"])


def test_no_account_has_a_password_and_ssh_is_off(rootfs: Path) -> None:
    for line in (rootfs / "etc/shadow").read_text().splitlines():
        name, hashed = line.split(":")[:2]
        assert hashed == "*" or hashed.startswith("!"), f"{name} can log in with a password"
    wants = rootfs / "etc/systemd/system/multi-user.target.wants"
    assert not (wants / "ssh.service").exists()
    assert list((rootfs / "etc/ssh").glob("ssh_host_*")) == [], "host keys are made per device"
    assert (
        "PasswordAuthentication no" in (rootfs / "etc/ssh/sshd_config.d/register.conf").read_text()
    )
    assert (wants / "register-firstboot.service").is_symlink()
    assert not (
        rootfs / "etc/systemd/system/graphical.target.wants/register-kiosk.service"
    ).exists()


def test_the_data_dir_and_journal_limits(rootfs: Path) -> None:
    data = rootfs / "var/lib/appliance"
    assert (data.stat().st_uid, data.stat().st_gid) == register_ids(rootfs)
    assert stat.S_IMODE(data.stat().st_mode) == 0o750
    assert "LABEL=REGISTER-DATA /var/lib/appliance ext4" in (rootfs / "etc/fstab").read_text()
    journald = (rootfs / "etc/systemd/journald.conf.d/register.conf").read_text()
    assert "SystemMaxUse=64M" in journald


def test_the_device_rules_are_the_generated_ones(rootfs: Path) -> None:
    installed = rootfs / "etc/udev/rules.d/70-register-devices.rules"
    assert installed.read_text() == udev_rules.generate()


@pytest.mark.parametrize("unit", UNITS)
def test_the_units_pass_systemd_analyze_verify(rootfs: Path, unit: str) -> None:
    done = subprocess.run(
        ["systemd-analyze", "verify", f"--root={rootfs}", f"/etc/systemd/system/{unit}"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0 and done.stderr == "", done.stderr


# --- first boot in a chroot ----------------------------------------------------------------


def test_firstboot_in_a_chroot_refuses_a_bad_file_then_takes_the_fixed_one(overlay: Path) -> None:
    boot = overlay / "boot/firmware"
    (boot / "register.toml").write_text(GOOD.replace("mqtt://", "http://"))
    (boot / "broker-password").write_text("pw\n")
    appliance = "/opt/register/venv/bin/appliance"

    bad = chroot(overlay, appliance, "firstboot", "--boot", "/boot/firmware", "--root", "/")

    assert bad.returncode == 1
    assert "key:       broker.url" in bad.stderr
    assert "key:       broker.url" in (overlay / "etc/issue.d/register.issue").read_text()
    assert (boot / "register.toml").exists() and (boot / "broker-password").exists()
    assert not (overlay / "etc/appliance").exists()

    (boot / "register.toml").write_text(GOOD)
    good = chroot(overlay, appliance, "firstboot", "--boot", "/boot/firmware", "--root", "/")

    assert good.returncode == 0, good.stderr
    password = overlay / "etc/appliance/broker-password"
    assert (password.stat().st_uid, password.stat().st_gid) == register_ids(overlay)
    assert stat.S_IMODE(password.stat().st_mode) == 0o600
    assert (overlay / "etc/hostname").read_text() == "register-s1-r1\n"
    assert sorted(p.name for p in boot.iterdir()) == ["register-applied.toml"]
    check = chroot(overlay, appliance, "config", "check", "/etc/appliance/register.toml")
    assert check.returncode == 0, check.stderr


# --- booted with systemd-nspawn -----------------------------------------------------------

STAND_IN = """\
import os, time
from appliance import systemd_notify as sd
assert sd.watchdog_interval() is not None
sd.ready("stand-in kiosk")
once = "/var/lib/appliance/hung-once"
for _ in range(3):
    sd.watchdog()
    time.sleep(0.2)
if not os.path.exists(once):
    open(once, "w").close()
    time.sleep(60)  # a frozen screen: no pings, the watchdog must restart us
while True:
    sd.watchdog()
    time.sleep(0.2)
"""

KIOSK_DROP_IN = """\
[Service]
PAMName=
TTYPath=
StandardInput=null
UtmpIdentifier=
WatchdogSec=1
RestartSec=0
ExecStart=
ExecStart=/bin/sh -c '/opt/register/venv/bin/python /usr/local/lib/stand-in-kiosk.py; exit $?'
"""

PROBE = """\
[Unit]
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/bin/sh /usr/local/lib/probe.sh

[Install]
WantedBy=multi-user.target
"""

PROBE_SH = """\
for i in $(seq 100); do
  restarts=$(systemctl show -p NRestarts --value register-kiosk.service)
  state=$(systemctl is-active register-kiosk.service)
  [ "$restarts" -ge 1 ] && [ "$state" = active ] && break
  [ -e /boot/firmware/register.toml ] && [ "$i" -ge 10 ] && break
  sleep 0.2
done
systemctl is-active register-kiosk.service > /probe/kiosk
systemctl show -p NRestarts --value register-kiosk.service > /probe/restarts
systemctl show -p Result --value register-firstboot.service > /probe/firstboot
hostname > /probe/hostname
journalctl -b -u register-firstboot.service -u register-kiosk.service --no-pager > /probe/journal
systemctl poweroff --no-block
"""


def boot(root: Path, tmp_path: Path, files: dict[str, str]) -> dict[str, str]:
    """Boot the image once with `files` on its boot partition; what the probe saw."""
    boot_dir, probe = tmp_path / "bootpart", tmp_path / "probe"
    boot_dir.mkdir()
    probe.mkdir()
    for name, text in files.items():
        (boot_dir / name).write_text(text)
    units = root / "etc/systemd/system"
    (units / "register-kiosk.service.d").mkdir()
    (units / "register-kiosk.service.d/stand-in.conf").write_text(KIOSK_DROP_IN)
    (units / "register-probe.service").write_text(PROBE)
    (units / "multi-user.target.wants/register-probe.service").symlink_to(
        "/etc/systemd/system/register-probe.service"
    )
    (root / "usr/local/lib/stand-in-kiosk.py").write_text(STAND_IN)
    (root / "usr/local/lib/probe.sh").write_text(PROBE_SH)
    done = subprocess.run(
        ["systemd-nspawn", "--quiet", "--register=no", "--keep-unit", "-D", str(root), "--boot",
         f"--bind={boot_dir}:/boot/firmware", f"--bind={probe}:/probe"],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    seen = {p.name: p.read_text().strip() for p in probe.iterdir()}
    assert "kiosk" in seen, f"the probe did not run:\n{done.stdout[-4000:]}\n{done.stderr}"
    seen["boot files"] = " ".join(sorted(p.name for p in boot_dir.iterdir()))
    return seen


def test_a_boot_with_a_good_file_sets_up_and_keeps_the_kiosk_alive(
    overlay: Path, tmp_path: Path
) -> None:
    seen = boot(overlay, tmp_path, {"register.toml": GOOD, "broker-password": "pw\n"})

    assert seen["firstboot"] == "success", seen["journal"]
    assert seen["hostname"] == "register-s1-r1"
    assert seen["boot files"] == "register-applied.toml"
    # started by first boot, READY from systemd_notify, killed once by the watchdog, back
    assert seen["kiosk"] == "active", seen["journal"]
    assert seen["restarts"] == "1", seen["journal"]
    assert "Watchdog timeout" in seen["journal"]


def test_a_boot_with_a_bad_file_keeps_it_and_shows_why(overlay: Path, tmp_path: Path) -> None:
    bad = GOOD.replace('store = "s1"', 'store = "S 1"')

    seen = boot(overlay, tmp_path, {"register.toml": bad, "broker-password": "pw\n"})

    assert seen["firstboot"] == "exit-code"
    assert seen["kiosk"] == "inactive"
    assert seen["boot files"] == "broker-password register-error.txt register.toml"
    issue = (overlay / "etc/issue.d/register.issue").read_text()
    assert "key:       register.store" in issue
    assert "key:       register.store" in seen["journal"]
    assert seen["hostname"] == "register-unconfigured"


# --- an upgrade inside the image ----------------------------------------------------------

SYSTEMCTL_STUB = """#!/bin/sh
echo "$@" >> /var/log/systemctl-calls
"""


def bundle_of(version: str, tmp_path: Path) -> Path:
    """The build's bundle with the appliance wheel rebuilt as `version`."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("appliance", "hw", "backoffice", "devstack"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "README.md", source / "README.md")
    pyproject = (REPO / "pyproject.toml").read_text()
    (source / "pyproject.toml").write_text(
        re.sub(r'(?m)^version = ".*"$', f'version = "{version}"', pyproject, count=1)
    )
    bundle = tmp_path / "bundle"
    shutil.copytree(REPO / "image/build/bundle", bundle)
    for old in (bundle / "wheels").glob("register_appliance-*.whl"):
        old.unlink()
    wheel = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(bundle / "wheels")]
    subprocess.run([*wheel, str(source)], check=True, capture_output=True)
    (bundle / "VERSION").write_text(version + "\n")
    return bundle


def test_an_upgrade_waits_for_the_outbox_then_switches_once(
    overlay: Path,
    shop: Shop,  # noqa: F811
    tmp_path: Path,
) -> None:
    if not (REPO / "image/build/bundle").is_dir():
        pytest.skip("needs the bundle of a build in this tree (REGISTER_ROOTFS from elsewhere)")
    # the register of `shop` (3 unconfirmed sales), moved into the image
    data = overlay / "var/lib/appliance"
    for item in shop.config.register.data_dir.iterdir():
        shutil.copy(item, data / item.name)
    text = re.sub(r"(?m)^data_dir = .*$", 'data_dir = "/var/lib/appliance"', shop.path.read_text())
    (overlay / "etc/appliance").mkdir()
    (overlay / "etc/appliance/register.toml").write_text(text)
    (overlay / "usr/local/sbin/systemctl").write_text(SYSTEMCTL_STUB)
    (overlay / "usr/local/sbin/systemctl").chmod(0o755)
    bundle = bundle_of("0.2.0", tmp_path)
    shutil.copytree(bundle, overlay / "tmp/bundle")
    calls = overlay / "var/log/systemctl-calls"

    refused = chroot(overlay, "register-upgrade", "/tmp/bundle")

    assert refused.returncode == 1
    assert "refused: 3 outbox entries are not confirmed" in refused.stderr
    assert not calls.exists(), "the register was not stopped"
    assert os.readlink(overlay / "opt/register/venv") == "releases/0.1.0"

    saved = chroot(overlay, "/opt/register/venv/bin/appliance", "outbox", "export", "/tmp/o.jsonl")
    assert saved.returncode == 0, saved.stderr
    done = chroot(overlay, "register-upgrade", "/tmp/bundle", "--exported", "/tmp/o.jsonl")

    assert done.returncode == 0, done.stderr
    assert "upgraded the register from 0.1.0 to 0.2.0" in done.stdout
    assert calls.read_text().splitlines() == [
        "stop register-kiosk.service",
        "start register-kiosk.service",
    ]
    assert os.readlink(overlay / "opt/register/venv") == "releases/0.2.0"
    marker = json.loads((data / "upgrade-migrated.json").read_text())
    assert marker["version"] == "0.2.0"
    asked = "from appliance.upgrade import installed_version as v; print(v())"
    version = chroot(overlay, "/opt/register/venv/bin/python", "-c", asked)
    assert version.stdout.strip() == "0.2.0"
    again = chroot(overlay, "register-upgrade", "/tmp/bundle")
    assert "register 0.2.0 is already the running version" in again.stdout
