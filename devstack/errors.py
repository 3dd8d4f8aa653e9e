"""The one error the dev services raise, and a helper to quote a log in it."""

from pathlib import Path


class ServiceError(RuntimeError):
    """A local service failed to start, stop or answer; the message carries its log tail."""


def log_tail(path: Path, lines: int = 40) -> str:
    """The last `lines` lines of a log file, or a note that there is none yet."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    tail = text.splitlines()[-lines:]
    return "\n".join(tail) if tail else f"(log {path} is empty)"
