"""A throwaway PostgreSQL cluster in a temp dir, on a free loopback port.

Theory of operation: ``initdb`` makes a cluster under ``DIR/data`` with trust auth for
everyone (it is reachable only on 127.0.0.1 and through a socket in ``DIR``), ``pg_ctl``
starts it with its log in ``DIR/postgres.log``, and one database is created. PostgreSQL
refuses to run as root, so as root every server command runs as the ``postgres`` user
through ``runuser`` and ``DIR`` belongs to that user; otherwise it runs as the caller.

``fsync`` is off by default: a test cluster that is thrown away gains nothing from
flushing to disk, and commits get several times faster. A benchmark that claims to say
something about a production server's commit rate must pass ``fsync=True``. Note that
with fsync off a ``kill()`` of the server is still survivable (the OS keeps the pages);
only a power cut of the machine would corrupt the cluster.
"""

import contextlib
import os
import pwd
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Self

import psycopg
from psycopg import sql

from devstack._service import Service
from devstack.errors import ServiceError, log_tail
from devstack.ports import LOOPBACK, free_port
from devstack.procs import alive, children

SUPERUSER = "postgres"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def find_bindir(root: Path = Path("/usr/lib/postgresql")) -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` that holds ``initdb``."""
    candidates = [
        path
        for path in root.glob("*/bin")
        if (path / "initdb").exists() and path.parent.name.replace(".", "").isdigit()
    ]
    if not candidates:
        found = shutil.which("initdb")
        if found:
            return Path(found).parent
        raise ServiceError(f"no PostgreSQL under {root} (apt-get install postgresql)")
    return max(candidates, key=lambda path: [int(part) for part in path.parent.name.split(".")])


class Postgres(Service):
    """A PostgreSQL server on 127.0.0.1:`port` with one database, `dbname`.

    Use as a context manager or call ``start()`` and ``close()``. ``settings`` adds
    ``-c name=value`` server options (e.g. ``{"max_connections": 200}``).
    """

    def __init__(
        self,
        *,
        dbname: str = "backoffice",
        port: int | None = None,
        fsync: bool = False,
        settings: Mapping[str, str | int | bool] | None = None,
        base_dir: Path | str | None = None,
        start_timeout: float = 30.0,
        bindir: Path | str | None = None,
    ) -> None:
        if not _NAME.fullmatch(dbname):
            raise ValueError(f"database name {dbname!r} is not a plain identifier")
        self.dbname = dbname
        self._port_chosen = port is None
        self.port: int = port if port is not None else free_port()
        self.host = LOOPBACK
        self.user = SUPERUSER
        self.fsync = fsync
        self.settings = dict(settings or {})
        self.base_dir = Path(base_dir) if base_dir is not None else None
        self.start_timeout = start_timeout
        self._bindir = Path(bindir) if bindir is not None else None
        self._directory: Path | None = None
        self._initialised = False
        self._closed = False

    # -- paths and addresses -------------------------------------------------------------

    @property
    def directory(self) -> Path:
        """The temp dir holding the cluster, its socket and its log (made on first start)."""
        if self._directory is None:
            raise ServiceError("the cluster has not been created yet: call start()")
        return self._directory

    @property
    def data_dir(self) -> Path:
        """PGDATA."""
        return self.directory / "data"

    @property
    def log_path(self) -> Path:
        """The server log written by ``pg_ctl -l``."""
        return self.directory / "postgres.log"

    @property
    def bindir(self) -> Path:
        """The directory of ``initdb``, ``pg_ctl`` and ``postgres``."""
        if self._bindir is None:
            self._bindir = find_bindir()
        return self._bindir

    @property
    def url(self) -> str:
        """``postgresql://postgres@127.0.0.1:PORT/DBNAME``, usable as a psycopg conninfo."""
        return self.url_for(self.dbname)

    def url_for(self, dbname: str) -> str:
        """The URL of another database on this server (``postgres``, say)."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    @property
    def pid(self) -> int | None:
        """The postmaster's process id while it runs."""
        if self._directory is None:
            return None
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if alive(pid) else None

    @property
    def running(self) -> bool:
        """Whether the postmaster is alive."""
        return self.pid is not None

    # -- running the server's tools -------------------------------------------------------

    def _as_server_user(self, argv: Sequence[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", SUPERUSER, "--", *argv]
        return list(argv)

    def _run(self, argv: Sequence[str], what: str) -> str:
        result = subprocess.run(
            self._as_server_user(argv),
            cwd=self.directory,  # runuser keeps the cwd, which may be closed to postgres
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        output = result.stdout + result.stderr
        if result.returncode != 0:
            raise ServiceError(
                f"{what} failed ({result.returncode}):\n{output}\n"
                f"--- {self.log_path}\n{log_tail(self.log_path)}"
            )
        return output

    def _make_directory(self) -> Path:
        directory = Path(tempfile.mkdtemp(prefix="devstack-postgres-", dir=self.base_dir))
        if os.geteuid() == 0:
            try:
                server_user = pwd.getpwnam(SUPERUSER)
            except KeyError:
                shutil.rmtree(directory, ignore_errors=True)
                raise ServiceError("running as root but there is no `postgres` user") from None
            os.chown(directory, server_user.pw_uid, server_user.pw_gid)
        return directory

    def _server_options(self) -> str:
        options = [
            ("listen_addresses", self.host),
            ("port", str(self.port)),
            ("unix_socket_directories", str(self.directory)),
            ("fsync", "on" if self.fsync else "off"),
        ]
        for name, value in self.settings.items():
            text = ("on" if value else "off") if isinstance(value, bool) else str(value)
            options.append((name, text))
        # pg_ctl hands -o to a shell, so each option is quoted.
        return " ".join(f"-c {shlex.quote(f'{name}={value}')}" for name, value in options)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> Self:
        """Create the cluster on first use, start the server and create the database.

        Raises :class:`ServiceError` with the server log if it does not come up. On the
        first start only, a port chosen here that turns out taken is replaced (3 tries).
        """
        if self._closed:
            raise ServiceError("this Postgres was closed")
        if self.running:
            return self
        if self._directory is None:
            self._directory = self._make_directory()
        self._remove_stale_lock()
        if not self._initialised:
            self._run(
                [
                    str(self.bindir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    SUPERUSER,
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ],
                "initdb",
            )
            self._initialised = True
        for attempt in range(3):
            try:
                self._pg_ctl_start()
                break
            except ServiceError:
                taken = "Address already in use" in log_tail(self.log_path, 10)
                if not (taken and self._port_chosen and attempt < 2):
                    raise
                self.port = free_port()
        self._port_chosen = False  # a restart must come back on the same port
        self._create_database()
        return self

    def _remove_stale_lock(self) -> None:
        """Drop the lock files of a postmaster that is dead.

        After ``kill()`` the postmaster is a zombie until init reaps it (seconds, here), and
        PostgreSQL takes a zombie's pid for a live server; a crashed-and-rebooted machine
        never has that problem, so removing the locks is what a real restart would see.
        """
        lock = self.data_dir / "postmaster.pid"
        if not lock.exists() or self.pid is not None:
            return
        lock.unlink(missing_ok=True)
        for stale in self.directory.glob(".s.PGSQL.*"):
            stale.unlink(missing_ok=True)

    def _pg_ctl_start(self) -> None:
        self._run(
            [
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_path),
                "-w",
                "-t",
                str(max(1, round(self.start_timeout))),
                "-o",
                self._server_options(),
                "start",
            ],
            f"pg_ctl start on port {self.port}",
        )

    def _create_database(self) -> None:
        with psycopg.connect(self.url_for("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.dbname,)
            ).fetchone()
            if exists is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.dbname)))

    def stop(self) -> None:
        """``pg_ctl -m fast stop``: disconnect clients, shut down cleanly, wait."""
        if not self.running:
            return
        self._run(
            [str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"],
            "pg_ctl stop",
        )

    def kill(self, timeout: float = 10.0) -> None:
        """SIGKILL the postmaster and its children: a crash; the next start recovers."""
        pid = self.pid
        if pid is None:
            return
        # Children are collected first: once the postmaster is gone they are reparented.
        victims = [pid, *children(pid)]
        for victim in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while any(alive(victim) for victim in victims):
            if time.monotonic() > deadline:
                raise ServiceError(f"postgres processes {victims} survived SIGKILL")
            time.sleep(0.01)

    def restart(self) -> Self:
        """Stop (fast) if running, then start again on the same port and data."""
        self.stop()
        return self.start()

    def close(self) -> None:
        """Stop the server (killing it if a clean stop fails) and remove its directory."""
        if self._closed:
            return
        self._closed = True
        if self._directory is None:
            return
        try:
            self.stop()
        except ServiceError:
            self.kill()
            raise
        finally:
            shutil.rmtree(self._directory, ignore_errors=True)

    def log_text(self) -> str:
        """The server log so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except (FileNotFoundError, ServiceError):
            return ""

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<Postgres {self.url} {state}>"
