"""`backoffice web-passwd` and `backoffice serve --web`, as processes; the password file."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
from pathlib import Path

import httpx2 as httpx
import pytest

from backoffice.web.auth import (
    PasswordFileError,
    Sessions,
    check_password,
    hash_password,
    read_password_file,
    write_password_file,
)
from backoffice.web.server import WebError, bind, parse_address
from devstack import Mosquitto
from tests.store.conftest import ROOT

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def backoffice(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "backoffice.cli", *args]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=60,
                          cwd=ROOT, env=ENV)  # fmt: skip


def test_web_passwd_writes_a_private_hash_and_a_secret(tmp_path: Path) -> None:
    target = tmp_path / "etc" / "dashboard.passwd"
    done = backoffice("web-passwd", str(target), "--password-stdin", stdin="till-roll-77\n")
    assert done.returncode == 0, done.stderr
    assert "till-roll-77" not in done.stdout + done.stderr + target.read_text()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    creds = read_password_file(target)
    assert check_password("till-roll-77", creds.password_hash)
    assert not check_password("till-roll-78", creds.password_hash)
    short = backoffice("web-passwd", str(target), "--password-stdin", stdin="short\n")
    assert short.returncode == 2 and "at least 8 characters" in short.stderr


def test_a_missing_or_bad_password_file_is_named_with_the_fix(tmp_path: Path) -> None:
    missing = tmp_path / "nope.passwd"
    with pytest.raises(PasswordFileError, match=r"nope.passwd: no such password file \(write"):
        read_password_file(missing)
    bad = tmp_path / "bad.passwd"
    for text, problem in [
        ("password = hunter22\nsession_secret = " + "a" * 64, "not a hash this version reads"),
        ("password = " + hash_password("x" * 8) + "\n", "no session_secret"),
        ("pasword = x\n", r"bad.passwd:1: expected `password = ...`"),
        ("password = " + hash_password("x" * 8) + "\nsession_secret = short\n", "too short"),
    ]:
        bad.write_text(text)
        with pytest.raises(PasswordFileError, match=problem):
            read_password_file(bad)
    serve = backoffice("serve", "--db", f"sqlite:///{tmp_path / 'bo.db'}", "--broker",
                       "mqtt://127.0.0.1:1", "--web", "0", "--web-password-file",
                       str(missing))  # fmt: skip
    assert serve.returncode == 2 and "no such password file" in serve.stderr
    assert "Traceback" not in serve.stderr
    alone = backoffice("serve", "--broker", "mqtt://127.0.0.1:1", "--web", "8080")
    assert alone.returncode == 2 and "--web needs --web-password-file" in alone.stderr


def test_addresses_and_a_busy_port() -> None:
    assert parse_address("8080") == ("127.0.0.1", 8080)
    assert parse_address("0.0.0.0:9000") == ("0.0.0.0", 9000)
    assert parse_address("[::1]:9000") == ("::1", 9000)
    with pytest.raises(WebError, match="expected PORT or HOST:PORT"):
        parse_address("127.0.0.1:http")
    first = bind("127.0.0.1", 0)
    try:
        with pytest.raises(WebError, match=r"cannot listen on 127.0.0.1:\d+"):
            bind("127.0.0.1", first.getsockname()[1])
    finally:
        first.close()


def test_a_session_ends_with_a_new_password_or_its_age(tmp_path: Path) -> None:
    creds = write_password_file(tmp_path / "a.passwd", "first-password")
    cookie = Sessions(creds).issue()
    assert Sessions(creds).valid(cookie)
    assert not Sessions(creds, max_age_s=-1).valid(cookie)
    renewed = read_password_file(tmp_path / "a.passwd")
    assert Sessions(renewed).valid(cookie)
    changed = write_password_file(tmp_path / "a.passwd", "second-password")
    assert not Sessions(changed).valid(cookie)
    assert not Sessions(creds).valid(cookie[:-2] + "xx") and not Sessions(creds).valid(None)


def test_serve_with_the_dashboard_then_stop(tmp_path: Path) -> None:
    write_password_file(tmp_path / "d.passwd", "owner-password")
    with Mosquitto(tmp_path / "mosquitto") as broker:
        proc = subprocess.Popen(
            [sys.executable, "-m", "backoffice.cli", "serve", "--db",
             f"sqlite:///{tmp_path / 'bo.db'}", "--broker", broker.url, "--web", "127.0.0.1:0",
             "--web-password-file", str(tmp_path / "d.passwd")],
            cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            found = re.match(r"dashboard at (http://127\.0\.0\.1:\d+/)$", line.strip())
            assert found, line
            with httpx.Client(base_url=found.group(1), timeout=5) as client:
                assert client.get("healthz").text == "ok"
                assert client.get("dashboard").status_code == 303
                login = client.post("login", data={"password": "owner-password"})
                assert login.status_code == 303
                page = client.get("dashboard")
                assert page.status_code == 200 and "No register has reported yet." in page.text
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert "owner-password" not in err
