"""The dashboard's login: one password, kept only as a salted scrypt hash, and a signed cookie.

The password file (written by `backoffice web-passwd`, mode 600) holds two lines:

    password = scrypt$16384$8$1$<salt, base64>$<hash, base64>
    session_secret = <64 hex digits>

Neither is ever given on a command line or logged. A session is a cookie signed with
the secret (itsdangerous), carrying the time it was made and a fingerprint of the hash:
a new password (or secret) ends every open session. The dashboard is read-only, so a
cross-site request can change nothing (CSRF); the cookie is also SameSite=Strict.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
COOKIE = "bo_session"
MIN_PASSWORD = 8


class PasswordFileError(ValueError):
    """A password file that is missing or cannot be used; the message names the fix."""


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """`scrypt$n$r$p$salt$hash` for a password (a fresh random salt unless given)."""
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            dklen=32)  # fmt: skip
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def _parse_hash(text: str) -> tuple[int, int, int, bytes, bytes]:
    parts = text.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise ValueError("expected scrypt$N$r$p$salt$hash")
    n, r, p = (int(x) for x in parts[1:4])
    if n < 2 or n & (n - 1) or not 1 <= r <= 64 or not 1 <= p <= 16 or n > 2**20:
        raise ValueError("scrypt parameters out of range")
    return (
        n,
        r,
        p,
        base64.b64decode(parts[4], validate=True),
        base64.b64decode(parts[5], validate=True),
    )


def check_password(password: str, stored: str) -> bool:
    """Whether `password` matches the stored hash (constant-time comparison)."""
    n, r, p, salt, expected = _parse_hash(stored)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=len(expected),
                            maxmem=256 * 1024 * 1024)  # fmt: skip
    return hmac.compare_digest(digest, expected)


@dataclass(frozen=True, slots=True)
class Credentials:
    """The password hash and the session secret, as read from the password file.

    Neither is in the repr: an object shown in a log line or a crash report says nothing.
    """

    password_hash: str = field(repr=False)
    session_secret: str = field(repr=False)

    @property
    def fingerprint(self) -> str:
        """A short digest of the hash: sessions made under another password do not count."""
        return hashlib.sha256(self.password_hash.encode()).hexdigest()[:16]


def write_password_file(path: Path, password: str) -> Credentials:
    """Hash `password`, make a new session secret and write both to `path` (mode 600)."""
    if len(password) < MIN_PASSWORD:
        raise PasswordFileError(f"the password needs at least {MIN_PASSWORD} characters")
    creds = Credentials(hash_password(password), secrets.token_hex(32))
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("# the back office dashboard's login, written by `backoffice web-passwd`\n")
        out.write(f"password = {creds.password_hash}\n")
        out.write(f"session_secret = {creds.session_secret}\n")
    os.replace(temp, path)
    return creds


def read_password_file(path: Path) -> Credentials:
    """The credentials in `path`; PasswordFileError naming the file and the problem."""
    hint = f"write one with `backoffice web-passwd {path}`"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PasswordFileError(f"{path}: no such password file ({hint})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PasswordFileError(f"{path}: cannot read the password file: {exc}") from None
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = (part.strip() for part in line.partition("="))
        if not sep or key not in ("password", "session_secret"):
            raise PasswordFileError(f"{path}:{number}: expected `password = ...` or "
                                    f"`session_secret = ...` ({hint})")  # fmt: skip
        values[key] = value
    for key in ("password", "session_secret"):
        if not values.get(key):
            raise PasswordFileError(f"{path}: no {key} ({hint})")
    try:
        _parse_hash(values["password"])
    except ValueError as exc:
        raise PasswordFileError(f"{path}: password: not a hash this version reads ({exc}); "
                                f"{hint}") from None  # fmt: skip
    if len(values["session_secret"]) < 32:
        raise PasswordFileError(f"{path}: session_secret: too short ({hint})")
    return Credentials(values["password"], values["session_secret"])


class Sessions:
    """Signed session cookies that expire after `max_age_s`."""

    def __init__(self, creds: Credentials, max_age_s: int = 12 * 3600) -> None:
        self._signer = URLSafeTimedSerializer(creds.session_secret, salt="backoffice-dashboard")
        self._fingerprint = creds.fingerprint
        self.max_age_s = max_age_s

    def issue(self) -> str:
        """A new session cookie value."""
        return self._signer.dumps({"owner": True, "pw": self._fingerprint})

    def valid(self, cookie: str | None) -> bool:
        """Whether the cookie is ours, unexpired and made under the current password."""
        if not cookie or len(cookie) > 512:
            return False
        try:
            data = self._signer.loads(cookie, max_age=self.max_age_s)
        except BadSignature:  # also SignatureExpired
            return False
        return isinstance(data, dict) and data.get("pw") == self._fingerprint
