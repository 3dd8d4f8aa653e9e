"""Free TCP ports on the loopback interface and waiting for a listener."""

import os
import socket
import threading
import time
from collections.abc import Callable

LOOPBACK = "127.0.0.1"

# Ports handed out by this process: the kernel may offer the same ephemeral port again
# before the first caller has bound it, and two services racing for it fail confusingly.
_handed_out: set[int] = set()
_lock = threading.Lock()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    Another process may still take it before the caller binds it; callers that start a
    server on it should treat "address in use" as a reason to retry with a new port.
    """
    with _lock:
        for _ in range(50):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.bind((LOOPBACK, 0))
                port: int = sock.getsockname()[1]
            if port not in _handed_out:
                _handed_out.add(port)
                return port
    raise OSError("no free port on 127.0.0.1 after 50 tries")


def port_accepts(host: str, port: int, timeout: float = 0.2) -> bool:
    """Whether a TCP connection to (host, port) succeeds now."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(
    predicate: Callable[[], bool],
    timeout: float,
    alive: Callable[[], bool] = lambda: True,
) -> bool:
    """Poll `predicate` with a growing pause; False on timeout or once `alive()` is False."""
    deadline = time.monotonic() + timeout
    delay = 0.002
    while time.monotonic() < deadline:
        if predicate():
            return True
        if not alive():
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
    return False


def wait_for_port(
    host: str,
    port: int,
    timeout: float,
    alive: Callable[[], bool] = lambda: True,
) -> bool:
    """Poll until (host, port) accepts connections; False on timeout or once `alive()` is False."""
    return wait_until(lambda: port_accepts(host, port), timeout, alive)


def _listening_inodes(port: int) -> set[str]:
    """Inodes of the sockets listening on TCP `port`, from /proc/net/tcp{,6}."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as rows:
                next(rows)
                for row in rows:
                    fields = row.split()
                    local, state, inode = fields[1], fields[3], fields[9]
                    if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                        inodes.add(inode)
        except FileNotFoundError:
            continue
    return inodes


def process_listens_on(pid: int, port: int) -> bool:
    """Whether process `pid` itself holds a socket listening on TCP `port` (Linux /proc).

    Unlike a test connection, this is not fooled by another process on the same port, and
    it leaves no "new connection" noise in the server's log.
    """
    inodes = _listening_inodes(port)
    if not inodes:
        return False
    wanted = {f"socket:[{inode}]" for inode in inodes}
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") in wanted:
                return True
        except OSError:
            continue
    return False
