"""A throwaway Mosquitto broker on a free loopback port, for tests, benchmarks and the demo.

Theory of operation: the broker gets its own directory holding the config it was started
with (``mosquitto.conf``), its log (``mosquitto.log``), whatever it printed before the log
was open (``stderr.log``) and, with persistence on, its database under ``persist/``.
``restart()`` reuses the port and the directory, so a persistent broker comes back with
its retained messages and sessions, the way a broker restart looks to a register.

Mosquitto writes its database only on a clean shutdown and every ``autosave_interval``
seconds (30 min by default): after ``kill()`` anything since the last save is gone, which
is the point of testing it.
"""

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Self

from devstack._service import Service
from devstack.errors import ServiceError, log_tail
from devstack.ports import LOOPBACK, free_port, process_listens_on, wait_until

MOSQUITTO = Path("/usr/sbin/mosquitto")

ConfigValue = str | int | bool | Path


def _render(value: ConfigValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Mosquitto(Service):
    """A Mosquitto broker process listening on 127.0.0.1:`port`.

    Use as a context manager (``with Mosquitto() as broker: ...``) or call ``start()``
    and ``close()``. Anonymous clients are allowed unless a password file is given.
    ``extra`` adds config lines after the listener (so listener options such as
    ``use_identity_as_username`` apply to it); ``log_types`` defaults to ``all``, which
    logs every packet and slows a benchmark: pass ``("error", "warning")`` there.
    """

    def __init__(
        self,
        directory: Path | str | None = None,
        *,
        port: int | None = None,
        persistence: bool = False,
        autosave_interval: int | None = None,
        allow_anonymous: bool | None = None,
        password_file: Path | str | None = None,
        acl_file: Path | str | None = None,
        max_queued_messages: int = 1000,
        cafile: Path | str | None = None,
        certfile: Path | str | None = None,
        keyfile: Path | str | None = None,
        require_certificate: bool = False,
        log_types: Sequence[str] = ("all",),
        extra: Mapping[str, ConfigValue] | None = None,
        start_timeout: float = 5.0,
        binary: Path | str = MOSQUITTO,
    ) -> None:
        if (certfile is None) != (keyfile is None):
            raise ValueError("a TLS listener needs both certfile and keyfile")
        self._owns_directory = directory is None
        self.directory = Path(directory or tempfile.mkdtemp(prefix="devstack-mosquitto-"))
        self.directory.mkdir(parents=True, exist_ok=True)
        self._port_chosen = port is None
        self.port: int = port if port is not None else free_port()
        self.host = LOOPBACK
        self.persistence = persistence
        self.autosave_interval = autosave_interval
        self.allow_anonymous = password_file is None if allow_anonymous is None else allow_anonymous
        self.password_file = Path(password_file) if password_file is not None else None
        self.acl_file = Path(acl_file) if acl_file is not None else None
        self.max_queued_messages = max_queued_messages
        self.cafile = Path(cafile) if cafile is not None else None
        self.certfile = Path(certfile) if certfile is not None else None
        self.keyfile = Path(keyfile) if keyfile is not None else None
        self.require_certificate = require_certificate
        self.log_types = tuple(log_types)
        self.extra = dict(extra or {})
        self.start_timeout = start_timeout
        self.binary = Path(binary)
        self._process: subprocess.Popen[bytes] | None = None
        self._closed = False

    # -- paths and addresses -------------------------------------------------------------

    @property
    def config_path(self) -> Path:
        """The config file the broker is started with."""
        return self.directory / "mosquitto.conf"

    @property
    def log_path(self) -> Path:
        """The broker's own log (``log_dest file``)."""
        return self.directory / "mosquitto.log"

    @property
    def persistence_dir(self) -> Path:
        """Where the broker keeps ``mosquitto.db`` when persistence is on."""
        return self.directory / "persist"

    @property
    def tls(self) -> bool:
        """Whether the listener speaks TLS."""
        return self.certfile is not None

    @property
    def url(self) -> str:
        """``mqtt://127.0.0.1:PORT`` (``mqtts://`` for a TLS listener)."""
        scheme = "mqtts" if self.tls else "mqtt"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The broker's process id while it runs."""
        return self._process.pid if self.running and self._process else None

    @property
    def running(self) -> bool:
        """Whether the broker process is alive."""
        return self._process is not None and self._process.poll() is None

    def config_text(self) -> str:
        """The config as it is written before each start."""
        lines = ["# written by devstack.mosquitto; rewritten on each start"]
        if os.geteuid() == 0:
            # As root Mosquitto drops to the `mosquitto` user, who cannot write our dir.
            lines.append("user root")
        lines += [
            "per_listener_settings false",
            f"persistence {_render(self.persistence)}",
            f"persistence_location {self.persistence_dir}/",
        ]
        if self.autosave_interval is not None:
            lines.append(f"autosave_interval {self.autosave_interval}")
        lines += [
            f"max_queued_messages {self.max_queued_messages}",
            "set_tcp_nodelay true",
            f"log_dest file {self.log_path}",
            *(f"log_type {kind}" for kind in self.log_types),
            "log_timestamp_format %Y-%m-%dT%H:%M:%S",
            "connection_messages true",
            f"allow_anonymous {_render(self.allow_anonymous)}",
        ]
        if self.password_file is not None:
            lines.append(f"password_file {self.password_file}")
        if self.acl_file is not None:
            lines.append(f"acl_file {self.acl_file}")
        lines.append(f"listener {self.port} {self.host}")
        if self.cafile is not None:
            lines.append(f"cafile {self.cafile}")
        if self.certfile is not None:
            lines.append(f"certfile {self.certfile}")
        if self.keyfile is not None:
            lines.append(f"keyfile {self.keyfile}")
        if self.tls:
            lines.append(f"require_certificate {_render(self.require_certificate)}")
        lines += [f"{key} {_render(value)}" for key, value in self.extra.items()]
        return "\n".join(lines) + "\n"

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> Self:
        """Write the config, start the broker and wait until it listens on its port.

        Raises :class:`ServiceError` with the log tail if it does not come up within
        ``start_timeout``. On the first start only, a port chosen here that turns out
        taken is replaced (3 tries); later starts keep the port or fail.
        """
        if self._closed:
            raise ServiceError("this Mosquitto was closed")
        if self.running:
            return self
        if not self.binary.exists():
            raise ServiceError(f"no mosquitto binary at {self.binary} (apt-get install mosquitto)")
        self.persistence_dir.mkdir(exist_ok=True)
        for attempt in range(3):
            if self._start_once():
                # A restart must come back where the clients expect it: no more port moves.
                self._port_chosen = False
                return self
            in_use = "Address already in use" in self._failure_text()
            if not (in_use and self._port_chosen and attempt < 2):
                break
            self.port = free_port()
        raise ServiceError(f"mosquitto did not start on port {self.port}:\n{self._failure_text()}")

    def _start_once(self) -> bool:
        self.config_path.write_text(self.config_text())
        with open(self.directory / "stderr.log", "wb") as stderr:
            self._process = subprocess.Popen(
                [str(self.binary), "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=subprocess.STDOUT,
            )
        pid = self._process.pid
        if wait_until(
            lambda: process_listens_on(pid, self.port),
            self.start_timeout,
            alive=lambda: self.running,
        ):
            return True
        self.kill()
        return False

    def _failure_text(self) -> str:
        return (
            f"--- {self.directory / 'stderr.log'}\n{log_tail(self.directory / 'stderr.log')}\n"
            f"--- {self.log_path}\n{log_tail(self.log_path)}"
        )

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM and wait: a clean shutdown, which saves the persistence database."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise ServiceError(
                f"mosquitto ignored SIGTERM for {timeout} s and was killed:\n{self._failure_text()}"
            ) from None

    def kill(self) -> None:
        """SIGKILL and wait: a crash, nothing saved since the last autosave."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.kill()
        process.wait()

    def restart(self) -> Self:
        """Stop cleanly if running, then start again on the same port and directory."""
        self.stop()
        return self.start()

    def close(self) -> None:
        """Stop the broker and remove its directory if this object created it."""
        if self._closed:
            return
        try:
            self.stop()
        finally:
            self._closed = True
            if self._owns_directory:
                shutil.rmtree(self.directory, ignore_errors=True)

    # -- looking inside ------------------------------------------------------------------

    def log_text(self) -> str:
        """The broker's log so far (empty if it has none yet)."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for_log(self, needle: str, timeout: float = 5.0) -> bool:
        """Poll the log until it contains `needle`; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.log_text():
                return True
            time.sleep(0.02)
        return False

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<Mosquitto {self.url} {state} dir={self.directory}>"
