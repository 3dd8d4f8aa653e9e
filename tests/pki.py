"""A throwaway certificate authority for the TLS tests, made with the openssl command."""

from __future__ import annotations

import subprocess
from pathlib import Path


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(d: Path) -> Path:
    """`ca.crt` and `ca.key` in `d` (valid two days); `d` back."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
            "-keyout", "ca.key", "-out", "ca.crt", cwd=d)  # fmt: skip
    return d


def issue(d: Path, name: str, subject: str, extension: str) -> None:
    """`{name}.crt` and `{name}.key` in `d`, signed by the CA there, with one extension
    (`subjectAltName=IP:127.0.0.1` for a server, `extendedKeyUsage=clientAuth`...)."""
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", f"{name}.key",
            "-out", f"{name}.csr", cwd=d)  # fmt: skip
    (d / f"{name}.ext").write_text(extension + "\n")
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.crt",
            cwd=d)  # fmt: skip
