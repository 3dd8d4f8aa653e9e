"""`backoffice register-add`, `register-remove` and `broker-user` over real files.

The password lines are made by the real `mosquitto_passwd`, the certificates by the
real openssl; a broker reading these files is in tests/security/test_broker_acl.py.
"""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

from backoffice import provision
from backoffice.cli import main
from tests.pki import make_ca
from tests.store.conftest import ROOT

EXAMPLE_ACL = ROOT / "config" / "broker" / "pos.acl.example"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def files(tmp_path: Path) -> list[str]:
    return ["--passwd", str(tmp_path / "pos.passwd"), "--acl", str(tmp_path / "pos.acl")]


def users(passwd: Path) -> dict[str, str]:
    return dict(line.split(":", 1) for line in passwd.read_text().splitlines())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_register_add_writes_the_password_its_hash_and_its_acl_block(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    boot = tmp_path / "boot"
    code, out, err = run(capsys, "register-add", "s1", "r1", "--out", str(boot), *files(tmp_path))
    assert code == 0, err
    secret = (boot / provision.PASSWORD_FILE).read_text()
    assert secret.endswith("\n") and len(secret.strip()) >= 40
    assert mode(boot / provision.PASSWORD_FILE) == 0o600
    assert secret.strip() not in out + err  # where it went is printed, never the password
    assert f"wrote {boot / provision.PASSWORD_FILE}" in out
    assert 'username = "s1.r1"' in out
    assert 'password_file = "/etc/appliance/broker-password"' in out
    hashed = users(tmp_path / "pos.passwd")
    assert list(hashed) == ["s1.r1"] and hashed["s1.r1"].startswith("$7$")  # PBKDF2-SHA512
    assert mode(tmp_path / "pos.passwd") == 0o600
    acl = (tmp_path / "pos.acl").read_text()
    block = acl[acl.index("user s1.r1") :].splitlines()
    assert block == [
        "user s1.r1",
        "topic write pos/v1/s1/r1/out/#",
        "topic write pos/v1/s1/r1/rpc/req",
        "topic write pos/v1/s1/r1/status",
        "topic read pos/v1/s1/r1/ack",
        "topic read pos/v1/s1/r1/rpc/res",
        "topic read pos/v1/s1/catalog/version",
    ]


def test_rerunning_replaces_only_that_registers_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    acl = tmp_path / "pos.acl"
    hand_written = "user auditor\ntopic read pos/v1/+/+/status\n\n"
    acl.write_text(hand_written + EXAMPLE_ACL.read_text())  # hand-written blocks stay
    for store, register in (("s1", "r1"), ("s1", "r2"), ("s2", "r1")):
        assert run(capsys, "register-add", store, register, "--out", str(tmp_path / register),
                   *files(tmp_path))[0] == 0  # fmt: skip
    assert run(capsys, "broker-user", "--out", str(tmp_path), *files(tmp_path))[0] == 0
    before_hashes, before_acl = users(tmp_path / "pos.passwd"), acl.read_text()
    old_secret = (tmp_path / "r2" / provision.PASSWORD_FILE).read_text()
    assert run(capsys, "register-add", "s1", "r2", "--out", str(tmp_path / "r2"),
               *files(tmp_path))[0] == 0  # fmt: skip
    after = users(tmp_path / "pos.passwd")
    assert sorted(after) == ["backoffice", "s1.r1", "s1.r2", "s2.r1"]
    assert after["s1.r2"] != before_hashes["s1.r2"]  # rotated
    assert {u: h for u, h in after.items() if u != "s1.r2"} == {
        u: h for u, h in before_hashes.items() if u != "s1.r2"
    }
    assert (tmp_path / "r2" / provision.PASSWORD_FILE).read_text() != old_secret
    assert acl.read_text() == before_acl  # the same block, in the same place
    text = acl.read_text()
    assert text.count("user s1.r2") == 1 and text.count("user backoffice") == 1
    assert text.startswith(hand_written + EXAMPLE_ACL.read_text().split("user s1.r1")[0])
    assert text.count("user s1.r1\ntopic write pos/v1/s1/r1/out/#") == 1  # the example's, kept


def test_the_back_office_block_reads_every_register_and_writes_the_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "broker-user", "--out", str(tmp_path), "--shared", "bo-pool",
                         *files(tmp_path))  # fmt: skip
    assert code == 0, err
    secret_file = tmp_path / "backoffice-broker-password"
    assert mode(secret_file) == 0o600 and secret_file.read_text().strip() not in out
    assert f"--broker-password-file {secret_file}" in out
    text = (tmp_path / "pos.acl").read_text()
    assert text[text.index("user backoffice") :].splitlines()[1:] == [
        "topic read pos/v1/+/+/out/#",
        "topic read pos/v1/+/+/rpc/req",
        "topic read pos/v1/+/+/status",
        "topic read $share/bo-pool/pos/v1/+/+/out/#",
        "topic read $share/bo-pool/pos/v1/+/+/rpc/req",
        "topic write pos/v1/+/+/ack",
        "topic write pos/v1/+/+/rpc/res",
        "topic write pos/v1/+/catalog/version",
    ]


@pytest.mark.parametrize(
    "store, register, named",
    [
        ("S1", "r1", "store 'S1'"),
        ("s1", "r/1", "register 'r/1'"),
        ("s1", "+", "register '+'"),
        ("s#", "r1", "store 's#'"),
        ("s1", "r.1", "register 'r.1'"),
        ("s1", "-r1", "register '-r1'"),
        ("s1", "r" * 65, "register 'rrrr"),
        ("", "r1", "store ''"),
    ],
)
def test_a_bad_id_is_refused_naming_it_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], store: str, register: str, named: str
) -> None:
    code, _, err = run(capsys, "register-add", "--out", str(tmp_path / "o"), *files(tmp_path),
                       "--", store, register)  # fmt: skip
    assert code == 2 and err.startswith(f"error: {named}") and "expected an id" in err
    assert not any(tmp_path.iterdir())


def test_register_remove_revokes_one_register(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for register in ("r1", "r2"):
        run(capsys, "register-add", "s1", register, "--out", str(tmp_path / register),
            *files(tmp_path))  # fmt: skip
    code, out, _ = run(capsys, "register-remove", "s1", "r1", *files(tmp_path))
    assert code == 0 and "broker user s1.r1: removed" in out
    assert list(users(tmp_path / "pos.passwd")) == ["s1.r2"]
    text = (tmp_path / "pos.acl").read_text()
    assert "s1.r1" not in text and "pos/v1/s1/r1/" not in text and "user s1.r2" in text
    code, _, err = run(capsys, "register-remove", "s1", "r1", *files(tmp_path))
    assert code == 2 and "no broker user s1.r1" in err


def test_without_mosquitto_passwd_the_error_says_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(provision.ProvisionError, match="mosquitto package"):
        provision.add_register("s1", "r1", out=tmp_path / "o", passwd_file=tmp_path / "p",
                               acl_file=tmp_path / "a", binary="no-such-tool")  # fmt: skip


def test_replace_block_keeps_every_other_line() -> None:
    text = (
        "# header\n"
        "topic read anonymous/#\n"
        "\n"
        "# about a\n"
        "user a\n"
        "topic read a/#\n"
        "# a's note\n"
        "topic write a/x\n"
        "\n"
        "# about b\n"
        "user b\n"
        "topic read b/#\n"
        "pattern read %u/#\n"
    )
    replaced = provision.replace_block(text, "a", ["user a", "topic read a/new"])
    assert replaced == text.replace("topic read a/#\n# a's note\ntopic write a/x\n",
                                    "topic read a/new\n")  # fmt: skip
    removed = provision.replace_block(text, "b", None)
    assert removed == text.replace("user b\ntopic read b/#\n", "")  # the pattern line stays
    added = provision.replace_block(text, "c", ["user c", "topic read c/#"])
    assert added == text + "\nuser c\ntopic read c/#\n"
    assert provision.replace_block("", "c", ["user c"]) == "user c\n"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_ca(tmp_path_factory.mktemp("ca"))


def test_cert_issues_a_client_certificate_named_after_the_user(
    tmp_path: Path, ca: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    boot = tmp_path / "boot"
    run(capsys, "register-add", "s1", "r1", "--out", str(boot), *files(tmp_path))
    assert "s1.r1" in users(tmp_path / "pos.passwd")
    code, out, err = run(capsys, "register-add", "s1", "r1", "--out", str(boot), "--cert",
                         "--ca-cert", str(ca / "ca.crt"), "--ca-key", str(ca / "ca.key"),
                         *files(tmp_path))  # fmt: skip
    assert code == 0, err
    assert "s1.r1" not in users(tmp_path / "pos.passwd")  # logs in by certificate only now
    assert mode(boot / provision.KEY_FILE) == 0o600
    assert (boot / provision.CA_FILE).read_bytes() == (ca / "ca.crt").read_bytes()
    shown = subprocess.run(["openssl", "x509", "-in", str(boot / provision.CERT_FILE), "-noout",
                            "-subject", "-ext", "extendedKeyUsage"], capture_output=True,
                           text=True, check=True)  # fmt: skip
    assert "CN = s1.r1" in shown.stdout and "TLS Web Client Authentication" in shown.stdout
    verify = ["openssl", "verify", "-CAfile", str(ca / "ca.crt"), str(boot / provision.CERT_FILE)]
    verified = subprocess.run(verify, capture_output=True, text=True)
    assert verified.returncode == 0, verified.stderr
    assert 'cert_file = "/etc/appliance/client.crt"' in out and "  username =" not in out
    assert not [p for p in boot.iterdir() if p.name.startswith(".cert-")]  # scratch removed
    code, _, err = run(capsys, "register-add", "s1", "r1", "--cert", *files(tmp_path))
    assert code == 2 and "--cert needs --ca-cert FILE and --ca-key FILE" in err


def test_serve_takes_the_broker_password_from_a_file(tmp_path: Path) -> None:
    from backoffice.cli import CommandError, _broker_url

    secret = tmp_path / "pw"
    secret.write_text("a/b@c:d\n")
    url = _broker_url("mqtt://backoffice@127.0.0.1:1883", secret)
    assert url == "mqtt://backoffice:a%2Fb%40c%3Ad@127.0.0.1:1883"
    from backoffice.service import parse_broker_url

    assert parse_broker_url(url) == ("127.0.0.1", 1883, False, "backoffice", "a/b@c:d")
    assert _broker_url("mqtt://h:1", None) == "mqtt://h:1"
    for bad in ("mqtt://127.0.0.1:1883", "mqtt://u:p@127.0.0.1:1883"):
        with pytest.raises(CommandError, match="USER@host"):
            _broker_url(bad, secret)
