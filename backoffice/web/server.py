"""Serving the dashboard: uvicorn on its own thread (`backoffice-web`), beside the consumer.

The socket is bound here, before the thread starts, so a busy port or a bad address is
an error in the caller with the address named, not a log line from inside uvicorn.
The dashboard opens its own `Database` connection: its reads never queue behind, or
hold up, the consumer's writes (SQLite WAL readers do not block the writer).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
from pathlib import Path

import uvicorn

from backoffice.db import Database
from backoffice.web.app import WebSettings, create_app
from backoffice.web.auth import read_password_file

log = logging.getLogger(__name__)
DEFAULT_HOST = "127.0.0.1"


class WebError(ValueError):
    """The dashboard cannot start: the message names what to fix."""


def parse_address(text: str) -> tuple[str, int]:
    """`PORT`, `HOST:PORT` or `[V6]:PORT`; the host is loopback unless one is named."""
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = DEFAULT_HOST, text
    host = host.strip("[]") or DEFAULT_HOST
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise WebError(f"--web {text!r}: expected PORT or HOST:PORT")
    return host, int(port)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on (host, port); WebError naming the address if that fails."""
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        family = socket.AF_INET  # a host name: resolved by bind
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise WebError(
            f"dashboard: cannot listen on {host}:{port}: {exc.strerror or exc}"
        ) from None
    sock.setblocking(False)
    return sock


class WebServer:
    """The dashboard on (host, port) until `stop()`."""

    def __init__(
        self, db_url: str, password_file: Path, host: str = DEFAULT_HOST, port: int = 8080,
        settings: WebSettings | None = None,
    ) -> None:  # fmt: skip
        self.creds = read_password_file(password_file)  # fails before anything opens
        self.db_url, self.host, self.port = db_url, host, port
        self.settings = settings or WebSettings()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._db: Database | None = None

    @property
    def url(self) -> str:
        """Where the dashboard answers."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def start(self, timeout: float = 10.0) -> None:
        """Bind, open the database and serve on the `backoffice-web` thread."""
        sock = bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        self._db = Database(self.db_url)
        app = create_app(self._db, self.creds, self.settings)
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                proxy_headers=False, server_header=False)  # fmt: skip
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="backoffice-web", daemon=True)  # fmt: skip
        self._thread.start()
        stopped = threading.Event()
        for _ in range(int(timeout / 0.02)):
            if self._server.started or not self._thread.is_alive():
                break
            stopped.wait(0.02)
        if not self._server.started:
            self.stop()
            raise WebError(f"dashboard: did not start on {self.url}")
        if not ipaddress.ip_address(sock.getsockname()[0]).is_loopback:
            log.warning("dashboard listens beyond this machine at %s", self.url)
        log.info("dashboard at %s", self.url)

    def stop(self) -> None:
        """Stop serving (open polls are cut) and close the database."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._db is not None:
            self._db.close()
        self._server = self._thread = self._db = None

    def __enter__(self) -> WebServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
