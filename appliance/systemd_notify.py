"""Telling systemd the register is up and alive (sd_notify), with no dependency.

Theory of operation: the kiosk unit (`image/stages/20-kiosk`) is `Type=notify`
with `WatchdogSec=`. systemd passes the path of a datagram socket in
`$NOTIFY_SOCKET` (an abstract one when it starts with "@") and, with a watchdog,
the interval in `$WATCHDOG_USEC` (and the pid meant in `$WATCHDOG_PID`). The
service sends `READY=1` once the window is up and `WATCHDOG=1` more often than
the interval; if the pings stop (a frozen UI thread), systemd kills the register
and `Restart=on-failure` starts it again. Outside systemd (a terminal, the
tests, the demo) there is no socket and every call is a no-op returning False,
so the callers need no `if`.

Ping from the thread whose liveness matters: the Kivy main thread (a
`Clock.schedule_interval` of `watchdog_interval() / 2`), never a helper thread
that would keep pinging while the screen is frozen.
"""

from __future__ import annotations

import os
import socket

NOTIFY_SOCKET = "NOTIFY_SOCKET"
WATCHDOG_USEC = "WATCHDOG_USEC"
WATCHDOG_PID = "WATCHDOG_PID"


def _address(raw: str) -> str | bytes | None:
    if raw.startswith("@"):  # an abstract socket: a leading NUL byte instead of "@"
        return b"\0" + raw[1:].encode()
    if raw.startswith("/"):
        return raw
    return None  # vsock and other forms are not used on the register


def notify(state: str, environ: dict[str, str] | None = None) -> bool:
    """Send one notification such as "READY=1"; False when not run by systemd.

    Never raises: a notification that cannot be sent must not stop a sale.
    """
    env = os.environ if environ is None else environ
    address = _address(env.get(NOTIFY_SOCKET, ""))
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError:
        return False
    return True


def ready(status: str = "", environ: dict[str, str] | None = None) -> bool:
    """Tell systemd start-up is over (the unit becomes active); with a STATUS= line if given."""
    return notify("READY=1" + (f"\nSTATUS={status}" if status else ""), environ)


def watchdog(environ: dict[str, str] | None = None) -> bool:
    """One keep-alive ping for `WatchdogSec=`."""
    return notify("WATCHDOG=1", environ)


def stopping(environ: dict[str, str] | None = None) -> bool:
    """Tell systemd the register is shutting down on purpose."""
    return notify("STOPPING=1", environ)


def watchdog_interval(environ: dict[str, str] | None = None) -> float | None:
    """Seconds systemd waits between pings before it kills us, or None without a watchdog.

    `$WATCHDOG_PID` is not compared with our pid on purpose: the kiosk runs the app
    under xinit (`NotifyAccess=all`), so the pid systemd names is xinit's, and the
    app is the one process meant to ping.
    """
    env = os.environ if environ is None else environ
    try:
        usec = int(env.get(WATCHDOG_USEC, ""))
    except ValueError:
        return None
    return usec / 1_000_000 if usec > 0 else None
