"""First boot against a temp "boot partition" and a temp root: good files, bad files, repeats."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from appliance import firstboot
from appliance.cli import main
from appliance.config import load_config

ROOT = Path(__file__).resolve().parents[2]
ISSUE_SHIPPED = ROOT / "image/stages/50-firstboot/files/etc/issue.d/register.issue"

GOOD = """\
[register]
store = "main-street"
id = "till_2"
timezone = "America/Toronto"

[broker]
url = "mqtts://broker.example.com:8883"
username = "main-street.till-2"
password_file = "/etc/appliance/broker-password"
ca_file = "/etc/appliance/tls/ca.pem"

[devices.printer]
kind = "receipt_printer"
url = "socket://192.168.1.50:9100"
profile = "epson_tm_t20iii"
"""


@pytest.fixture
def target(tmp_path: Path) -> Path:
    """A root with the register user (our own ids, so chown works as any user)."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    uid, gid = os.getuid(), os.getgid()
    (root / "etc/passwd").write_text(
        f"root:x:0:0:root:/root:/bin/bash\nregister:x:{uid}:{gid}::/home/register:/bin/false\n"
    )
    (root / "etc/hosts").write_text("127.0.0.1\tlocalhost\n127.0.1.1\tregister-unconfigured\n")
    return root


@pytest.fixture
def boot(tmp_path: Path) -> Path:
    """The boot partition as an installer leaves it: the file and the secrets it names."""
    boot = tmp_path / "boot"
    boot.mkdir()
    (boot / "register.toml").write_text(GOOD)
    (boot / "broker-password").write_text("s3cret\n")
    (boot / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\nMII...\n")
    return boot


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_good_file_sets_the_register_up(boot: Path, target: Path) -> None:
    outcome = firstboot.apply(boot, target)

    assert outcome.status == "applied", outcome.message
    installed = target / "etc/appliance/register.toml"
    assert installed.read_text() == GOOD
    assert mode(installed) == 0o640
    assert load_config(installed).register.id == "till_2"
    password = target / "etc/appliance/broker-password"
    assert password.read_text() == "s3cret\n"
    assert mode(password) == 0o600 and password.stat().st_uid == os.getuid()
    assert mode(target / "etc/appliance/tls/ca.pem") == 0o600
    assert mode(target / "etc/appliance") == 0o750
    # underscores are not allowed in host names
    assert (target / "etc/hostname").read_text() == "register-main-street-till-2\n"
    hosts = (target / "etc/hosts").read_text().splitlines()
    assert hosts == ["127.0.0.1\tlocalhost", "127.0.1.1\tregister-main-street-till-2"]
    kiosk = target / "etc/systemd/system/graphical.target.wants/register-kiosk.service"
    assert os.readlink(kiosk) == "/etc/systemd/system/register-kiosk.service"
    assert (target / "var/lib/appliance").is_dir()
    # the secrets are off the FAT partition; the file is kept under another name
    assert sorted(p.name for p in boot.iterdir()) == ["register-applied.toml"]
    assert "configured" in (target / "etc/issue.d/register.issue").read_text()
    assert not (target / "etc/ssh").exists(), "no authorized_keys given: ssh stays off"
    assert not (target / "etc/systemd/system/multi-user.target.wants/ssh.service").exists()


def test_running_again_is_harmless(boot: Path, target: Path) -> None:
    assert firstboot.apply(boot, target).status == "applied"
    before = {p: p.read_bytes() for p in target.rglob("*") if p.is_file()}

    again = firstboot.apply(boot, target)

    assert again.status == "nothing" and again.exit_code == 0
    assert {p: p.read_bytes() for p in target.rglob("*") if p.is_file()} == before


def test_a_new_file_later_reconfigures_with_the_secrets_already_installed(
    boot: Path, target: Path
) -> None:
    assert firstboot.apply(boot, target).status == "applied"
    (boot / "register.toml").write_text(GOOD.replace('id = "till_2"', 'id = "till-3"'))

    outcome = firstboot.apply(boot, target)

    assert outcome.status == "applied", outcome.message
    assert (target / "etc/hostname").read_text() == "register-main-street-till-3\n"
    assert (target / "etc/appliance/broker-password").read_text() == "s3cret\n"


def test_an_authorized_keys_file_turns_ssh_on(boot: Path, target: Path) -> None:
    (boot / "authorized_keys").write_text("ssh-ed25519 AAAA tech@shop\n")

    assert firstboot.apply(boot, target).status == "applied"

    keys = target / "root/.ssh/authorized_keys"
    assert keys.read_text() == "ssh-ed25519 AAAA tech@shop\n" and mode(keys) == 0o600
    ssh = target / "etc/systemd/system/multi-user.target.wants/ssh.service"
    assert os.readlink(ssh) == "/lib/systemd/system/ssh.service"
    assert not (boot / "authorized_keys").exists()


BAD = [
    (
        GOOD.replace('url = "mqtts://broker.example.com:8883"', 'url = "http://broker"'),
        "broker.url",
        "an mqtt:// or mqtts:// URL",
    ),
    (GOOD + "\n[receipt]\nwidht = 40\n", "receipt.widht", "did you mean 'width'?"),
    (GOOD.replace('store = "main-street"\n', ""), "register.store", "missing required key"),
    (
        GOOD.replace('"/etc/appliance/broker-password"', '"broker-password"'),
        "broker.password_file",
        "an absolute path under /etc/appliance/",
    ),
    (
        GOOD.replace('"/etc/appliance/tls/ca.pem"', '"/etc/appliance/tls/missing.pem"'),
        "broker.ca_file",
        "a file called missing.pem beside register.toml",
    ),
    (
        GOOD.replace('"epson_tm_t20iii"', '"epson_tm_t20"'),
        "devices.printer.profile",
        "no device profile 'epson_tm_t20'",
    ),
    (
        GOOD.replace('timezone = "America/Toronto"', 'data_dir = "/home/x"'),
        "register.data_dir",
        "/var/lib/appliance or a directory under it",
    ),
    ("[register\nstore = 1\n", "", "invalid TOML"),
]


@pytest.mark.parametrize(("text", "key", "said"), BAD, ids=[k or "toml" for _, k, _ in BAD])
def test_a_bad_file_is_named_shown_and_kept(
    boot: Path, target: Path, text: str, key: str, said: str
) -> None:
    (boot / "register.toml").write_text(text)
    files_before = sorted(p.name for p in boot.iterdir())

    outcome = firstboot.apply(boot, target)

    assert outcome.status == "failed" and outcome.exit_code == 1
    for shown in (
        target / "run/register/firstboot-error",
        target / "etc/issue.d/register.issue",
        boot / "register-error.txt",
    ):
        message = shown.read_text()
        assert f"file:      {boot / 'register.toml'}" in message
        if key:
            assert f"key:       {key}\n" in message
        assert said in message
    assert (boot / "register.toml").read_text() == text, "the file is kept for a retry"
    assert sorted(p.name for p in boot.iterdir()) == sorted([*files_before, "register-error.txt"])
    assert not (target / "etc/appliance").exists(), "nothing was installed"
    assert not (target / "etc/systemd").exists(), "the kiosk stays off"


def test_fixing_the_file_clears_the_message(boot: Path, target: Path) -> None:
    (boot / "register.toml").write_text(GOOD.replace("mqtts://", "http://"))
    assert firstboot.apply(boot, target).status == "failed"
    (boot / "register.toml").write_text(GOOD)

    assert firstboot.apply(boot, target).status == "applied"

    assert not (target / "run/register/firstboot-error").exists()
    assert not (boot / "register-error.txt").exists()
    assert "not set up" not in (target / "etc/issue.d/register.issue").read_text()


def test_no_file_and_no_config_says_how_to_set_it_up(tmp_path: Path, target: Path) -> None:
    outcome = firstboot.apply(tmp_path, target)

    assert outcome.status == "failed"
    assert (target / "etc/issue.d/register.issue").read_text() == ISSUE_SHIPPED.read_text()


def test_an_agetty_escape_in_a_value_is_shown_as_written(boot: Path, target: Path) -> None:
    (boot / "register.toml").write_text(GOOD.replace('"till_2"', '"till\\\\n2"'))

    assert firstboot.apply(boot, target).status == "failed"

    assert "till\\\\\\\\n2" in (target / "etc/issue.d/register.issue").read_text()
    assert "till\\\\n2" in (target / "run/register/firstboot-error").read_text()


def test_the_command_line(boot: Path, target: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["firstboot", "--boot", str(boot), "--root", str(target)]) == 0
    assert "set up store main-street, register till_2" in capsys.readouterr().out
    (boot / "register.toml").write_text("[register]\nstore = 1\n")
    assert main(["firstboot", "--boot", str(boot), "--root", str(target)]) == 1
    assert "key:       register.store" in capsys.readouterr().err


def test_a_root_without_the_register_user_is_refused_before_anything_is_written(
    boot: Path, target: Path
) -> None:
    (target / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")

    with pytest.raises(RuntimeError, match="no user 'register'"):
        firstboot.apply(boot, target)

    assert (boot / "broker-password").exists()
